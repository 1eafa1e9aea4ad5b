import { render, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { accounts } from './api';
import { match, navigate, onLinkClick, useLocation } from './router';
import { atLeast, loadSession, roleIn, SessionCtx, type Session } from './session';
import { AcceptInvitation, Forgot, Login, Reset, Signup, Verify } from './pages/auth';
import { Dashboard, goHome } from './pages/dashboard';
import { Install, Welcome } from './pages/onboarding';
import { Settings } from './pages/settings';
import { ErrorBox, Logo, Skeleton } from './ui';
import { Billing } from './pages/billing';
import { Support } from './pages/support';
import { BillingBanner } from './billing-banner';
import './styles.css';

const PUBLIC: [string, () => preact.JSX.Element][] = [
  ['/login', () => <Login />],
  ['/signup', () => <Signup />],
  ['/forgot', () => <Forgot />],
  ['/reset', () => <Reset />],
  ['/reset-password', () => <Reset />],
  ['/password-reset', () => <Reset />],
  ['/reset-password/:token', () => <Reset />],
  ['/verify', () => <Verify />],
  ['/verify-email', () => <Verify />],
  ['/verify/:token', () => <Verify />],
  ['/invite/:token', () => <AcceptInvitation />],
  ['/invitations/:token', () => <AcceptInvitation />],
  ['/invitations/:token/accept', () => <AcceptInvitation />],
];

function App() {
  const { path, search } = useLocation();
  const [session, setSession] = useState<Session | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const refresh = async () => {
    try {
      const s = await loadSession();
      setSession(s);
      setError(null);
      return s;
    } catch (e) {
      setError(e);
      return null;
    } finally {
      setLoaded(true);
    }
  };
  useEffect(() => void refresh(), []);

  const ctx = { session, refresh };
  const pub = PUBLIC.find(([p]) => match(p, path));
  if (pub) return <SessionCtx.Provider value={ctx}>{pub[1]()}</SessionCtx.Provider>;
  if (!loaded) return <Splash />;
  if (error && !session) {
    return (
      <div class="auth">
        <main class="auth-main" id="main">
          <Logo />
          <ErrorBox error={error} title="Tally could not load." />
        </main>
      </div>
    );
  }
  if (!session) {
    // keep where they were going
    const next = path === '/' ? '' : `?next=${encodeURIComponent(path + search)}`;
    navigate(`/login${next}`, { replace: true });
    return <Splash />;
  }
  return (
    <SessionCtx.Provider value={ctx}>
      <Shell session={session} path={path}>
        <Routed path={path} search={search} session={session} />
      </Shell>
    </SessionCtx.Provider>
  );
}

function Routed({ path, search, session }: { path: string; search: string; session: Session }) {
  let m: Record<string, string> | null;
  if (path === '/' || path === '') {
    goHome(session.properties);
    return <Skeleton lines={6} />;
  }
  if (path === '/welcome') return <Welcome />;
  if ((m = match('/p/:id', path))) return <Dashboard propertyId={m.id} search={search} key={m.id} />;
  if ((m = match('/p/:id/install', path))) return <Install propertyId={m.id} key={m.id} />;
  if ((m = match('/p/:id/settings', path))) return <Settings propertyId={m.id} tab="property" key={m.id} />;
  if ((m = match('/p/:id/settings/:tab', path))) return <Settings propertyId={m.id} tab={m.tab} key={m.id} />;
  if ((m = match('/orgs/:orgId/billing', path))) return <Billing orgId={m.orgId} search={search} />;
  if (path === '/billing') {
    // the organisation in view, else the first one this person may see billing of
    const org = billingOrg(session, null) ?? session.orgs[0]?.id;
    navigate(org ? `/orgs/${encodeURIComponent(org)}/billing` : '/', { replace: true });
    return <Skeleton lines={6} />;
  }
  if ((m = match('/p/:id/support', path))) return <Support propertyId={m.id} tab="replays" key={m.id} />;
  if ((m = match('/p/:id/support/:tab', path))) return <Support propertyId={m.id} tab={m.tab} key={m.id} />;
  if (path === '/support') {
    // the property in view, else the first one
    const p = session.properties[0];
    navigate(p ? `/p/${p.id}/support` : '/', { replace: true });
    return <Skeleton lines={6} />;
  }
  return (
    <div class="page">
      <h1>Page not found</h1>
      <p>
        There is nothing at <code>{path}</code>. <a href="/">Go to your dashboard</a>.
      </p>
    </div>
  );
}

/** The organisation whose Billing page the nav links to: the one in view when this person is its owner or admin. */
function billingOrg(session: Session, orgInView: string | null): string | null {
  const may = (id: string) => atLeast(roleIn(session, id), 'admin');
  if (orgInView) return may(orgInView) ? orgInView : null;
  return session.orgs.find((o) => may(o.id))?.id ?? null;
}

function Splash() {
  return (
    <div class="splash" aria-busy="true" aria-label="Loading">
      <Logo />
    </div>
  );
}

function Shell({ session, path, children }: { session: Session; path: string; children: ComponentChildren }) {
  const pm =
    match('/p/:id', path) ??
    match('/p/:id/install', path) ??
    match('/p/:id/settings', path) ??
    match('/p/:id/settings/:tab', path) ??
    match('/p/:id/support', path) ??
    match('/p/:id/support/:tab', path);
  const current = session.properties.find((p) => p.id === pm?.id) ?? session.properties[0];
  const billingPath = match('/orgs/:orgId/billing', path);
  const orgInView = billingPath?.orgId ?? current?.organizationId ?? session.orgs[0]?.id ?? null;
  const billingOf = billingOrg(session, orgInView);
  const section = path.includes('/settings')
    ? 'settings'
    : path.endsWith('/install')
      ? 'install'
      : billingPath
        ? 'billing'
        : path === '/support' || (pm?.id !== undefined && path.includes('/support'))
          ? 'support'
          : pm
            ? 'dashboard'
            : '';
  const [menu, setMenu] = useState(false);
  const logout = async () => {
    try {
      await accounts.logout();
    } finally {
      location.assign('/login');
    }
  };
  const link = (id: string, href: string, label: string) => (
    <a href={href} class={section === id ? 'active' : ''} aria-current={section === id ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <div class="topbar-inner">
          <a href="/" class="brand" aria-label="Tally home">
            <Logo small />
          </a>
          {session.properties.length > 0 && current && (
            <div class="switcher">
              <label class="sr-only" for="property-switch">
                Property
              </label>
              <select id="property-switch" value={current.id} onChange={(e) => navigate(`/p/${(e.target as HTMLSelectElement).value}`)}>
                {session.orgs.map((o) => (
                  <optgroup label={o.name} key={o.id}>
                    {session.properties
                      .filter((p) => p.organizationId === o.id)
                      .map((p) => (
                        <option value={p.id} key={p.id}>
                          {p.name}
                        </option>
                      ))}
                  </optgroup>
                ))}
              </select>
            </div>
          )}
          <nav class="mainnav" aria-label="Main">
            {current && link('dashboard', `/p/${current.id}`, 'Dashboard')}
            {current && link('install', `/p/${current.id}/install`, 'Install')}
            {current && link('settings', `/p/${current.id}/settings`, 'Settings')}
            {billingOf && link('billing', `/orgs/${encodeURIComponent(billingOf)}/billing`, 'Billing')}
            {current && link('support', `/p/${current.id}/support`, 'Support')}
          </nav>
          <div class="account">
            <button
              type="button"
              class="avatar"
              aria-haspopup="true"
              aria-expanded={menu}
              onClick={() => setMenu(!menu)}
              aria-label={`Account: ${session.me.user.email}`}
            >
              {(session.me.user.name || session.me.user.email || '?').slice(0, 1).toUpperCase()}
            </button>
            {menu && (
              <div class="menu" onKeyDown={(e) => e.key === 'Escape' && setMenu(false)}>
                <p class="menu-who">
                  <strong>{session.me.user.name}</strong>
                  <span>{session.me.user.email}</span>
                </p>
                <a href="/welcome" onClick={() => setMenu(false)}>
                  Add a property
                </a>
                <button type="button" onClick={logout}>
                  Log out
                </button>
              </div>
            )}
          </div>
        </div>
      </header>
      <main id="main" class="main" tabIndex={-1}>
        {orgInView && !billingPath && <BillingBanner orgId={orgInView} canOpen={atLeast(roleIn(session, orgInView), 'admin')} />}
        {children}
      </main>
    </div>
  );
}

document.addEventListener('click', onLinkClick);
render(<App />, document.getElementById('app')!);
