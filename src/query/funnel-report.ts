import type { FunnelPart } from './funnel-compiler.js';
import type { FunnelRequest } from './funnel-request.js';
import { metricTypeOut, RESERVED, type PropertyQuota, type ReportRow } from './report-response.js';

/** FunnelSubReport (v1alpha data.proto): the funnel table and the funnel visualization. */
export interface FunnelSubReport {
  dimensionHeaders: { name: string }[];
  metricHeaders: { name: string; type: string | number }[];
  rows?: ReportRow[];
  /** FunnelResponseMetadata: `samplingMetadatas` only when sampled, and Tally never samples. */
  metadata: Record<string, never>;
}

export interface RunFunnelReportResponse {
  funnelTable: FunnelSubReport;
  funnelVisualization: FunnelSubReport;
  propertyQuota?: PropertyQuota;
  kind: 'analyticsData#runFunnelReport';
}

/** One grouped row of the funnel statement (funnel-compiler.ts). */
interface PartRow {
  part: FunnelPart;
  step: number;
  dr: number;
  a: string | null;
  b: string | null;
  users: number;
  wentOn: number;
}

export const FUNNEL_TABLE_METRICS = ['activeUsers', 'funnelStepCompletionRate', 'funnelStepAbandonments', 'funnelStepAbandonmentRate'] as const;

/**
 * Shapes GA4's two sub reports from the statement's grouped rows.
 *
 * funnelTable: per step (and date range), the step's users, completion rate (the share that went
 * on to the next step; the last step's is 1, as GA4 answers), abandonments (users − went on) and
 * abandonment rate. With a breakdown, each step has a RESERVED_TOTAL row in the breakdown column
 * and then one row per breakdown value among the `limit` values with most users at the first
 * step (ties: most users over all steps, then the value); a user is counted under the value of
 * the event that brought them to the step. GA4 reports all four metrics as TYPE_INTEGER (rates
 * carry fractions), and so does Tally.
 * funnelVisualization: per step, activeUsers; TRENDED_FUNNEL adds `date` (the day of the event
 * that brought the user to the step); a next action adds `funnelStepNextAction` (the value of the
 * user's next event after that one): a RESERVED_TOTAL row then the `limit` most common values.
 * Several date ranges add `dateRange` last, as runReport does.
 */
export function shapeFunnelResponse(req: FunnelRequest, raw: Record<string, unknown>[], opts: { enumAsInt: boolean }): RunFunnelReportResponse {
  const rows: PartRow[] = raw.map((r) => ({
    part: String(r.part) as FunnelPart,
    step: Number(r.step),
    dr: Number(r.dr_idx),
    a: r.a == null ? null : String(r.a),
    b: r.b == null ? null : String(r.b),
    users: Number(r.users),
    wentOn: Number(r.went_on ?? 0),
  }));
  const multi = req.dateRanges.length > 1;
  const last = req.steps.length - 1;
  const type = metricTypeOut('TYPE_INTEGER', opts.enumAsInt);
  const headers = (names: (string | false | undefined)[]) => names.filter((x): x is string => !!x).map((name) => ({ name }));
  const rangeValue = (dr: number) => (multi ? [req.dateRanges[dr].name] : []);
  const row = (dims: string[], metrics: (number | string)[]): ReportRow => ({
    dimensionValues: dims.map((value) => ({ value })),
    metricValues: metrics.map((m) => ({ value: String(m) })),
  });
  const find = (part: FunnelPart, step: number, dr: number, a: string | null = null, b: string | null = null) =>
    rows.find((r) => r.part === part && r.step === step && r.dr === dr && r.a === a && r.b === b);
  const tableMetrics = (step: number, r?: PartRow) => {
    const users = r?.users ?? 0;
    const wentOn = step === last ? users : (r?.wentOn ?? 0);
    const abandonments = users - wentOn;
    return [users, users ? wentOn / users : 0, abandonments, users ? abandonments / users : 0];
  };

  // breakdown values: most users at the first step, then over all steps, then the value
  const byValue = new Map<string, { first: number; all: number }>();
  for (const r of rows.filter((x) => x.part === 'breakdown' && x.a !== null)) {
    const v = byValue.get(r.a!) ?? { first: 0, all: 0 };
    v.all += r.users;
    if (r.step === 0) v.first += r.users;
    byValue.set(r.a!, v);
  }
  const values = [...byValue.entries()]
    .sort(([ka, a], [kb, b]) => b.first - a.first || b.all - a.all || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .slice(0, req.breakdown?.limit ?? 0)
    .map(([k]) => k);

  const table: ReportRow[] = [];
  const vis: ReportRow[] = [];
  for (let step = 0; step <= last; step++) {
    const label = req.steps[step].label;
    for (let dr = 0; dr < req.dateRanges.length; dr++) {
      const total = find('total', step, dr);
      if (!req.breakdown) table.push(row([label, ...rangeValue(dr)], tableMetrics(step, total)));
      else {
        table.push(row([label, RESERVED.TOTAL, ...rangeValue(dr)], tableMetrics(step, total)));
        for (const v of values) table.push(row([label, v, ...rangeValue(dr)], tableMetrics(step, find('breakdown', step, dr, v))));
      }
      const days = req.trended ? [...new Set(rows.filter((r) => r.part === 'vis' && r.step === step && r.dr === dr).map((r) => r.a!))].sort() : [null];
      for (const day of days) {
        const dayDims = day === null ? [] : [day];
        const users = (day === null ? total : find('vis', step, dr, day))?.users ?? 0;
        if (!req.nextAction) {
          vis.push(row([label, ...dayDims, ...rangeValue(dr)], [users]));
          continue;
        }
        vis.push(row([label, ...dayDims, RESERVED.TOTAL, ...rangeValue(dr)], [users]));
        const actions = rows
          .filter((r) => r.part === 'next' && r.step === step && r.dr === dr && r.a === day)
          .sort((x, y) => y.users - x.users || (x.b! < y.b! ? -1 : x.b! > y.b! ? 1 : 0))
          .slice(0, req.nextAction.limit);
        for (const a of actions) vis.push(row([label, ...dayDims, a.b!, ...rangeValue(dr)], [a.users]));
      }
    }
  }

  const sub = (dims: (string | false | undefined)[], metrics: readonly string[], out: ReportRow[]): FunnelSubReport => {
    const r: FunnelSubReport = {
      dimensionHeaders: headers([...dims, multi && 'dateRange']),
      metricHeaders: metrics.map((name) => ({ name, type })),
      rows: out.slice(0, req.limit),
      metadata: {},
    };
    if (!r.rows?.length) delete r.rows;
    return r;
  };
  return {
    funnelTable: sub(['funnelStepName', req.breakdown?.dimension], FUNNEL_TABLE_METRICS, table),
    funnelVisualization: sub(['funnelStepName', req.trended && 'date', req.nextAction && 'funnelStepNextAction'], ['activeUsers'], vis),
    kind: 'analyticsData#runFunnelReport',
  };
}
