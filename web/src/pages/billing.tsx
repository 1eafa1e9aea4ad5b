import { useEffect, useMemo, useState } from 'preact/hooks';
import { Chart } from '../chart';
import { billing, billingAlert, fmtCount, fmtMoney, type BillingOverview, type Invoice } from '../billing-api';
import { atLeast, roleIn, useSession } from '../session';
import { Button, Card, Empty, ErrorBox, Notice, Skeleton, TableWrap, useAction, useTitle } from '../ui';
import '../billing.css';

/**
 * The Billing page of one organisation (issue 12): plan and status, this month's usage against the
 * quota by day with the month-end projection, plan changes through Stripe Checkout, the Customer
 * Portal and the invoices. Owners act; admins read; other roles get a 403 page (the API agrees:
 * checkout, portal and invoices need `billing.manage`).
 */
export function Billing({ orgId, search }: { orgId: string; search: string }) {
  useTitle('Billing');
  const { session } = useSession();
  const role = roleIn(session, orgId);
  const org = session?.orgs.find((o) => o.id === orgId);
  if (!atLeast(role, 'admin')) return <NoAccess />;
  return <BillingFor orgId={orgId} orgName={org?.name ?? ''} owner={role === 'owner'} search={search} key={orgId} />;
}

function NoAccess() {
  return (
    <div class="page" data-testid="billing-forbidden">
      <header class="page-head">
        <h1>Billing</h1>
      </header>
      <Card>
        <Empty title="Billing is for owners and admins (403)">
          <p>Your role in this organisation does not include billing. Ask an owner if the plan needs to change.</p>
          <a href="/">Back to the dashboard</a>
        </Empty>
      </Card>
    </div>
  );
}

function BillingFor({ orgId, orgName, owner, search }: { orgId: string; orgName: string; owner: boolean; search: string }) {
  const [data, setData] = useState<BillingOverview | null>(null);
  const [invoices, setInvoices] = useState<Invoice[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const action = useAction();
  const [pending, setPending] = useState('');
  useEffect(() => {
    billing.overview(orgId, true).then((o) => {
      setData(o);
      if (owner && o.provider !== 'none') billing.invoices(orgId).then(setInvoices, setError);
    }, setError);
  }, [orgId, owner]);
  const checkout = new URLSearchParams(search).get('checkout');

  const go = (what: string, call: () => Promise<{ url: string }>) => {
    setPending(what);
    void action
      .run(async () => {
        const { url } = await call();
        // Stripe's hosted page: a full navigation, not the router
        location.assign(url);
      })
      .finally(() => setPending(''));
  };

  if (error && !data) return <ErrorBox error={error} title="Billing could not be loaded." />;
  const enabled = data?.provider !== 'none';
  const canAct = owner && enabled;
  const reason = !enabled ? 'Billing is not enabled on this installation.' : !owner ? 'Only owners can change the plan or manage billing.' : '';
  const alert = data && billingAlert(data);
  return (
    <div class="page billing">
      <header class="page-head">
        <div>
          <h1>Billing</h1>
          <p class="muted">{orgName}</p>
        </div>
        {data && enabled && (
          <Button
            variant="secondary"
            disabled={!canAct}
            busy={pending === 'portal'}
            onClick={() => go('portal', () => billing.portal(orgId))}
            aria-describedby={reason ? 'billing-reason' : undefined}
          >
            Manage billing
          </Button>
        )}
      </header>
      {checkout === 'success' && <Notice tone="success">Thank you: the plan changes as soon as Stripe confirms the payment (usually within seconds).</Notice>}
      {checkout === 'canceled' && <Notice>Checkout was canceled; your plan is unchanged.</Notice>}
      {data && !enabled && (
        <Notice>
          <strong>Billing is not enabled on this installation (self-hosted).</strong> Plans are set by the operator (<code>tally tenant set-plan</code>); the
          plan and this month's usage are shown below.
        </Notice>
      )}
      {data && enabled && !owner && (
        <p class="billing-reason" id="billing-reason">
          You are an admin of this organisation: this page is read-only. {reason}
        </p>
      )}
      {alert && (
        <div class={`alert alert-${alert.tone}`} role="status">
          {alert.text}
        </div>
      )}
      <ErrorBox error={action.error} title="Stripe could not be reached." />
      {!data ? (
        <Skeleton lines={8} />
      ) : (
        <>
          <Summary data={data} />
          <Card title="Usage this month" id="billing-usage" class="chart-card">
            <UsageChart data={data} />
          </Card>
          <Plans
            data={data}
            canAct={canAct}
            reason={reason}
            pending={pending}
            onChoose={(id) => go(id, () => billing.checkout(orgId, id))}
            onPortal={() => go('portal', () => billing.portal(orgId))}
          />
          {enabled && <Invoices invoices={owner ? invoices : null} owner={owner} />}
        </>
      )}
    </div>
  );
}

function statusText(o: BillingOverview): { label: string; tone: string; detail: string } {
  const day = (iso: string | null) =>
    iso ? new Date(iso).toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' }) : '';
  const b = o.billing;
  if (b.paymentFailedAt)
    return b.readGated
      ? { label: 'Payment overdue', tone: 'bad', detail: `Grace period ended ${day(b.graceEndsAt)}; reports are blocked until paid.` }
      : { label: 'Past due', tone: 'warn', detail: `Payment failed; grace period until ${day(b.graceEndsAt)}.` };
  if (b.cancelAtPeriodEnd) return { label: 'Canceled', tone: 'warn', detail: `Ends at the period end, ${day(b.currentPeriodEnd)}; then the Free plan.` };
  if (b.status === 'active' || b.status === 'trialing')
    return { label: 'Active', tone: 'good', detail: b.currentPeriodEnd ? `Renews ${day(b.currentPeriodEnd)}.` : '' };
  if (b.status === 'none') return { label: 'Active', tone: 'good', detail: o.provider === 'none' ? 'Plan set by the operator.' : 'No subscription needed.' };
  return { label: b.status.replace(/_/g, ' '), tone: 'warn', detail: '' };
}

function Summary({ data }: { data: BillingOverview }) {
  const s = statusText(data);
  const { total, projected } = data.usage;
  const { monthlyEvents, hardCap } = data.entitlements;
  const pct = monthlyEvents ? Math.round((total / monthlyEvents) * 100) : 0;
  return (
    <div class="kpis billing-kpis" data-testid="billing-summary">
      <div class="kpi">
        <span class="kpi-label">Plan</span>
        <span class="kpi-value" data-testid="billing-plan">
          {data.plan.name}
        </span>
        <span class="kpi-change">{data.plan.priceCents ? `${fmtMoney(data.plan.priceCents)} / month` : 'No charge'}</span>
      </div>
      <div class="kpi">
        <span class="kpi-label">Status</span>
        <span class={`kpi-value billing-status billing-status-${s.tone}`} data-testid="billing-status">
          {s.label}
        </span>
        <span class="kpi-change">{s.detail}</span>
      </div>
      <div class="kpi">
        <span class="kpi-label">This month</span>
        <span class="kpi-value" data-testid="billing-used" data-value={total}>
          {fmtCount(total)}
        </span>
        <span class="kpi-change">
          {pct}% of {fmtCount(monthlyEvents)} included
        </span>
        <span class="meter" aria-hidden="true">
          <span class={`meter-fill${total > monthlyEvents ? ' over' : ''}`} style={{ width: `${Math.min(100, pct)}%` }} />
        </span>
      </div>
      <div class="kpi">
        <span class="kpi-label">Projected</span>
        <span class="kpi-value" data-testid="billing-projected" data-value={projected}>
          {fmtCount(projected)}
        </span>
        <span class="kpi-change">
          {projected > hardCap ? `past the hard cap (${fmtCount(hardCap)})` : projected > monthlyEvents ? 'over the included events' : 'within the plan'}
        </span>
      </div>
    </div>
  );
}

/** The month so far, by UTC day: events accumulated against the plan's included events. */
function UsageChart({ data }: { data: BillingOverview }) {
  const series = useMemo(() => {
    const [y, m] = data.usage.month.split('-').map(Number);
    const today = new Date();
    const sameMonth = today.getUTCFullYear() === y && today.getUTCMonth() + 1 === m;
    const last = sameMonth ? today.getUTCDate() : new Date(Date.UTC(y, m, 0)).getUTCDate();
    const byDay = new Map(data.usage.days.map((d) => [d.date, d.events]));
    const xs: number[] = [];
    const current: number[] = [];
    let sum = 0;
    for (let d = 1; d <= last; d++) {
      const t = Date.UTC(y, m - 1, d);
      sum += byDay.get(new Date(t).toISOString().slice(0, 10)) ?? 0;
      xs.push(t / 1000);
      current.push(sum);
    }
    return { xs, current, quota: xs.map(() => data.entitlements.monthlyEvents) };
  }, [data]);
  return (
    <div data-testid="billing-chart">
      <Chart
        xs={series.xs}
        current={series.current}
        previous={series.quota}
        previousLabel={`Included in ${data.plan.name}`}
        hourly={false}
        label="Events this month"
        format={fmtCount}
      />
    </div>
  );
}

function Plans(props: { data: BillingOverview; canAct: boolean; reason: string; pending: string; onChoose: (planId: string) => void; onPortal: () => void }) {
  const { data, canAct, reason, pending } = props;
  const currentPrice = data.plan.priceCents;
  return (
    <Card title="Plans" id="billing-plans">
      {reason && data.provider !== 'none' && (
        <p class="muted billing-plans-reason" id="billing-plans-reason">
          {reason}
        </p>
      )}
      <ul class="plans">
        {data.plans.map((p) => {
          const current = p.id === data.plan.id;
          const up = p.priceCents > currentPrice;
          const label = current ? 'Current plan' : up ? `Upgrade to ${p.name}` : `Downgrade to ${p.name}`;
          return (
            <li class={`plan${current ? ' plan-current' : ''}`} key={p.id} data-plan={p.id}>
              <h3>{p.name}</h3>
              <p class="plan-price">{p.priceCents ? `${fmtMoney(p.priceCents)} / month` : 'Free'}</p>
              <p class="muted">
                {fmtCount(p.monthlyEvents)} events a month
                {p.overagePer100kCents ? `, then ${fmtMoney(p.overagePer100kCents)} per 100K` : ''}
              </p>
              {data.provider !== 'none' && (
                <Button
                  variant={up && !current ? 'primary' : 'secondary'}
                  disabled={current || !canAct}
                  busy={pending === p.id}
                  aria-describedby={reason && !current ? 'billing-plans-reason' : undefined}
                  // a paid plan goes through Checkout; back to Free is a cancellation in the portal
                  onClick={() => (p.priceCents ? props.onChoose(p.id) : props.onPortal())}
                >
                  {label}
                </Button>
              )}
            </li>
          );
        })}
      </ul>
    </Card>
  );
}

function Invoices({ invoices, owner }: { invoices: Invoice[] | null; owner: boolean }) {
  return (
    <Card title="Invoices" id="billing-invoices">
      {!owner ? (
        <p class="muted">Invoices are shown to owners.</p>
      ) : !invoices ? (
        <Skeleton lines={2} />
      ) : invoices.length === 0 ? (
        <Empty title="No invoices yet" />
      ) : (
        <TableWrap label="Invoices">
          <table class="table" data-testid="invoices">
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col">Number</th>
                <th scope="col">Amount</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="sr-only">Link</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {invoices.map((i) => (
                <tr key={i.id}>
                  <td>{new Date(i.created).toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' })}</td>
                  <td>{i.number ?? '—'}</td>
                  <td>{fmtMoney(i.amountDue, i.currency)}</td>
                  <td>
                    <span class="badge">{i.status ?? '—'}</span>
                  </td>
                  <td>
                    {i.hostedInvoiceUrl && (
                      <a href={i.hostedInvoiceUrl} target="_blank" rel="noopener noreferrer">
                        View<span class="sr-only"> invoice {i.number ?? i.id}</span>
                      </a>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </Card>
  );
}
