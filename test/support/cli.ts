import { spawn } from 'node:child_process';
import path from 'node:path';
import { embeddedEnv } from './tally-process.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Runs `tally <args>` against a data dir as an operator would; resolves with stdout. */
export function tallyCli(dataDir: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/tally.mjs'), ...args], {
      cwd: ROOT,
      env: { ...embeddedEnv(), TALLY_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`tally ${args.join(' ')} exited ${code}: ${err}`))));
  });
}
