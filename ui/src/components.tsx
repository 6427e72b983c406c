// Small shared pieces: error notes, bars and bar charts, a pager, a confirmation dialog.
import { useEffect, useId, useRef, type ReactNode } from 'react';
import type { ApiError } from './api';

export function ErrorNote({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <p>{error.message}</p>
      {error.problems.length > 0 && (
        <ul>
          {error.problems.map((p) => (
            <li key={`${p.field}:${p.message}`}>
              <code>{p.field}</code>: {p.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? (
    <p className="loading" role="status">
      Loading…
    </p>
  ) : null;
}

export const fmt = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : n.toLocaleString('en-US'));

/** A horizontal bar: `value` of `max`, with its numbers in words for screen readers. */
export function Bar({ value, max, label, tone = 'used' }: { value: number; max: number; label: string; tone?: 'used' | 'free' | 'warn' | 'off' }) {
  const share = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
  return (
    <div className="bar" role="img" aria-label={`${label}: ${fmt(value)} of ${fmt(max)}`}>
      <div className={`bar-fill ${tone}`} style={{ width: `${(share * 100).toFixed(1)}%` }} />
    </div>
  );
}

/** A bar chart as a table: one row per item, its number and a bar scaled to the largest. */
export function BarChart({
  caption,
  rows,
  unit,
}: {
  caption: string;
  unit: string;
  rows: { key: string; label: ReactNode; value: number; tone?: 'used' | 'free' | 'warn' | 'off' }[];
}) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return (
    <table className="chart">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{unit === 'hosts' ? 'group' : 'value'}</th>
          <th scope="col" className="num">
            {unit}
          </th>
          <th scope="col">
            <span className="sr-only">bar</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td colSpan={3}>none</td>
          </tr>
        )}
        {rows.map((r) => (
          <tr key={r.key}>
            <th scope="row">{r.label}</th>
            <td className="num">{fmt(r.value)}</td>
            <td className="bar-cell">
              <Bar value={r.value} max={max} label={`${r.key} ${unit}`} tone={r.tone ?? 'used'} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export type PageRequest = { first: number; after: string | null; last: null; before: null } | { first: null; after: null; last: number; before: string | null };

export const firstPage = (size: number): PageRequest => ({ first: size, after: null, last: null, before: null });

/** Previous / next buttons over a cursor connection. */
export function Pager({ pageInfo, size, onPage, label }: { pageInfo: PageInfo | undefined; size: number; onPage(page: PageRequest): void; label: string }) {
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button
        type="button"
        disabled={!pageInfo?.hasPreviousPage}
        onClick={() => onPage({ first: null, after: null, last: size, before: pageInfo?.startCursor ?? null })}
      >
        ← Previous
      </button>
      <button
        type="button"
        disabled={!pageInfo?.hasNextPage}
        onClick={() => onPage({ first: size, after: pageInfo?.endCursor ?? null, last: null, before: null })}
      >
        Next →
      </button>
    </nav>
  );
}

/** A modal confirmation (the native dialog element: focus trapped, Escape cancels). */
export function Confirm({
  open,
  title,
  children,
  confirmLabel,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm(): void;
  onCancel(): void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby={titleId} onCancel={onCancel}>
      <h2 id={titleId}>{title}</h2>
      {children}
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="primary" onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** A form control with its visible label (label for=id: the control's accessible name is the label alone). */
export function Field({ label, children }: { label: string; children: (id: string) => ReactNode }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id)}
    </div>
  );
}

export function Stat({ label, value, note }: { label: string; value: ReactNode; note?: string }) {
  return (
    <div className="stat">
      <div className="stat-value" data-stat={label}>
        {value}
      </div>
      <div className="stat-label">{label}</div>
      {note && <div className="stat-note">{note}</div>}
    </div>
  );
}
