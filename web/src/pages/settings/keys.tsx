/** Settings › Keys: the property's API keys, created, rotated and revoked here; a new secret is shown once. */
import { useEffect, useState } from 'preact/hooks';
import { accounts, type ApiKey, type Property } from '../../api';
import { Button, Card, Code, Dialog, Empty, ErrorBox, Field, Notice, Select, Skeleton, TableWrap, relativeTime } from '../../ui';

const KIND_LABEL: Record<string, string> = { ingest: 'Ingest', read: 'Read', mp_secret: 'MP secret' };
const KIND_HELP: Record<string, string> = {
  ingest: 'Sends events from servers and SDKs (Segment, PostHog, native).',
  read: 'Reads reports through the GA4 Data API.',
  mp_secret: 'The api_secret of the GA4 Measurement Protocol.',
};

export function Keys({ property, canManage }: { property: Property; canManage: boolean }) {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [kind, setKind] = useState('read');
  const [busy, setBusy] = useState<string | null>(null);
  const [secret, setSecret] = useState<{ title: string; secret: string } | null>(null);
  const [confirm, setConfirm] = useState<{ key: ApiKey; action: 'revoke' | 'rotate' } | null>(null);
  const [grace, setGrace] = useState('0');
  const load = () => accounts.keys(property.id).then(setKeys, setError);
  useEffect(() => void load(), [property.id]);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy('create');
    setError(null);
    try {
      const r = await accounts.createKey(property.id, { kind, name: name || `${KIND_LABEL[kind]} key` });
      setCreating(false);
      setName('');
      setSecret({ title: `${r.key.name || name} created`, secret: r.secret });
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  const act = async () => {
    if (!confirm) return;
    setBusy(confirm.key.id);
    setError(null);
    try {
      if (confirm.action === 'revoke') await accounts.revokeKey(confirm.key.id);
      else {
        const r = await accounts.rotateKey(confirm.key.id, Number(grace) * 60);
        setSecret({ title: `${confirm.key.name} rotated`, secret: r.secret });
      }
      setConfirm(null);
      await load();
    } catch (err) {
      setError(err);
      setConfirm(null);
    } finally {
      setBusy(null);
    }
  };
  const active = keys?.filter((k) => !k.revokedAt) ?? [];
  const revoked = keys?.filter((k) => k.revokedAt) ?? [];
  return (
    <>
      <Card
        title="Keys"
        actions={
          canManage && (
            <Button variant="primary" onClick={() => setCreating(true)}>
              Create key
            </Button>
          )
        }
      >
        <ErrorBox error={error} />
        {!canManage && <Notice>Only admins and owners can create, rotate or revoke keys.</Notice>}
        {!keys ? (
          <Skeleton lines={4} />
        ) : active.length === 0 ? (
          <Empty title="No keys yet">
            <p>Create a read key to fetch reports from scripts, or an ingest key for server-side tracking.</p>
          </Empty>
        ) : (
          <TableWrap label="Keys">
            <table class="table" data-testid="keys-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Key</th>
                  <th scope="col" class="hide-sm">
                    Created
                  </th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {active.map((k) => (
                  <tr key={k.id} data-key-name={k.name}>
                    <td>{k.name || '—'}</td>
                    <td>
                      <span class={`badge badge-${k.kind}`}>{KIND_LABEL[k.kind] ?? k.kind}</span>
                    </td>
                    <td>
                      <code>{k.prefix ? `${k.prefix}…` : '••••'}</code>
                      {k.expiresAt && <span class="muted small"> expires {relativeTime(k.expiresAt)}</span>}
                    </td>
                    <td class="hide-sm">{relativeTime(k.createdAt)}</td>
                    <td>{relativeTime(k.lastUsedAt)}</td>
                    <td class="actions">
                      {canManage && (
                        <>
                          <Button class="btn-small" onClick={() => setConfirm({ key: k, action: 'rotate' })} aria-label={`Rotate ${k.name}`}>
                            Rotate
                          </Button>
                          <Button variant="danger" class="btn-small" onClick={() => setConfirm({ key: k, action: 'revoke' })} aria-label={`Revoke ${k.name}`}>
                            Revoke
                          </Button>
                        </>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
        {revoked.length > 0 && (
          <details class="revoked">
            <summary>
              {revoked.length} revoked key{revoked.length === 1 ? '' : 's'}
            </summary>
            <ul>
              {revoked.map((k) => (
                <li key={k.id}>
                  {k.name} <code>{k.prefix}…</code> <span class="muted">revoked {relativeTime(k.revokedAt)}</span>
                </li>
              ))}
            </ul>
          </details>
        )}
      </Card>

      <Dialog open={creating} title="Create a key" onClose={() => setCreating(false)}>
        <form onSubmit={create} noValidate>
          <Field label="Name" name="keyName" value={name} onInput={setName} placeholder="Reporting script" autoFocus />
          <Select label="Kind" value={kind} onChange={setKind} options={Object.entries(KIND_LABEL).map(([value, label]) => ({ value, label }))} />
          <p class="hint">{KIND_HELP[kind]}</p>
          <div class="dialog-actions">
            <Button onClick={() => setCreating(false)}>Cancel</Button>
            <Button type="submit" variant="primary" busy={busy === 'create'}>
              Create key
            </Button>
          </div>
        </form>
      </Dialog>

      <Dialog open={secret !== null} title={secret?.title ?? ''} onClose={() => setSecret(null)}>
        <Notice tone="warning">Copy it now: this is the only time the secret is shown. Tally keeps only its hash.</Notice>
        <div data-testid="new-secret">{secret && <Code text={secret.secret} label="Secret" />}</div>
        <div class="dialog-actions">
          <Button variant="primary" onClick={() => setSecret(null)}>
            I've saved it
          </Button>
        </div>
      </Dialog>

      <Dialog
        open={confirm !== null}
        title={confirm?.action === 'revoke' ? `Revoke ${confirm?.key.name}?` : `Rotate ${confirm?.key.name}?`}
        onClose={() => setConfirm(null)}
      >
        {confirm?.action === 'revoke' ? (
          <p>Every request with this key is refused within seconds. This cannot be undone.</p>
        ) : (
          <>
            <p>A new secret replaces this one. Keep the old one working for a while to update your clients:</p>
            <Select
              label="Old secret stays valid for"
              value={grace}
              onChange={setGrace}
              options={[
                { value: '0', label: 'No grace period' },
                { value: '60', label: '1 hour' },
                { value: '1440', label: '1 day' },
                { value: '10080', label: '7 days' },
              ]}
            />
          </>
        )}
        <div class="dialog-actions">
          <Button onClick={() => setConfirm(null)}>Cancel</Button>
          <Button variant={confirm?.action === 'revoke' ? 'danger' : 'primary'} busy={busy === confirm?.key.id} onClick={act}>
            {confirm?.action === 'revoke' ? 'Revoke key' : 'Rotate key'}
          </Button>
        </div>
      </Dialog>
    </>
  );
}
