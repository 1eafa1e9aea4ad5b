/**
 * Support › Dead letters: the property's refused events by reason with samples, for a range of
 * receipt dates, and a redrive per reason (through today's rules, idempotent by event id).
 */
import { useEffect, useState } from 'preact/hooks';
import { isoDaysAgo, supportApi, type DeadLetterListing, type RedriveResult } from '../../support-api';
import { Button, Card, Empty, ErrorBox, Field, Notice, Skeleton, relativeTime } from '../../ui';

export function DeadLetters({ propertyId, canRun }: { propertyId: string; canRun: boolean }) {
  const [since, setSince] = useState(isoDaysAgo(30));
  const [until, setUntil] = useState(isoDaysAgo(0));
  const [listing, setListing] = useState<DeadLetterListing | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [redriving, setRedriving] = useState<string | null>(null);
  const [results, setResults] = useState<Record<string, RedriveResult | { error: unknown }>>({});

  const load = async () => {
    setLoading(true);
    setError(null);
    try {
      setListing(await supportApi.deadLetters(propertyId, { since, until }));
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => void load(), [propertyId]);

  const redrive = async (reason: string) => {
    setRedriving(reason);
    try {
      const r = await supportApi.redrive(propertyId, { reason, from: since, to: until, note: 'console redrive' });
      setResults((x) => ({ ...x, [reason]: r }));
    } catch (e) {
      setResults((x) => ({ ...x, [reason]: { error: e } }));
    } finally {
      setRedriving(null);
    }
  };

  return (
    <Card title="Dead letters" id="dead-letters">
      <p class="hint">
        Events Tally refused (an unknown host, a bad payload, over quota…), kept as they arrived. After the rule that refused them changes, a redrive sends them
        through today's rules again; a letter is never counted twice.
      </p>
      <form
        class="range-form"
        onSubmit={(e) => {
          e.preventDefault();
          void load();
        }}
      >
        <Field label="Received from" name="since" type="date" value={since} onInput={setSince} />
        <Field label="Received to" name="until" type="date" value={until} onInput={setUntil} />
        <Button type="submit" busy={loading}>
          Show
        </Button>
      </form>
      <ErrorBox error={error} />
      {!listing ? (
        !error && <Skeleton lines={3} />
      ) : listing.byReason.length === 0 ? (
        <Empty title="No dead letters">
          <p>
            Nothing was refused between {listing.since} and {listing.until}.
          </p>
        </Empty>
      ) : (
        <div data-testid="dead-letters">
          <p class="dl-total">
            <strong>{listing.total}</strong> refused between {listing.since} and {listing.until}
          </p>
          {listing.byReason.map((g) => {
            const result = results[g.reason];
            return (
              <section class="dl-reason" key={g.reason} aria-label={g.reason}>
                <header class="dl-head">
                  <h3>
                    <code>{g.reason}</code> <span class="badge">{g.count}</span>
                  </h3>
                  {canRun && (
                    <Button busy={redriving === g.reason} disabled={redriving !== null} onClick={() => void redrive(g.reason)}>
                      Redrive
                    </Button>
                  )}
                </header>
                {result && ('error' in result ? <ErrorBox error={result.error} title="Redrive failed." /> : <RedriveNotice r={result} />)}
                <ul class="dl-samples">
                  {g.samples.map((s) => (
                    <li key={s.letterId}>
                      <span class="hint">
                        {relativeTime(s.receivedAt)} · {s.protocol}
                      </span>
                      <span class="dl-detail">{s.detail}</span>
                    </li>
                  ))}
                </ul>
              </section>
            );
          })}
        </div>
      )}
    </Card>
  );
}

function RedriveNotice({ r }: { r: RedriveResult }) {
  const refused = r.stillRefused.filter((x) => x.count > 0);
  return (
    <Notice tone={r.appended > 0 ? 'success' : 'info'}>
      <span data-testid="redrive-result">
        Redrive of {r.letters} letter{r.letters === 1 ? '' : 's'}: {r.appended} sent again, {r.alreadyRedriven} already redriven
        {refused.length > 0 && `, still refused: ${refused.map((x) => `${x.count} ${x.reason}`).join(', ')}`}.
        {r.appended > 0 && ' They appear in reports after the next pipeline run.'}
      </span>
    </Notice>
  );
}
