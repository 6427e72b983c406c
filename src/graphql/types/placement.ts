// Placement and migration (R5, R6): where a TD may go, every reason a target is refused, and the
// mutations that act on the plan. Hosts come from src/planning/placement.ts (SQL, paginated);
// checks and refusals from the pure rules.
import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import { BLOCKER_CODE_DESCRIPTIONS, MIGRATION_BLOCKER_CODES, tdFitBlockers, type MigrationBlocker, type MigrationBlockerCode } from '../../capacity/rules.js';
import { migrateTd, placeTd } from '../../commands/placement.js';
import type { Prisma } from '../../db/client.js';
import { NotFoundError, PlacementRefusedError, ValidationError, type FieldProblem } from '../../errors.js';
import { checkHostSelect, loadCheckHost, migrationCheckOf } from '../../planning/checks.js';
import { hostFacts, hostFactsSelect, hostUsage } from '../../planning/host-facts.js';
import {
  candidateCursor,
  countPlacementCandidates,
  type Candidate,
  fitSummary,
  placementCandidates,
  type CandidateQuery,
  type FitCounts,
  type FitSummary,
} from '../../planning/placement.js';
import { builder } from '../builder.js';
import { CANDIDATE_PAGE, MIGRATION_TARGETS_SELECT, prefetchedTargetsOf, type PrefetchedTargets } from '../migration-targets-prefetch.js';
import { pageSize } from '../pagination.js';
import type { Context } from '../context.js';
import { HostRef, hostWhere, KernelRef, kernelWhere, lookupRef, ModuleRef, moduleWhere, PlatformRef, platformWhere, refKey, TdRef } from '../refs.js';
import { ErrorInterface } from './errors.js';
import { HostNode } from './host.js';
import { TdNode } from './td.js';

export const BlockerCodeEnum = builder.enumType('BlockerCode', {
  description: 'Why a TD cannot be placed on or migrated to a host (R5, R6).',
  values: Object.fromEntries(MIGRATION_BLOCKER_CODES.map((code) => [code, { description: BLOCKER_CODE_DESCRIPTIONS[code] }])) as Record<
    MigrationBlockerCode,
    { description: string }
  >,
});

const BlockerRef = builder.objectRef<MigrationBlocker>('Blocker').implement({
  description: 'One failing condition, with its numbers.',
  fields: (t) => ({
    code: t.field({ type: BlockerCodeEnum, description: 'Which condition fails.', resolve: (b) => b.code }),
    message: t.exposeString('message'),
  }),
});

interface Check {
  blockers: MigrationBlocker[];
}

const CompatibilityCheckRef = builder.objectRef<Check>('CompatibilityCheck').implement({
  description: 'Whether a TD can go to a host, and every reason it cannot.',
  fields: (t) => ({
    compatible: t.boolean({ description: 'No blocker: the TD can go there now.', resolve: (c) => c.blockers.length === 0 }),
    blockers: t.field({ type: [BlockerRef], description: 'Every failing condition, never only the first.', resolve: (c) => c.blockers }),
  }),
});

builder.objectType(PlacementRefusedError, {
  name: 'PlacementRefused',
  description: 'The rules say no (R5/R6); nothing was changed.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof PlacementRefusedError,
  fields: (t) => ({ blockers: t.field({ type: [BlockerRef], description: 'Every failing condition, with its numbers.', resolve: (e) => e.blockers }) }),
});

const PlacementFilter = builder.inputType('PlacementFilter', {
  description: 'Only hosts with these attributes.',
  fields: (t) => ({
    module: t.field({ type: ModuleRef, description: 'Hosts with this module loaded.' }),
    platform: t.field({ type: PlatformRef, description: 'Hosts of this platform.' }),
    kernel: t.field({ type: KernelRef, description: 'Hosts running this kernel.' }),
  }),
});

interface CandidateEdgeShape {
  candidate: Candidate;
  node: Prisma.HostGetPayload<object>;
}
interface CandidateConnectionShape {
  edges: CandidateEdgeShape[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  count: () => Promise<number>;
}

const CandidateEdgeRef = builder.objectRef<CandidateEdgeShape>('PlacementCandidateEdge').implement({
  fields: (t) => ({
    cursor: t.string({ resolve: (e) => candidateCursor(e.candidate) }),
    node: t.field({ type: HostNode, resolve: (e) => e.node }),
    remainingVcpus: t.int({ description: 'Free vCPUs the host keeps after taking the TD.', resolve: (e) => e.candidate.remainingVcpus }),
  }),
});

const CandidateConnectionRef = builder.objectRef<CandidateConnectionShape>('PlacementCandidateConnection').implement({
  description: 'Hosts that accept the TD, best fit first (fewest free vCPUs left, then most free KeyIDs, then host id).',
  fields: (t) => ({
    edges: t.field({ type: [CandidateEdgeRef], resolve: (c) => c.edges }),
    pageInfo: t.field({ type: builder.pageInfoRef(), resolve: (c) => c.pageInfo }),
    totalCount: t.int({ description: 'How many hosts accept the TD.', resolve: (c) => c.count() }),
  }),
});

// What a candidate page's own statement can carry (`withHosts` of src/planning/placement.ts): the
// host's columns, and its kernel's and module's as the capacity facts select them. A selection under
// edges.node that Pothos plans into no more than that (hostname and other columns, capacity fields)
// is answered from that one statement; one that needs more (platform { name }, tds, ...) loads the
// hosts in a second query, as Pothos plans it.
const carriedRelations: Readonly<Record<string, unknown>> = { kernel: hostFactsSelect.kernel, module: hostFactsSelect.module };

/** Whether `wanted` (a Prisma select/include value) asks nothing beyond `carried`. */
function within(wanted: unknown, carried: unknown): boolean {
  if (wanted === true) return carried === true;
  if (typeof wanted !== 'object' || wanted === null || typeof carried !== 'object' || carried === null) return false;
  const w = wanted as Record<string, unknown>;
  const c = carried as Record<string, unknown>;
  return Object.keys(w).every((key) => key in c && within(w[key], c[key]));
}

/** What the candidate statement should carry for Pothos' query of the hosts; undefined: too much. */
function carriedHosts(query: Record<string, unknown>): CandidateQuery['withHosts'] {
  const { include, ...rest } = query;
  if (Object.keys(rest).length > 0) return undefined;
  if (include === undefined || Object.keys(include as object).length === 0) return 'columns';
  return within(include, carriedRelations) ? 'facts' : undefined;
}

async function candidateConnection(
  ctx: Context,
  info: GraphQLResolveInfo,
  q: Omit<CandidateQuery, 'first' | 'after'>,
  args: { first?: number | null; after?: string | null },
  prefetched?: PrefetchedTargets,
): Promise<CandidateConnectionShape> {
  const first = pageSize(args.first, CANDIDATE_PAGE);
  // The hosts with whatever the query selects under edges.node: from the page's own statement when
  // it carries enough, otherwise in one Prisma query.
  const query = queryFromInfo({ context: ctx, info, typeName: 'Host', path: ['edges', 'node'] });
  const withHosts = carriedHosts(query);
  // A page read with the TD (tdWithMigrationTargets) is taken when it is the page this would read.
  const page =
    prefetched && prefetched.first === first && args.after == null && withHosts === 'columns'
      ? prefetched.page
      : await placementCandidates(ctx.db, { ...q, first, after: args.after, withHosts });
  const hosts: Prisma.HostGetPayload<object>[] = withHosts
    ? page.candidates.flatMap((c) => (c.host ? [c.host] : []))
    : page.candidates.length
      ? await ctx.prisma.host.findMany({ ...query, where: { id: { in: page.candidates.map((c) => c.hostId) } } })
      : [];
  const byId = new Map(hosts.map((h) => [h.id, h]));
  const edges = page.candidates.flatMap((c) => {
    const node = byId.get(c.hostId);
    return node ? [{ candidate: c, node }] : [];
  });
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: Boolean(args.after),
      startCursor: edges.length ? candidateCursor(edges[0]!.candidate) : null,
      endCursor: edges.length ? candidateCursor(edges.at(-1)!.candidate) : null,
    },
    count: () => countPlacementCandidates(ctx.db, q),
  };
}

async function resolveFilterIds(
  ctx: Context,
  filter: typeof PlacementFilter.$inferInput | null | undefined,
): Promise<Pick<CandidateQuery, 'moduleId' | 'platformId' | 'kernelId'>> {
  if (!filter) return {};
  const problems: FieldProblem[] = [];
  const { module, platform, kernel } = filter;
  const ids = {
    moduleId: module
      ? (
          await lookupRef(problems, 'filter.module', 'module', refKey(module), () =>
            ctx.prisma.tdxModule.findUnique({ where: moduleWhere(module, 'filter.module'), select: { id: true } }),
          )
        )?.id
      : undefined,
    platformId: platform
      ? (
          await lookupRef(problems, 'filter.platform', 'platform', refKey(platform), () =>
            ctx.prisma.platform.findUnique({ where: platformWhere(platform, 'filter.platform'), select: { id: true } }),
          )
        )?.id
      : undefined,
    kernelId: kernel
      ? (
          await lookupRef(problems, 'filter.kernel', 'kernel', refKey(kernel), () =>
            ctx.prisma.kernel.findUnique({ where: kernelWhere(kernel, 'filter.kernel'), select: { id: true } }),
          )
        )?.id
      : undefined,
  };
  if (problems.length > 0) throw new ValidationError(problems);
  return ids;
}

builder.queryField('placementCandidates', (t) =>
  t.field({
    type: CandidateConnectionRef,
    description: 'Hosts where a new TD of `vcpus` (and `memoryMiB`, R7) fits (R5), best fit first, paginated. Computed in SQL.',
    args: {
      vcpus: t.arg.int({ required: true, description: "The TD's vCPUs." }),
      memoryMiB: t.arg.int({ description: "The TD's private memory in MiB (R7); omitted or null: memory is not checked." }),
      filter: t.arg({ type: PlacementFilter }),
      first: t.arg.int({ description: `Page size, at most ${CANDIDATE_PAGE.max} (default ${CANDIDATE_PAGE.defaultSize}).` }),
      after: t.arg.string(),
    },
    resolve: async (_root, args, ctx, info) => {
      const problems: FieldProblem[] = [];
      if (args.vcpus < 1) problems.push({ field: 'vcpus', message: `must be positive, got ${args.vcpus}` });
      if (args.memoryMiB != null && args.memoryMiB < 1) problems.push({ field: 'memoryMiB', message: `must be positive, got ${args.memoryMiB}` });
      if (problems.length > 0) throw new ValidationError(problems);
      const size = { vcpus: args.vcpus, memoryMiB: args.memoryMiB ?? null };
      return candidateConnection(ctx, info, { ...size, ...(await resolveFilterIds(ctx, args.filter)) }, args);
    },
  }),
);

function targetArgs(hostname: string | null | undefined, id: string | null | undefined, field: string): Prisma.HostWhereUniqueInput {
  if ((hostname == null) === (id == null)) {
    throw new ValidationError([{ field, message: 'give exactly one of the hostname and the global ID' }]);
  }
  return hostWhere(hostname != null ? { hostname } : { id }, field);
}

builder.prismaObjectFields('Td', (t) => ({
  migrationTargets: t.field({
    type: CandidateConnectionRef,
    description: 'Hosts that can receive this TD (R6), best fit first, paginated. Empty for a TD that is not migratable or not placed.',
    args: { first: t.arg.int(), after: t.arg.string() },
    select: MIGRATION_TARGETS_SELECT,
    resolve: async (td, args, ctx, info) => {
      const exportRange = td.host?.module;
      const movable = td.migratable && td.hostId !== null && exportRange?.minExportVersion != null && exportRange.maxExportVersion != null;
      if (!movable) {
        return { edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null }, count: async () => 0 };
      }
      return candidateConnection(
        ctx,
        info,
        {
          vcpus: td.vcpus,
          memoryMiB: td.memoryMiB,
          migration: { sourceHostId: td.hostId, minExportVersion: exportRange.minExportVersion!, maxExportVersion: exportRange.maxExportVersion! },
        },
        args,
        prefetchedTargetsOf(td),
      );
    },
  }),
  migrationCheck: t.field({
    type: CompatibilityCheckRef,
    description: 'R6: can this TD move to the target host? Every blocker, with its numbers. Give the hostname or the global ID.',
    args: { targetHostname: t.arg.string(), targetHostId: t.arg.id() },
    select: { id: true, vcpus: true, memoryMiB: true, migratable: true, hostId: true, host: { select: checkHostSelect } },
    resolve: async (td, args, ctx) => {
      const where = targetArgs(args.targetHostname, args.targetHostId == null ? null : String(args.targetHostId), 'targetHost');
      const target = await loadCheckHost(ctx.prisma, where);
      if (!target) throw new NotFoundError('Host', args.targetHostname ?? String(args.targetHostId));
      return { blockers: migrationCheckOf(td, target) };
    },
  }),
  placementCheck: t.field({
    type: CompatibilityCheckRef,
    description: 'R5: would this TD fit on the host as a new TD? For planned TDs; for placed ones see migrationCheck.',
    args: { hostname: t.arg.string(), hostId: t.arg.id() },
    select: { vcpus: true, memoryMiB: true },
    resolve: async (td, args, ctx) => {
      const where = targetArgs(args.hostname, args.hostId == null ? null : String(args.hostId), 'host');
      const host = await loadCheckHost(ctx.prisma, where);
      if (!host) throw new NotFoundError('Host', args.hostname ?? String(args.hostId));
      return { blockers: tdFitBlockers(hostFacts(host), hostUsage(host), td) };
    },
  }),
}));

const placementErrors = [PlacementRefusedError, NotFoundError, ValidationError];

builder.mutationFields((t) => ({
  placeTd: t.field({
    type: TdNode,
    // Planners act on the plan; changing the inventory itself stays with admins.
    skipTypeScopes: true,
    authScopes: { planner: true },
    description: 'Places a planned TD on a host if R5 allows it; otherwise PlacementRefused with every blocker, and nothing changes.',
    errors: { types: placementErrors },
    args: { td: t.arg({ type: TdRef, required: true }), host: t.arg({ type: HostRef, required: true }) },
    resolve: (_root, args, ctx) => placeTd(ctx.db, ctx.principal, args),
  }),
  migrateTd: t.field({
    type: TdNode,
    // Planners act on the plan; changing the inventory itself stays with admins.
    skipTypeScopes: true,
    authScopes: { planner: true },
    description: 'Moves a placed TD to another host if R6 allows it; otherwise PlacementRefused with every blocker, and nothing changes.',
    errors: { types: placementErrors },
    args: { td: t.arg({ type: TdRef, required: true }), targetHost: t.arg({ type: HostRef, required: true }) },
    resolve: (_root, args, ctx) => migrateTd(ctx.db, ctx.principal, args),
  }),
}));

const BlockerCountRef = builder.objectRef<{ code: string; hosts: number }>('BlockerCount').implement({
  description: 'How many hosts fail one condition.',
  fields: (t) => ({
    code: t.field({ type: BlockerCodeEnum, description: 'The failing condition.', resolve: (b) => b.code as MigrationBlockerCode }),
    hosts: t.exposeInt('hosts', { description: 'Refusing hosts failing this condition (a host may fail several).' }),
  }),
});

const FitCountsRef = builder.objectRef<FitCounts>('FitCounts').implement({
  description: 'How many hosts accept a TD of the asked size, and why the others refuse it (R5).',
  fields: (t) => ({
    key: t.string({
      nullable: true,
      description: 'Module version, platform name or kernel name; null for the fleet and for hosts with no module.',
      resolve: (c) => c.key,
    }),
    acceptingHosts: t.exposeInt('acceptingHosts', { description: 'Hosts where the TD fits now (R5).' }),
    refusingHosts: t.exposeInt('refusingHosts', { description: 'Hosts where it does not.' }),
    blockers: t.field({ type: [BlockerCountRef], description: 'For the refusing hosts: how many fail each condition.', resolve: (c) => c.blockers }),
  }),
});

const FitSummaryRef = builder.objectRef<FitSummary>('FitSummary').implement({
  description: 'What fits where: for one TD size, the hosts that accept it and the blockers of the rest, by module, platform and kernel.',
  fields: (t) => ({
    vcpus: t.exposeInt('vcpus', { description: 'The TD size asked about.' }),
    fleet: t.field({ type: FitCountsRef, description: 'The whole fleet.', resolve: (s) => s.fleet }),
    byModule: t.field({ type: [FitCountsRef], description: 'Per loaded module version (key null: no module).', resolve: (s) => s.byModule }),
    byPlatform: t.field({ type: [FitCountsRef], description: 'Per platform.', resolve: (s) => s.byPlatform }),
    byKernel: t.field({ type: [FitCountsRef], description: 'Per kernel.', resolve: (s) => s.byKernel }),
  }),
});

builder.queryField('whatFitsWhere', (t) =>
  t.field({
    type: FitSummaryRef,
    description:
      'For a new TD of `vcpus`: how many hosts accept it, grouped by module, platform and kernel, with blocker counts for the rest (one SQL round trip).',
    args: { vcpus: t.arg.int({ required: true }) },
    resolve: (_root, args, ctx) => {
      if (args.vcpus < 1) throw new ValidationError([{ field: 'vcpus', message: `must be positive, got ${args.vcpus}` }]);
      return fitSummary(ctx.db, args.vcpus);
    },
  }),
);
