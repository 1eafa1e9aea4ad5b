/**
 * Settings › Rules: the property's retroactive rules (internal traffic, extra bot patterns, its own
 * channel group). Saving one answers with the replay to offer (`ReplayOffer`).
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Property } from '../../api';
import {
  formatBotPatterns,
  formatInternalRules,
  parseBotPatterns,
  parseInternalRules,
  rulesApi,
  type PropertyRules,
  type ReplaySuggestion,
} from '../../rules-api';
import { Button, Card, ErrorBox, Notice, Select, Skeleton, useAction } from '../../ui';
import { ReplayOffer } from './replay-offer';

function TextArea(p: { label: string; name: string; value: string; onInput: (v: string) => void; rows?: number; hint: string; error?: string }) {
  const id = `rules-${p.name}`;
  return (
    <div class={`field${p.error ? ' field-error' : ''}`}>
      <label for={id}>{p.label}</label>
      <textarea
        id={id}
        name={p.name}
        rows={p.rows ?? 4}
        value={p.value}
        spellcheck={false}
        onInput={(e) => p.onInput((e.target as HTMLTextAreaElement).value)}
        aria-invalid={p.error ? 'true' : undefined}
      />
      {p.error ? <p class="error-text">{p.error}</p> : <p class="hint">{p.hint}</p>}
    </div>
  );
}

export function RulesSettings({ property, canEdit, canReplay }: { property: Property; canEdit: boolean; canReplay: boolean }) {
  const [loaded, setLoaded] = useState<{ rules: PropertyRules; defaults: { channelRules: unknown[] } } | null>(null);
  const [internal, setInternal] = useState('');
  const [filter, setFilter] = useState<'active' | 'inactive'>('active');
  const [bots, setBots] = useState('');
  const [channels, setChannels] = useState('');
  const [suggestion, setSuggestion] = useState<ReplaySuggestion | null>(null);
  const [saved, setSaved] = useState(false);
  // each save offers a fresh replay (a new form, no earlier result)
  const [offer, setOffer] = useState(0);
  const { busy, error, run, setError } = useAction();

  const show = (rules: PropertyRules) => {
    setInternal(formatInternalRules(rules.internalTraffic.rules));
    setFilter(rules.internalTraffic.filter);
    setBots(formatBotPatterns(rules.botPatterns));
    setChannels(rules.channelRules ? JSON.stringify(rules.channelRules, null, 2) : '');
  };
  useEffect(() => {
    rulesApi.get(property.id).then((r) => {
      setLoaded(r);
      show(r.rules);
    }, setError);
  }, [property.id]);

  const save = (e: Event) => {
    e.preventDefault();
    setSaved(false);
    void run(async () => {
      let channelRules: unknown[] | null = null;
      if (channels.trim()) {
        try {
          channelRules = JSON.parse(channels) as unknown[];
        } catch {
          throw new ApiError(400, 'invalid_argument', 'invalid_rule', 'Channel rules: not valid JSON.', { channelRules: 'not valid JSON' });
        }
      }
      const r = await rulesApi.update(property.id, {
        internalTraffic: { rules: parseInternalRules(internal), filter },
        botPatterns: parseBotPatterns(bots),
        channelRules,
      });
      show(r.rules);
      setSuggestion(r.replaySuggestion);
      setOffer((n) => n + 1);
      setSaved(true);
    });
  };
  if (!loaded) return error ? <ErrorBox error={error} /> : <Skeleton lines={6} />;
  const fe = (prefix: string) => {
    if (!(error instanceof ApiError)) return undefined;
    const hit = Object.entries(error.fields).find(([k]) => k.startsWith(prefix));
    return hit ? `${hit[0]}: ${hit[1]}` : undefined;
  };
  return (
    <Card title="Rules">
      <form onSubmit={save} noValidate class="form-wide">
        {!canEdit && <Notice>Your role can read these rules but not change them.</Notice>}
        <ErrorBox error={error instanceof ApiError && Object.keys(error.fields).length ? null : error} />
        {saved && <Notice tone="success">Saved. New events follow these rules now.</Notice>}
        <TextArea
          label="Internal traffic"
          name="internalTraffic"
          value={internal}
          onInput={setInternal}
          error={fe('internalTraffic')}
          hint="One rule per line: name: IP ranges (IPv4 or IPv6 CIDR), e.g. office: 198.51.100.0/24, 2001:db8::/48. Matched on the visitor's full IP as events arrive. Ranges at least /24 (IPv4) or /48 (IPv6) wide also apply to past events on a replay; narrower ones only from now on (only the truncated IP is kept)."
        />
        <Select
          label="Internal traffic filter"
          value={filter}
          onChange={(v) => setFilter(v as 'active' | 'inactive')}
          options={[
            { value: 'active', label: 'Active (left out of reports)' },
            { value: 'inactive', label: 'Inactive (counted)' },
          ]}
        />
        <TextArea
          label="Extra bot patterns"
          name="botPatterns"
          value={bots}
          onInput={setBots}
          error={fe('botPatterns')}
          hint="One per line, matched on the browser's user agent after the built-in list: text is a substring (any case), /…/ a regular expression."
        />
        <TextArea
          label="Channel group rules (JSON)"
          name="channelRules"
          rows={channels ? 12 : 3}
          value={channels}
          onInput={setChannels}
          error={fe('channelRules')}
          hint="Empty: GA4's default channel group. Otherwise an ordered list of {channel, when}; the first match wins, else Unassigned."
        />
        <div class="row">
          <Button type="submit" variant="primary" busy={busy} disabled={!canEdit}>
            Save rules
          </Button>{' '}
          {!channels.trim() && (
            <Button variant="ghost" disabled={!canEdit} onClick={() => setChannels(JSON.stringify(loaded.defaults.channelRules, null, 2))}>
              Edit the default channel group
            </Button>
          )}
        </div>
      </form>
      {suggestion && <ReplayOffer key={offer} suggestion={suggestion} canRun={canReplay} />}
    </Card>
  );
}
