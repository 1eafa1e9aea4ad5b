import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The README's split-role commands, read as a shell would run them on one host: every listener
 * (PORT of collector and api, TALLY_HEALTH_PORT of any role) needs a port of its own, the roles
 * without an HTTP listener a health port to be probed on, and the migrations run first.
 */
const README = fs.readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');

function block(heading: string): string {
  const start = README.indexOf(heading);
  expect(start, `README has "${heading}"`).toBeGreaterThanOrEqual(0);
  const m = /```sh\n([\s\S]*?)```/.exec(README.slice(start));
  expect(m, `a sh block under "${heading}"`).not.toBeNull();
  return m![1];
}

interface Command {
  role: string;
  env: Record<string, string>;
}

/** `A=1 B=2 npx tally ROLE` commands, several per line when separated by `&`. */
function commands(sh: string): Command[] {
  const out: Command[] = [];
  for (const line of sh.split('\n')) {
    for (const part of line.replace(/#.*$/, '').split('&')) {
      const m = /^\s*((?:\w+=\S+\s+)*)npx tally (\w+)/.exec(part);
      if (!m) continue;
      const env = Object.fromEntries([...m[1].matchAll(/(\w+)=(\S+)/g)].map((a) => [a[1], a[2]]));
      out.push({ role: m[2], env });
    }
  }
  return out;
}

describe('README: pointing Tally at your own services', () => {
  const cmds = commands(block('### Pointing Tally at your own services'));

  it('starts every role, after `tally migrate`', () => {
    const roles = cmds.map((c) => c.role);
    expect(roles[0]).toBe('migrate');
    for (const r of ['collector', 'api', 'worker', 'scheduler']) expect(roles).toContain(r);
    expect(roles.filter((r) => r === 'collector').length).toBeGreaterThan(1);
  });

  it('gives each listener of one host its own port, and a health port to the roles without HTTP', () => {
    const ports: string[] = [];
    for (const c of cmds) {
      if (c.role === 'collector' || c.role === 'api') ports.push(c.env.PORT ?? '8080');
      if (c.role === 'worker' || c.role === 'scheduler') expect(c.env.TALLY_HEALTH_PORT, `${c.role} has a health port`).toMatch(/^\d+$/);
      if (c.env.TALLY_HEALTH_PORT) ports.push(c.env.TALLY_HEALTH_PORT);
    }
    expect(ports.length).toBeGreaterThan(0);
    expect(new Set(ports).size, `ports ${ports.join(', ')}`).toBe(ports.length);
  });

  it('names the collector ports that the nginx example balances', () => {
    const nginx = /upstream tally_collectors \{([^}]*)\}/.exec(README)?.[1] ?? '';
    const upstream = [...nginx.matchAll(/server [\w.]+:(\d+)/g)].map((m) => m[1]).sort();
    const collectors = cmds
      .filter((c) => c.role === 'collector')
      .map((c) => c.env.PORT ?? '8080')
      .sort();
    expect(upstream).toEqual(collectors);
  });
});
