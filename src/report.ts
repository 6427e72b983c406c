// `tdplan report`: the negotiation answers as plain-text tables to paste into a mailing-list reply
// (or JSON). It runs the GraphQL API's own queries in-process, so the answers are the API's.
import { graphql } from 'graphql';
import { CliError } from './cli-error.js';
import type { Database } from './db/client.js';
import type { Context } from './graphql/context.js';
import { schema } from './graphql/schema.js';
import { table, WHATIF_REPORT_LIST_LIMIT, WHATIF_REPORT_QUERY, whatIfReportText, type Reason, type WhatIfReportData } from './report-text.js';

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
