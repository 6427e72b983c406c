// `tdplan report`: the negotiation answers as plain-text tables to paste into a mailing-list reply
// (or JSON). It runs the GraphQL API's own queries in-process, so the answers are the API's.
import { graphql } from 'graphql';
import { CliError } from './cli-error.js';
import type { Database } from './db/client.js';
import type { Context } from './graphql/context.js';
import { schema } from './graphql/schema.js';

// The reports only read and ask what-if questions: a planner's rights are all they need.
const REPORT_PRINCIPAL = { name: 'cli:report', role: 'PLANNER' } as const;

async function query<T>(db: Database, source: string, variableValues?: Record<string, unknown>): Promise<T> {
  const result = await graphql({ schema, source, variableValues, contextValue: { db, prisma: db.prisma, principal: REPORT_PRINCIPAL } satisfies Context });
  if (result.errors?.length) {
    const e = result.errors[0]!;
    const problems = (e.extensions?.problems as { field: string; message: string }[] | undefined) ?? [];
    throw new CliError([e.message, ...problems.map((p) => `  ${p.field}: ${p.message}`)].join('\n'));
  }
  return result.data as T;
}

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

const COMPONENT = 'value boundBy boundByCount';

interface FloorData {
  module: { version: string };
  floor: number;
  boundBy: string[];
  headroom: number;
  effectiveMaxVcpusPerTd: number;
  hostPresentCpus: { value: number | null; boundBy: string[]; boundByCount: number };
  tdVcpus: { value: number | null; boundBy: string[]; boundByCount: number };
  platformMaxLogicalCpus: { value: number | null; boundBy: string[]; boundByCount: number };
}

const FLOOR_QUERY = `query($v: String!) { moduleFloor(version: $v) { module { version } floor boundBy headroom effectiveMaxVcpusPerTd
  hostPresentCpus { ${COMPONENT} } tdVcpus { ${COMPONENT} } platformMaxLogicalCpus { ${COMPONENT} } } }`;

function names(c: { boundBy: string[]; boundByCount: number }): string {
  const shown = c.boundBy.slice(0, 3).join(', ');
  return c.boundByCount > 3 ? `${shown} and ${c.boundByCount - 3} more` : shown || '-';
}

export async function floorReport(db: Database, versions: string[], json: boolean): Promise<string> {
  const all = versions.length
    ? versions
    : (await query<{ modules: { edges: { node: { version: string } }[] } }>(db, '{ modules(first: 100) { edges { node { version } } } }')).modules.edges.map(
        (e) => e.node.version,
      );
  const floors = await Promise.all(all.map(async (v) => (await query<{ moduleFloor: FloorData }>(db, FLOOR_QUERY, { v })).moduleFloor));
  if (json) return JSON.stringify(floors, null, 2);
  return floors
    .map((f) =>
      [
        `TDX module ${f.module.version}: MAX_VCPUS_PER_TD floor ${f.floor} (reports ${f.effectiveMaxVcpusPerTd}; ${f.headroom >= 0 ? `${f.headroom} above the floor` : `${-f.headroom} BELOW the floor`})`,
        '',
        table(
          ['component', 'value', 'bound by'],
          [
            ['(a) present CPUs of its hosts', f.hostPresentCpus.value, names(f.hostPresentCpus)],
            ['(b) vCPUs of TDs on them', f.tdVcpus.value, names(f.tdVcpus)],
            ['(c) logical CPUs of its platforms', f.platformMaxLogicalCpus.value, names(f.platformMaxLogicalCpus)],
          ],
        ),
      ].join('\n'),
    )
    .join('\n\n');
}

interface Reason {
  code: string;
  message: string;
  effect: 'TDX_DISABLED' | 'KVM_LOAD_FAILS';
}

interface Outcome {
  tdxEnabled: boolean;
  kvmCapMaxVcpus: number | null;
  kvmLoads: boolean;
  tdxDisabledReasons: Reason[];
}

/** A reason with what it costs (R1 v2): "KVM fails to load" or "TDX off". */
function withEffect(r: Reason, text: string): string {
  return `${text} [${r.effect === 'KVM_LOAD_FAILS' ? 'KVM fails to load' : 'TDX off'}]`;
}

export async function matrixReport(db: Database, kvmMaxVcpus: number, json: boolean): Promise<string> {
  const outcome = 'tdxEnabled kvmCapMaxVcpus kvmLoads tdxDisabledReasons { code message effect }';
  const data = await query<{
    moduleMatrix: {
      module: { version: string; maxVcpusPerTd: number | null };
      platform: { name: string };
      maxLogicalCpus: number;
      presentCpusPolicy: Outcome;
      moduleLimitPolicy: Outcome;
      mainlineKernel: Outcome;
    }[];
  }>(
    db,
    `query($k: Int!) { moduleMatrix(kvmMaxVcpus: $k) { module { version maxVcpusPerTd } platform { name } maxLogicalCpus presentCpusPolicy { ${outcome} } moduleLimitPolicy { ${outcome} } mainlineKernel { ${outcome} } } }`,
    { k: kvmMaxVcpus },
  );
  if (json) return JSON.stringify(data.moduleMatrix, null, 2);
  // Short cells: the numbers where R1's PRESENT_CPUS check fails, the reason code otherwise.
  const reason = (r: Reason) => (r.code === 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS' ? r.message : r.code);
  const cell = (o: Outcome) => (o.tdxEnabled ? `cap ${o.kvmCapMaxVcpus}` : `off: ${o.tdxDisabledReasons.map(reason).join(', ')}`);
  // N3 v2: on a mainline kernel a failure at module initialisation takes KVM down with it.
  const mainline = (o: Outcome) =>
    o.tdxEnabled ? `cap ${o.kvmCapMaxVcpus}` : `${o.kvmLoads ? 'TDX off' : 'KVM fails to load'}: ${o.tdxDisabledReasons.map(reason).join(', ')}`;
  return [
    `Module x platform, fully populated, KVM_MAX_VCPUS ${kvmMaxVcpus}`,
    '',
    table(
      ['module', 'MAX_VCPUS_PER_TD', 'platform', 'CPUs', 'PRESENT_CPUS (upstream)', 'MODULE_LIMIT (v19)', 'mainline kernel (6.16+)'],
      data.moduleMatrix.map((r) => [
        r.module.version,
        r.module.maxVcpusPerTd,
        r.platform.name,
        r.maxLogicalCpus,
        cell(r.presentCpusPolicy),
        cell(r.moduleLimitPolicy),
        mainline(r.mainlineKernel),
      ]),
    ),
  ].join('\n');
}

const LIST_LIMIT = 20;

interface WhatIfData {
  whatIf: {
    hostsLosingTdx: { totalCount: number; edges: { node: { hostname: string; tdxDisabledReasonsAfter: Reason[] } }[] };
    hostsLosingKvm: { totalCount: number; edges: { node: { hostname: string; tdxDisabledReasonsAfter: Reason[] } }[] };
    hostsGainingTdx: { totalCount: number; edges: { node: { hostname: string; kvmCapMaxVcpusAfter: number | null } }[] };
    hostsWithNewCap: { totalCount: number; edges: { node: { hostname: string; kvmCapMaxVcpusBefore: number | null; kvmCapMaxVcpusAfter: number | null } }[] };
    tdsNoLongerFitting: { totalCount: number; edges: { node: { name: string; vcpus: number; hostname: string; kvmCapMaxVcpusAfter: number | null } }[] };
    tdsLeftWithoutMigrationTarget: { totalCount: number; edges: { node: { name: string; vcpus: number; hostname: string } }[] };
    capacityBefore: Record<string, number>;
    capacityAfter: Record<string, number>;
    capacityDelta: Record<string, number>;
  };
}

export async function whatIfReport(db: Database, changes: unknown, json: boolean): Promise<string> {
  const capacity = 'tdxEnabledHosts kvmLoadFailingHosts tdSlots schedulableVcpus freeVcpus tdMemoryMiB freeMemoryMiB';
  const data = await query<WhatIfData>(
    db,
    `query($c: WhatIfChanges!, $n: Int!) { whatIf(changes: $c) {
      hostsLosingTdx(first: $n) { totalCount edges { node { hostname tdxDisabledReasonsAfter { code message effect } } } }
      hostsLosingKvm(first: $n) { totalCount edges { node { hostname tdxDisabledReasonsAfter { code message effect } } } }
      hostsGainingTdx(first: $n) { totalCount edges { node { hostname kvmCapMaxVcpusAfter } } }
      hostsWithNewCap(first: $n) { totalCount edges { node { hostname kvmCapMaxVcpusBefore kvmCapMaxVcpusAfter } } }
      tdsNoLongerFitting(first: $n) { totalCount edges { node { name vcpus hostname kvmCapMaxVcpusAfter } } }
      tdsLeftWithoutMigrationTarget(first: $n) { totalCount edges { node { name vcpus hostname } } }
      capacityBefore { ${capacity} } capacityAfter { ${capacity} } capacityDelta { ${capacity} } } }`,
    { c: changes, n: json ? 500 : LIST_LIMIT },
  );
  const w = data.whatIf;
  if (json) return JSON.stringify(w, null, 2);
  const more = (c: { totalCount: number; edges: unknown[] }) => (c.totalCount > c.edges.length ? `\n(${c.totalCount - c.edges.length} more)` : '');
  const section = (title: string, c: { totalCount: number; edges: unknown[] }, body: () => string) =>
    `${title}: ${c.totalCount}${c.totalCount ? `\n\n${body()}${more(c)}` : ''}`;
  const keys = ['tdxEnabledHosts', 'kvmLoadFailingHosts', 'tdSlots', 'schedulableVcpus', 'freeVcpus', 'tdMemoryMiB', 'freeMemoryMiB'];
  const why = (reasons: Reason[]) => reasons.map((r) => withEffect(r, r.message)).join('; ');
  return [
    `What if: ${JSON.stringify(changes)}\n\n${table(
      ['capacity', 'before', 'after', 'change'],
      keys.map((k) => [k, w.capacityBefore[k]!, w.capacityAfter[k]!, w.capacityDelta[k]!]),
    )}`,
    section('Hosts losing TDX', w.hostsLosingTdx, () =>
      table(
        ['host', 'why'],
        w.hostsLosingTdx.edges.map((e) => [e.node.hostname, why(e.node.tdxDisabledReasonsAfter)]),
      ),
    ),
    section('Hosts whose KVM would fail to load', w.hostsLosingKvm, () =>
      table(
        ['host', 'why'],
        w.hostsLosingKvm.edges.map((e) => [e.node.hostname, why(e.node.tdxDisabledReasonsAfter)]),
      ),
    ),
    section('Hosts gaining TDX', w.hostsGainingTdx, () =>
      table(
        ['host', 'cap'],
        w.hostsGainingTdx.edges.map((e) => [e.node.hostname, e.node.kvmCapMaxVcpusAfter]),
      ),
    ),
    section('Hosts with a new KVM_CAP_MAX_VCPUS', w.hostsWithNewCap, () =>
      table(
        ['host', 'before', 'after'],
        w.hostsWithNewCap.edges.map((e) => [e.node.hostname, e.node.kvmCapMaxVcpusBefore, e.node.kvmCapMaxVcpusAfter]),
      ),
    ),
    section('TDs that would no longer fit where they run', w.tdsNoLongerFitting, () =>
      table(
        ['TD', 'vCPUs', 'host', 'new cap'],
        w.tdsNoLongerFitting.edges.map((e) => [e.node.name, e.node.vcpus, e.node.hostname, e.node.kvmCapMaxVcpusAfter]),
      ),
    ),
    section('TDs left with no migration target', w.tdsLeftWithoutMigrationTarget, () =>
      table(
        ['TD', 'vCPUs', 'host'],
        w.tdsLeftWithoutMigrationTarget.edges.map((e) => [e.node.name, e.node.vcpus, e.node.hostname]),
      ),
    ),
  ].join('\n\n');
}
