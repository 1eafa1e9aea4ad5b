import cliProgress from 'cli-progress';

export interface ProgressBar {
  /** `done` of `total` whole units (events, dates, partitions); a new unit starts a new bar. */
  update(done: number, total: number, unit?: string): void;
  stop(): void;
}

/** A progress bar on a TTY, nothing elsewhere (logs, pipes and CI stay clean). */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  let bar: cliProgress.SingleBar | null = null;
  let current: string | undefined;
  return {
    update(done, total, unit = '') {
      if (!bar || unit !== current) {
        bar?.stop();
        current = unit;
        bar = new cliProgress.SingleBar(
          { format: `${label} [{bar}] {value}/{total} ${unit}`.trimEnd(), stream, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(total, 1), 0);
      }
      bar.setTotal(Math.max(total, 1));
      bar.update(Math.floor(done));
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
