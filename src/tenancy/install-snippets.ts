/**
 * What a customer pastes to start sending events to a property, with its public ids filled in.
 * Secrets are never part of a snippet: keyed protocols name the key to create instead.
 */
export interface SnippetIds {
  measurementId: string;
  /** The property's random site id for Snowplow/Umami-style trackers, when it has one. */
  siteId?: string | null;
}

export function installSnippets(baseUrl: string, ids: SnippetIds): Record<string, string> {
  const mid = ids.measurementId;
  const appId = ids.siteId ?? mid;
  return {
    tallyJs: `<script defer src="${baseUrl}/tally.js" data-mid="${mid}"></script>`,
    gtag: [
      `<script async src="https://www.googletagmanager.com/gtag/js?id=${mid}"></script>`,
      '<script>',
      '  window.dataLayer = window.dataLayer || [];',
      '  function gtag(){dataLayer.push(arguments);}',
      "  gtag('js', new Date());",
      `  gtag('config', '${mid}', { transport_url: '${baseUrl}', first_party_collection: true });`,
      '</script>',
    ].join('\n'),
    measurementProtocol: `curl -X POST "${baseUrl}/mp/collect?measurement_id=${mid}&api_secret=<MP_SECRET>" -d '{"client_id":"123.456","events":[{"name":"page_view"}]}'`,
    segment: `new Analytics({ writeKey: '<INGEST_KEY>', host: '${baseUrl}' })`,
    posthog: `posthog.init('<INGEST_KEY>', { api_host: '${baseUrl}' })`,
    snowplow: `newTracker('tally', '${baseUrl}', { appId: '${appId}' })`,
  };
}
