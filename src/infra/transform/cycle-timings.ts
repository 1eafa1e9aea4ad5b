/**
 * Phase timings of one incremental cycle or `transform()` run, for profiling (README: "Where a
 * cycle's time goes"). Off unless the engine is given a sink (`DuckDbTransformEngineOptions.timings`,
 * which the benchmarks set with `BENCH_TIMINGS=1`): then each run hands it one line with the
 * milliseconds spent in each phase (since the previous mark).
 */
export interface PhaseTimer {
  mark(phase: string): void;
  done(label: string): void;
}

const NOOP: PhaseTimer = { mark() {}, done() {} };

export function phaseTimer(sink?: (line: string) => void): PhaseTimer {
  if (!sink) return NOOP;
  let last = performance.now();
  const phases: string[] = [];
  return {
    mark(phase) {
      const now = performance.now();
      phases.push(`${phase}=${Math.round(now - last)}`);
      last = now;
    },
    done(label) {
      sink(`${label}: ${phases.join(' ')}`);
    },
  };
}
