/**
 * The path and query of an ingest request, split once from `req.url` (a WHATWG `URL` costs a full
 * parse per request, and the routes only ever read the path and the query). The query's
 * `URLSearchParams` is built on first use, with the same parser `URL.searchParams` uses.
 */
export class RequestUrl {
  private params: URLSearchParams | null = null;

  constructor(
    /** The path as sent (what the route table is keyed by), without query or fragment. */
    readonly pathname: string,
    /** The query string without its `?` ('' when there is none). */
    private readonly query: string,
  ) {}

  static of(raw: string | undefined): RequestUrl {
    const url = raw ?? '/';
    const hash = url.indexOf('#');
    const end = hash >= 0 ? hash : url.length;
    const q = url.indexOf('?');
    return q >= 0 && q < end ? new RequestUrl(url.slice(0, q), url.slice(q + 1, end)) : new RequestUrl(url.slice(0, end), '');
  }

  get searchParams(): URLSearchParams {
    return (this.params ??= new URLSearchParams(this.query));
  }
}

/** What routes read of a request's URL: a `RequestUrl`, or a `URL` in tests. */
export type IngestUrl = Pick<URL, 'pathname' | 'searchParams'>;
