import { activeUserCondition } from '../domain/rollups.js';
import type { AtomDef, MetricDef } from './catalog.types.js';
import { USER_KEY } from './catalog-user-key.js';
import type { SqlDialect } from './sql-dialect.js';

/**
 * GA4's rolling active-user ratios (api-schema: "The rolling percent of 30-day active users who
 * are also 1-day active users", and the 7-day forms), answered as fractions.
 *
 * Their atoms are the `rolling` group: distinct active users (activeUsers' own condition, the
 * catalog's USER_KEY) in windows that end on an anchor day: the report's last day (each date
 * range's end date), or, when the report is broken down by `date`, each date row's own day. The
 * windows read events before the date range (up to 29 days before its start): a 30-day window is
 * that day and the 29 before it, a 7-day window that day and the 6 before it, the 1-day window
 * that day. Other dimensions split the users as they split activeUsers (a user counts in each value
 * they had an event with in the window). The compiler (report-compiler.ts) builds the anchors; the
 * atoms read `dr.anchor` and are never answered from rollups.
 */
export const ROLLING_WINDOW_DAYS = 30;

const within = (d: SqlDialect, days: number) => `${d.daysBetween('e.local_date', 'dr.anchor')} < ${days}`;
const activeIn = (d: SqlDialect, days: number) => `COUNT(DISTINCT CASE WHEN (${activeUserCondition('s.engaged')}) AND ${within(d, days)} THEN ${USER_KEY} END)`;

export const ROLLING_ATOMS: readonly AtomDef[] = [
  { name: 'ro_dau', group: 'rolling', type: 'bigint', sql: (d) => activeIn(d, 1), needsSession: true },
  { name: 'ro_wau', group: 'rolling', type: 'bigint', sql: (d) => activeIn(d, 7), needsSession: true },
  { name: 'ro_mau', group: 'rolling', type: 'bigint', sql: (d) => activeIn(d, ROLLING_WINDOW_DAYS), needsSession: true },
];

const ratio =
  (num: string, den: string): MetricDef['sql'] =>
  (a, d) =>
    `(CASE WHEN ${a(den)} = 0 THEN 0 ELSE ${d.toDouble(a(num))} / ${a(den)} END)`;

const rolling = (apiName: string, uiName: string, num: string, den: string, description: string): MetricDef => ({
  apiName,
  uiName,
  category: 'User',
  type: 'TYPE_FLOAT',
  scope: 'user',
  atoms: [num, den],
  sql: ratio(num, den),
  description,
});

export const ROLLING_METRICS: readonly MetricDef[] = [
  rolling(
    'dauPerMau',
    'DAU / MAU',
    'ro_dau',
    'ro_mau',
    'The rolling percent of 30-day active users who are also 1-day active users. This metric is returned as a fraction; for example, 0.113 means 11.3% of 30-day active users were also 1-day active users.',
  ),
  rolling(
    'dauPerWau',
    'DAU / WAU',
    'ro_dau',
    'ro_wau',
    'The rolling percent of 7-day active users who are also 1-day active users. This metric is returned as a fraction; for example, 0.082 means 8.2% of 7-day active users were also 1-day active users.',
  ),
  rolling(
    'wauPerMau',
    'WAU / MAU',
    'ro_wau',
    'ro_mau',
    'The rolling percent of 30-day active users who are also 7-day active users. This metric is returned as a fraction; for example, 0.234 means 23.4% of 30-day active users were also 7-day active users.',
  ),
];
