import { SubNav } from '../tabs';
import { atLeast, usePropertyPage } from '../session';
import { Card, Empty, ErrorBox, Skeleton, useTitle } from '../ui';
import { DeadLetters } from './support/dead-letters';
import { Inspector } from './support/inspector';
import { Replays } from './support/replays';
import '../support.css';

const TABS = [
  { id: 'replays', label: 'Replays' },
  { id: 'dead-letters', label: 'Dead letters' },
  { id: 'visitor', label: 'Visitor inspector' },
];

/**
 * The Support page of one property (issue 13): replays with their dry-run diff, dead letters and
 * their redrive, the visitor inspector. For an organisation's owners and admins (support.read,
 * support.run); other roles get a 403 page, as the API answers them.
 */
export function Support({ propertyId, tab }: { propertyId: string; tab: string }) {
  useTitle('Support');
  const { property, error, role } = usePropertyPage(propertyId);
  const current = TABS.some((t) => t.id === tab) ? tab : 'replays';
  const allowed = atLeast(role, 'admin');
  return (
    <div class="page support">
      <header class="page-head">
        <h1>Support</h1>
      </header>
      {property && <p class="hint support-intro">{property.name}: reprocess past days, bring back refused events and follow one visitor's events.</p>}
      {error ? (
        <ErrorBox error={error} title="This property could not be loaded." />
      ) : !property ? (
        <Skeleton lines={6} />
      ) : !allowed ? (
        <Card>
          <div data-testid="support-forbidden">
            <Empty title="Support tools are for owners and admins (403)">
              <p>Your role in this organisation does not include replays, dead letters or the visitor inspector. Ask an owner or admin.</p>
              <a href={`/p/${propertyId}`}>Back to the dashboard</a>
            </Empty>
          </div>
        </Card>
      ) : (
        <>
          <SubNav label="Support" base={`/p/${propertyId}/support`} tabs={TABS} current={current} />
          {current === 'replays' ? (
            <Replays propertyId={propertyId} canRun={allowed} />
          ) : current === 'dead-letters' ? (
            <DeadLetters propertyId={propertyId} canRun={allowed} />
          ) : (
            <Inspector propertyId={propertyId} />
          )}
        </>
      )}
    </div>
  );
}
