import type { ParamValue, Protocol } from './raw-event.js';

/**
 * A user id <-> client id link (PostHog `$identify`/`$create_alias`, Umami `identify`, tally.js
 * `tally('user', id)`), kept as its own raw event so the raw zone holds every link with its time
 * and a later transform can join a visitor's anonymous history to the user.
 */
export const IDENTITY_LINK_EVENT = 'tally_identity_link';

export type IdentityLinkKind = 'identify' | 'alias' | 'user_id';

export interface IdentityLink {
  user_id: string;
  client_id: string;
  kind: IdentityLinkKind;
  source_protocol: Protocol;
}

/** The link's own params; the caller merges the protocol's other fields next to them. */
export function identityLinkParams(link: IdentityLink): Record<string, ParamValue> {
  return {
    user_id: link.user_id,
    client_id: link.client_id,
    link_kind: link.kind,
    source_protocol: link.source_protocol,
  };
}
