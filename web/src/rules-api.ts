/** The console's calls for Settings › Rules and the replay it offers (src/tenancy/property-rules.ts, src/support). */
import { api } from './api';

export interface InternalTrafficRule {
  name: string;
  trafficType: string;
  cidrs: string[];
}
export interface BotPattern {
  match: 'contains' | 'regex';
  value: string;
}
export interface PropertyRules {
  internalTraffic: { rules: InternalTrafficRule[]; filter: 'active' | 'inactive' };
  botPatterns: BotPattern[];
  channelRules: unknown[] | null;
}
export interface ReplaySuggestion {
  propertyId: string;
  from: string;
  to: string;
  dryRun: true;
}
export interface DayFigures {
  users: number;
  sessions: number;
  views: number;
  bounceRate: number;
  keyEvents: number;
  events: number;
}
export interface Mover {
  name: string;
  before: number;
  after: number;
  change: number;
}
export interface Replay {
  id: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed';
  dryRun: boolean;
  from: string;
  to: string;
  reason: string;
  createdAt: string;
  progress: { done: number; total: number };
  error?: string | null;
  diff: { days: { date: string; before: DayFigures; after: DayFigures }[]; pages: Mover[]; sources: Mover[]; channels?: Mover[] } | null;
}

export const rulesApi = {
  get: (propertyId: string) =>
    api.get<{ rules: PropertyRules; defaults: { channelRules: unknown[]; channelFallback: string } }>(`/api/properties/${propertyId}/rules`),
  update: (propertyId: string, patch: Partial<PropertyRules>) =>
    api.patch<{ rules: PropertyRules; replaySuggestion: ReplaySuggestion | null }>(`/api/properties/${propertyId}/rules`, patch),
  startReplay: (b: { propertyId: string; from: string; to: string; dryRun: boolean; reason: string }) => api.post<Replay>('/api/support/replays', b),
  replay: (id: string) => api.get<Replay>(`/api/support/replays/${id}`),
};

/** `name: cidr, cidr` (or `name (type): …`) per line ⇄ rules. */
export function parseInternalRules(text: string): InternalTrafficRule[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const colon = line.indexOf(':', line.indexOf(')') + 1 || 0);
      const head = colon > 0 && !/^[\d.]+$|::/.test(line.slice(0, colon)) ? line.slice(0, colon) : '';
      const m = /^(.*?)\s*(?:\(([^)]+)\))?$/.exec(head.trim())!;
      const cidrs = (head ? line.slice(colon + 1) : line)
        .split(/[\s,]+/)
        .map((c) => c.trim())
        .filter(Boolean);
      return { name: m[1] || 'internal', trafficType: m[2]?.trim() || 'internal', cidrs };
    });
}
export const formatInternalRules = (rules: InternalTrafficRule[]) =>
  rules.map((r) => `${r.name}${r.trafficType !== 'internal' ? ` (${r.trafficType})` : ''}: ${r.cidrs.join(', ')}`).join('\n');

/** One pattern per line; `/…/` is a regular expression, anything else a substring. */
export const parseBotPatterns = (text: string): BotPattern[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((v) => (v.length > 2 && v.startsWith('/') && v.endsWith('/') ? { match: 'regex', value: v.slice(1, -1) } : { match: 'contains', value: v }));
export const formatBotPatterns = (patterns: BotPattern[]) => patterns.map((p) => (p.match === 'regex' ? `/${p.value}/` : p.value)).join('\n');
