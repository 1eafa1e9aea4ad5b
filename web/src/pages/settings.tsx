import { useEffect, useState } from 'preact/hooks';
import { accounts, type Property } from '../api';
import { navigate } from '../router';
import { atLeast, roleIn, useSession } from '../session';
import { Button, Card, Empty, ErrorBox, Skeleton, useTitle } from '../ui';
import { Audit } from './settings/audit';
import { Keys } from './settings/keys';
import { Members } from './settings/members';
import { PropertySettings } from './settings/property';
import { RulesSettings } from './settings/rules';

const TABS = [
  { id: 'property', label: 'Property' },
  { id: 'rules', label: 'Rules' },
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
        <PropertySettings property={property} onSaved={setProperty} canEdit={atLeast(role, 'editor')} canReplay={atLeast(role, 'admin')} />
      ) : current === 'rules' ? (
        <RulesSettings property={property} canEdit={atLeast(role, 'editor')} canReplay={atLeast(role, 'admin')} />
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
