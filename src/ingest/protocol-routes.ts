import type { IngestRoute } from './ingest-http.js';
import { ga4Routes } from './protocols/ga4-mp.routes.js';
import { nativeRoutes } from './protocols/native.routes.js';

/** Every ingest endpoint, by protocol. A protocol adds its routes here and nowhere else. */
export const PROTOCOL_ROUTES: IngestRoute[] = [...ga4Routes, ...nativeRoutes];
