import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleRouter } from './console.static.js';

describe('console static router', () => {
  let dir: string;
  let server: http.Server;
  let base = '';
  let missingBase = '';
  let missing: http.Server;

  const listen = async (app: express.Express) => {
    const s = http.createServer(app);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return { s, base: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-console-'));
    fs.mkdirSync(path.join(dir, 'assets'));
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/app.js"></script>');
    fs.writeFileSync(path.join(dir, 'assets/app.js'), 'console.log(1)');
    fs.writeFileSync(path.join(dir, 'favicon.svg'), '<svg/>');
    const app = express();
    app.get('/api/known', (_req, res) => void res.json({ ok: true }));
    app.use(createConsoleRouter({ dir }));
    ({ s: server, base } = await listen(app));
    const bare = express();
    bare.use(createConsoleRouter({ dir: path.join(dir, 'nope') }));
    ({ s: missing, base: missingBase } = await listen(bare));
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await new Promise((r) => missing.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers client routes with index.html, no-cache, a strict CSP and helmet headers', async () => {
    for (const p of ['/', '/login', '/p/400000001/settings/keys?x=1']) {
      const r = await fetch(base + p);
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('/assets/app.js');
      expect(r.headers.get('cache-control')).toBe('no-cache');
      const csp = r.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|upgrade-insecure-requests/);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      // HSTS only over TLS
      expect(r.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it('serves hashed assets as immutable and 404s missing files', async () => {
    const r = await fetch(`${base}/assets/app.js`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toContain('immutable');
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await fetch(`${base}/favicon.svg`)).status).toBe(200);
    expect((await fetch(`${base}/assets/gone.js`)).status).toBe(404);
    expect((await fetch(`${base}/robots.txt`)).status).toBe(404);
  });

  it('leaves API paths and other methods alone', async () => {
    expect(await (await fetch(`${base}/api/known`)).json()).toEqual({ ok: true });
    for (const p of ['/api/unknown', '/v1beta/properties/1/metadata', '/v1alpha/properties/1/metadata', '/openapi.json']) {
      const r = await fetch(base + p);
      expect(r.status, p).toBe(404);
      expect(await r.text(), p).not.toContain('/assets/app.js');
    }
    expect((await fetch(`${base}/login`, { method: 'POST' })).status).toBe(404);
  });

  it('says how to build the console when it is not built', async () => {
    const r = await fetch(`${missingBase}/`);
    expect(r.status).toBe(503);
    expect(await r.text()).toContain('npm run build:web');
  });
});
