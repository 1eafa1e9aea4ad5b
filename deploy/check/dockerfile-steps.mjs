#!/usr/bin/env node
// Runs the Dockerfile's build steps without a container engine, then starts the result.
//
//   node deploy/check/dockerfile-steps.mjs [--keep]
//
// Each stage gets its own root folder under a temp dir; the instructions are carried out as a
// builder would: ARG/ENV (expanded in later instructions), WORKDIR, COPY from the build context
// (minus .dockerignore) or from an earlier stage (symlinks kept), RUN with `sh -c` in the stage's
// WORKDIR. RUN steps must stay relative to WORKDIR (an absolute path would reach this machine,
// not the stage), so the script refuses RUN text that names one, and a runtime stage with RUN.
// The final stage is then checked as the image would run: USER is not root, ENTRYPOINT resolves
// on the stage's PATH, `tally --version` answers, and `tally serve` (the image's CMD) on the
// embedded defaults answers /healthz and /readyz 200 and stops cleanly on SIGTERM.
// What it cannot do: pull the base image (the steps run on this machine's Node, which CI puts at
// the base image's major version), apply --chown, or run as the image's user.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '../..');
const keep = process.argv.includes('--keep');
const log = (msg) => process.stdout.write(`[dockerfile] ${msg}\n`);
const fail = (msg) => {
  process.stderr.write(`[dockerfile] FAILED: ${msg}\n`);
  process.exit(1);
};

/** Dockerfile lines joined across backslash continuations, comments and blanks dropped. */
function instructions(text) {
  const out = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (!cur && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    if (cur && line.trim().startsWith('#')) continue;
    if (line.endsWith('\\')) {
      cur += line.slice(0, -1) + ' ';
      continue;
    }
    cur += line;
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(cur);
    if (!m) fail(`cannot read line: ${cur}`);
    out.push({ op: m[1].toUpperCase(), args: m[2].trim() });
    cur = '';
  }
  return out;
}

/** $VAR and ${VAR} from the given variables (unknown ones stay as they are, as a shell would see them). */
function expand(s, vars) {
  return s.replace(/\$\{(\w+)\}|\$(\w+)/g, (all, a, b) => vars[a ?? b] ?? all);
}

/** KEY=VALUE pairs of ENV/ARG (values may be double-quoted). */
function pairs(args) {
  const out = {};
  for (const m of args.matchAll(/(\w+)(?:=("(?:[^"\\]|\\.)*"|\S*))?/g)) out[m[1]] = m[2]?.startsWith('"') ? JSON.parse(m[2]) : (m[2] ?? '');
  return out;
}

function dockerignore() {
  const f = path.join(REPO, '.dockerignore');
  if (!fs.existsSync(f)) return [];
  return fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/^\/+|\/+$/g, ''));
}

function ignored(rel, patterns) {
  return patterns.some((p) => {
    if (p.startsWith('*.')) return rel.endsWith(p.slice(1));
    return rel === p || rel.startsWith(`${p}/`);
  });
}

function copyTree(src, dest, filter) {
  fs.cpSync(src, dest, { recursive: true, verbatimSymlinks: true, filter, force: true });
}

const dockerfile = fs.readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-dockerfile-'));
const ignore = dockerignore();
const args = {};
const stages = [];
let stage = null;

for (const { op, args: text } of instructions(dockerfile)) {
  if (op === 'ARG') {
    Object.assign(args, Object.fromEntries(Object.entries(pairs(text)).map(([k, v]) => [k, expand(v, args)])));
    continue;
  }
  if (op === 'FROM') {
    const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(expand(text, args));
    if (!m) fail(`FROM ${text}`);
    const name = m[2] ?? String(stages.length);
    const base = stages.find((s) => s.name === m[1]);
    stage = { name, image: m[1], root: path.join(work, name), workdir: '/', env: { ...(base?.env ?? {}) }, user: 'root', runs: 0 };
    fs.mkdirSync(stage.root, { recursive: true });
    if (base) copyTree(base.root, stage.root);
    stages.push(stage);
    log(`stage ${name} (${m[1]})`);
    continue;
  }
  if (!stage) fail(`${op} before FROM`);
  const vars = { ...args, ...stage.env };
  const inStage = (p) => path.join(stage.root, path.posix.resolve(stage.workdir, p));
  switch (op) {
    case 'WORKDIR':
      stage.workdir = path.posix.resolve(stage.workdir, expand(text, vars));
      fs.mkdirSync(inStage('.'), { recursive: true });
      break;
    case 'ENV':
      for (const [k, v] of Object.entries(pairs(text))) stage.env[k] = expand(v, { ...vars, PATH: stage.env.PATH ?? '$PATH' });
      break;
    case 'COPY': {
      const words = expand(text, vars).split(/\s+/);
      const flags = Object.fromEntries(words.filter((w) => w.startsWith('--')).map((w) => w.slice(2).split('=')));
      const rest = words.filter((w) => !w.startsWith('--'));
      const dest = rest.pop();
      const from = flags.from ? stages.find((s) => s.name === flags.from) : null;
      if (flags.from && !from) fail(`COPY --from=${flags.from}: no such stage`);
      for (const src of rest) {
        const srcPath = from ? path.join(from.root, path.posix.resolve(from.workdir, src)) : path.join(REPO, src);
        if (!fs.existsSync(srcPath)) fail(`COPY ${src}: not found${from ? ` in stage ${from.name}` : ' in the build context'}`);
        const destPath = dest.endsWith('/') || rest.length > 1 ? path.join(inStage(dest), path.basename(src)) : inStage(dest);
        fs.mkdirSync(path.dirname(destPath), { recursive: true });
        const filter = from ? undefined : (p) => !ignored(path.relative(REPO, p), ignore);
        if (fs.statSync(srcPath).isDirectory()) copyTree(srcPath, destPath, filter);
        else fs.copyFileSync(srcPath, destPath);
      }
      break;
    }
    case 'RUN': {
      const cmd = expand(text, { ...vars, PATH: undefined });
      // an absolute path in a RUN step would reach this machine instead of the stage
      if (/(^|[\s;&|(=])\/(?!dev\/null)/.test(cmd)) fail(`RUN names an absolute path (keep RUN steps relative to WORKDIR): ${cmd}`);
      log(`RUN ${cmd}  (in ${stage.name}:${stage.workdir})`);
      const t0 = Date.now();
      const r = spawnSync('sh', ['-c', cmd], { cwd: inStage('.'), stdio: 'inherit', env: { ...process.env, ...stage.env, PATH: process.env.PATH } });
      if (r.status !== 0) fail(`RUN ${cmd} exited ${r.status}`);
      log(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      stage.runs++;
      break;
    }
    case 'USER':
      stage.user = expand(text, vars);
      break;
    case 'ENTRYPOINT':
    case 'CMD':
      stage[op.toLowerCase()] = JSON.parse(text);
      break;
    case 'EXPOSE':
    case 'VOLUME':
    case 'LABEL':
      break;
    default:
      fail(`instruction ${op} is not supported by this script: extend it or keep the Dockerfile simple`);
  }
}

const final = stages.at(-1);
if (!final) fail('no stage');
if (stages.length < 2) fail('not multi-stage');
if (final.runs > 0) fail(`the final stage has ${final.runs} RUN step(s): it should only copy from the build stage`);
if (['root', '0', '0:0'].includes(final.user)) fail('the final stage runs as root: set USER');
if (!final.entrypoint) fail('no ENTRYPOINT');
const major = Number(/^node:(\d+)/.exec(final.image)?.[1]);
if (major !== Number(process.versions.node.split('.')[0]))
  fail(`the image is Node ${major} but this runs on ${process.version}: run it on the image's Node (npx -p node@${major})`);

// The image's PATH, mapped into the stage root, resolves the entrypoint
const stagePath = (final.env.PATH ?? '')
  .split(':')
  .filter((p) => p.startsWith('/') && fs.existsSync(path.join(final.root, p)))
  .map((p) => path.join(final.root, p));
const entry = final.entrypoint[0];
const entryPath = stagePath.map((d) => path.join(d, entry)).find((f) => fs.existsSync(f));
if (!entryPath) fail(`ENTRYPOINT ${entry} is not on the image's PATH (${final.env.PATH})`);
const env = { ...process.env, ...final.env, PATH: `${stagePath.join(':')}:${process.env.PATH}` };
for (const k of Object.keys(env)) if (/^(DATABASE_URL|KAFKA_|S3_|REDIS_URL|WAREHOUSE_URL|TALLY_)/.test(k) && !(k in final.env)) delete env[k];

const version = spawnSync(entryPath, [...final.entrypoint.slice(1), '--version'], { env, encoding: 'utf8' });
if (version.status !== 0) fail(`${entry} --version exited ${version.status}: ${version.stderr}`);
log(`${entry} --version: ${version.stdout.trim()} (Node ${process.version})`);

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const dataDir = path.join(work, 'data');
fs.mkdirSync(dataDir);
const cmd = [...final.entrypoint.slice(1), ...(final.cmd ?? [])];
log(`starting ${entry} ${cmd.join(' ')} on port ${port}`);
const child = spawn(entryPath, cmd, { env: { ...env, PORT: String(port), HOST: '127.0.0.1', TALLY_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
let output = '';
child.stdout.on('data', (b) => (output += b));
child.stderr.on('data', (b) => (output += b));
const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));

async function get(p) {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(2000) });
    return { status: r.status, body: await r.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

const deadline = Date.now() + 120_000;
let ready = { status: 0, body: '' };
while (Date.now() < deadline && child.exitCode === null) {
  ready = await get('/readyz');
  if (ready.status === 200) break;
  await new Promise((r) => setTimeout(r, 500));
}
const health = await get('/healthz');
child.kill('SIGTERM');
const { code } = await Promise.race([exited, new Promise((r) => setTimeout(() => r({ code: 'timeout' }), 30_000))]);
if (ready.status !== 200 || health.status !== 200) {
  process.stderr.write(output.slice(-4000));
  fail(`the built image's ${cmd.join(' ')} did not become ready: /readyz ${ready.status}, /healthz ${health.status}`);
}
if (code !== 0) {
  process.stderr.write(output.slice(-4000));
  fail(`${cmd.join(' ')} did not stop cleanly on SIGTERM (exit ${code})`);
}
log(`/healthz ${health.status}, /readyz ${ready.status} ${ready.body}; stopped on SIGTERM with exit 0`);
if (keep) log(`stages kept in ${work}`);
else fs.rmSync(work, { recursive: true, force: true });
log('ok');
