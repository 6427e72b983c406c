// `tdplan report`: the negotiation answers as plain-text tables to paste into a mailing-list reply
// (or JSON). It runs the GraphQL API's own queries in-process, so the answers are the API's.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { graphql } from 'graphql';
import { CliError } from './cli-error.js';
import type { Database } from './db/client.js';
import type { Context } from './graphql/context.js';
import { schema } from './graphql/schema.js';
import { storedChanges, type NamedChanges } from './planning/scenario-changes.js';
import {
  formatWhatIf,
  LIST_TITLES,
  table,
  WHATIF_REPORT_LIST_LIMIT,
  WHATIF_REPORT_QUERY,
  WHATIF_SELECTION,
  whatIfReportText,
  type Reason,
  type WhatIfReportData,
} from './report-text.js';

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
  kvmLoads: boolean;
  tdxDisabledReasons: Reason[];
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

export async function whatIfReport(db: Database, changes: unknown, json: boolean): Promise<string> {
  const data = await query<{ whatIf: WhatIfReportData }>(db, WHATIF_REPORT_QUERY, { c: changes, n: json ? 500 : WHATIF_REPORT_LIST_LIMIT });
  const w = data.whatIf;
  if (json) return JSON.stringify(w, null, 2);
  return whatIfReportText(changes, w);
}

// ---- scenarios ------------------------------------------------------------------------------------

interface ScenarioData {
  number: number;
  title: string;
  description: string;
  author: string;
  status: string;
  createdAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionNote: string | null;
  appliedBy: string | null;
  appliedAt: string | null;
  changes: NamedChanges;
  changeProblems: { field: string; message: string }[];
  impact: WhatIfReportData | null;
  impactDrift: { list: string; countWhenCreated: number; countNow: number; entered: string[]; left: string[] }[] | null;
  comments: { totalCount: number; edges: { node: { author: string; body: string; createdAt: string } }[] };
}

const COMMENT_LIMIT = 100;

const SCENARIO_QUERY = `query($id: ID!, $n: Int!, $comments: Int!) { node(id: $id) { ... on Scenario {
  number title description author status createdAt decidedBy decidedAt decisionNote appliedBy appliedAt changes
  changeProblems { field message }
  impact { ${WHATIF_SELECTION} }
  impactDrift { list countWhenCreated countNow entered left }
  comments(first: $comments) { totalCount edges { node { author body createdAt } } } } } }`;

/** One line per change, in the words of the negotiation. */
export function describeChanges(changes: NamedChanges): string[] {
  const words = (parts: (string | false | null | undefined)[]) => parts.filter(Boolean).join(', ');
  const mib = (v: number | null | undefined) => (v === null ? 'unknown' : `${v} MiB`);
  return [
    ...changes.modules.map(
      (c) =>
        `TDX module ${c.module.version}: ${words([
          c.maxVcpusPerTd === null && 'stops reporting MAX_VCPUS_PER_TD',
          c.maxVcpusPerTd != null && `MAX_VCPUS_PER_TD ${c.maxVcpusPerTd}`,
          c.features && `features ${c.features.join(' ') || '(none)'}`,
          c.tdcsPages !== undefined && `${c.tdcsPages} TDCS pages`,
          c.tdvpsPages !== undefined && `${c.tdvpsPages} TDVPS pages`,
        ])}`,
    ),
    ...changes.kernels.map(
      (c) =>
        `kernel ${c.kernel.name}: ${words([
          c.tdxVcpuPolicy && `policy ${c.tdxVcpuPolicy}`,
          c.kvmMaxVcpus !== undefined && `KVM_MAX_VCPUS ${c.kvmMaxVcpus}`,
          c.tdxInitFailure && `TDX bring-up failure ${c.tdxInitFailure}`,
          c.moduleMetadata && `module metadata ${c.moduleMetadata}`,
        ])}`,
    ),
    ...changes.hostMoves.map((m) => {
      const which = m.hosts
        ? `hosts ${m.hosts.map((h) => h.hostname).join(', ')}`
        : m.fromModule
          ? `hosts running module ${m.fromModule.version}`
          : `hosts running kernel ${m.fromKernel?.name ?? '?'}`;
      return `${which}: ${words([
        m.toModule === null && 'unload their module',
        m.toModule && `load module ${m.toModule.version}`,
        m.toKernel && `run kernel ${m.toKernel.name}`,
      ])}`;
    }),
    ...changes.hosts.map(
      (c) =>
        `host ${c.host.hostname}: ${words([
          c.presentCpus !== undefined && `${c.presentCpus} present CPUs`,
          c.kvmIntelTdx !== undefined && `kvm_intel.tdx=${c.kvmIntelTdx ? 1 : 0}`,
          c.memoryMiB !== undefined && `memory ${mib(c.memoryMiB)}`,
          c.reservedMemoryMiB !== undefined && `${c.reservedMemoryMiB} MiB reserved`,
        ])}`,
    ),
    ...changes.tds.map((c) => `TD ${c.td.name}: memory ${mib(c.memoryMiB)}`),
  ];
}

const indent = (text: string, by = '  '): string =>
  text
    .split('\n')
    .map((l) => (l ? by + l : l))
    .join('\n');

/** A scenario as text ready for a mailing-list reply: what is proposed, its impact now, what changed since, the discussion. */
export async function scenarioReport(db: Database, scenarioNumber: number, json: boolean): Promise<string> {
  const data = await query<{ node: ScenarioData | null }>(db, SCENARIO_QUERY, {
    id: encodeGlobalID('Scenario', scenarioNumber),
    // The scenario's comments share the query cost limit with the impact's lists.
    n: json ? 150 : WHATIF_REPORT_LIST_LIMIT,
    comments: COMMENT_LIMIT,
  });
  const s = data.node;
  if (!s) throw new CliError(`no scenario ${scenarioNumber}`);
  if (json) return JSON.stringify(s, null, 2);
  const day = (iso: string) => iso.replace('T', ' ').slice(0, 16) + ' UTC';
  const status =
    s.status === 'APPLIED'
      ? `APPLIED by ${s.appliedBy} on ${day(s.appliedAt!)}`
      : s.decidedBy
        ? `${s.status} by ${s.decidedBy} on ${day(s.decidedAt!)}${s.decisionNote ? `: ${s.decisionNote}` : ''}`
        : s.status;
  const parts = [
    `Scenario ${s.number}: ${s.title}\nProposed by ${s.author} on ${day(s.createdAt)}\nStatus: ${status}`,
    ...(s.description ? [s.description] : []),
    `Changes:\n${indent(describeChanges(storedChanges(s.changes)).join('\n'))}`,
  ];
  if (s.impact) {
    parts.push(`${s.status === 'APPLIED' ? 'Impact, as applied' : 'Impact on the fleet as it is now'}:\n\n${formatWhatIf(s.impact)}`);
  } else {
    parts.push(`These changes no longer apply to the fleet as it is now:\n${indent(s.changeProblems.map((p) => `${p.field}: ${p.message}`).join('\n'))}`);
  }
  if (s.impactDrift) {
    const moved = s.impactDrift.filter((d) => d.entered.length || d.left.length);
    parts.push(
      moved.length
        ? `Since it was proposed:\n${indent(
            moved
              .map(
                (d) =>
                  `${LIST_TITLES[d.list] ?? d.list}: ${d.countWhenCreated} then, ${d.countNow} now` +
                  (d.entered.length ? `; now also ${d.entered.join(', ')}` : '') +
                  (d.left.length ? `; no longer ${d.left.join(', ')}` : ''),
              )
              .join('\n'),
          )}`
        : 'Since it was proposed: no host or TD has entered or left any list.',
    );
  }
  const shown = s.comments.edges.length;
  parts.push(
    s.comments.totalCount === 0
      ? 'No comments.'
      : `Comments (${s.comments.totalCount}${s.comments.totalCount > shown ? `, the first ${shown}` : ''}):\n\n` +
          s.comments.edges.map((e) => `${e.node.author}, ${day(e.node.createdAt)}:\n${indent(e.node.body)}`).join('\n\n'),
  );
  return parts.join('\n\n');
}

const SCENARIO_LIST_LIMIT = 100;

/** Scenarios, newest first, as a table (or JSON). */
export async function scenarioListReport(db: Database, filter: { status: string | null; author: string | null }, json: boolean): Promise<string> {
  const data = await query<{
    scenarios: { totalCount: number; edges: { node: { number: number; status: string; author: string; createdAt: string; title: string } }[] };
  }>(db, 'query($f: ScenarioFilter, $n: Int!) { scenarios(filter: $f, first: $n) { totalCount edges { node { number status author createdAt title } } } }', {
    f: filter,
    n: SCENARIO_LIST_LIMIT,
  });
  const rows = data.scenarios.edges.map((e) => e.node);
  if (json) return JSON.stringify(rows, null, 2);
  if (rows.length === 0) return 'no scenarios';
  const more = data.scenarios.totalCount - rows.length;
  return (
    table(
      ['#', 'status', 'author', 'created', 'title'],
      rows.map((r) => [r.number, r.status, r.author, r.createdAt.slice(0, 16).replace('T', ' '), r.title]),
    ) + (more > 0 ? `\n(${more} older)` : '')
  );
}
