// Sums a .cpuprofile (node --cpu-prof) by self time: per function and per file, top N.
// usage: node bench/cpuprofile-summary.mjs <file.cpuprofile> [N]
import fs from 'node:fs';

const [file, top = '30'] = process.argv.slice(2);
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byFn = new Map();
const byFile = new Map();
for (const [id, us] of self) {
  const f = byId.get(id).callFrame;
  const where = (f.url || '(native)')
    .replace(/^file:\/\//, '')
    .replace(/.*node_modules\//, 'node_modules/')
    .replace(/.*\/src\//, 'src/');
  const fn = `${f.functionName || '(anonymous)'}  ${where}:${f.lineNumber + 1}`;
  byFn.set(fn, (byFn.get(fn) ?? 0) + us);
  byFile.set(where, (byFile.get(where) ?? 0) + us);
}
const print = (title, m) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  }
};
console.log(`total sampled ${(total / 1000).toFixed(0)} ms`);
print('self time by function', byFn);
print('self time by file', byFile);

// the callers of every function named in PROFILE_CALLERS (comma-separated), by self time
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
for (const name of (process.env.PROFILE_CALLERS ?? '').split(',').filter(Boolean)) {
  const callers = new Map();
  for (const [id, us] of self) {
    if (byId.get(id).callFrame.functionName !== name) continue;
    const chain = [];
    for (let p = parent.get(id); p !== undefined && chain.length < 4; p = parent.get(p)) {
      const f = byId.get(p).callFrame;
      chain.push(`${f.functionName || '(anon)'}@${(f.url || '').split('/').pop()}:${f.lineNumber + 1}`);
    }
    const k = chain.join(' < ');
    callers.set(k, (callers.get(k) ?? 0) + us);
  }
  print(`callers of ${name}`, callers);
}

// inclusive (self + callees) time per function, for PROFILE_TOTAL=1
if (process.env.PROFILE_TOTAL) {
  const incl = new Map();
  for (const [id, us] of self) {
    const seen = new Set();
    for (let p = id; p !== undefined; p = parent.get(p)) {
      const f = byId.get(p).callFrame;
      const k = `${f.functionName || '(anonymous)'}  ${(f.url || '(native)').split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + us);
    }
  }
  print('inclusive time by function', incl);
}

// what the functions named in PROFILE_CHILDREN spend their time in (inclusive time per direct callee)
const inclusive = (id) => (self.get(id) ?? 0) + (byId.get(id).children ?? []).reduce((a, c) => a + inclusive(c), 0);
for (const name of (process.env.PROFILE_CHILDREN ?? '').split(',').filter(Boolean)) {
  const kids = new Map();
  for (const n of prof.nodes) {
    if (n.callFrame.functionName !== name) continue;
    kids.set('(self)', (kids.get('(self)') ?? 0) + (self.get(n.id) ?? 0));
    for (const c of n.children ?? []) {
      const f = byId.get(c).callFrame;
      const k = `${f.functionName || '(anon)'}@${(f.url || '').split('/').pop()}:${f.lineNumber + 1}`;
      kids.set(k, (kids.get(k) ?? 0) + inclusive(c));
    }
  }
  print(`inside ${name}`, kids);
}
