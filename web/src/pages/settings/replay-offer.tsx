/**
 * After a rule change: "Replay a range with a dry run first". The dry run (POST /api/support/replays,
 * dryRun) shows per day what would change; only then the real run is offered. Replays need the
 * owner or admin role (support.run) and the plan's replay feature: the API's refusal is shown as is.
 */
import { useEffect, useState } from 'preact/hooks';
import { rulesApi, type Replay, type ReplaySuggestion } from '../../rules-api';
import { Button, ErrorBox, Field, Notice, useAction } from '../../ui';

export function ReplayOffer({ suggestion, canRun }: { suggestion: ReplaySuggestion; canRun: boolean }) {
  const [from, setFrom] = useState(suggestion.from);
  const [to, setTo] = useState(suggestion.to);
  const [replay, setReplay] = useState<Replay | null>(null);
  const { busy, error, run, setError } = useAction();

  // poll the replay until it ends
  useEffect(() => {
    if (!replay || replay.state === 'succeeded' || replay.state === 'failed') return;
    const timer = setTimeout(() => rulesApi.replay(replay.id).then(setReplay, setError), 1000);
    return () => clearTimeout(timer);
  }, [replay]);

  const start = (dryRun: boolean) =>
    void run(async () => {
      setReplay(await rulesApi.startReplay({ propertyId: suggestion.propertyId, from, to, dryRun, reason: 'property rules changed (console)' }));
    });
  const running = replay !== null && (replay.state === 'queued' || replay.state === 'running');
  const dryDone = replay?.dryRun && replay.state === 'succeeded';

  return (
    <section class="replay-offer" data-testid="replay-offer" aria-label="Replay">
      <Notice>
        <strong>Replay a range with a dry run first.</strong> New events follow the changed rules now; past days keep their numbers until they are replayed from
        the raw events. A dry run shows what would change and changes nothing.
        {!canRun && ' Replays are run by an owner or admin.'}
      </Notice>
      <div class="grid-2">
        <Field label="From" name="replayFrom" type="date" value={from} onInput={setFrom} />
        <Field label="To" name="replayTo" type="date" value={to} onInput={setTo} />
      </div>
      <ErrorBox error={error} />
      <div class="row">
        <Button variant="primary" busy={busy || (running && replay?.dryRun)} disabled={!canRun || running} onClick={() => start(true)}>
          Dry run
        </Button>{' '}
        {dryDone && (
          <Button variant="danger" busy={busy || (running && !replay?.dryRun)} disabled={!canRun || running} onClick={() => start(false)}>
            Replay for real
          </Button>
        )}
      </div>
      {replay && <ReplayResult replay={replay} />}
    </section>
  );
}

function ReplayResult({ replay }: { replay: Replay }) {
  if (replay.state === 'failed') return <ErrorBox error={new Error(replay.error ?? 'the replay failed')} title="Replay failed." />;
  if (replay.state !== 'succeeded' || !replay.diff)
    return (
      <p class="hint" role="status">
        {replay.dryRun ? 'Dry run' : 'Replay'} {replay.state}: {replay.progress.done} / {replay.progress.total} partitions
      </p>
    );
  const d = replay.diff;
  const movers = [...(d.channels ?? []).map((m) => ({ ...m, kind: 'Channel' })), ...d.sources.map((m) => ({ ...m, kind: 'Source' }))];
  return (
    <div data-testid="replay-result">
      <Notice tone={replay.dryRun ? 'info' : 'success'}>
        {replay.dryRun ? 'Dry run done: nothing was changed. Per day, before → after:' : 'Replayed: the reports now show the new numbers.'}
      </Notice>
      <table class="diff">
        <thead>
          <tr>
            <th>Date</th>
            <th>Users</th>
            <th>Sessions</th>
            <th>Views</th>
            <th>Key events</th>
          </tr>
        </thead>
        <tbody>
          {d.days.map((day) => (
            <tr key={day.date}>
              <td>{day.date}</td>
              {(['users', 'sessions', 'views', 'keyEvents'] as const).map((k) => (
                <td key={k}>{day.before[k] === day.after[k] ? day.after[k] : `${day.before[k]} → ${day.after[k]}`}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {movers.length > 0 && (
        <p class="hint">Sessions moving: {movers.map((m) => `${m.kind.toLowerCase()} ${m.name} ${m.change > 0 ? '+' : ''}${m.change}`).join(', ')}</p>
      )}
    </div>
  );
}
