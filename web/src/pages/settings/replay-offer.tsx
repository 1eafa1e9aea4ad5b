/**
 * After a rule change: "Replay a range with a dry run first". The dry run (POST /api/support/replays,
 * dryRun) shows per day what would change; only then the real run is offered. Replays need the
 * owner or admin role (support.run) and the plan's replay feature: a plan without it gets the
 * upgrade hint.
 */
import { useState } from 'preact/hooks';
import type { ReplaySuggestion } from '../../rules-api';
import { Button, Field, Notice } from '../../ui';
import { ReplayError, ReplayResult, useReplay } from '../support/replay-result';

export function ReplayOffer({ suggestion, canRun }: { suggestion: ReplaySuggestion; canRun: boolean }) {
  const [from, setFrom] = useState(suggestion.from);
  const [to, setTo] = useState(suggestion.to);
  const { replay, start, running, dryDone, busy, error } = useReplay();
  const run = (dryRun: boolean) => void start({ propertyId: suggestion.propertyId, from, to, dryRun, reason: 'property rules changed (console)' });

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
      {error && <ReplayError error={error} propertyId={suggestion.propertyId} />}
      <div class="row">
        <Button variant="primary" busy={busy || (running && replay?.dryRun)} disabled={!canRun || running} onClick={() => run(true)}>
          Dry run
        </Button>{' '}
        {dryDone && (
          <Button variant="danger" busy={busy || (running && !replay?.dryRun)} disabled={!canRun || running} onClick={() => run(false)}>
            Replay for real
          </Button>
        )}
      </div>
      {replay && <ReplayResult replay={replay} />}
    </section>
  );
}
