import net from 'node:net';
import zlib from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/infra/object-store/s3.object-store.js';
import { describeWithService } from '../support/services.js';
import { createTenantCli, eventually, startTally, type TallyProcess } from '../support/tally-process.js';

/**
 * The S3 server "stopped for a while": moto keeps its data in memory, so stopping it would lose
 * the bucket. Tally reaches it through a TCP proxy that this test closes (refusing and cutting
 * every connection, as a stopped server does) and opens again on the same port.
 */
class Outage {
  private server: net.Server | null = null;
  private sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: URL) {}

  async up(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(Number(this.target.port), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
    this.port = (this.server!.address() as net.AddressInfo).port;
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
    this.server = null;
  }
}

describeWithService('fault: S3 unreachable for a while', 's3', 'S3_ENDPOINT', (endpoint) => {
  const prefix = `fault-${randomUUID().slice(0, 8)}`;
  const outage = new Outage(new URL(endpoint));
  let tally: TallyProcess | undefined;
  const direct = new S3ObjectStore({
    bucket: process.env.S3_BUCKET ?? 'tally',
    prefix,
    region: process.env.S3_REGION ?? 'us-east-1',
    endpoint,
    forcePathStyle: true,
  });

  afterAll(async () => {
    await tally?.stop();
    await outage.down().catch(() => undefined);
    await direct.delete((await direct.list('')).map((o) => o.key));
  });

  const archived = async () => {
    const found: string[] = [];
    for (const o of await direct.list('raw/')) {
      const body = await direct.get(o.key);
      for (const line of zlib.gunzipSync(body!).toString().trim().split('\n')) found.push(JSON.parse(line).event_id);
    }
    return found;
  };

  it('acknowledges while S3 is down, retries, and archives every event exactly once when it returns', async () => {
    await outage.up();
    tally = await startTally({
      env: {
        S3_BUCKET: process.env.S3_BUCKET ?? 'tally',
        S3_PREFIX: prefix,
        S3_ENDPOINT: `http://127.0.0.1:${outage.port}`,
        S3_FORCE_PATH_STYLE: 'true',
        TALLY_ARCHIVE_MAX_WAIT_MS: '200',
      },
    });
    const t = await createTenantCli(tally.dataDir, 'Bucketed');
    let n = 0;
    const send = async () => {
      const ids = Array.from({ length: 5 }, () => `s3-${n++}`);
      const r = await fetch(`${tally!.baseUrl}/v1/collect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.ingestKey}` },
        body: JSON.stringify({ events: ids.map((event_id) => ({ event_id, name: 'page_view', client_id: 'c1' })) }),
      });
      expect(r.status).toBe(200);
      return ids;
    };
    const acked = [...(await send()), ...(await send())];
    await outage.down();
    for (let i = 0; i < 10; i++) {
      acked.push(...(await send())); // the event log is the durability point: S3 being away is not the client's problem
      await new Promise((r) => setTimeout(r, 300));
    }
    await new Promise((r) => setTimeout(r, 3000)); // the archiver fails and backs off meanwhile
    const duringOutage = await archived();
    expect(acked.filter((id) => !duringOutage.includes(id)).length).toBeGreaterThan(0);
    acked.push(...(await send()));
    await new Promise((r) => setTimeout(r, 1500));
    expect(await archived(), 'nothing new reaches S3 while it is away').toEqual(duringOutage);
    await outage.up();
    acked.push(...(await send()));

    const ids = await eventually(
      async () => {
        const found = await archived();
        return acked.every((id) => found.includes(id)) ? found : undefined;
      },
      90_000,
      'every acknowledged event in S3',
    );
    expect(ids.length).toBe(acked.length);
    expect(new Set(ids).size).toBe(acked.length);
    expect(await tally.stop()).toBe(0);
    tally = undefined;
  });
});
