import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TallyError } from '../errors.js';
import type { LogOutput } from './event-log.port.js';
import { writeJsonAtomic } from '../durable-fs.js';

/** Consumer groups of the local log: their names, committed offsets and offsets files. */

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const noop = (): void => {};

export interface GroupState {
  output: LogOutput;
  file: string;
  offsets: number[];
  chain: Promise<void>;
  consuming: boolean;
}

/** Commits a partition's offset for a group, after the group's earlier commits. */
export function commitOffset(g: GroupState, partition: number, offset: number): Promise<void> {
  const run = g.chain.then(async () => {
    const next = g.offsets.slice();
    next[partition] = offset;
    await writeJsonAtomic(g.file, { offsets: next });
    g.offsets = next;
  });
  g.chain = run.catch(noop);
  return run;
}

export async function loadGroups(offsetsDir: string, partitions: number): Promise<Map<string, number[]>> {
  const groups = new Map<string, number[]>();
  for (const name of await readdir(offsetsDir)) {
    if (!name.endsWith('.json')) continue;
    const group = name.slice(0, -'.json'.length);
    if (!GROUP_NAME.test(group)) continue;
    const file = join(offsetsDir, name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new TallyError('internal', `unreadable consumer offsets file ${file}`, { file }, { cause: err });
    }
    const offsets = (parsed as { offsets?: unknown }).offsets;
    if (!Array.isArray(offsets) || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      throw new TallyError('internal', `malformed consumer offsets file ${file}`, { file });
    }
    groups.set(
      group,
      Array.from({ length: partitions }, (_, i) => (offsets[i] as number | undefined) ?? 0),
    );
  }
  return groups;
}

export function assertGroupName(group: string): void {
  if (!GROUP_NAME.test(group)) {
    throw new TallyError('invalid_argument', `invalid consumer group name ${JSON.stringify(group)}`);
  }
}

export function groupKey(output: LogOutput, group: string): string {
  return `${output}/${group}`;
}
