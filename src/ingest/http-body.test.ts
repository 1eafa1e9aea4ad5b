import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTallyError } from '../infra/errors.js';
import { readBody } from './http-body.js';

/** A real server whose handler reports what readBody gave for each request. */
let server: http.Server;
let port: number;
const outcomes: Promise<unknown>[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const outcome = readBody(req, 1_000).then(
      (b) => ({ body: b.toString() }),
      (e) => ({ error: isTallyError(e) ? e.details.reason : 'other' }),
    );
    outcomes.push(outcome);
    void outcome.then((o) => res.writeHead(200).end(JSON.stringify(o)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const post = async (body: Buffer | string, headers: Record<string, string> = {}) =>
  (await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body, headers })).json();

describe('readBody', () => {
  it('reads a body sent in chunks, and inflates gzip by header or by magic bytes', async () => {
    expect(await post('hello')).toEqual({ body: 'hello' });
    expect(await post(gzipSync('zipped'), { 'content-encoding': 'gzip' })).toEqual({ body: 'zipped' });
    expect(await post(gzipSync('unlabelled'))).toEqual({ body: 'unlabelled' });
  });

  it('assembles a body of a declared length that arrives in several pieces', async () => {
    const before = outcomes.length;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello');
    await new Promise((r) => setTimeout(r, 50));
    socket.write(' ');
    await new Promise((r) => setTimeout(r, 50));
    socket.end('world');
    await expect.poll(() => outcomes.length).toBe(before + 1);
    expect(await outcomes[before]).toEqual({ body: 'hello world' });
    socket.destroy();
  });

  it('refuses a body over the limit, declared or streamed without a length', async () => {
    expect(await post('x'.repeat(1_001))).toEqual({ error: 'body_too_large' });
    const streamed = new ReadableStream({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(new TextEncoder().encode('y'.repeat(400)));
        c.close();
      },
    });
    const r = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: streamed, duplex: 'half' } as RequestInit);
    expect(await r.json()).toEqual({ error: 'body_too_large' });
    expect(await post(gzipSync('z'.repeat(5_000)), { 'content-encoding': 'gzip' })).toEqual({ error: 'body_too_large' });
  });

  it('settles (rejects with a TallyError, which the collector logs at debug, not error) when the client goes away mid-body', async () => {
    const before = outcomes.length;
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n' + 'a'.repeat(100));
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    await expect.poll(() => outcomes.length).toBe(before + 1);
    expect(await outcomes[before]).toEqual({ error: 'request_aborted' });
  });
});
