/** The pieces of Settings › Custom definitions: the error line, a table of definitions with a preview, the create/edit form. */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../../api';
import {
  apiName,
  customDefinitionsApi,
  definitionErrorText,
  MEASUREMENT_UNITS,
  SCOPE_LABEL,
  type CustomDefinition,
  type DefinitionKind,
  type DefinitionScope,
} from '../../custom-definitions-api';
import { Button, Field, Select, TableWrap, useAction } from '../../ui';
import '../../custom-definitions.css';

/** An API refusal in words chosen by its reason (`definitionErrorText`), with the reason kept for tests and support. */
export function ErrorText({ error }: { error: unknown }) {
  const text = definitionErrorText(error);
  if (!text) return null;
  return (
    <div class="alert alert-error" role="alert" data-reason={error instanceof ApiError ? error.reason : undefined}>
      {text}
    </div>
  );
}

export function DefinitionTable(p: {
  title: string;
  rows: CustomDefinition[];
  propertyId: string;
  canEdit: boolean;
  onEdit: (d: CustomDefinition) => void;
  onArchive: (d: CustomDefinition) => void;
}) {
  const [preview, setPreview] = useState<{ id: string; rows: { value: string; count: number }[] | null; error: unknown } | null>(null);
  const show = (d: CustomDefinition) => {
    if (preview?.id === d.id) return setPreview(null);
    setPreview({ id: d.id, rows: null, error: null });
    customDefinitionsApi.preview(p.propertyId, d).then(
      (rows) => setPreview((x) => (x?.id === d.id ? { ...x, rows } : x)),
      (error: unknown) => setPreview((x) => (x?.id === d.id ? { ...x, error } : x)),
    );
  };
  return (
    <>
      <h3 class="subhead">{p.title}</h3>
      <TableWrap label={p.title}>
        <table class="table table-custom-definitions" data-testid={`definitions-${p.rows[0]?.kind ?? 'none'}`}>
          <thead>
            <tr>
              <th scope="col">Name and report field</th>
              <th scope="col" class="hide-sm">
                Scope
              </th>
              <th scope="col" class="hide-sm">
                Description
              </th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {p.rows.map((d) => (
              <Fragment key={d.id}>
                <tr data-definition={d.parameterName}>
                  <td>
                    <span class="definition-name">{d.displayName}</span>
                    <code class="definition-field wrap-anywhere">{apiName(d)}</code>
                  </td>
                  <td class="hide-sm">
                    <span class="badge">{SCOPE_LABEL[d.scope]}</span>
                  </td>
                  <td class="hide-sm">{d.description || <span class="muted">—</span>}</td>
                  <td class="actions">
                    <Button class="btn-small" onClick={() => show(d)} aria-expanded={preview?.id === d.id} aria-label={`Preview ${d.displayName}`}>
                      Preview
                    </Button>
                    {p.canEdit && (
                      <>
                        <Button class="btn-small" onClick={() => p.onEdit(d)} aria-label={`Edit ${d.displayName}`}>
                          Edit
                        </Button>
                        <Button variant="danger" class="btn-small" onClick={() => p.onArchive(d)} aria-label={`Archive ${d.displayName}`}>
                          Archive
                        </Button>
                      </>
                    )}
                  </td>
                </tr>
                {preview?.id === d.id && (
                  <tr class="preview-row">
                    <td colSpan={4}>
                      <Preview kind={d.kind} rows={preview.rows} error={preview.error} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </TableWrap>
    </>
  );
}

function Preview({ kind, rows, error }: { kind: DefinitionKind; rows: { value: string; count: number }[] | null; error: unknown }) {
  if (error) return <ErrorText error={error} />;
  if (!rows) return <p class="muted">Asking the report API…</p>;
  if (rows.length === 0) return <p class="muted">No events with this parameter in the last 28 days.</p>;
  return (
    <div data-testid="definition-preview">
      <p class="muted small">Last 28 days, {kind === 'dimension' ? 'events by value' : 'sum by event name'}:</p>
      <ul class="preview-list">
        {rows.map((r) => (
          <li key={r.value}>
            <span class="wrap-anywhere">{r.value}</span> <strong>{r.count.toLocaleString('en')}</strong>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function DefinitionForm(p: {
  propertyId: string;
  editing: CustomDefinition | null;
  onSaved: (d: CustomDefinition, created: boolean) => void;
  onCancel: () => void;
}) {
  const e = p.editing;
  const [kind, setKind] = useState<DefinitionKind>(e?.kind ?? 'dimension');
  const [scope, setScope] = useState<DefinitionScope>(e?.scope ?? 'EVENT');
  const [parameterName, setParameterName] = useState(e?.parameterName ?? '');
  const [displayName, setDisplayName] = useState(e?.displayName ?? '');
  const [description, setDescription] = useState(e?.description ?? '');
  const [unit, setUnit] = useState(e?.measurementUnit ?? 'STANDARD');
  const { busy, error, run } = useAction();
  const field = (name: string) => (error instanceof ApiError ? error.fields[name] : undefined);
  const submit = (ev: Event) => {
    ev.preventDefault();
    void run(async () => {
      const d = e
        ? await customDefinitionsApi.update(p.propertyId, e.id, { displayName, description })
        : await customDefinitionsApi.create(p.propertyId, {
            kind,
            scope: kind === 'metric' ? 'EVENT' : scope,
            parameterName: parameterName.trim(),
            displayName,
            description: description || undefined,
            measurementUnit: kind === 'metric' ? unit : undefined,
          });
      p.onSaved(d, !e);
    });
  };
  return (
    <form onSubmit={submit} noValidate data-testid="definition-form">
      <ErrorText error={error} />
      {!e && (
        <>
          <Select
            label="Kind"
            name="kind"
            value={kind}
            onChange={(v) => setKind(v as DefinitionKind)}
            options={[
              { value: 'dimension', label: 'Dimension (text values)' },
              { value: 'metric', label: 'Metric (a numeric parameter, summed)' },
            ]}
          />
          {kind === 'dimension' ? (
            <Select
              label="Scope"
              name="scope"
              value={scope}
              onChange={(v) => setScope(v as DefinitionScope)}
              options={[
                { value: 'EVENT', label: 'Event (an event parameter)' },
                { value: 'USER', label: 'User (a user property)' },
              ]}
            />
          ) : (
            <Select
              label="Unit"
              name="measurementUnit"
              value={unit}
              onChange={setUnit}
              options={MEASUREMENT_UNITS.map((u) => ({ value: u, label: u.toLowerCase() }))}
            />
          )}
          <Field
            label={scope === 'USER' && kind === 'dimension' ? 'User property' : 'Event parameter'}
            name="parameterName"
            value={parameterName}
            onInput={setParameterName}
            error={field('parameterName')}
            hint="As your events send it: a letter, then letters, digits or _ (at most 40)."
            placeholder="shipping_tier"
            autoFocus
          />
        </>
      )}
      <Field label="Display name" name="displayName" value={displayName} onInput={setDisplayName} error={field('displayName')} placeholder="Shipping tier" />
      <Field label="Description (optional)" name="description" value={description} onInput={setDescription} error={field('description')} />
      <div class="dialog-actions">
        <Button onClick={p.onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" busy={busy}>
          {e ? 'Save' : 'Create'}
        </Button>
      </div>
    </form>
  );
}
