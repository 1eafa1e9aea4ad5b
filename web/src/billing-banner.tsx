import { useEffect, useState } from 'preact/hooks';
import { billing, billingAlert } from './billing-api';
import './billing.css';

/**
 * The console-wide billing banner of the organisation in view: over quota (or refusing past the
 * hard cap) and payment failed (grace period, or reports blocked). One cached summary request per
 * organisation (`billing.overview`), shared with the Billing page; nothing when all is well or the
 * summary cannot be read.
 */
export function BillingBanner({ orgId, canOpen }: { orgId: string; canOpen: boolean }) {
  const [alert, setAlert] = useState<ReturnType<typeof billingAlert>>(null);
  useEffect(() => {
    let live = true;
    setAlert(null);
    billing.overview(orgId).then(
      (o) => live && setAlert(billingAlert(o)),
      () => undefined, // a banner never breaks the page it sits on
    );
    return () => void (live = false);
  }, [orgId]);
  if (!alert) return null;
  return (
    <div class={`alert alert-${alert.tone} billing-banner`} role="status" data-testid="billing-banner">
      <span>{alert.text}</span>
      {canOpen ? <a href={`/orgs/${encodeURIComponent(orgId)}/billing`}>Open billing</a> : <span>Ask an owner to look at billing.</span>}
    </div>
  );
}
