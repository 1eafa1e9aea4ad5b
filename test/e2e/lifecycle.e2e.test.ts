import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tallyCli } from '../support/cli.js';
import { createTenantCli, readZone, startTally, type TallyProcess, type TenantKeys } from '../support/tally-process.js';

const DAY = 86_400_000;

/**
 * The lifecycle commands against a running `tally serve`: they reach it through its loopback admin
 * endpoint (the data dir is its), with --json output, and their --help.
 */
describe('tally import / export / delete-user / retention run against tally serve', () => {
  let tally: TallyProcess;
  let t: TenantKeys;

  beforeAll(async () => {
    tally = await startTally({ env: { TALLY_TRANSFORM_INTERVAL_MS: '3600000', TALLY_ARCHIVE_MAX_WAIT_MS: '100' } });
    t = await createTenantCli(tally.dataDir, 'Lifecycle');
  }, 120_000);
  afterAll(async () => {
    expect(await tally?.stop()).toBe(0);
  });

  const cli = (args: string[]) => tallyCli(tally.dataDir, args);

  it('imports a backfill (bad line named), exports it, deletes one user, all with --json', async () => {
    const at = Date.now() - 20 * DAY;
    const rows = [
      { event_id: 'e1', name: 'page_view', client_id: 'c1', user_id: 'keep', timestamp: at },
      { event_id: 'e2', name: 'page_view', client_id: 'c2', user_id: 'gone', timestamp: at + 1000 },
      { event_id: 'e3', name: 'purchase', client_id: 'c2', user_id: 'gone', timestamp: at + 2000 },
    ];
    const file = path.join(tally.dataDir, 'backfill.ndjson');
    fs.writeFileSync(file, [JSON.stringify(rows[0]), '{"name":"page_view"}', JSON.stringify(rows[1]), JSON.stringify(rows[2])].join('\n'));
    const imported = JSON.parse(await cli(['import', '--property', t.propertyId, file, '--json']));
    expect(imported).toMatchObject({ rows: 4, imported: 3, refused: [{ line: 2 }] });
    await cli(['jobs', 'run', 'pipeline']);

    const out = path.join(tally.dataDir, 'export.ndjson');
    const day = new Date(at).toISOString().slice(0, 10);
    const exported = JSON.parse(await cli(['export', '--property', t.propertyId, '--from', day, '--to', day, '--format', 'ndjson', '--out', out, '--json']));
    expect(exported.rows).toBe(3);
    expect(
      fs
        .readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).tally.event_id)
        .sort(),
    ).toEqual(['e1', 'e2', 'e3']);

    const deleted = JSON.parse(await cli(['delete-user', '--property', t.propertyId, '--user-id', 'gone', '--reason', 'ticket 9', '--json']));
    expect(deleted.receipt).toMatchObject({ state: 'done', reason: 'ticket 9' });
    expect(deleted.counts).toMatchObject({ rawRecords: 2, warehouseEvents: 2, warehouseRemaining: 0, transformedRemaining: 0 });
    expect(readZone(tally.dataDir, 'raw').filter((r) => r.record.user_id === 'gone')).toEqual([]);
    const again = JSON.parse(await cli(['export', '--property', t.propertyId, '--from', day, '--to', day, '--out', out, '--json']));
    expect(again.rows).toBe(1);

    const retention = JSON.parse(await cli(['retention', 'run', '--json']));
    expect(retention).toMatchObject({ properties: expect.any(Number), purgedProperties: 0 });
  }, 240_000);

  it('says what each command does and refuses a wrong call with exit code 2', async () => {
    for (const cmd of ['delete-user', 'export', 'import']) expect(await cli([cmd, '--help'])).toMatch(/--property/);
    await expect(cli(['delete-user', '--property', t.propertyId, '--reason', 'x'])).rejects.toThrow(/exactly one of --user-id and --client-id/);
  });
});
