import fs from 'node:fs';
import path from 'node:path';

const BENCHES: Record<string, string> = {
  collector: './collector.bench.ts',
  kafka: './kafka.bench.ts',
  'kafka-clients': './kafka-clients.bench.ts',
  protocols: './protocols.bench.ts',
  report: './report.bench.ts',
  'report-isolation': './report-isolation.bench.ts',
  freshness: './freshness.bench.ts',
  transform: './transform.bench.ts',
  'transform-cycle': './transform-cycle.bench.ts',
  tenants: './tenants.bench.ts',
  archiver: './archiver.bench.ts',
  accounts: './accounts.bench.ts',
  replay: './replay.bench.ts',
  sql: './sql.bench.ts',
  funnel: './funnel.bench.ts',
};

export async function main(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(
      `usage: npm run bench [-- ${Object.keys(BENCHES).join(' | ')} ...]\nWrites bench/results/<name>.json; set BENCH_SECONDS to change each run's duration.\n`,
    );
    return;
  }
  const names = args.length ? args : Object.keys(BENCHES);
  const outDir = path.join(import.meta.dirname, 'results');
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of names) {
    const file = BENCHES[name];
    if (!file) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(BENCHES).join(', ')}`);
    const mod = (await import(file)) as { run: () => Promise<unknown> };
    process.stdout.write(`\n== ${name}\n`);
    const result = await mod.run();
    const out = path.join(outDir, `${name}.json`);
    fs.writeFileSync(out, JSON.stringify({ name, at: new Date().toISOString(), ...(result as object) }, null, 2));
    process.stdout.write(`written ${path.relative(process.cwd(), out)}\n`);
  }
}
