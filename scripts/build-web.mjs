#!/usr/bin/env node
// Builds the web console (web/ -> web/dist/, git-ignored) with Vite and prints the JavaScript it
// ships, gzipped. Run by `npm start` and `npm test` (prestart/pretest), offline, in seconds.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { build } from 'vite';

const web = path.resolve(import.meta.dirname, '../web');
const started = Date.now();
await build({ configFile: path.join(web, 'vite.config.ts'), logLevel: 'warn' });
const assets = path.join(web, 'dist/assets');
let raw = 0;
let gz = 0;
for (const f of fs.readdirSync(assets)) {
  if (!f.endsWith('.js')) continue;
  const b = fs.readFileSync(path.join(assets, f));
  raw += b.length;
  gz += zlib.gzipSync(b, { level: 9 }).length;
}
const kb = (n) => (n / 1024).toFixed(1);
process.stdout.write(`console built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${kb(gz)} KB of JavaScript gzipped (${kb(raw)} KB raw) in web/dist\n`);
