import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { embeddedEnv, tempDataDir } from '../support/tally-process.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/tally.mjs');
const tally = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { env: { ...embeddedEnv(), LOG_LEVEL: 'warn', ...env }, encoding: 'utf8', timeout: 120_000 });

describe('tally CLI', () => {
  it('explains itself and every subcommand', () => {
    const top = tally(['--help']);
    expect(top.status).toBe(0);
    for (const cmd of ['serve', 'collector', 'api', 'worker', 'scheduler', 'tenant', 'jobs', 'demo']) expect(top.stdout).toContain(cmd);
    const create = tally(['tenant', 'create', '--help']);
    expect(create.stdout).toContain('--json');
    expect(create.stdout).toContain('--domain');
    expect(tally(['jobs', 'run', '--help']).stdout).toContain('transform | load | pipeline');
  });

  it('stops at start-up naming a bad variable', () => {
    const r = tally(['serve'], { PORT: 'eighty', TALLY_DATA_DIR: tempDataDir() });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('PORT="eighty"');
  });

  it('creates a tenant without a running server, and refuses a bad time zone', () => {
    const dir = tempDataDir();
    const ok = tally(['tenant', 'create', '--name', 'Solo', '--email', 'solo@example.com', '--domain', 'solo.example', '--json'], { TALLY_DATA_DIR: dir });
    expect(ok.status, ok.stderr).toBe(0);
    expect(Object.keys(JSON.parse(ok.stdout)).sort()).toEqual(['apiSecret', 'ingestKey', 'measurementId', 'organizationId', 'propertyId', 'readKey', 'siteId']);
    const bad = tally(['tenant', 'create', '--name', 'X', '--email', 'x@example.com', '--domain', 'x.example', '--time-zone', 'Mars/Olympus'], { TALLY_DATA_DIR: dir });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('unknown time zone');
  });
});
