import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, ROOT, embeddedEnv, tempDataDir } from './tally-process.js';

export interface CollectorCluster {
  port: number;
  baseUrl: string;
  /** The primary (the process `tally collector --workers N` started). */
  child: ChildProcess;
  /** Pids of the workers that logged "tally listening", in order (a replaced worker stays listed). */
  listening: number[];
  /** Every JSON log line so far. */
  lines: () => Record<string, unknown>[];
  output: () => string;
  /** Waits until `n` workers not in `except` listen. */
  waitListening(n: number, except?: number[]): Promise<number[]>;
  stop(): Promise<number | null>;
}

/** Starts `tally collector --workers N` (services profile: the env names them) and waits until N workers listen. */
export async function startCollectorCluster(workers: number, env: Record<string, string>, nodeArgs: string[] = []): Promise<CollectorCluster> {
  let out = '';
  let partial = '';
  const lines: Record<string, unknown>[] = [];
  const listening: number[] = [];
  let port = 0;
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'collector', '--workers', String(workers)], {
    cwd: ROOT,
    env: { ...embeddedEnv(), TALLY_DATA_DIR: tempDataDir('tally-cluster-'), PORT: '0', HOST: '127.0.0.1', TALLY_DEMO: 'off', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => {
    out += d;
    partial += d;
    let i;
    while ((i = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, i);
      partial = partial.slice(i + 1);
      try {
        const j = JSON.parse(line) as Record<string, unknown>;
        lines.push(j);
        if (j.msg === 'tally listening') {
          port = j.port as number;
          listening.push(j.pid as number);
        }
      } catch {
        /* not a log line */
      }
    }
  });
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitListening = async (n: number, except: number[] = []) => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const fresh = listening.filter((p) => !except.includes(p));
      if (fresh.length >= n) return fresh;
      if (child.exitCode !== null) throw new Error(`tally collector exited with ${child.exitCode}:\n${out}`);
      if (Date.now() > deadline) throw new Error(`${n} collector workers did not listen within 120 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await waitListening(workers);
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    child,
    listening,
    lines: () => lines,
    output: () => out,
    waitListening,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
