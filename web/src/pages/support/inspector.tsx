/**
 * Support › Visitor inspector, for "my conversion is missing": one visitor's raw events with why
 * each was or was not counted, beside their transformed sessions.
 */
import { useState } from 'preact/hooks';
import { sessionSummary, supportApi, verdictLabel, verdictWhy, type VisitorInspection } from '../../support-api';
import { Button, Card, Empty, ErrorBox, Field, Select, TableWrap, useAction } from '../../ui';

export function Inspector({ propertyId }: { propertyId: string }) {
  const [id, setId] = useState('');
  const [by, setBy] = useState<'client' | 'user'>('client');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [found, setFound] = useState<VisitorInspection | null>(null);
  const { busy, error, run } = useAction();
  const search = (e: Event) => {
    e.preventDefault();
    void run(async () => setFound(await supportApi.inspect(propertyId, id.trim(), by, { from: from || undefined, to: to || undefined })));
  };
  return (
    <>
      <Card title="Find a visitor" id="visitor-find">
        <form class="inspect-form" onSubmit={search}>
          <Field label="Visitor" name="visitor" value={id} onInput={setId} required placeholder="client id (e.g. 1234.5678) or user id" />
          <Select
            label="Search by"
            name="by"
            value={by}
            onChange={(v) => setBy(v as 'client' | 'user')}
            options={[
              { value: 'client', label: 'Client id' },
              { value: 'user', label: 'User id' },
            ]}
          />
          <Field label="From" name="from" type="date" value={from} onInput={setFrom} />
          <Field label="To" name="to" type="date" value={to} onInput={setTo} />
          <Button type="submit" variant="primary" busy={busy}>
            Inspect
          </Button>
        </form>
        <p class="hint">Dates are the property's local dates; the last 7 days when left empty.</p>
        <ErrorBox error={error} />
      </Card>
      {found && <Inspection v={found} />}
    </>
  );
}

function Inspection({ v }: { v: VisitorInspection }) {
  const who = v.clientId ? `client ${v.clientId}` : `user ${v.userId}`;
  if (v.events.length === 0 && v.sessions.length === 0)
    return (
      <Card>
        <Empty title={`No events of ${who}`}>
          <p>
            Nothing from this visitor between {v.from} and {v.to}, in the raw zone or in the event log's tail.
          </p>
          {v.notes.map((n) => (
            <p class="hint" key={n}>
              {n}
            </p>
          ))}
        </Empty>
      </Card>
    );
  return (
    <div class="inspect-grid" data-testid="visitor-inspection">
      <Card title={`Raw events of ${who}`} id="visitor-raw">
        <p class="hint">
          {v.from} to {v.to}: {v.events.length} received, {v.events.filter((e) => e.verdict === 'counted').length} counted
          {v.events.some((e) => e.source === 'log') ? `, ${v.events.filter((e) => e.source === 'log').length} still in the event log` : ''}.
        </p>
        <TableWrap label="Raw events">
          <table class="table inspect-events">
            <thead>
              <tr>
                <th>Time</th>
                <th>Event</th>
                <th>Verdict</th>
                <th>Session</th>
              </tr>
            </thead>
            <tbody>
              {v.events.map((e, i) => (
                <tr key={`${e.eventId ?? ''}-${i}`}>
                  <td class="nowrap">{e.eventTime.replace('T', ' ').slice(0, 19)}</td>
                  <td>
                    <strong>{e.name}</strong>
                    {e.url && <span class="inspect-url">{e.url}</span>}
                  </td>
                  <td>
                    <span class={`badge verdict-${e.verdict}`}>{verdictLabel(e.verdict)}</span>
                    {e.source === 'log' && (
                      <span class="badge source-log" title="Still in the event log: not yet archived to the raw zone">
                        event log
                      </span>
                    )}
                    {verdictWhy(e) && <span class="inspect-why">{verdictWhy(e)}</span>}
                  </td>
                  <td class="mono">{e.sessionKey ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </Card>
      <Card title="Transformed sessions" id="visitor-sessions">
        {v.sessions.length === 0 ? (
          <Empty title="No sessions">
            <p>None of these events is in a processed session yet.</p>
          </Empty>
        ) : (
          <ul class="inspect-sessions">
            {v.sessions.map(sessionSummary).map((s) => (
              <li key={s.key}>
                <span class="mono">{s.key}</span>
                <span>{s.start}</span>
                <span>
                  Landed on <strong>{s.landing}</strong> from {s.source}
                </span>
                <span class="hint">{s.counts}</span>
              </li>
            ))}
          </ul>
        )}
        {v.notes.map((n) => (
          <p class="hint" key={n}>
            {n}
          </p>
        ))}
      </Card>
    </div>
  );
}
