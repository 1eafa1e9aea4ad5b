/** The dashboard's filters as chips, each removable, and "Clear all" when there are several. */
import { FILTERABLE, type Filter } from '../../reports';

const regionNames = (() => {
  try {
    return new Intl.DisplayNames(['en'], { type: 'region' });
  } catch {
    return null;
  }
})();

function chipLabel(f: Filter): string {
  if (f.label) return f.label;
  if (f.dimension === 'countryId') {
    try {
      return regionNames?.of(f.value) ?? f.value;
    } catch {
      return f.value;
    }
  }
  return f.value;
}

export function FilterChips({ filters, onRemove, onClear }: { filters: Filter[]; onRemove: (dimension: string) => void; onClear: () => void }) {
  if (filters.length === 0) return null;
  return (
    <div class="chips" aria-label="Filters">
      <span class="chips-label">Filtered by</span>
      {filters.map((f) => (
        <span class="chip" key={f.dimension} data-testid="filter-chip">
          <span>
            <span class="chip-dim">{FILTERABLE.get(f.dimension) ?? f.dimension}</span> is <strong>{chipLabel(f)}</strong>
          </span>
          <button
            type="button"
            class="chip-x"
            onClick={() => onRemove(f.dimension)}
            aria-label={`Remove filter ${FILTERABLE.get(f.dimension) ?? f.dimension} is ${chipLabel(f)}`}
          >
            ×
          </button>
        </span>
      ))}
      {filters.length > 1 && (
        <button type="button" class="btn btn-ghost btn-small" onClick={() => onClear()}>
          Clear all
        </button>
      )}
    </div>
  );
}
