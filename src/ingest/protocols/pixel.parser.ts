import type { ParsedEvent, RefusedEvent } from '../parsed-event.js';
import { parseGtagHit } from './gtag.parser.js';

/**
 * The image pixel, `GET /i.gif?…`, for email opens and pages without JavaScript: gtag's
 * parameter names (`tid`, `en`, `cid`, `uid`, `dl`, `dr`, `dt`, `ep.*`, `epn.*`, `up.*`), the
 * property by `tid` (measurement id) or `mid` (measurement id or numeric property id), `en`
 * defaulting to page_view, and an optional `eid` as the client's event id (dedup).
 */
export function pixelPropertyRef(query: URLSearchParams): string | null {
  return query.get('tid') || query.get('mid') || null;
}

export function parsePixel(query: URLSearchParams): ParsedEvent | RefusedEvent {
  return parseGtagHit(new Map(query), { protocol: 'pixel', index: 0, defaultName: 'page_view', eventIdParam: 'eid' });
}
