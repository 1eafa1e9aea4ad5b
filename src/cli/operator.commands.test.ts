import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../infra/config/config.js';
import { registerOperatorCommands } from './operator.commands.js';

describe('operator commands', () => {
  it('each has --help text and prints JSON with --json', () => {
    const program = new Command('tally');
    registerOperatorCommands(program, () => loadConfig({}));
    const leaves: Command[] = [];
    const walk = (c: Command) => (c.commands.length ? c.commands.forEach(walk) : leaves.push(c));
    program.commands.forEach(walk);
    const names = leaves.map((c) => `${c.parent === program ? '' : c.parent!.name() + ' '}${c.name()}`);
    expect(names.sort()).toEqual([
      'demo',
      'jobs run',
      'key create',
      'key list',
      'key revoke',
      'key rotate',
      'migrate',
      'org list',
      'tenant create',
      'tenant delete',
      'tenant list',
      'tenant set-plan',
      'tenant show',
      'user create',
    ]);
    for (const c of [...leaves, ...program.commands]) expect(c.description(), c.name()).not.toBe('');
    for (const c of leaves) {
      expect(
        c.options.map((o) => o.long),
        c.name(),
      ).toContain('--json');
      expect(c.helpInformation()).toContain('--json');
    }
  });
});
