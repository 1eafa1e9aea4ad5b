/**
 * Settings › Custom definitions: the property's custom dimensions (event and user scope) and custom
 * metrics, reported as `customEvent:NAME` / `customUser:NAME`. Editors and up create, rename and
 * archive them (the API's `properties.update`); everyone may read them and preview their values.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Property } from '../../api';
import { customDefinitionsApi, groupDefinitions, type CustomDefinition } from '../../custom-definitions-api';
import { Button, Card, Dialog, Empty, Notice, Skeleton } from '../../ui';
import { DefinitionForm, DefinitionTable, ErrorText } from './custom-definitions-parts';

export function CustomDefinitions({ property, canEdit }: { property: Property; canEdit: boolean }) {
  const [all, setAll] = useState<CustomDefinition[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [editing, setEditing] = useState<CustomDefinition | 'new' | null>(null);
  const [archiving, setArchiving] = useState<CustomDefinition | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const load = () => customDefinitionsApi.list(property.id).then(setAll, setError);
  useEffect(() => void load(), [property.id]);

  const archive = async () => {
    if (!archiving) return;
    setBusy(true);
    setError(null);
    try {
      await customDefinitionsApi.archive(property.id, archiving.id);
      await load();
      setDone(`${archiving.displayName} archived: reports and metadata no longer offer it.`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      setArchiving(null);
    }
  };
  const saved = async (d: CustomDefinition, created: boolean) => {
    setEditing(null);
    await load();
    setDone(created ? `${d.displayName} created: reports can use it now, over past data too.` : `${d.displayName} saved.`);
  };
  const groups = all ? groupDefinitions(all) : null;
  const table = (title: string, rows: CustomDefinition[]) => (
    <DefinitionTable
      title={title}
      rows={rows}
      propertyId={property.id}
      canEdit={canEdit}
      onEdit={(d) => (setDone(null), setEditing(d))}
      onArchive={(d) => (setDone(null), setArchiving(d))}
    />
  );
  return (
    <>
      <Card
        title="Custom definitions"
        actions={
          canEdit && (
            <Button variant="primary" onClick={() => (setDone(null), setEditing('new'))}>
              Create definition
            </Button>
          )
        }
      >
        <ErrorText error={error} />
        {done && <Notice tone="success">{done}</Notice>}
        {!canEdit && <Notice>Your role can read custom definitions; editors, admins and owners create and change them.</Notice>}
        <p class="muted">
          Event parameters and user properties your events already send, as report fields: <code>customEvent:NAME</code> and <code>customUser:NAME</code> in the
          GA4 Data API. They apply to data already collected.
        </p>
        {!groups ? (
          <Skeleton lines={4} />
        ) : groups.dimensions.length + groups.metrics.length === 0 ? (
          <Empty title="No custom definitions yet">
            <p>Create one to report on an event parameter (e.g. shipping_tier) or a user property (e.g. loyalty).</p>
          </Empty>
        ) : (
          <>
            {groups.dimensions.length > 0 && table('Custom dimensions', groups.dimensions)}
            {groups.metrics.length > 0 && table('Custom metrics', groups.metrics)}
          </>
        )}
        {groups && groups.archived.length > 0 && (
          <details class="revoked">
            <summary>
              {groups.archived.length} archived definition{groups.archived.length === 1 ? '' : 's'}
            </summary>
            <ul data-testid="archived-definitions">
              {groups.archived.map((d) => (
                <li key={d.id}>
                  {d.displayName} <code>{d.parameterName}</code> <span class="muted">({d.kind})</span>
                </li>
              ))}
            </ul>
          </details>
        )}
      </Card>

      <Dialog
        open={editing !== null}
        title={editing === 'new' ? 'Create a custom definition' : `Edit ${editing?.displayName ?? ''}`}
        onClose={() => setEditing(null)}
      >
        {editing !== null && (
          <DefinitionForm propertyId={property.id} editing={editing === 'new' ? null : editing} onSaved={saved} onCancel={() => setEditing(null)} />
        )}
      </Dialog>

      <Dialog open={archiving !== null} title={`Archive ${archiving?.displayName ?? ''}?`} onClose={() => setArchiving(null)}>
        <p>
          Reports, metadata and compatibility checks stop offering <code>{archiving ? archiving.parameterName : ''}</code> at once; requests that name it are
          refused. The data stays: a new definition of the same parameter brings it back.
        </p>
        <div class="dialog-actions">
          <Button onClick={() => setArchiving(null)}>Cancel</Button>
          <Button variant="danger" busy={busy} onClick={archive}>
            Archive
          </Button>
        </div>
      </Dialog>
    </>
  );
}
