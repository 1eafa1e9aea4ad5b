/** Settings › Audit log: the organisation's changes, newest first, paged by cursor. */
import { useEffect, useState } from 'preact/hooks';
import { accounts, type AuditEntry } from '../../api';
import { Button, Card, Empty, ErrorBox, Skeleton, TableWrap, relativeTime } from '../../ui';

export function Audit({ orgId }: { orgId: string }) {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const load = async (cursor?: string) => {
    setBusy(true);
    try {
      const r = await accounts.audit(orgId, cursor);
      setEntries((e) => (cursor ? [...(e ?? []), ...r.entries] : r.entries));
      setNext(r.next);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => void load(), [orgId]);
  // `name: Engine shop, domain: …` reads better than JSON; the JSON stays in the tooltip
  const show = (v: unknown) =>
    v === null || v === undefined
      ? ''
      : typeof v === 'object' && !Array.isArray(v)
        ? Object.entries(v as Record<string, unknown>)
            .map(([k, x]) => `${k}: ${typeof x === 'string' ? x : JSON.stringify(x)}`)
            .join(', ')
        : String(typeof v === 'string' ? v : JSON.stringify(v));
  return (
    <Card title="Audit log">
      <ErrorBox error={error} />
      {!entries && !error ? (
        <Skeleton lines={6} />
      ) : entries && entries.length === 0 ? (
        <Empty title="Nothing has changed yet" />
      ) : (
        entries && (
          <TableWrap label="Audit log">
            <table class="table audit">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">What</th>
                  <th scope="col" class="hide-sm">
                    IP
                  </th>
                  <th scope="col">Change</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e, i) => (
                  <tr key={e.id || i}>
                    <td title={e.at}>{relativeTime(e.at)}</td>
                    <td>{e.actor || '—'}</td>
                    <td>
                      <code>{e.action}</code> {e.target && <span class="muted">{e.target}</span>}
                    </td>
                    <td class="muted hide-sm">{e.ip}</td>
                    <td class="diff">
                      {e.before != null && (
                        <span class="before" title={JSON.stringify(e.before)}>
                          {show(e.before)}
                        </span>
                      )}
                      {e.after != null && (
                        <span class="after" title={JSON.stringify(e.after)}>
                          {show(e.after)}
                        </span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )
      )}
      {next && (
        <Button busy={busy} onClick={() => load(next)}>
          Load older entries
        </Button>
      )}
    </Card>
  );
}
