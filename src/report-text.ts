// The text of `tdplan report whatif`, and the table and reason formatting of every report: pure
// formatting with no I/O (it imports only types), so that the planning UI (ui/) offers for download
// exactly the text the CLI prints for the same answer.
import type { CapacityTotals, TdxDisabledEffect } from './capacity/rules.js';

/** A monospace table: columns padded to their widest cell, numbers right-aligned. */
export function table(header: string[], rows: (string | number | null)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === null));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export interface Reason {
  code: string;
  message: string;
  effect: TdxDisabledEffect;
}

const EFFECT_WORDS: Record<TdxDisabledEffect, string> = { KVM_LOAD_FAILS: 'KVM fails to load', TDX_DISABLED: 'TDX off' };

/** A reason with what it costs (R1 v2): "KVM fails to load" or "TDX off". */
export function withEffect(r: Reason, text: string): string {
  return `${text} [${EFFECT_WORDS[r.effect]}]`;
}

/** How many items of each list the text shows (the rest is counted as "(N more)"). */
export const WHATIF_REPORT_LIST_LIMIT = 20;

const CAPACITY = 'tdxEnabledHosts kvmLoadFailingHosts tdSlots schedulableVcpus freeVcpus tdMemoryMiB freeMemoryMiB';

/** What the text shows of a `WhatIf` answer; `$n` is the page size of each list. */
export const WHATIF_SELECTION = `
      hostsLosingTdx(first: $n) { totalCount edges { node { hostname tdxDisabledReasonsAfter { code message effect } } } }
      hostsLosingKvm(first: $n) { totalCount edges { node { hostname tdxDisabledReasonsAfter { code message effect } } } }
      hostsGainingTdx(first: $n) { totalCount edges { node { hostname kvmCapMaxVcpusAfter } } }
      hostsWithNewCap(first: $n) { totalCount edges { node { hostname kvmCapMaxVcpusBefore kvmCapMaxVcpusAfter } } }
      tdsNoLongerFitting(first: $n) { totalCount edges { node { name vcpus hostname kvmCapMaxVcpusAfter } } }
      tdsLeftWithoutMigrationTarget(first: $n) { totalCount edges { node { name vcpus hostname } } }
      capacityBefore { ${CAPACITY} } capacityAfter { ${CAPACITY} } capacityDelta { ${CAPACITY} }`;

/** The query behind the report; the UI's typed whatIf operation selects at least these fields. */
export const WHATIF_REPORT_QUERY = `query($c: WhatIfChanges!, $n: Int!) { whatIf(changes: $c) { ${WHATIF_SELECTION} } }`;

/** The title of each list of a what-if answer, as the text prints it (scenario drift names lists by these too). */
export const LIST_TITLES: Record<string, string> = {
  hostsLosingTdx: 'Hosts losing TDX',
  hostsLosingKvm: 'Hosts whose KVM would fail to load',
  hostsGainingTdx: 'Hosts gaining TDX',
  hostsWithNewCap: 'Hosts with a new KVM_CAP_MAX_VCPUS',
  tdsNoLongerFitting: 'TDs that would no longer fit where they run',
  tdsLeftWithoutMigrationTarget: 'TDs left with no migration target',
};

/** The capacity totals the text shows (whatIf's capacityBefore/After without allocated memory). */
type WhatIfCapacityText = Omit<CapacityTotals, 'allocatedMemoryMiB'>;

type Page<Node> = { totalCount: number; edges: readonly { node: Node }[] };

/** The part of the `whatIf` answer the text shows. */
export interface WhatIfReportData {
  hostsLosingTdx: Page<{ hostname: string; tdxDisabledReasonsAfter: readonly Reason[] }>;
  hostsLosingKvm: Page<{ hostname: string; tdxDisabledReasonsAfter: readonly Reason[] }>;
  hostsGainingTdx: Page<{ hostname: string; kvmCapMaxVcpusAfter: number | null }>;
  hostsWithNewCap: Page<{ hostname: string; kvmCapMaxVcpusBefore: number | null; kvmCapMaxVcpusAfter: number | null }>;
  tdsNoLongerFitting: Page<{ name: string; vcpus: number; hostname: string; kvmCapMaxVcpusAfter: number | null }>;
  tdsLeftWithoutMigrationTarget: Page<{ name: string; vcpus: number; hostname: string }>;
  capacityBefore: WhatIfCapacityText;
  capacityAfter: WhatIfCapacityText;
  capacityDelta: WhatIfCapacityText;
}

/** `tdplan report whatif`'s text for `changes` (the WhatIfChanges input) and the answer `w`. */
export function whatIfReportText(changes: unknown, w: WhatIfReportData): string {
  return `What if: ${JSON.stringify(changes)}\n\n${formatWhatIf(w)}`;
}

/** A what-if answer as text: the capacity table, then each list (its first page, and how many more). */
export function formatWhatIf(w: WhatIfReportData): string {
  const more = (c: { totalCount: number; edges: readonly unknown[] }) => (c.totalCount > c.edges.length ? `\n(${c.totalCount - c.edges.length} more)` : '');
  const section = (title: string, c: { totalCount: number; edges: readonly unknown[] }, body: () => string) =>
    `${title}: ${c.totalCount}${c.totalCount ? `\n\n${body()}${more(c)}` : ''}`;
  const keys = ['tdxEnabledHosts', 'kvmLoadFailingHosts', 'tdSlots', 'schedulableVcpus', 'freeVcpus', 'tdMemoryMiB', 'freeMemoryMiB'] as const;
  const why = (reasons: readonly Reason[]) => reasons.map((r) => withEffect(r, r.message)).join('; ');
  return [
    table(
      ['capacity', 'before', 'after', 'change'],
      keys.map((k) => [k, w.capacityBefore[k]!, w.capacityAfter[k]!, w.capacityDelta[k]!]),
    ),
    section(LIST_TITLES.hostsLosingTdx!, w.hostsLosingTdx, () =>
      table(
        ['host', 'why'],
        w.hostsLosingTdx.edges.map((e) => [e.node.hostname, why(e.node.tdxDisabledReasonsAfter)]),
      ),
    ),
    section(LIST_TITLES.hostsLosingKvm!, w.hostsLosingKvm, () =>
      table(
        ['host', 'why'],
        w.hostsLosingKvm.edges.map((e) => [e.node.hostname, why(e.node.tdxDisabledReasonsAfter)]),
      ),
    ),
    section(LIST_TITLES.hostsGainingTdx!, w.hostsGainingTdx, () =>
      table(
        ['host', 'cap'],
        w.hostsGainingTdx.edges.map((e) => [e.node.hostname, e.node.kvmCapMaxVcpusAfter]),
      ),
    ),
    section(LIST_TITLES.hostsWithNewCap!, w.hostsWithNewCap, () =>
      table(
        ['host', 'before', 'after'],
        w.hostsWithNewCap.edges.map((e) => [e.node.hostname, e.node.kvmCapMaxVcpusBefore, e.node.kvmCapMaxVcpusAfter]),
      ),
    ),
    section(LIST_TITLES.tdsNoLongerFitting!, w.tdsNoLongerFitting, () =>
      table(
        ['TD', 'vCPUs', 'host', 'new cap'],
        w.tdsNoLongerFitting.edges.map((e) => [e.node.name, e.node.vcpus, e.node.hostname, e.node.kvmCapMaxVcpusAfter]),
      ),
    ),
    section(LIST_TITLES.tdsLeftWithoutMigrationTarget!, w.tdsLeftWithoutMigrationTarget, () =>
      table(
        ['TD', 'vCPUs', 'host'],
        w.tdsLeftWithoutMigrationTarget.edges.map((e) => [e.node.name, e.node.vcpus, e.node.hostname]),
      ),
    ),
  ].join('\n\n');
}
