import { SubNav } from '../tabs';
import { atLeast, usePropertyPage } from '../session';
import { ErrorBox, Skeleton, useTitle } from '../ui';
import { Audit } from './settings/audit';
import { CustomDefinitions } from './settings/custom-definitions';
import { Keys } from './settings/keys';
import { Members } from './settings/members';
import { PropertySettings } from './settings/property';
import { RulesSettings } from './settings/rules';

const TABS = [
  { id: 'property', label: 'Property' },
  { id: 'rules', label: 'Rules' },
  { id: 'custom-definitions', label: 'Custom definitions' },
  { id: 'keys', label: 'Keys' },
  { id: 'members', label: 'Members' },
  { id: 'audit', label: 'Audit log' },
];

export function Settings({ propertyId, tab }: { propertyId: string; tab: string }) {
  useTitle('Settings');
  const { property, setProperty, error, orgId, role } = usePropertyPage(propertyId);
  const current = TABS.some((t) => t.id === tab) ? tab : 'property';
  if (error) return <ErrorBox error={error} title="This property could not be loaded." />;
  return (
    <div class="page">
      <header class="page-head">
        <h1>Settings</h1>
      </header>
      <SubNav label="Settings" base={`/p/${propertyId}/settings`} tabs={TABS} current={current} />
      {!property ? (
        <Skeleton lines={6} />
      ) : current === 'property' ? (
        <PropertySettings property={property} onSaved={setProperty} canEdit={atLeast(role, 'editor')} canReplay={atLeast(role, 'admin')} />
      ) : current === 'rules' ? (
        <RulesSettings property={property} canEdit={atLeast(role, 'editor')} canReplay={atLeast(role, 'admin')} />
      ) : current === 'custom-definitions' ? (
        <CustomDefinitions property={property} canEdit={atLeast(role, 'editor')} />
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
