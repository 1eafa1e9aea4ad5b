import { TallyError } from '../src/infra/errors.js';
import { csvFromDownload, parseEcbCsv } from '../src/infra/fx/ecb-rates.js';
import type { JobContext } from '../src/infra/jobs/job-queue.port.js';
import type { Warehouse } from '../src/infra/warehouse/warehouse.port.js';
import { fxRows } from '../src/infra/warehouse/fx-rates.sql.js';

/**
 * Refreshes the warehouse's currency rates (issue 14) from the ECB's euro foreign exchange
 * reference rates (`TALLY_FX_RATES_URL`, default the ECB's `eurofxref-hist.zip`): download, parse,
 * fill every calendar day, replace `fx_rates` in one transaction. Daily; until it first succeeds
 * the warehouse has the bundled snapshot (`src/infra/fx/data/`), so reports convert offline.
 */
export function fxRatesJob(deps: { warehouse: Warehouse; url: string; download?: (url: string, signal: AbortSignal) => Promise<Buffer> }) {
  const download =
    deps.download ??
    (async (url: string, signal: AbortSignal) => {
      const res = await fetch(url, { signal });
      if (!res.ok) throw new TallyError('unavailable', `fx rates: ${url} answered ${res.status}`, { reason: 'fx_rates_download' });
      return Buffer.from(await res.arrayBuffer());
    });
  return async (ctx: JobContext<Record<string, never>>) => {
    const published = parseEcbCsv(csvFromDownload(await download(deps.url, ctx.signal)));
    const last = published.reduce((m, r) => (r.date > m ? r.date : m), '');
    const { rows } = await deps.warehouse.replaceRates(fxRows(published));
    return { published: published.length, rows, lastPublished: last };
  };
}
