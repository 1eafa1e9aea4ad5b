/**
 * Test kit: the rows of a transformed-zone fixture (events, sessions, identities), as the
 * transformed schema writes them. Only tests import this file.
 */
export interface EventRow {
  event_id: string;
  tenant_id: string;
  property_id: string;
  protocol: string;
  event_name: string;
  event_ms: number;
  received_at: number;
  local_date: string;
  local_hour: number;
  client_id: string | null;
  user_id: string | null;
  session_key: string;
  session_start_ms: number;
  seq_in_session: number;
  is_entrance: boolean;
  is_exit: boolean;
  page_location: string | null;
  host_name: string | null;
  page_path: string | null;
  page_query: string | null;
  page_title: string | null;
  page_referrer: string | null;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  utm_term: string | null;
  utm_content: string | null;
  session_source: string;
  session_medium: string;
  session_campaign: string;
  session_channel_group: string;
  country: string | null;
  region: string | null;
  city: string | null;
  language: string | null;
  screen: string | null;
  browser: string;
  browser_version: string | null;
  os: string;
  os_version: string | null;
  device_category: string;
  is_bot: boolean;
  bot_reason: string | null;
  engagement_time_ms: number;
  is_page_view: boolean;
  is_key_event: boolean;
  params: string;
  user_props: string;
}

export interface SessionRow {
  tenant_id: string;
  property_id: string;
  session_key: string;
  client_id: string | null;
  user_id: string | null;
  session_start_ms: number;
  session_end_ms: number;
  local_date: string;
  local_hour: number;
  landing_page: string;
  landing_page_query: string | null;
  exit_page: string | null;
  source: string;
  medium: string;
  campaign: string;
  term: string | null;
  content: string | null;
  channel_group: string;
  /** The session's own traffic source (the fields above are the attributed one); absent: NULL, as in rows loaded before these columns. */
  collected_source?: string | null;
  collected_medium?: string | null;
  collected_campaign?: string | null;
  collected_term?: string | null;
  collected_content?: string | null;
  collected_channel_group?: string | null;
  referrer: string | null;
  country: string | null;
  region: string | null;
  city: string | null;
  language: string | null;
  device_category: string;
  browser: string;
  os: string;
  duration_s: number;
  page_views: number;
  events: number;
  key_events: number;
  engagement_time_ms: number;
  engaged: boolean;
  is_bot: boolean;
}

export interface IdentityRow {
  tenant_id: string;
  property_id: string;
  client_id: string;
  user_id: string;
  linked_ms: number;
  local_date: string;
  link_kind: string;
  source_protocol: string;
  event_id: string;
}

export interface Fixture {
  events: EventRow[];
  sessions: SessionRow[];
  identities: IdentityRow[];
}

export function mergeFixtures(...fixtures: Fixture[]): Fixture {
  return {
    events: fixtures.flatMap((f) => f.events),
    sessions: fixtures.flatMap((f) => f.sessions),
    identities: fixtures.flatMap((f) => f.identities),
  };
}
