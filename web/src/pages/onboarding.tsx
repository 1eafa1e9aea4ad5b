import { useEffect, useRef, useState } from 'preact/hooks';
import { accounts, ApiError, request, type Property } from '../api';
import { navigate } from '../router';
import { useSession } from '../session';
import { Button, Card, Code, CopyButton, ErrorBox, Field, Notice, Select, Skeleton, useAction, useTitle } from '../ui';
import { Tabs } from '../tabs';
import { todayIn, addDays } from '../reports';

const ZONES = (() => {
  try {
    return (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? ['UTC'];
  } catch {
    return ['UTC'];
  }
})();
const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'CAD', 'AUD', 'CHF', 'SEK', 'NOK', 'DKK', 'PLN', 'BRL', 'INR', 'CNY', 'MXN'];
export const zoneOptions = (current: string) =>
  (ZONES.includes(current) ? ZONES : [current, ...ZONES]).map((z) => ({ value: z, label: z.replaceAll('_', ' ') }));
export const currencyOptions = (current: string) => (CURRENCIES.includes(current) ? CURRENCIES : [current, ...CURRENCIES]).map((c) => ({ value: c, label: c }));

function Steps({ at }: { at: number }) {
  const steps = ['Organisation', 'Website', 'Install', 'Dashboard'];
  return (
    <ol class="steps" aria-label="Setup progress">
      {steps.map((s, i) => (
        <li key={s} class={i < at ? 'done' : i === at ? 'current' : ''} aria-current={i === at ? 'step' : undefined}>
          <span class="step-dot" aria-hidden="true">
            {i < at ? '✓' : i + 1}
          </span>
          {s}
        </li>
      ))}
    </ol>
  );
}

const hostOf = (v: string): string =>
  v
    .trim()
    .replace(/^https?:\/\//i, '')
    .replace(/[/?#].*$/, '')
    .toLowerCase();

/** First run: an organisation (when the user has none) and the first property. */
export function Welcome() {
  useTitle('Set up');
  const { session, refresh } = useSession();
  const [orgName, setOrgName] = useState('');
  const [name, setName] = useState('');
  const [domain, setDomain] = useState('');
  const [timeZone, setTimeZone] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  const [currency, setCurrency] = useState('USD');
  const { busy, error, run } = useAction();
  const org = session?.orgs[0];

  const createOrg = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      await accounts.createOrg(orgName);
      await refresh();
    });
  };
  const createProperty = (e: Event) => {
    e.preventDefault();
    if (!org) return;
    void run(async () => {
      const host = hostOf(domain);
      const p = await accounts.createProperty(org.id, {
        name: name || host || 'My website',
        timeZone,
        currencyCode: currency,
        ...(host ? { domain: host } : {}),
      });
      await refresh();
      navigate(`/p/${p.id}/install?first=1`);
    });
  };
  const fe = (f: string) => (error instanceof ApiError ? error.fields[f] : undefined);

  return (
    <div class="narrow">
      <Steps at={org ? 1 : 0} />
      {!org ? (
        <Card title="Name your organisation">
          <form onSubmit={createOrg} noValidate>
            <p class="muted">An organisation holds your websites, your team and your plan.</p>
            <ErrorBox error={error} />
            <Field
              label="Organisation name"
              name="orgName"
              value={orgName}
              onInput={setOrgName}
              required
              autoFocus
              autoComplete="organization"
              error={fe('name')}
            />
            <Button type="submit" variant="primary" busy={busy}>
              Continue
            </Button>
          </form>
        </Card>
      ) : (
        <Card title="Add your website">
          <form onSubmit={createProperty} noValidate>
            <p class="muted">
              A property is one website or app in <strong>{org.name}</strong>. You'll get its tracking snippet next.
            </p>
            <ErrorBox error={error instanceof ApiError && Object.keys(error.fields).length ? null : error} />
            <Field label="Website name" name="name" value={name} onInput={setName} placeholder="My shop" required autoFocus error={fe('name')} />
            <Field
              label="Domain"
              name="domain"
              value={domain}
              onInput={setDomain}
              placeholder="shop.example.com"
              hint="Where the snippet goes. You can change it later."
              error={fe('domain')}
            />
            <div class="grid-2">
              <Select label="Time zone" value={timeZone} onChange={setTimeZone} options={zoneOptions(timeZone)} />
              <Select label="Currency" value={currency} onChange={setCurrency} options={currencyOptions(currency)} />
            </div>
            <Button type="submit" variant="primary" busy={busy}>
              Create property
            </Button>
          </form>
        </Card>
      )}
    </div>
  );
}

const SNIPPET_TITLES: [RegExp, string][] = [
  [/^tally/i, 'tally.js'],
  [/gtag/i, 'gtag.js-compatible'],
  [/measurement|^mp/i, 'Measurement Protocol'],
  [/segment/i, 'Segment'],
  [/posthog/i, 'PostHog'],
  [/snowplow/i, 'Snowplow'],
  [/umami/i, 'Umami'],
  [/plausible/i, 'Plausible'],
];
const snippetTitle = (key: string) => SNIPPET_TITLES.find(([re]) => re.test(key))?.[1] ?? key;

/** The snippets the property carries, each as text; the tally.js tag built from the ids when absent. */
export function snippetsOf(p: Property): { id: string; title: string; text: string }[] {
  const out: { id: string; title: string; text: string }[] = [];
  for (const [k, v] of Object.entries(p.snippets ?? {})) {
    const text =
      typeof v === 'string'
        ? v
        : v && typeof v === 'object' && typeof (v as { code?: unknown }).code === 'string'
          ? String((v as { code: string }).code)
          : JSON.stringify(v, null, 2);
    out.push({ id: k, title: snippetTitle(k), text });
  }
  if (!out.some((s) => s.title === 'tally.js') && p.measurementId) {
    out.unshift({ id: 'tallyJs', title: 'tally.js', text: `<script defer src="${location.origin}/tally.js" data-mid="${p.measurementId}"></script>` });
  }
  return out;
}

/** Events of the last week, through the public report API: > 0 once the first event is in. */
async function eventCount(propertyId: string, timeZone: string): Promise<number> {
  const today = todayIn(timeZone);
  const r = await request<{ rows?: { metricValues: { value: string }[] }[] }>('POST', `/v1beta/properties/${propertyId}:runReport`, {
    dateRanges: [{ startDate: addDays(today, -7), endDate: addDays(today, 1) }],
    metrics: [{ name: 'eventCount' }],
  });
  return Number(r.rows?.[0]?.metricValues[0]?.value ?? 0);
}

export function Install({ propertyId }: { propertyId: string }) {
  useTitle('Install');
  const { session } = useSession();
  const [property, setProperty] = useState<Property | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tab, setTab] = useState('');
  const [events, setEvents] = useState<number | null>(null);
  const [checkError, setCheckError] = useState<unknown>(null);
  const first = new URLSearchParams(location.search).get('first') === '1';
  const timer = useRef<number>(0);

  useEffect(() => {
    accounts.property(propertyId).then(setProperty, setError);
  }, [propertyId]);

  // the live check: poll until the first event is in the numbers, then stop
  useEffect(() => {
    if (!property) return;
    let stopped = false;
    const poll = async () => {
      try {
        const n = await eventCount(propertyId, property.timeZone);
        if (stopped) return;
        setEvents(n);
        setCheckError(null);
        if (n > 0) return;
      } catch (e) {
        if (stopped) return;
        setCheckError(e);
      }
      timer.current = window.setTimeout(poll, 2500);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer.current);
    };
  }, [property]);

  if (error) return <ErrorBox error={error} title="This property could not be loaded." />;
  if (!property) return <Skeleton lines={8} />;
  const snippets = snippetsOf(property);
  const current = snippets.find((s) => s.id === tab) ?? snippets[0];
  const received = events !== null && events > 0;
  const unverified = session && !session.me.user.emailVerified;

  return (
    <div class="page">
      {first && <Steps at={2} />}
      <header class="page-head">
        <div>
          <h1>Install Tally on {property.name}</h1>
          <p class="muted">Paste one snippet into your site, or point the tracker you already use at Tally.</p>
        </div>
      </header>
      {unverified && (
        <Notice tone="warning">Check your inbox to verify your e-mail address: you'll need it to invite your team and add more properties.</Notice>
      )}

      <div class="install-grid">
        <div class="install-main">
          <Card title="Your ids" id="ids">
            <dl class="ids">
              {property.measurementId && (
                <div>
                  <dt>Measurement id</dt>
                  <dd>
                    <code data-testid="measurement-id">{property.measurementId}</code>
                    <CopyButton text={property.measurementId} />
                  </dd>
                </div>
              )}
              <div>
                <dt>Property id</dt>
                <dd>
                  <code data-testid="property-id">{property.id}</code>
                  <CopyButton text={property.id} />
                </dd>
              </div>
              <div>
                <dt>Collector</dt>
                <dd>
                  <code>{location.origin}</code>
                  <CopyButton text={location.origin} />
                </dd>
              </div>
            </dl>
          </Card>

          <Card title="Snippets" id="snippets">
            {snippets.length === 0 ? (
              <p class="muted">This property has no snippets yet.</p>
            ) : (
              <>
                <Tabs label="Tracker" tabs={snippets.map((s) => ({ id: s.id, label: s.title }))} selected={current.id} onSelect={setTab} />
                <div role="tabpanel" aria-label={current.title} class="tabpanel">
                  <Code text={current.text} label={`${current.title} snippet`} />
                  {current.title === 'tally.js' && (
                    <p class="hint">Add it to the &lt;head&gt; of every page. It sets no cookie unless you ask it to, and weighs under 2 KB.</p>
                  )}
                </div>
              </>
            )}
          </Card>
        </div>

        <aside class="install-side">
          <Card title="Status" id="status">
            <div
              class={`live ${received ? 'live-ok' : ''}`}
              role="status"
              aria-live="polite"
              data-testid="first-event"
              data-state={received ? 'received' : 'waiting'}
            >
              <span class="live-dot" aria-hidden="true" />
              {received ? (
                <div>
                  <strong>Events are arriving</strong>
                  <p>
                    {events} event{events === 1 ? '' : 's'} so far. Your numbers are ready.
                  </p>
                </div>
              ) : (
                <div>
                  <strong>Waiting for your first event…</strong>
                  <p>Open a page of your site with the snippet. This turns green by itself within about a minute.</p>
                </div>
              )}
            </div>
            {checkError ? <ErrorBox error={checkError} title="The check could not run:" /> : null}
            <Button variant={received ? 'primary' : 'secondary'} class="btn-block" onClick={() => navigate(`/p/${propertyId}`)}>
              {received ? 'Open your dashboard' : 'Skip to the dashboard'}
            </Button>
          </Card>
        </aside>
      </div>
    </div>
  );
}
