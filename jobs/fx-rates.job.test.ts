import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledRates, csvFromDownload, dailyRates, downloadEcbRates, parseEcbCsv } from '../src/infra/fx/ecb-rates.js';
import { DuckDbWarehouse } from '../src/infra/warehouse/duckdb.warehouse.js';
import { fxRatesJob } from './fx-rates.job.js';

const CSV = 'Date,USD,JPY,BGN,\n2026-11-06,1.1500,170.5,N/A,\n2026-11-04,1.1400,170.1,N/A,\n';

/** A one-file ZIP as the ECB serves it (deflated, sizes in the local header). */
function zipOf(name: string, text: string): Buffer {
  const data = deflateRawSync(Buffer.from(text));
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(20, 4);
  header.writeUInt16LE(0, 6);
  header.writeUInt16LE(8, 8);
  header.writeUInt32LE(data.length, 18);
  header.writeUInt32LE(text.length, 22);
  header.writeUInt16LE(name.length, 26);
  return Buffer.concat([header, Buffer.from(name), data]);
}

describe('ECB rates', () => {
  it('reads the ECB CSV, skipping N/A, with EUR at 1', () => {
    expect(parseEcbCsv(CSV)).toEqual([
      { date: '2026-11-06', currency: 'EUR', perEur: 1 },
      { date: '2026-11-06', currency: 'USD', perEur: 1.15 },
      { date: '2026-11-06', currency: 'JPY', perEur: 170.5 },
      { date: '2026-11-04', currency: 'EUR', perEur: 1 },
      { date: '2026-11-04', currency: 'USD', perEur: 1.14 },
      { date: '2026-11-04', currency: 'JPY', perEur: 170.1 },
    ]);
  });

  it('gives every calendar day the last rate published on or before it', () => {
    const usd = dailyRates(parseEcbCsv(CSV), '2026-11-08').filter((r) => r.currency === 'USD');
    expect(usd.map((r) => [r.date, r.perEur])).toEqual([
      ['2026-11-04', 1.14],
      ['2026-11-05', 1.14],
      ['2026-11-06', 1.15],
      ['2026-11-07', 1.15],
      ['2026-11-08', 1.15],
    ]);
  });

  it('reads the CSV out of the ECB ZIP', () => {
    expect(csvFromDownload(zipOf('eurofxref-hist.csv', CSV))).toBe(CSV);
  });

  it('bundles a snapshot with the main currencies on working days since 2024', () => {
    const rates = bundledRates();
    const dates = new Set(rates.map((r) => r.date));
    expect(dates.size).toBeGreaterThan(700);
    expect([...dates].sort()[0]).toBe('2024-01-02');
    // a known publication: 2024-03-11, USD 1.0926 (ECB reference rate)
    expect(rates.find((r) => r.date === '2024-03-11' && r.currency === 'USD')?.perEur).toBe(1.0926);
  });
});

describe('fx-rates job', () => {
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/rates.zip') res.end(zipOf('eurofxref-hist.csv', CSV));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('replaces the bundled snapshot with the download, filled day by day', async () => {
    const wh = await DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => k });
    try {
      await wh.init();
      const before = await wh.query<{ n: number }>(`SELECT count(*) AS n FROM fx_rates WHERE rate_date = DATE '2024-03-11' AND currency = 'USD'`, []);
      expect(Number(before[0].n)).toBe(1);
      const refreshes: { rates: number; lastPublished: string | null }[] = [];
      const refreshed = async (r: (typeof refreshes)[number]) => void refreshes.push(r);
      const job = fxRatesJob({ warehouse: wh, download: (signal) => downloadEcbRates(`${url}/rates.zip`, signal), refreshed });
      const out = await job({ data: {}, signal: new AbortController().signal } as never);
      expect(out).toMatchObject({ published: 6, lastPublished: '2026-11-06' });
      // recorded after the replacement: the report cache's rates version moves
      expect(refreshes).toEqual([{ rates: (out as { rows: number }).rows, lastPublished: '2026-11-06' }]);
      const rows = await wh.query<{ d: string; r: number }>(
        `SELECT CAST(rate_date AS VARCHAR) AS d, per_eur AS r FROM fx_rates WHERE currency = 'USD' AND rate_date <= DATE '2026-11-07' ORDER BY 1`,
        [],
      );
      expect(rows.map((x) => [x.d, x.r])).toEqual([
        ['2026-11-04', 1.14],
        ['2026-11-05', 1.14],
        ['2026-11-06', 1.15],
        ['2026-11-07', 1.15],
      ]);
      await expect(
        fxRatesJob({ warehouse: wh, download: (signal) => downloadEcbRates(`${url}/missing`, signal), refreshed })({
          data: {},
          signal: new AbortController().signal,
        } as never),
      ).rejects.toThrow(/404/);
      // a failed refresh leaves the rates as they were, and records nothing
      expect(refreshes).toHaveLength(1);
      expect(
        Number((await wh.query<{ n: number }>(`SELECT count(*) AS n FROM fx_rates WHERE currency = 'USD' AND rate_date = DATE '2026-11-05'`, []))[0].n),
      ).toBe(1);
    } finally {
      await wh.close();
    }
  });
});
