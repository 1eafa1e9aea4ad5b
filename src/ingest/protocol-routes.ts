import type { IngestRoute } from './ingest-http.js';
import { ga4Routes } from './protocols/ga4-mp.routes.js';
import { nativeRoutes } from './protocols/native.routes.js';
import { gtagRoutes } from './protocols/gtag.routes.js';
import { segmentRoutes } from './protocols/segment.routes.js';
import { snowplowRoutes } from './protocols/snowplow.routes.js';
import { pixelRoutes } from './protocols/pixel.routes.js';
import { plausibleRoutes } from './protocols/plausible.routes.js';
import { umamiRoutes } from './protocols/umami.routes.js';
import { posthogRoutes } from './protocols/posthog.routes.js';
import { trackerRoutes } from './tracker/tally-js.routes.js';

/** Every ingest endpoint, by protocol. A protocol adds its routes here and nowhere else. */
const BY_PROTOCOL: Record<string, IngestRoute[]> = {
  ga4mp: ga4Routes,
  native: nativeRoutes,
  gtag: gtagRoutes,
  segment: segmentRoutes,
  snowplow: snowplowRoutes,
  pixel: pixelRoutes,
  plausible: plausibleRoutes,
  umami: umamiRoutes,
  posthog: posthogRoutes,
  tallyjs: trackerRoutes,
};
export const PROTOCOL_ROUTES: IngestRoute[] = Object.entries(BY_PROTOCOL).flatMap(([protocol, routes]) => routes.map((r) => ({ ...r, protocol })));
