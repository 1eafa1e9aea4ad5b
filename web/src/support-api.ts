/**
 * The console's calls for the Support page (src/support: replays, dead letters, the visitor
 * inspector) and the pure helpers its views share with Settings' replay offer.
 */
import { api, ApiError } from './api';
import type { DayFigures, Mover, Replay } from './rules-api';

export interface DeadLetterSample {
  letterId: string;
  receivedAt: string;
  reason: string;
  detail: string;
  protocol: string;
  payload: unknown;
}
export interface DeadLetterListing {
  propertyId: string;
  since: string;
  until: string;
  total: number;
  byReason: { reason: string; count: number; samples: DeadLetterSample[] }[];
}
export interface RedriveResult {
  reason: string;
  from: string;
  to: string;
  letters: number;
  appended: number;
  alreadyRedriven: number;
  stillRefused: { reason: string; count: number }[];
}
export type Verdict = 'counted' | 'bot' | 'duplicate' | 'internal_traffic' | 'not_yet_transformed' | 'outside_range' | 'dead_letter';
export interface InspectedEvent {
  eventId: string | null;
  name: string;
  eventTime: string;
  receivedAt: string;
  protocol: string;
  url: string | null;
  verdict: Verdict;
  /** The event log's tail (not yet archived), the raw zone or the dead-letter zone. */
  source: 'log' | 'raw' | 'deadletter';
  why: string;
  sessionKey: string | null;
  localDate: string | null;
}
export interface VisitorInspection {
  propertyId: string;
  clientId: string | null;
  userId: string | null;
  from: string;
  to: string;
  events: InspectedEvent[];
  sessions: Record<string, unknown>[];
  /** The event log's tail as read: records, and whether all of it (else a note says what bounded it). */
  logTail: { read: number; complete: boolean; maxRecords: number; timeoutMs: number } | null;
  notes: string[];
}

const q = (params: Record<string, string | undefined>) => {
  const s = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => Boolean(e[1]))).toString();
  return s ? `?${s}` : '';
};

export const supportApi = {
  replays: (propertyId: string) => api.get<{ replays: Replay[] }>(`/api/properties/${propertyId}/replays`).then((r) => r.replays),
  deadLetters: (propertyId: string, range: { since?: string; until?: string }) =>
    api.get<DeadLetterListing>(`/api/properties/${propertyId}/dead-letters${q(range)}`),
  redrive: (propertyId: string, b: { reason: string; from?: string; to?: string; note?: string }) =>
    api.post<RedriveResult>(`/api/properties/${propertyId}/dead-letters/redrive`, b),
  inspect: (propertyId: string, visitorId: string, by: 'client' | 'user', range: { from?: string; to?: string }) =>
    api.get<VisitorInspection>(
      `/api/support/properties/${propertyId}/visitors/${encodeURIComponent(visitorId)}${q({ by: by === 'user' ? 'user' : undefined, ...range })}`,
    ),
};

/** The plan's refusal of a feature (403 plan_feature_unavailable): an upgrade hint, not an error. */
export const isPlanGate = (e: unknown): boolean => e instanceof ApiError && e.reason === 'plan_feature_unavailable';

/** The diff table's columns: the figure, its header, and how it is written. */
export const DIFF_COLUMNS: { key: keyof DayFigures; label: string; format: (n: number) => string }[] = [
  { key: 'users', label: 'Users', format: String },
  { key: 'sessions', label: 'Sessions', format: String },
  { key: 'views', label: 'Views', format: String },
  { key: 'bounceRate', label: 'Bounce rate', format: (n) => `${(n * 100).toFixed(1)}%` },
  { key: 'keyEvents', label: 'Key events', format: String },
];

/** One cell of the diff: the value when it stays, `before → after` when it moves. */
export function diffCell(before: number, after: number, format: (n: number) => string = String): { text: string; changed: boolean } {
  const a = format(after);
  const b = format(before);
  return a === b ? { text: a, changed: false } : { text: `${b} → ${a}`, changed: true };
}

/** The movers of a diff, biggest change first, each named by its kind (page views for pages, sessions for sources and channels). */
export function topMovers(diff: NonNullable<Replay['diff']>, limit = 10): (Mover & { kind: 'Page' | 'Source' | 'Channel' })[] {
  const all = [
    ...diff.pages.map((m) => ({ ...m, kind: 'Page' as const })),
    ...diff.sources.map((m) => ({ ...m, kind: 'Source' as const })),
    ...(diff.channels ?? []).map((m) => ({ ...m, kind: 'Channel' as const })),
  ].filter((m) => m.change !== 0);
  return all.sort((x, y) => Math.abs(y.change) - Math.abs(x.change) || x.kind.localeCompare(y.kind) || x.name.localeCompare(y.name)).slice(0, limit);
}

/** A replay still working (the page polls it). */
export const replayRunning = (r: Pick<Replay, 'state'> | null): boolean => r !== null && (r.state === 'queued' || r.state === 'running');

const VERDICTS: Record<Verdict, string> = {
  counted: 'Counted',
  bot: 'Bot',
  duplicate: 'Duplicate',
  internal_traffic: 'Internal traffic',
  not_yet_transformed: 'Not yet processed',
  outside_range: 'Outside range',
  dead_letter: 'Dead letter',
};
export const verdictLabel = (v: string): string => VERDICTS[v as Verdict] ?? v.replaceAll('_', ' ');
/** The inspector's reason beside a verdict, unless it only repeats it ("counted" for Counted). */
export function verdictWhy(e: Pick<InspectedEvent, 'verdict' | 'why'>): string {
  const why = e.why.trim();
  return why.toLowerCase() === verdictLabel(e.verdict).toLowerCase() ? '' : why;
}

/** `YYYY-MM-DD` `days` before `now` (UTC), the date fields' defaults. */
export function isoDaysAgo(days: number, now = new Date()): string {
  return new Date(now.getTime() - days * 86_400_000).toISOString().slice(0, 10);
}

const count = (v: unknown, word: string) => `${Number(v ?? 0)} ${word}${Number(v ?? 0) === 1 ? '' : 's'}`;

/** A transformed session as the inspector shows it: when, where it landed, from where, and what it counted. */
export function sessionSummary(s: Record<string, unknown>): { key: string; start: string; landing: string; source: string; counts: string } {
  const ms = Number(s.session_start_ms);
  const str = (v: unknown) => (v === null || v === undefined || v === '' ? '' : String(v));
  const source = [str(s.source) || '(direct)', str(s.medium) || '(none)'].join(' / ');
  const channel = str(s.channel_group);
  const bot = s.is_bot === true || s.is_bot === 'true' ? ', bot' : '';
  const engaged = s.engaged === true || s.engaged === 'true' ? ', engaged' : '';
  return {
    key: str(s.session_key),
    start: Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : str(s.local_date),
    landing: str(s.landing_page) || '(not set)',
    source: channel ? `${source} · ${channel}` : source,
    counts: `${count(s.page_views, 'view')}, ${count(s.events, 'event')}, ${count(s.key_events, 'key event')}${engaged}${bot}`,
  };
}
