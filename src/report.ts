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

interface Outcome {
  tdxEnabled: boolean;
  kvmCapMaxVcpus: number | null;
  tdxDisabledReasons: { code: string; message: string }[];
}

export async function matrixReport(db: Database, kvmMaxVcpus: number, json: boolean): Promise<string> {
  const outcome = 'tdxEnabled kvmCapMaxVcpus tdxDisabledReasons { code message }';
  const data = await query<{
    moduleMatrix: {
      module: { version: string; maxVcpusPerTd: number | null };
      platform: { name: string };
      maxLogicalCpus: number;
      presentCpusPolicy: Outcome;
      moduleLimitPolicy: Outcome;
    }[];
  }>(
    db,
    `query($k: Int!) { moduleMatrix(kvmMaxVcpus: $k) { module { version maxVcpusPerTd } platform { name } maxLogicalCpus presentCpusPolicy { ${outcome} } moduleLimitPolicy { ${outcome} } } }`,
    { k: kvmMaxVcpus },
  );
  if (json) return JSON.stringify(data.moduleMatrix, null, 2);
  // Short cells: the numbers where R1's PRESENT_CPUS check fails, the reason code otherwise.
  const reason = (r: { code: string; message: string }) => (r.code === 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS' ? r.message : r.code);
  const cell = (o: Outcome) => (o.tdxEnabled ? `cap ${o.kvmCapMaxVcpus}` : `off: ${o.tdxDisabledReasons.map(reason).join(', ')}`);
  return [
    `Module x platform, fully populated, KVM_MAX_VCPUS ${kvmMaxVcpus}`,
    '',
    table(
      ['module', 'MAX_VCPUS_PER_TD', 'platform', 'CPUs', 'PRESENT_CPUS (upstream)', 'MODULE_LIMIT (v19)'],
      data.moduleMatrix.map((r) => [
        r.module.version,
        r.module.maxVcpusPerTd,
        r.platform.name,
        r.maxLogicalCpus,
        cell(r.presentCpusPolicy),
        cell(r.moduleLimitPolicy),
      ]),
    ),
  ].join('\n');
}

const LIST_LIMIT = 20;

interface WhatIfData {
  whatIf: {
    hostsLosingTdx: { totalCount: number; edges: { node: { hostname: string; tdxDisabledReasonsAfter: { message: string }[] } }[] };
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
  const capacity = 'tdxEnabledHosts tdSlots schedulableVcpus freeVcpus';
  const data = await query<WhatIfData>(
    db,
    `query($c: WhatIfChanges!, $n: Int!) { whatIf(changes: $c) {
      hostsLosingTdx(first: $n) { totalCount edges { node { hostname tdxDisabledReasonsAfter { message } } } }
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
  const keys = ['tdxEnabledHosts', 'tdSlots', 'schedulableVcpus', 'freeVcpus'];
  return [
    `What if: ${JSON.stringify(changes)}\n\n${table(
      ['capacity', 'before', 'after', 'change'],
      keys.map((k) => [k, w.capacityBefore[k]!, w.capacityAfter[k]!, w.capacityDelta[k]!]),
    )}`,
    section('Hosts losing TDX', w.hostsLosingTdx, () =>
      table(
        ['host', 'why'],
        w.hostsLosingTdx.edges.map((e) => [e.node.hostname, e.node.tdxDisabledReasonsAfter.map((r) => r.message).join('; ')]),
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
