/**
 * User agents of server-side HTTP clients and SDKs. When a request carries one of these, its
 * User-Agent and IP are the sender's, not a visitor's, so neither is recorded as the visitor's.
 */
const SENDERS =
  /^(node|node-fetch|undici|axios|got|superagent|python-requests|python-urllib|python-httpx|aiohttp|httpx|go-http-client|java\/|okhttp|apache-httpclient|curl|wget|guzzlehttp|ruby|faraday|dart|rest-client|libwww-perl|posthog-|analytics-node|analytics-python|analytics-ruby|analytics-go|analytics-java|segment|snowplow|@snowplow|umami|tally-)/i;

export function isServerSender(ua: string | null | undefined): boolean {
  if (!ua) return true;
  return SENDERS.test(ua.trim());
}
