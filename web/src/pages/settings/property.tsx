/** Settings › Property: name, time zone, currency, session timeout, domain, hosts and key events. */
import { useState } from 'preact/hooks';
import { accounts, ApiError, type Property } from '../../api';
import { Button, Card, ErrorBox, Field, Notice, Select, useAction } from '../../ui';
import { currencyOptions, zoneOptions } from '../onboarding';
import type { ReplaySuggestion } from '../../rules-api';
import { ReplayOffer } from './replay-offer';

export function PropertySettings({
  property,
  onSaved,
  canEdit,
  canReplay,
}: {
  property: Property;
  onSaved: (p: Property) => void;
  canEdit: boolean;
  canReplay: boolean;
}) {
  const [name, setName] = useState(property.name);
  const [timeZone, setTimeZone] = useState(property.timeZone);
  const [currency, setCurrency] = useState(property.currency);
  const [timeout, setTimeoutMin] = useState(String(property.sessionTimeoutMinutes ?? 30));
  const [domain, setDomain] = useState(property.domain);
  const [hosts, setHosts] = useState(property.allowedHostnames.join(', '));
  const [keyEvents, setKeyEvents] = useState(property.keyEvents.join(', '));
  const { busy, error, run } = useAction();
  const [saved, setSaved] = useState(false);
  const [suggestion, setSuggestion] = useState<{ n: number; s: ReplaySuggestion } | null>(null);
  const split = (s: string) =>
    s
      .split(/[\s,]+/)
      .map((x) => x.trim())
      .filter(Boolean);
  const save = (e: Event) => {
    e.preventDefault();
    setSaved(false);
    void run(async () => {
      const { property: p, replaySuggestion } = await accounts.updatePropertyWithReplay(property.id, {
        name,
        ...(domain.trim() ? { domain: domain.trim() } : {}),
        timeZone,
        currencyCode: currency,
        sessionTimeoutMinutes: Number(timeout),
        allowedHostnames: split(hosts),
        keyEvents: split(keyEvents),
      });
      onSaved({ ...property, ...p, snippets: Object.keys(p.snippets).length ? p.snippets : property.snippets });
      // only a changed session timeout or key event list moves past days: offer the replay then
      const transformChanged = Number(timeout) !== (property.sessionTimeoutMinutes ?? 30) || split(keyEvents).join(',') !== property.keyEvents.join(',');
      setSuggestion(replaySuggestion && transformChanged ? { n: (suggestion?.n ?? 0) + 1, s: replaySuggestion } : null);
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
      {suggestion && <ReplayOffer key={suggestion.n} suggestion={suggestion.s} canRun={canReplay} />}
    </Card>
  );
}
