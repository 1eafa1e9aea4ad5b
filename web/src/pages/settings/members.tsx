/** Settings › Members: the organisation's members and pending invitations, their roles, and inviting. */
import { useEffect, useState } from 'preact/hooks';
import { accounts, type Invitation, type Member, type Role } from '../../api';
import { atLeast, useSession } from '../../session';
import { Button, Card, ErrorBox, Field, Notice, Select, Skeleton, TableWrap, relativeTime, useAction } from '../../ui';

const ROLES: { value: Role; label: string }[] = [
  { value: 'owner', label: 'Owner' },
  { value: 'admin', label: 'Admin' },
  { value: 'editor', label: 'Editor' },
  { value: 'viewer', label: 'Viewer' },
];

export function Members({ orgId, role }: { orgId: string; role: Role | null }) {
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
