import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, expect, it } from 'vitest';
import { tallyCli } from '../support/cli.js';
import { describeWithService } from '../support/services.js';
import { createTenantCli, eventually, readZone, startTally, type TallyProcess } from '../support/tally-process.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const STATE = process.env.TALLY_SERVICES_STATE ?? '/tmp/tally-services';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Kills the broker by the pid scripts/services recorded. Not `scripts/services down kafka`: that
 * also deletes the broker's data dir, which is data loss, not an outage.
 */
async function killBroker(): Promise<void> {
  const pid = Number(fs.readFileSync(path.join(STATE, 'kafka.pid'), 'utf8').trim().split('\n')[0]);
  expect(pid).toBeGreaterThan(1);
  process.kill(pid, 'SIGKILL');
  await eventually(
    () => {
      try {
        process.kill(pid, 0);
        return undefined;
      } catch {
        return true;
      }
    },
    30_000,
    'the broker to exit',
  );
}

/** Async, so the clients keep sending (and seeing 503s) while the broker starts. */
function startBroker(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(ROOT, 'scripts/services'), ['up', 'kafka'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), 170_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`scripts/services up kafka failed (${code}): ${err}`));
    });
  });
}

describeWithService('fault: Kafka broker outage under load', 'kafka', 'KAFKA_BROKERS', (brokers) => {
  const id = randomUUID().slice(0, 8);
  const topics = { raw: `fault.${id}.raw-events`, dl: `fault.${id}.dead-letter` };
  let tally: TallyProcess | undefined;
  let brokerKilled = false;

  afterAll(async () => {
    if (brokerKilled) await startBroker();
    await tally?.stop();
    const admin = new Kafka({ clientId: 'tally-fault-cleanup', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.includes(`fault.${id}.`));
    if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
    await admin.deleteTopics({ topics: [topics.raw, topics.dl] }).catch(() => undefined);
    await admin.disconnect();
    if (tally) fs.rmSync(tally.dataDir, { recursive: true, force: true });
  });

  it('answers 503 while the broker is down, recovers without a restart, and loses no acknowledged event', async () => {
    tally = await startTally({
      env: {
        KAFKA_BROKERS: brokers,
        KAFKA_TOPIC_RAW: topics.raw,
        KAFKA_TOPIC_DEAD_LETTER: topics.dl,
        TALLY_ARCHIVE_MAX_WAIT_MS: '200',
        TALLY_TRANSFORM_INTERVAL_MS: '3600000',
      },
    });
    const t = await createTenantCli(tally.dataDir, 'Outage', ['--plan', 'scale']);
    const url = `${tally.baseUrl}/v1/collect`;

    // Clients behave like a tracker: a request that fails is sent again, same event ids, later.
    const acked = new Map<string, number>();
    const statuses: { at: number; status: number; error?: string; ms?: number }[] = [];
    let stopClients = false;
    const client = async (c: number): Promise<void> => {
      let retry: string[] | null = null;
      for (let i = 0; !stopClients || retry; i++) {
        const ids: string[] = retry ?? Array.from({ length: 3 }, (_, j) => `c${c}-r${i}-e${j}`);
        let status = 0;
        let error: string | undefined;
        const sentAt = Date.now();
        try {
          const r = await fetch(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${t.ingestKey}` },
            body: JSON.stringify({
              events: ids.map((event_id) => ({ event_id, name: 'page_view', client_id: `client-${c}`, url: `https://outage.test/${c}` })),
            }),
            signal: AbortSignal.timeout(20_000),
          });
          status = r.status;
          await r.arrayBuffer();
        } catch (e) {
          status = -1;
          const err = e as Error & { cause?: { code?: string } };
          error = err.cause?.code ?? err.name;
        }
        statuses.push({ at: Date.now(), status, error, ms: Date.now() - sentAt });
        if (status >= 200 && status < 300) {
          for (const e of ids) acked.set(e, (acked.get(e) ?? 0) + 1);
          retry = null;
          await sleep(20);
        } else {
          retry = ids;
          await sleep(200);
        }
      }
    };
    const clients = [0, 1, 2, 3].map(client);

    await eventually(() => (acked.size >= 300 ? true : undefined), 30_000, 'traffic before the outage');
    const downAt = Date.now();
    await killBroker();
    brokerKilled = true;
    const first503 = await eventually(() => statuses.find((s) => s.at > downAt && s.status === 503), 30_000, 'a 503 while the broker is down');
    await sleep(3_000);
    const okDuringOutage = statuses.filter((s) => s.at > first503.at && s.status >= 200 && s.status < 300).length;

    const upAt = Date.now();
    await startBroker();
    brokerKilled = false;
    const brokerReadyMs = Date.now() - upAt;
    const recovered = await eventually(() => statuses.find((s) => s.at > upAt && s.status >= 200 && s.status < 300), 60_000, 'a 2xx after the broker is back');
    const ackedBeforeTail = acked.size;
    await eventually(() => (acked.size >= ackedBeforeTail + 300 ? true : undefined), 30_000, 'traffic after the outage');
    stopClients = true;
    await Promise.all(clients);

    const during = statuses.filter((s) => s.at > downAt && s.at < recovered.at);
    const count = (pred: (s: number) => boolean) => during.filter((s) => pred(s.status)).length;
    console.info(
      `kafka outage: ${acked.size} events acknowledged; during the outage ${count((s) => s === 503)} x 503, ` +
        `${count((s) => s >= 200 && s < 300)} x 2xx, other: ${JSON.stringify(during.filter((s) => s.status !== 503 && (s.status < 200 || s.status >= 300)).map((s) => `${s.status} ${s.error ?? ''} after ${s.ms} ms`))}; ` +
        `slowest 503 ${Math.max(...during.filter((s) => s.status === 503).map((s) => s.ms ?? 0))} ms; ` +
        `first 503 ${first503.at - downAt} ms after the kill; broker ready ${brokerReadyMs} ms after 'services up' began, first 2xx ${recovered.at - upAt} ms after`,
    );
    expect(first503.status).toBe(503);
    // once the collector has noticed, nothing is acknowledged until the broker is back
    expect(okDuringOutage).toBe(0);
    expect(statuses.filter((s) => s.status === 500)).toEqual([]);

    const raw = await eventually(
      () => {
        const recs = readZone(tally!.dataDir, 'raw');
        const seen = new Set(recs.map((r) => r.record.event_id as string));
        for (const e of acked.keys()) if (!seen.has(e)) return undefined;
        return recs;
      },
      90_000,
      'every acknowledged event in the raw zone',
    );
    await sleep(1_500);
    const perEvent = new Map<string, number>();
    for (const r of readZone(tally.dataDir, 'raw')) perEvent.set(r.record.event_id, (perEvent.get(r.record.event_id) ?? 0) + 1);
    for (const e of acked.keys()) expect(perEvent.get(e) ?? 0, e).toBeGreaterThanOrEqual(1);
    // raw duplicates can only come from a request that failed ambiguously and was sent again
    const dupes = [...perEvent].filter(([, n]) => n > 1);
    const ackedTwice = [...acked].filter(([, n]) => n > 1).length;
    const notAckedButPresent = [...perEvent.keys()].filter((e) => !acked.has(e)).length;
    console.info(
      `kafka outage: raw zone ${raw.length} records, ${dupes.length} event ids more than once, ${ackedTwice} acknowledged twice, ${notAckedButPresent} present without a 2xx`,
    );
    expect(notAckedButPresent).toBe(0);

    await tallyCli(tally.dataDir, ['jobs', 'run', 'pipeline', '--property', t.propertyId]);
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const glob = path.join(tally.dataDir, 'objects/transformed/events/**/*.parquet');
      const reader = await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n, count(DISTINCT event_id)::INTEGER AS d FROM read_parquet('${glob}')`);
      const [n, d] = reader.getRows()[0] as [number, number];
      console.info(`kafka outage: transformed zone ${n} events, ${d} distinct event ids`);
      expect(d).toBe(n);
      expect(d).toBe(perEvent.size);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });
});
