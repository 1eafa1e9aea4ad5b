import { useRef } from 'preact/hooks';

let seq = 0;

/** WAI-ARIA tabs: arrow keys move between tabs, only the selected tab is in the tab order. */
export function Tabs({
  tabs,
  selected,
  onSelect,
  label,
  small,
}: {
  tabs: { id: string; label: string }[];
  selected: string;
  onSelect: (id: string) => void;
  label: string;
  small?: boolean;
}) {
  const base = useRef(`tabs${++seq}`).current;
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const onKey = (e: KeyboardEvent, i: number) => {
    const n = tabs.length;
    const to = e.key === 'ArrowRight' ? (i + 1) % n : e.key === 'ArrowLeft' ? (i - 1 + n) % n : e.key === 'Home' ? 0 : e.key === 'End' ? n - 1 : -1;
    if (to < 0) return;
    e.preventDefault();
    onSelect(tabs[to].id);
    refs.current[to]?.focus();
  };
  return (
    <div class={`tabs${small ? ' tabs-small' : ''}`} role="tablist" aria-label={label}>
      {tabs.map((t, i) => (
        <button
          key={t.id}
          ref={(el) => void (refs.current[i] = el)}
          type="button"
          role="tab"
          id={`${base}-${t.id}`}
          aria-selected={t.id === selected}
          tabIndex={t.id === selected ? 0 : -1}
          class="tab"
          onClick={() => onSelect(t.id)}
          onKeyDown={(e) => onKey(e, i)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

/** A page's sub-navigation: one link per tab under `base` (Settings, Support), the current one marked. */
export function SubNav({ label, base, tabs, current }: { label: string; base: string; tabs: { id: string; label: string }[]; current: string }) {
  return (
    <nav class="subnav" aria-label={label}>
      {tabs.map((t) => (
        <a key={t.id} href={`${base}/${t.id}`} class={t.id === current ? 'active' : ''} aria-current={t.id === current ? 'page' : undefined}>
          {t.label}
        </a>
      ))}
    </nav>
  );
}
