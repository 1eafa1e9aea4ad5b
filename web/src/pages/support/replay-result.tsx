/**
 * A replay's state and, when it is done, its diff: per day before → after (users, sessions, views,
 * bounce rate, key events) and the pages, sources and channel groups that move most. One view for
 * Settings' replay offer and the Support page.
 */
import { useEffect, useState } from 'preact/hooks';
import { atLeast, roleIn, useSession } from '../../session';
import { rulesApi, type Replay } from '../../rules-api';
import { DIFF_COLUMNS, diffCell, isPlanGate, replayRunning, topMovers } from '../../support-api';
import { ErrorBox, Notice, TableWrap, useAction } from '../../ui';

/**
 * A replay started here (or picked from a list) and polled every second until it ends; `onEnd` is
 * told when it does. `start` records a new one (POST /api/support/replays).
 */
export function useReplay(onEnd?: (r: Replay) => void) {
  const [replay, setReplay] = useState<Replay | null>(null);
  const action = useAction();
  useEffect(() => {
    if (!replay) return;
    if (!replayRunning(replay)) return void onEnd?.(replay);
    const timer = setTimeout(() => rulesApi.replay(replay.id).then(setReplay, action.setError), 1000);
    return () => clearTimeout(timer);
  }, [replay]);
  const start = (b: { propertyId: string; from: string; to: string; dryRun: boolean; reason: string }) =>
    action.run(async () => setReplay(await rulesApi.startReplay(b)));
  const show = (id: string) => action.run(async () => setReplay(await rulesApi.replay(id)));
  return { replay, start, show, running: replayRunning(replay), dryDone: Boolean(replay?.dryRun && replay.state === 'succeeded'), ...action };
}

export function ReplayResult({ replay }: { replay: Replay }) {
  if (replay.state === 'failed') return <ErrorBox error={new Error(replay.error ?? 'the replay failed')} title="Replay failed." />;
  if (replay.state !== 'succeeded' || !replay.diff)
    return (
      <p class="hint" role="status" data-testid="replay-progress">
        {replay.dryRun ? 'Dry run' : 'Replay'} {replay.state}: {replay.progress.done} / {replay.progress.total} partitions
      </p>
    );
  const d = replay.diff;
  const movers = topMovers(d);
  return (
    <div data-testid="replay-result" class="replay-result">
      <Notice tone={replay.dryRun ? 'info' : 'success'}>
        {replay.dryRun ? 'Dry run done: nothing was changed. Per day, before → after:' : 'Replayed: the reports now show the new numbers.'}
      </Notice>
      <TableWrap label={`Replay ${replay.from} to ${replay.to}, per day`}>
        <table class="table replay-diff">
          <thead>
            <tr>
              <th>Date</th>
              {DIFF_COLUMNS.map((c) => (
                <th key={c.key}>{c.label}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {d.days.map((day) => (
              <tr key={day.date}>
                <td>{day.date}</td>
                {DIFF_COLUMNS.map((c) => {
                  const cell = diffCell(day.before[c.key], day.after[c.key], c.format);
                  return (
                    <td key={c.key} class={cell.changed ? 'changed' : ''}>
                      {cell.text}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      {movers.length === 0 ? (
        <p class="hint">No page, source or channel group changes.</p>
      ) : (
        <TableWrap label="Top movers">
          <table class="table replay-diff" data-testid="replay-movers">
            <caption class="sr-only">Pages (views), sources and channel groups (sessions) that change most</caption>
            <thead>
              <tr>
                <th>Moves most</th>
                <th>Before</th>
                <th>After</th>
                <th>Change</th>
              </tr>
            </thead>
            <tbody>
              {movers.map((m) => (
                <tr key={`${m.kind}:${m.name}`}>
                  <td class="mover-name">
                    <span class="badge">{m.kind}</span> {m.name || '(not set)'}
                  </td>
                  <td>{m.before}</td>
                  <td>{m.after}</td>
                  <td class="changed">{`${m.change > 0 ? '+' : ''}${m.change}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </div>
  );
}

/** A replay refused by the plan: an upgrade hint with the way to Billing (for who may open it), else the error. */
export function ReplayError({ error, propertyId }: { error: unknown; propertyId: string }) {
  const { session } = useSession();
  if (!isPlanGate(error)) return <ErrorBox error={error} />;
  const orgId = session?.properties.find((p) => p.id === propertyId)?.organizationId ?? '';
  return (
    <Notice tone="warning">
      <span data-testid="replay-upgrade">
        <strong>Replays come with a paid plan.</strong> Your organisation's plan does not include replay.{' '}
        {orgId && atLeast(roleIn(session, orgId), 'admin') ? (
          <a href={`/orgs/${encodeURIComponent(orgId)}/billing`}>Upgrade in Billing</a>
        ) : (
          'Ask an owner to upgrade the plan.'
        )}
      </span>
    </Notice>
  );
}
