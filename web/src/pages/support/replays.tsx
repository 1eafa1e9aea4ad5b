/**
 * Support › Replays: the property's replays, a new one (range and reason, a dry run first), its
 * progress while it runs and its diff when done, then the real run of the same range.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Replay } from '../../rules-api';
import { isoDaysAgo, supportApi } from '../../support-api';
import { Button, Card, Empty, ErrorBox, Field, Skeleton, TableWrap, relativeTime } from '../../ui';
import { ReplayError, ReplayResult, useReplay } from './replay-result';

export function Replays({ propertyId, canRun }: { propertyId: string; canRun: boolean }) {
  const [list, setList] = useState<Replay[] | null>(null);
  const [listError, setListError] = useState<unknown>(null);
  const [from, setFrom] = useState(isoDaysAgo(8));
  const [to, setTo] = useState(isoDaysAgo(1));
  const [reason, setReason] = useState('');
  const load = () => supportApi.replays(propertyId).then(setList, setListError);
  useEffect(() => void load(), [propertyId]);
  const r = useReplay(() => void load());
  const replay = r.replay;

  const submit = (e: Event) => {
    e.preventDefault();
    void r.start({ propertyId, from, to, dryRun: true, reason }).then(load);
  };
  const realRun = () => {
    if (!replay) return;
    void r.start({ propertyId, from: replay.from, to: replay.to, dryRun: false, reason: replay.reason || reason }).then(load);
  };

  return (
    <>
      <Card title="Replay a range" id="replay-new">
        <p class="hint">
          Recomputes past days from the raw events with this property's current settings and rules. A dry run shows, per day, what would change and changes
          nothing; the real run then replaces those days in every report.
        </p>
        <form class="replay-form" onSubmit={submit}>
          <Field label="From" name="from" type="date" value={from} onInput={setFrom} required />
          <Field label="To" name="to" type="date" value={to} onInput={setTo} required />
          <Field label="Reason" name="reason" value={reason} onInput={setReason} required minLength={3} placeholder="ticket 123: session timeout changed" />
          <Button type="submit" variant="primary" busy={r.busy || (r.running && replay?.dryRun)} disabled={!canRun || r.running}>
            Dry run
          </Button>
        </form>
        {r.error ? <ReplayError error={r.error} propertyId={propertyId} /> : null}
        {replay && (
          <div class="replay-current" data-testid="support-replay">
            <p class="replay-title">
              <strong>{replay.dryRun ? 'Dry run' : 'Replay'}</strong> {replay.from} → {replay.to}
              {replay.reason ? <span class="hint"> · {replay.reason}</span> : null}
            </p>
            <ReplayResult replay={replay} />
            {r.dryDone && (
              <Button variant="danger" busy={r.busy} disabled={!canRun || r.running} onClick={realRun}>
                Run for real
              </Button>
            )}
          </div>
        )}
      </Card>
      <Card title="Replays of this property" id="replay-list">
        {listError ? (
          <ErrorBox error={listError} />
        ) : !list ? (
          <Skeleton lines={3} />
        ) : list.length === 0 ? (
          <Empty title="No replays yet">
            <p>Start with a dry run above: it shows what a replay would change before anything does.</p>
          </Empty>
        ) : (
          <TableWrap label="Replays">
            <table class="table" data-testid="replay-list">
              <thead>
                <tr>
                  <th>Started</th>
                  <th>Range</th>
                  <th>Kind</th>
                  <th>State</th>
                  <th>Reason</th>
                  <th>
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((x) => (
                  <tr key={x.id}>
                    <td>{relativeTime(x.createdAt)}</td>
                    <td class="nowrap">
                      {x.from} → {x.to}
                    </td>
                    <td>{x.dryRun ? 'Dry run' : 'Real'}</td>
                    <td>
                      <span class={`badge state-${x.state}`}>{x.state}</span>{' '}
                      <span class="hint">
                        {x.progress.done}/{x.progress.total}
                      </span>
                    </td>
                    <td class="reason">{x.reason}</td>
                    <td class="actions">
                      <Button variant="ghost" onClick={() => void r.show(x.id)} aria-label={`Show the replay of ${x.from} to ${x.to}`}>
                        Show
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </Card>
    </>
  );
}
