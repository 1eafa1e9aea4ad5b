import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (100 on Linux almost always). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time (user + system, µs) a process has used so far, from /proc/<pid>/stat (10 ms ticks).
 * Stable on a shared machine where wall-clock rates are not; Linux only.
 */
export function processCpuMicros(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) may hold spaces: fields are counted after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / CLK_TCK;
}

/** The pids of `pid`'s children (a cluster primary's workers). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    const list = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (list) out.push(...list.split(' ').map(Number));
  }
  return out;
}

/** CPU µs of `pid` and all its children, summed (a dead child's time is no longer counted). */
export function treeCpuMicros(pid: number): number {
  let sum = processCpuMicros(pid);
  for (const c of childPids(pid)) {
    try {
      sum += processCpuMicros(c);
    } catch {
      // exited between the listing and the read
    }
  }
  return sum;
}

/**
 * CPU µs this process has used plus that of its children that have exited and been waited for
 * (e.g. a finished spark-submit and its JVM): a run's CPU cost, which a loaded machine's wall
 * clock hides. Linux only.
 */
export function selfAndReapedChildrenCpuMicros(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 1e6) / CLK_TCK;
}
