import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import zlib from 'node:zlib';
import { IDENTITY_LINK_EVENT } from '../../domain/identity-link.js';
import { TallyError } from '../../infra/errors.js';
import { admitAndAccept, header, resolveFresh, type IngestRoute } from '../ingest-http.js';
import { parseJson, readBody } from '../http-body.js';
import { parseTallyJs, TALLY_JS_LIMITS } from './tally-js.parser.js';

export interface TrackerScript {
  js: Buffer;
  gzip: Buffer;
  etag: string;
}

let built: Promise<TrackerScript> | null = null;

/**
 * tally.js minified by esbuild (a dependency of tsx, which runs Tally) once per process, on the
 * first request; the readable source is served when esbuild cannot be loaded.
 */
export function trackerScript(): Promise<TrackerScript> {
  built ??= (async () => {
    const source = await fs.readFile(new URL('./tally.browser.js', import.meta.url), 'utf8');
    let js = source;
    try {
      const esbuild = await import('esbuild');
      js = (await esbuild.transform(source, { minify: true, target: 'es2017', legalComments: 'none' })).code;
    } catch {
      /* serve the source */
    }
    const buf = Buffer.from(js);
    return { js: buf, gzip: zlib.gzipSync(buf, { level: 9 }), etag: `"${createHash('sha256').update(buf).digest('base64url').slice(0, 22)}"` };
  })();
  built.catch(() => (built = null));
  return built;
}

/** `GET /tally.js` and its collection endpoint `POST /t/collect?mid=<measurement id>`. */
export const trackerRoutes: IngestRoute[] = [
  {
    path: '/tally.js',
    methods: ['GET'],
    async handle(_deps, req, res) {
      const script = await trackerScript();
      const headers: Record<string, string> = {
        'content-type': 'application/javascript; charset=utf-8',
        'cache-control': 'public, max-age=3600, stale-while-revalidate=86400',
        etag: script.etag,
        vary: 'Accept-Encoding',
      };
      const match = header(req, 'if-none-match');
      if (match && match.split(',').some((t) => t.trim().replace(/^W\//, '') === script.etag)) {
        res.writeHead(304, headers).end();
        return;
      }
      const gzip = /\bgzip\b/.test(header(req, 'accept-encoding') ?? '');
      const body = gzip ? script.gzip : script.js;
      res.writeHead(200, { ...headers, ...(gzip ? { 'content-encoding': 'gzip' } : {}), 'content-length': String(body.length) }).end(body);
    },
  },
  {
    path: '/t/collect',
    methods: ['POST'],
    async handle(deps, req, res, url, ctx) {
      const mid = url.searchParams.get('mid');
      if (!mid) throw new TallyError('invalid_argument', 'mid (the measurement id) is required', { reason: 'measurement_id_missing' });
      const property = await resolveFresh(deps, () => deps.credentials.resolvePublicId(mid));
      if (!property) throw new TallyError('not_found', `unknown measurement id ${mid}`, { reason: 'unknown_measurement_id' });
      const parsed = parseTallyJs(parseJson(await readBody(req, TALLY_JS_LIMITS.maxBodyBytes)), ctx);
      if (parsed.cookieless && parsed.events.length) {
        const id = await deps.visitorIds.visitorId({ propertyId: property.propertyId, ip: ctx.ip, userAgent: header(req, 'user-agent') }, ctx.receivedAt);
        for (const e of parsed.events) {
          e.client_id = id;
          if (e.name === IDENTITY_LINK_EVENT) e.params.client_id = id;
        }
      }
      await admitAndAccept(deps, 'tallyjs', parsed.events, parsed.refused, property, ctx, { req, res, sender: 'browser' });
      res.writeHead(204).end();
    },
  },
];
