import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { accounts, ApiError } from '../api';
import { navigate } from '../router';
import { useSession } from '../session';
import { Button, ErrorBox, Field, Logo, Notice, useAction, useTitle } from '../ui';

function AuthLayout({
  title,
  subtitle,
  children,
  footer,
}: {
  title: string;
  subtitle?: ComponentChildren;
  children: ComponentChildren;
  footer?: ComponentChildren;
}) {
  useTitle(title);
  return (
    <div class="auth">
      <main class="auth-main" id="main">
        <a href="/" class="auth-logo" aria-label="Tally home">
          <Logo />
        </a>
        <div class="auth-card">
          <h1>{title}</h1>
          {subtitle && <p class="auth-sub">{subtitle}</p>}
          {children}
        </div>
        {footer && <p class="auth-footer">{footer}</p>}
      </main>
    </div>
  );
}

const fieldError = (e: unknown, name: string) => (e instanceof ApiError ? e.fields[name] : undefined);
/** A form error not already shown beside one of the form's fields. */
const formError = (e: unknown, fields: string[]) => (e instanceof ApiError && fields.some((f) => e.fields[f]) ? null : e);

function nextPath(): string {
  const next = new URLSearchParams(location.search).get('next');
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function Login() {
  const { refresh } = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(
      async () => {
        await accounts.login({ email, password });
        await refresh();
        navigate(nextPath(), { replace: true });
      },
      (err) => (err instanceof ApiError && err.status === 401 ? new Error('That e-mail and password do not match an account.') : err),
    );
  };
  return (
    <AuthLayout
      title="Log in to Tally"
      footer={
        <>
          New here? <a href="/signup">Create an account</a>
        </>
      }
    >
      <form onSubmit={submit} noValidate>
        <ErrorBox error={error} />
        <Field label="E-mail" name="email" type="email" autoComplete="email" value={email} onInput={setEmail} required autoFocus />
        <Field label="Password" name="password" type="password" autoComplete="current-password" value={password} onInput={setPassword} required />
        <p class="form-aside">
          <a href="/forgot">Forgot your password?</a>
        </p>
        <Button type="submit" variant="primary" busy={busy} class="btn-block">
          Log in
        </Button>
      </form>
    </AuthLayout>
  );
}

export function Signup() {
  const { refresh } = useSession();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [organizationName, setOrg] = useState('');
  const { busy, error, run } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(
      async () => {
        await accounts.signup({ email, password, name, organizationName: organizationName || `${name || email.split('@')[0]}'s team` });
        await refresh();
        // an invitation link sent them here: back to it
        navigate(new URLSearchParams(location.search).has('next') ? nextPath() : '/welcome', { replace: true });
      },
      (err) =>
        err instanceof ApiError && err.status === 409
          ? new ApiError(409, 'conflict', 'conflict', 'An account with this e-mail already exists.', {
              email: 'An account with this e-mail already exists. Log in instead?',
            })
          : err,
    );
  };
  return (
    <AuthLayout
      title="Create your Tally account"
      subtitle="Privacy-friendly analytics with GA4's numbers. Free to start, no card needed."
      footer={
        <>
          Already have an account? <a href="/login">Log in</a>
        </>
      }
    >
      <form onSubmit={submit} noValidate>
        <ErrorBox error={formError(error, ['name', 'email', 'password', 'organizationName'])} />
        <Field label="Your name" name="name" autoComplete="name" value={name} onInput={setName} error={fieldError(error, 'name')} required autoFocus />
        <Field
          label="Work e-mail"
          name="email"
          type="email"
          autoComplete="email"
          value={email}
          onInput={setEmail}
          error={fieldError(error, 'email')}
          required
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          value={password}
          onInput={setPassword}
          error={fieldError(error, 'password')}
          hint="At least 10 characters. A long phrase is easier to remember."
          minLength={10}
          required
        />
        <Field
          label="Organisation"
          name="organizationName"
          autoComplete="organization"
          value={organizationName}
          onInput={setOrg}
          error={fieldError(error, 'organizationName')}
          placeholder="Acme Inc."
        />
        <Button type="submit" variant="primary" busy={busy} class="btn-block">
          Create account
        </Button>
      </form>
    </AuthLayout>
  );
}

/** The token of an e-mailed link: `?token=` or the link's last path segment. */
export function linkToken(): string {
  const q = new URLSearchParams(location.search).get('token');
  if (q) return q;
  const parts = location.pathname.split('/').filter(Boolean);
  return parts.length > 1 ? decodeURIComponent(parts[parts.length - 1] === 'accept' ? parts[parts.length - 2] : parts[parts.length - 1]) : '';
}

export function Verify() {
  const { session, refresh } = useSession();
  const [state, setState] = useState<'working' | 'done' | 'failed'>('working');
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const token = linkToken();
    if (!token) {
      setState('failed');
      setError(new Error('This link has no token. Open the link from the e-mail again.'));
      return;
    }
    accounts
      .verify(token)
      .then(() => refresh())
      .then(() => setState('done'))
      .catch((e) => {
        setState('failed');
        setError(e);
      });
  }, []);
  return (
    <AuthLayout title="Verify your e-mail">
      {state === 'working' && <p aria-live="polite">Checking your link…</p>}
      {state === 'done' && (
        <>
          <Notice tone="success">Your e-mail address is verified. You can invite your team and add more properties.</Notice>
          <Button variant="primary" class="btn-block" onClick={() => navigate(session ? '/' : '/login')}>
            {session ? 'Continue to Tally' : 'Log in'}
          </Button>
        </>
      )}
      {state === 'failed' && (
        <>
          <ErrorBox error={error} title="We could not verify this link." />
          <p class="muted">Links can be used once. If you already verified, just continue.</p>
          <Button class="btn-block" onClick={() => navigate('/')}>
            Continue
          </Button>
        </>
      )}
    </AuthLayout>
  );
}

export function Forgot() {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const { busy, error, run } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await accounts.resetRequest(email);
      setSent(true);
    });
  };
  return (
    <AuthLayout
      title="Reset your password"
      subtitle="We'll e-mail you a link to choose a new one. It works once, for an hour."
      footer={
        <>
          Remembered it? <a href="/login">Log in</a>
        </>
      }
    >
      {sent ? (
        <Notice tone="success">If an account exists for {email}, a reset link is on its way. Check your inbox.</Notice>
      ) : (
        <form onSubmit={submit} noValidate>
          <ErrorBox error={error} />
          <Field label="E-mail" name="email" type="email" autoComplete="email" value={email} onInput={setEmail} required autoFocus />
          <Button type="submit" variant="primary" busy={busy} class="btn-block">
            Send reset link
          </Button>
        </form>
      )}
    </AuthLayout>
  );
}

export function Reset() {
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const { busy, error, run } = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await accounts.resetConfirm(linkToken(), password);
      setDone(true);
    });
  };
  return (
    <AuthLayout title="Choose a new password">
      {done ? (
        <>
          <Notice tone="success">Your password is changed and every other session is signed out.</Notice>
          <Button variant="primary" class="btn-block" onClick={() => navigate('/login')}>
            Log in
          </Button>
        </>
      ) : (
        <form onSubmit={submit} noValidate>
          <ErrorBox error={formError(error, ['password'])} />
          <Field
            label="New password"
            name="password"
            type="password"
            autoComplete="new-password"
            value={password}
            onInput={setPassword}
            error={fieldError(error, 'password')}
            hint="At least 10 characters."
            minLength={10}
            required
            autoFocus
          />
          <Button type="submit" variant="primary" busy={busy} class="btn-block">
            Set password
          </Button>
        </form>
      )}
    </AuthLayout>
  );
}

export function AcceptInvitation() {
  const { session, refresh } = useSession();
  const { busy, error, run } = useAction();
  const token = linkToken();
  const here = location.pathname + location.search;
  const accept = () =>
    run(async () => {
      await accounts.acceptInvitation(token);
      await refresh();
      navigate('/', { replace: true });
    });
  return (
    <AuthLayout title="Join your team on Tally" subtitle="You have been invited to an organisation.">
      <ErrorBox error={error} />
      {session ? (
        <>
          <p>
            You are signed in as <strong>{session.me.user.email}</strong>.
          </p>
          <Button variant="primary" class="btn-block" busy={busy} onClick={accept}>
            Accept invitation
          </Button>
        </>
      ) : (
        <>
          <p class="muted">Log in, or create an account with the invited e-mail address, then accept.</p>
          <div class="stack-h">
            <Button variant="primary" onClick={() => navigate(`/login?next=${encodeURIComponent(here)}`)}>
              Log in
            </Button>
            <Button onClick={() => navigate(`/signup?next=${encodeURIComponent(here)}`)}>Create account</Button>
          </div>
        </>
      )}
    </AuthLayout>
  );
}
