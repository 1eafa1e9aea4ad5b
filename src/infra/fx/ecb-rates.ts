import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import type { FxRate } from '../../domain/fx-rate.js';
import { TallyError } from '../errors.js';

/**
 * Currency rates for revenue reports (issue 14): the European Central Bank's euro foreign exchange
 * reference rates, "units of currency per 1 euro", published on TARGET working days around 16:00
 * CET. Source: https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/
 * (whole history as CSV in `eurofxref-hist.zip`). A bundled snapshot (`data/eurofxref-hist.csv`,
 * 2024-01-02 on, the currencies still quoted) lets reports convert offline; the `fx-rates` job
 * replaces it with a fresh download. Reports convert at the rate of the event's local date; a day
 * without a publication (weekends, holidays, days after the last one) takes the last rate
 * published before it.
 */
export type { FxRate };

export const ECB_HISTORY_URL = 'https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip';

const DAY_MS = 86_400_000;

/** The ECB's wide CSV (`Date,USD,JPY,…` then a line per day; `N/A` where none): one rate per cell, EUR added. */
export function parseEcbCsv(text: string): FxRate[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new TallyError('invalid_argument', 'ECB rates: empty file');
  const header = lines[0].split(',').map((h) => h.trim());
  if (header[0] !== 'Date') throw new TallyError('invalid_argument', `ECB rates: the first column must be Date, got ${header[0]}`);
  const out: FxRate[] = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const date = cells[0].trim();
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new TallyError('invalid_argument', `ECB rates: bad date ${date}`);
    out.push({ date, currency: 'EUR', perEur: 1 });
    for (let i = 1; i < header.length; i++) {
      const code = header[i];
      const v = Number(cells[i]);
      if (/^[A-Z]{3}$/.test(code) && cells[i] !== undefined && cells[i].trim() !== '' && Number.isFinite(v) && v > 0) {
        out.push({ date, currency: code, perEur: v });
      }
    }
  }
  return out;
}

/**
 * One rate per currency and calendar day from the first publication to `until` (YYYY-MM-DD,
 * inclusive): each day takes the last rate published on or before it, so a report joins on the
 * event's date alone, in every warehouse.
 */
export function dailyRates(published: readonly FxRate[], until: string): FxRate[] {
  const byCurrency = new Map<string, FxRate[]>();
  for (const r of published) {
    const list = byCurrency.get(r.currency) ?? [];
    list.push(r);
    byCurrency.set(r.currency, list);
  }
  const end = Date.parse(`${until}T00:00:00Z`);
  const out: FxRate[] = [];
  for (const [currency, list] of byCurrency) {
    list.sort((a, b) => a.date.localeCompare(b.date));
    let i = 0;
    for (let t = Date.parse(`${list[0].date}T00:00:00Z`); t <= end; t += DAY_MS) {
      const date = new Date(t).toISOString().slice(0, 10);
      while (i + 1 < list.length && list[i + 1].date <= date) i++;
      out.push({ date, currency, perEur: list[i].perEur });
    }
  }
  return out;
}

/** The rates published in the bundled snapshot. */
export function bundledRates(): FxRate[] {
  return parseEcbCsv(readFileSync(new URL('./data/eurofxref-hist.csv', import.meta.url), 'utf8'));
}

/** Downloads and reads the ECB rates at `url` (the ECB's ZIP, or a CSV in its format). */
export async function downloadEcbRates(url: string, signal?: AbortSignal): Promise<FxRate[]> {
  const res = await fetch(url, { signal });
  if (!res.ok) throw new TallyError('unavailable', `fx rates: ${url} answered ${res.status}`, { reason: 'fx_rates_download' });
  return parseEcbCsv(csvFromDownload(Buffer.from(await res.arrayBuffer())));
}

/**
 * The CSV text of a download: the body itself, or the one file of a ZIP archive (what the ECB
 * serves), stored or deflated.
 */
export function csvFromDownload(body: Buffer): string {
  if (body.readUInt32LE(0) !== 0x04034b50) return body.toString('utf8');
  const method = body.readUInt16LE(8);
  const compressed = body.readUInt32LE(18);
  const nameLength = body.readUInt16LE(26);
  const extraLength = body.readUInt16LE(28);
  const start = 30 + nameLength + extraLength;
  const flags = body.readUInt16LE(6);
  // bit 3: sizes follow the data; inflate then stops at the end of the deflate stream by itself
  const data = flags & 0x08 ? body.subarray(start) : body.subarray(start, start + compressed);
  if (method === 0) return data.toString('utf8');
  if (method === 8) return inflateRawSync(data).toString('utf8');
  throw new TallyError('invalid_argument', `ECB rates: unsupported ZIP compression method ${method}`);
}
