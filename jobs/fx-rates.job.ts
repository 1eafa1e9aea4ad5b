import type { FxRate } from '../src/domain/fx-rate.js';
import type { JobContext } from '../src/infra/jobs/job-queue.port.js';
import type { Warehouse } from '../src/infra/warehouse/warehouse.port.js';

/**
 * Refreshes the warehouse's currency rates (issue 14) from the ECB's euro foreign exchange
 * reference rates (`TALLY_FX_RATES_URL`, default the ECB's `eurofxref-hist.zip`; the download is
 * `downloadEcbRates`, wired in src/server/modules.ts): replaces `fx_rates` in one transaction,
 * every calendar day filled. Daily; until it first succeeds the warehouse has the bundled snapshot
 * (`src/infra/fx/data/`), so reports convert offline. A failed download changes nothing.
 * After the replacement it records the refresh (`refreshed`: the metadata database's
 * `fx_rates_refresh`), which the report result cache keys revenue answers on, so no api process
 * keeps answering at the old rates.
 */
export function fxRatesJob(deps: {
  warehouse: Warehouse;
  download: (signal: AbortSignal) => Promise<FxRate[]>;
  refreshed?: (r: { rates: number; lastPublished: string | null }) => Promise<void>;
}) {
  return async (ctx: JobContext<Record<string, never>>) => {
    const published = await deps.download(ctx.signal);
    const last = published.reduce((m, r) => (r.date > m ? r.date : m), '');
    const { rows } = await deps.warehouse.replaceRates(published);
    await deps.refreshed?.({ rates: rows, lastPublished: last || null });
    return { published: published.length, rows, lastPublished: last };
  };
}
