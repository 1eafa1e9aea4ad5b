import { useEffect, useState } from 'preact/hooks';
import { accounts, ApiError, type ApiKey, type AuditEntry, type Invitation, type Member, type Property, type Role } from '../api';
import { navigate } from '../router';
import { atLeast, roleIn, useSession } from '../session';
import { Button, Card, Code, Dialog, Empty, ErrorBox, Field, Notice, Select, Skeleton, TableWrap, relativeTime, useAction, useTitle } from '../ui';
import { currencyOptions, zoneOptions } from './onboarding';

const TABS = [
  { id: 'property', label: 'Property' },
  { id: 'keys', label: 'Keys' },
  { id: 'members', label: 'Members' },
  { id: 'audit', label: 'Audit log' },
];

export function Settings({ propertyId, tab }: { propertyId: string; tab: string }) {
  useTitle('Settings');
  const { session } = useSession();
  const [property, setProperty] = useState<Property | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    accounts.property(propertyId).then(setProperty, setError);
  }, [propertyId]);
  const current = TABS.some((t) => t.id === tab) ? tab : 'property';
  if (error) return <ErrorBox error={error} title="This property could not be loaded." />;
  const orgId = property?.organizationId || session?.properties.find((p) => p.id === propertyId)?.organizationId || session?.orgs[0]?.id || '';
  const role = roleIn(session, orgId);
  return (
    <div class="page">
      <header class="page-head">
        <h1>Settings</h1>
      </header>
      <nav class="subnav" aria-label="Settings">
        {TABS.map((t) => (
          <a
            key={t.id}
            href={`/p/${propertyId}/settings/${t.id}`}
            class={t.id === current ? 'active' : ''}
            aria-current={t.id === current ? 'page' : undefined}
          >
            {t.label}
          </a>
        ))}
      </nav>
      {!property ? (
        <Skeleton lines={6} />
      ) : current === 'property' ? (
        <PropertySettings property={property} onSaved={setProperty} canEdit={atLeast(role, 'editor')} />
      ) : current === 'keys' ? (
        <Keys property={property} canManage={atLeast(role, 'admin')} />
      ) : current === 'members' ? (
        <Members orgId={orgId} role={role} />
      ) : (
        <Audit orgId={orgId} />
      )}
    </div>
  );
}

function PropertySettings({ property, onSaved, canEdit }: { property: Property; onSaved: (p: Property) => void; canEdit: boolean }) {
  const [name, setName] = useState(property.name);
  const [timeZone, setTimeZone] = useState(property.timeZone);
  const [currency, setCurrency] = useState(property.currency);
  const [timeout, setTimeoutMin] = useState(String(property.sessionTimeoutMinutes ?? 30));
  const [domain, setDomain] = useState(property.domain);
  const [hosts, setHosts] = useState(property.allowedHostnames.join(', '));
  const [keyEvents, setKeyEvents] = useState(property.keyEvents.join(', '));
  const { busy, error, run } = useAction();
  const [saved, setSaved] = useState(false);
  const split = (s: string) =>
    s
      .split(/[\s,]+/)
      .map((x) => x.trim())
      .filter(Boolean);
  const save = (e: Event) => {
    e.preventDefault();
    setSaved(false);
    void run(async () => {
      const p = await accounts.updateProperty(property.id, {
        name,
        ...(domain.trim() ? { domain: domain.trim() } : {}),
        timeZone,
        currencyCode: currency,
        sessionTimeoutMinutes: Number(timeout),
        allowedHostnames: split(hosts),
        keyEvents: split(keyEvents),
      });
      onSaved({ ...property, ...p, snippets: Object.keys(p.snippets).length ? p.snippets : property.snippets });
      setSaved(true);
    });
  };
  const fe = (f: string) => (error instanceof ApiError ? error.fields[f] : undefined);
  return (
    <Card title="Property">
      <form onSubmit={save} noValidate class="form-wide">
        {!canEdit && <Notice>Your role can read these settings but not change them.</Notice>}
        <ErrorBox error={error instanceof ApiError && Object.keys(error.fields).length ? null : error} />
        {saved && <Notice tone="success">Saved.</Notice>}
        <Field label="Name" name="name" value={name} onInput={setName} error={fe('name')} />
        <div class="grid-2">
          <Select label="Time zone" value={timeZone} onChange={setTimeZone} options={zoneOptions(timeZone)} />
          <Select label="Currency" value={currency} onChange={setCurrency} options={currencyOptions(currency)} />
        </div>
        <Field
          label="Session timeout (minutes)"
          name="sessionTimeout"
          type="number"
          value={timeout}
          onInput={setTimeoutMin}
          error={fe('sessionTimeoutMinutes')}
          hint="A session ends after this long without events (GA4: 30)."
        />
        <Field label="Domain" name="domain" value={domain} onInput={setDomain} error={fe('domain')} hint="The site's host name, e.g. shop.example.com." />
        <Field
          label="Allowed hostnames"
          name="allowedHostnames"
          value={hosts}
          onInput={setHosts}
          error={fe('allowedHostnames') ?? fe('allowedHostnames.0')}
          hint="Comma-separated; *.example.com allows every subdomain. Browser events from other hosts are refused."
        />
        <Field
          label="Key events"
          name="keyEvents"
          value={keyEvents}
          onInput={setKeyEvents}
          error={fe('keyEvents')}
          hint="Comma-separated event names counted as key events, e.g. purchase, sign_up."
        />
        <Button type="submit" variant="primary" busy={busy} disabled={!canEdit}>
          Save changes
        </Button>
      </form>
    </Card>
  );
}

const KIND_LABEL: Record<string, string> = { ingest: 'Ingest', read: 'Read', mp_secret: 'MP secret' };
const KIND_HELP: Record<string, string> = {
  ingest: 'Sends events from servers and SDKs (Segment, PostHog, native).',
  read: 'Reads reports through the GA4 Data API.',
  mp_secret: 'The api_secret of the GA4 Measurement Protocol.',
};

function Keys({ property, canManage }: { property: Property; canManage: boolean }) {
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

const ROLES: { value: Role; label: string }[] = [
  { value: 'owner', label: 'Owner' },
  { value: 'admin', label: 'Admin' },
  { value: 'editor', label: 'Editor' },
  { value: 'viewer', label: 'Viewer' },
];

function Members({ orgId, role }: { orgId: string; role: Role | null }) {
  const { session } = useSession();
  const [data, setData] = useState<{ members: Member[]; invitations: Invitation[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [email, setEmail] = useState('');
  const [inviteRole, setInviteRole] = useState<Role>('viewer');
  const [sent, setSent] = useState<string | null>(null);
  const inviting = useAction();
  const canManage = atLeast(role, 'admin');
  const load = () => accounts.members(orgId).then(setData, setError);
  useEffect(() => void load(), [orgId]);
  const invite = (e: Event) => {
    e.preventDefault();
    setSent(null);
    void inviting.run(async () => {
      await accounts.invite(orgId, { email, role: inviteRole });
      setSent(email);
      setEmail('');
      await load();
    });
  };
  const change = async (m: Member, r: Role) => {
    setError(null);
    try {
      await accounts.setRole(orgId, m.userId, r);
      await load();
    } catch (err) {
      setError(err);
      await load();
    }
  };
  const remove = async (m: Member) => {
    setError(null);
    try {
      await accounts.removeMember(orgId, m.userId);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const unverified = session && !session.me.user.emailVerified;
  return (
    <>
      <Card title="Members">
        <ErrorBox error={error} />
        {!data ? (
          <Skeleton lines={3} />
        ) : (
          <TableWrap label="Members">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">E-mail</th>
                  <th scope="col">Role</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.members.map((m) => (
                  <tr key={m.userId}>
                    <td>
                      {m.name || '—'} {m.userId === session?.me.user.id && <span class="badge">you</span>}
                    </td>
                    <td>{m.email}</td>
                    <td>
                      {canManage && m.userId !== session?.me.user.id ? (
                        <>
                          <label class="sr-only" for={`role-${m.userId}`}>
                            Role of {m.email}
                          </label>
                          <select id={`role-${m.userId}`} value={m.role} onChange={(e) => change(m, (e.target as HTMLSelectElement).value as Role)}>
                            {ROLES.map((r) => (
                              <option value={r.value} key={r.value}>
                                {r.label}
                              </option>
                            ))}
                          </select>
                        </>
                      ) : (
                        <span class="badge">{ROLES.find((r) => r.value === m.role)?.label ?? m.role}</span>
                      )}
                    </td>
                    <td class="actions">
                      {canManage && m.userId !== session?.me.user.id && (
                        <Button variant="ghost" class="btn-small" onClick={() => remove(m)} aria-label={`Remove ${m.email}`}>
                          Remove
                        </Button>
                      )}
                    </td>
                  </tr>
                ))}
                {data.invitations.map((i) => (
                  <tr key={`inv-${i.id || i.email}`} class="pending">
                    <td class="muted">Invited</td>
                    <td>{i.email}</td>
                    <td>
                      <span class="badge">{ROLES.find((r) => r.value === i.role)?.label ?? i.role}</span>
                    </td>
                    <td class="muted small">{i.expiresAt ? `expires ${relativeTime(i.expiresAt)}` : 'pending'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </Card>
      {canManage && (
        <Card title="Invite someone">
          {unverified && <Notice tone="warning">Verify your e-mail address before inviting members.</Notice>}
          {sent && <Notice tone="success">Invitation sent to {sent}.</Notice>}
          <ErrorBox error={inviting.error} />
          <form onSubmit={invite} noValidate class="inline-form">
            <Field label="E-mail" name="inviteEmail" type="email" value={email} onInput={setEmail} required />
            <Select
              label="Role"
              value={inviteRole}
              onChange={(v) => setInviteRole(v as Role)}
              options={ROLES.filter((r) => r.value !== 'owner' || role === 'owner')}
            />
            <Button type="submit" variant="primary" busy={inviting.busy}>
              Send invitation
            </Button>
          </form>
          <p class="hint">Viewers read reports. Editors also change property settings. Admins manage keys and members. Owners manage billing.</p>
        </Card>
      )}
    </>
  );
}

function Audit({ orgId }: { orgId: string }) {
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

export function ComingSoon({ title, text }: { title: string; text: string }) {
  useTitle(title);
  return (
    <div class="page">
      <header class="page-head">
        <h1>{title}</h1>
      </header>
      <Card>
        <Empty title={`${title} is coming soon`}>
          <p>{text}</p>
          <Button onClick={() => navigate('/')}>Back to the dashboard</Button>
        </Empty>
      </Card>
    </div>
  );
}
