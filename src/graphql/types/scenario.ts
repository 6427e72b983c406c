// Scenarios: shared proposals of changes (N2) that teams discuss, decide and apply. The writes are
// in src/commands/scenarios.ts and the evaluation in src/planning/scenario-*.ts: this file maps.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { applyScenario, commentOnScenario, createScenario, decideScenario, type ScenarioDecision } from '../../commands/scenarios.js';
import type { Prisma } from '../../db/client.js';
import {
  NotFoundError,
  SCENARIO_APPLY_REFUSAL_CODES,
  ScenarioAppliedError,
  ScenarioApplyRefusedError,
  ValidationError,
  type ScenarioApplyRefusal,
  type ScenarioApplyRefusalCode,
} from '../../errors.js';
import {
  compareImpacts,
  evaluateScenario,
  storedImpactView,
  type ImpactListName,
  type ListDifference,
  type ScenarioEvaluation,
} from '../../planning/scenario-impact.js';
import { builder } from '../builder.js';
import type { Context } from '../context.js';
import { nodeLoading, ScenarioRef, scenarioNumber } from '../refs.js';
import { ErrorInterface, FieldProblemRef } from './errors.js';
import { WhatIfChangesInput, WhatIfRef } from './negotiation.js';

const ScenarioStatusEnum = builder.enumType('ScenarioStatus', {
  description: 'Where a scenario stands.',
  values: {
    OPEN: { description: 'Proposed, under discussion.' },
    ACCEPTED: { description: 'An admin accepted it: it may be applied.' },
    REJECTED: { description: 'An admin rejected it.' },
    APPLIED: { description: 'Its changes were made real in the inventory; its impact is the one it was applied with.' },
  } as const,
});

const ScenarioDecisionEnum = builder.enumType('ScenarioDecision', {
  description: 'What an admin decides about a scenario.',
  values: {
    ACCEPTED: { description: 'Accept it: it may be applied (the generations of the entities it changes are recorded now).' },
    REJECTED: { description: 'Reject it.' },
  } as const satisfies Record<ScenarioDecision, { description: string }>,
});

const ImpactListEnum = builder.enumType('ImpactList', {
  description: 'A list of the whatIf answer (a field of `WhatIf`).',
  values: {
    hostsLosingTdx: { description: 'WhatIf.hostsLosingTdx (hostnames).' },
    hostsLosingKvm: { description: 'WhatIf.hostsLosingKvm (hostnames).' },
    hostsGainingTdx: { description: 'WhatIf.hostsGainingTdx (hostnames).' },
    hostsWithNewCap: { description: 'WhatIf.hostsWithNewCap (hostnames).' },
    tdsNoLongerFitting: { description: 'WhatIf.tdsNoLongerFitting (TD names).' },
    tdsLeftWithoutMigrationTarget: { description: 'WhatIf.tdsLeftWithoutMigrationTarget (TD names).' },
  } as const satisfies Record<ImpactListName, { description: string }>,
});

const ImpactItemKindEnum = builder.enumType('ImpactItemKind', {
  description: 'What the items of an impact list are.',
  values: { HOST: { description: 'Hosts, by hostname.' }, TD: { description: 'TDs, by name.' } } as const,
});

const ImpactListDriftRef = builder.objectRef<ListDifference>('ImpactListDrift').implement({
  description: 'One list of the impact: how it was when the scenario was created and how it is now.',
  fields: (t) => ({
    list: t.field({ type: ImpactListEnum, description: 'Which list.', resolve: (d) => d.list }),
    kind: t.field({ type: ImpactItemKindEnum, description: 'Hosts or TDs.', resolve: (d) => d.kind }),
    countWhenCreated: t.int({ description: 'Items when the scenario was created.', resolve: (d) => d.countA }),
    countNow: t.int({ description: 'Items now.', resolve: (d) => d.countB }),
    entered: t.stringList({ description: 'In the list now and not when the scenario was created.', resolve: (d) => d.onlyInB }),
    left: t.stringList({ description: 'In the list when the scenario was created and not now.', resolve: (d) => d.onlyInA }),
  }),
});

const ImpactListComparisonRef = builder.objectRef<ListDifference>('ImpactListComparison').implement({
  description: 'One list of two impacts side by side.',
  fields: (t) => ({
    list: t.field({ type: ImpactListEnum, description: 'Which list.', resolve: (d) => d.list }),
    kind: t.field({ type: ImpactItemKindEnum, description: 'Hosts or TDs.', resolve: (d) => d.kind }),
    countA: t.int({ description: "Items in scenario a's impact.", resolve: (d) => d.countA }),
    countB: t.int({ description: "Items in scenario b's impact.", resolve: (d) => d.countB }),
    onlyInA: t.stringList({ description: "In a's list and not in b's.", resolve: (d) => d.onlyInA }),
    onlyInB: t.stringList({ description: "In b's list and not in a's.", resolve: (d) => d.onlyInB }),
  }),
});

// A scenario's impact is a whatIf evaluation: made once per request and scenario, however many
// fields (impact, changeProblems, impactDrift, compareScenarios) read it.
const evaluations = new WeakMap<Context, Map<number, Promise<ScenarioEvaluation>>>();
function evaluation(ctx: Context, s: { id: number; status: string; changes: Prisma.JsonValue; appliedImpact: Prisma.JsonValue }): Promise<ScenarioEvaluation> {
  let cache = evaluations.get(ctx);
  if (!cache) evaluations.set(ctx, (cache = new Map()));
  let e = cache.get(s.id);
  if (!e) cache.set(s.id, (e = evaluateScenario(ctx.db, s)));
  return e;
}

/** Cost of a field that evaluates a scenario's impact (a whatIf over the whole fleet). */
const EVALUATION_COMPLEXITY = 250;
const evaluationSelect = { status: true, changes: true, appliedImpact: true } as const;
const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

export const ScenarioNode = builder.prismaNode('Scenario', {
  id: { field: 'id' },
  ...nodeLoading('Scenario'),
  // Only what the query asks for: the stored impacts can be large.
  select: { id: true },
  description:
    'A proposal of changes (N2) that teams discuss, decide and apply: its impact is evaluated against the inventory as it is now, every time it is read.',
  fields: (t) => ({
    number: t.exposeInt('id', { description: 'The scenario number: what `tdplan scenario` and the audit trail (entityKey) use.' }),
    title: t.exposeString('title', { description: 'A one-line summary.' }),
    description: t.exposeString('description', { description: 'The proposal and its reasons (may be empty).' }),
    author: t.exposeString('author', { description: 'The API token name that proposed it (`cli:<user>` from the command line).' }),
    createdAt: t.string({ description: 'When it was proposed (ISO 8601).', select: { createdAt: true }, resolve: (s) => s.createdAt.toISOString() }),
    updatedAt: t.string({
      description: 'Its last decision, comment or application (ISO 8601).',
      select: { updatedAt: true },
      resolve: (s) => s.updatedAt.toISOString(),
    }),
    status: t.expose('status', { type: ScenarioStatusEnum, description: 'Where it stands.' }),
    decidedBy: t.exposeString('decidedBy', { nullable: true, description: 'The admin who made the last decision.' }),
    decidedAt: t.string({ nullable: true, description: 'When (ISO 8601).', select: { decidedAt: true }, resolve: (s) => iso(s.decidedAt) }),
    decisionNote: t.exposeString('decisionNote', { nullable: true, description: 'The note given with the last decision.' }),
    appliedBy: t.exposeString('appliedBy', { nullable: true, description: 'The admin who applied it.' }),
    appliedAt: t.string({ nullable: true, description: 'When it was applied (ISO 8601).', select: { appliedAt: true }, resolve: (s) => iso(s.appliedAt) }),
    changes: t.field({
      type: 'JSONObject',
      description: 'The proposed changes as a `WhatIfChanges` input, every reference by natural key: pass it to `whatIf(changes:)` as it is.',
      select: { changes: true },
      resolve: (s) => s.changes as Record<string, unknown>,
    }),
    impact: t.field({
      type: WhatIfRef,
      nullable: true,
      complexity: EVALUATION_COMPLEXITY,
      description:
        'The full whatIf answer for its changes, evaluated against the inventory as it is now (for an APPLIED scenario: the one it was applied with). Null when a change no longer applies: see changeProblems.',
      select: evaluationSelect,
      resolve: async (s, _args, ctx) => (await evaluation(ctx, s)).impact,
    }),
    changeProblems: t.field({
      type: [FieldProblemRef],
      complexity: EVALUATION_COMPLEXITY,
      description:
        'Changes that no longer apply to the inventory as it is now (an entity gone or renamed, present CPUs beyond a new platform...), by path into `changes`. Empty while every change applies.',
      select: evaluationSelect,
      resolve: async (s, _args, ctx) => (await evaluation(ctx, s)).problems,
    }),
    impactWhenCreated: t.field({
      type: WhatIfRef,
      description: 'The whatIf answer as it was when the scenario was proposed.',
      select: { impactWhenCreated: true },
      resolve: (s) => storedImpactView(s.impactWhenCreated),
    }),
    impactDrift: t.field({
      type: [ImpactListDriftRef],
      nullable: true,
      complexity: EVALUATION_COMPLEXITY,
      description:
        'What has changed since the scenario was proposed: for each list of the impact, the hosts and TDs that entered or left it. Null when a change no longer applies.',
      select: { ...evaluationSelect, impactWhenCreated: true },
      resolve: async (s, _args, ctx) => {
        const now = (await evaluation(ctx, s)).impact;
        return now && compareImpacts(storedImpactView(s.impactWhenCreated), now);
      },
    }),
    comments: t.relatedConnection('comments', {
      cursor: 'id',
      totalCount: true,
      description: 'The discussion, oldest first.',
      query: () => ({ orderBy: { id: 'asc' } }),
    }),
  }),
});

const ScenarioCommentObject = builder.prismaObject('ScenarioComment', {
  description: 'A comment on a scenario.',
  fields: (t) => ({
    author: t.exposeString('author', { description: 'The API token name that wrote it.' }),
    body: t.exposeString('body', { description: 'The text.' }),
    createdAt: t.string({ description: 'When it was written (ISO 8601).', select: { createdAt: true }, resolve: (c) => c.createdAt.toISOString() }),
  }),
});

const ScenarioFilter = builder.inputType('ScenarioFilter', {
  description: 'Every given condition must hold.',
  fields: (t) => ({
    status: t.field({ type: ScenarioStatusEnum, description: 'Scenarios in this status.' }),
    author: t.string({ description: 'Scenarios proposed by this token name.' }),
  }),
});

function scenarioWhere(filter: typeof ScenarioFilter.$inferInput | null | undefined): Prisma.ScenarioWhereInput {
  return {
    ...(filter?.status != null ? { status: filter.status } : {}),
    ...(filter?.author != null ? { author: filter.author } : {}),
  };
}

interface Comparison {
  a: number;
  b: number;
}

const ScenarioComparisonRef = builder.objectRef<Comparison>('ScenarioComparison').implement({
  description: 'Two scenarios side by side: their impacts now, and the hosts and TDs in one and not the other.',
  fields: (t) => ({
    a: t.prismaField({
      type: 'Scenario',
      description: 'The first scenario (its `impact` is the one compared).',
      resolve: (query, c, _args, ctx) => ctx.prisma.scenario.findUniqueOrThrow({ ...query, where: { id: c.a } }),
    }),
    b: t.prismaField({
      type: 'Scenario',
      description: 'The second scenario.',
      resolve: (query, c, _args, ctx) => ctx.prisma.scenario.findUniqueOrThrow({ ...query, where: { id: c.b } }),
    }),
    lists: t.field({
      type: [ImpactListComparisonRef],
      nullable: true,
      complexity: EVALUATION_COMPLEXITY,
      description: "Each list of the two impacts: counts, and what is in one and not the other. Null when either scenario's changes no longer apply.",
      resolve: async (c, _args, ctx) => {
        const rows = await ctx.prisma.scenario.findMany({ where: { id: { in: [c.a, c.b] } }, select: { id: true, ...evaluationSelect } });
        const [a, b] = await Promise.all(
          [c.a, c.b].map((id) =>
            evaluation(
              ctx,
              rows.find((r) => r.id === id)!,
            ),
          ),
        );
        return a!.impact && b!.impact ? compareImpacts(a!.impact, b!.impact) : null;
      },
    }),
  }),
});

builder.queryFields((t) => ({
  scenarios: t.prismaConnection({
    type: 'Scenario',
    cursor: 'id',
    description: 'Scenarios, newest first.',
    args: { filter: t.arg({ type: ScenarioFilter }) },
    totalCount: (_connection, args, ctx) => ctx.prisma.scenario.count({ where: scenarioWhere(args.filter) }),
    resolve: (query, _root, args, ctx) => ctx.prisma.scenario.findMany({ ...query, where: scenarioWhere(args.filter), orderBy: { id: 'desc' } }),
  }),
  compareScenarios: t.field({
    type: ScenarioComparisonRef,
    description: 'Two scenarios side by side (NOT_FOUND when either does not exist).',
    args: { a: t.arg({ type: ScenarioRef, required: true }), b: t.arg({ type: ScenarioRef, required: true }) },
    resolve: async (_root, args, ctx) => {
      const a = scenarioNumber(args.a, 'a');
      const b = scenarioNumber(args.b, 'b');
      const found = await ctx.prisma.scenario.findMany({ where: { id: { in: [a, b] } }, select: { id: true } });
      for (const [id, given] of [
        [a, args.a],
        [b, args.b],
      ] as const)
        if (!found.some((s) => s.id === id)) throw new NotFoundError('Scenario', given.id ?? '');
      return { a, b };
    },
  }),
}));

// ---- mutations ----------------------------------------------------------------------------------

const ScenarioApplyRefusalCodeEnum = builder.enumType('ScenarioApplyRefusalCode', {
  description: 'Why a scenario cannot be applied.',
  values: {
    NOT_ACCEPTED: { description: 'Only an ACCEPTED scenario can be applied.' },
    CHANGE_NO_LONGER_APPLIES: { description: 'A change names an entity that is gone (or renamed), or a value the inventory no longer allows.' },
    CHANGED_SINCE_ACCEPTED: { description: 'An entity the changes name has changed since the scenario was accepted (its generation moved): decide again.' },
    SELECTION_CHANGED: { description: 'A host move by module or kernel now selects other hosts than when the scenario was accepted: decide again.' },
  } as const satisfies Record<(typeof SCENARIO_APPLY_REFUSAL_CODES)[number], { description: string }>,
});

const ScenarioApplyRefusalRef = builder.objectRef<ScenarioApplyRefusal>('ScenarioApplyRefusal').implement({
  description: 'One reason a scenario cannot be applied.',
  fields: (t) => ({
    code: t.field({ type: ScenarioApplyRefusalCodeEnum, description: 'Which kind of reason.', resolve: (r): ScenarioApplyRefusalCode => r.code }),
    field: t.exposeString('field', { nullable: true, description: 'The change at fault, as a path into `changes`; null when about the scenario itself.' }),
    message: t.exposeString('message', { description: 'What is wrong, with the entity and numbers.' }),
  }),
});

builder.objectType(ScenarioApplyRefusedError, {
  name: 'ScenarioApplyRefused',
  description: 'The scenario was not applied and nothing was written: every reason is listed.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ScenarioApplyRefusedError,
  fields: (t) => ({ reasons: t.field({ type: [ScenarioApplyRefusalRef], description: 'Every reason.', resolve: (e) => [...e.reasons] }) }),
});

builder.objectType(ScenarioAppliedError, {
  name: 'ScenarioAppliedError',
  description: 'The scenario was applied already: its decision can no longer change. Nothing was changed.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ScenarioAppliedError,
  fields: (t) => ({ number: t.exposeInt('scenarioNumber', { description: 'The scenario number.' }) }),
});

const CreateScenarioInput = builder.inputType('CreateScenarioInput', {
  description: 'A proposal: a title, why, and the changes (as for whatIf).',
  fields: (t) => ({
    title: t.string({ required: true, description: 'A one-line summary (at most 200 characters).' }),
    description: t.string({ description: 'The proposal and its reasons.' }),
    changes: t.field({ type: WhatIfChangesInput, required: true, description: 'The proposed changes, as for `whatIf(changes:)`; stored by natural key.' }),
  }),
});

builder.mutationFields((t) => ({
  createScenario: t.field({
    type: ScenarioNode,
    description:
      'Proposes a scenario; its impact now is kept as impactWhenCreated. An unknown module, kernel or host is a ValidationError naming it. PLANNER or ADMIN.',
    // The Mutation type wants an admin; these need only a planner.
    skipTypeScopes: true,
    authScopes: { planner: true },
    errors: { types: [ValidationError] },
    args: { input: t.arg({ type: CreateScenarioInput, required: true }) },
    resolve: (_root, { input }, ctx) => createScenario(ctx.db, ctx.principal, input),
  }),
  commentOnScenario: t.field({
    type: ScenarioCommentObject,
    description: 'Adds a comment to a scenario (in any status). PLANNER or ADMIN.',
    // The Mutation type wants an admin; these need only a planner.
    skipTypeScopes: true,
    authScopes: { planner: true },
    errors: { types: [ValidationError, NotFoundError] },
    args: { scenario: t.arg({ type: ScenarioRef, required: true }), body: t.arg.string({ required: true, description: 'The comment.' }) },
    resolve: (_root, args, ctx) => commentOnScenario(ctx.db, ctx.principal, { scenarioNumber: scenarioNumber(args.scenario), body: args.body }),
  }),
  decideScenario: t.field({
    type: ScenarioNode,
    description:
      'Accepts or rejects a scenario; a decision can change until the scenario is applied. Accepting needs every change to apply to the inventory now (else a ValidationError lists those that do not). ADMIN.',
    errors: { types: [ValidationError, NotFoundError, ScenarioAppliedError] },
    args: {
      scenario: t.arg({ type: ScenarioRef, required: true }),
      status: t.arg({ type: ScenarioDecisionEnum, required: true, description: 'The decision.' }),
      note: t.arg.string({ description: 'Why.' }),
    },
    resolve: (_root, args, ctx) =>
      decideScenario(ctx.db, ctx.principal, { scenarioNumber: scenarioNumber(args.scenario), status: args.status, note: args.note }),
  }),
  applyScenario: t.field({
    type: ScenarioNode,
    description:
      "Makes an ACCEPTED scenario's changes real in one transaction: every changed entity is audited and linked to the scenario, which becomes APPLIED. Refused with every reason (ScenarioApplyRefused), writing nothing, when it is not accepted or the inventory has moved so that a change no longer applies. ADMIN.",
    errors: { types: [ValidationError, NotFoundError, ScenarioApplyRefusedError] },
    args: { scenario: t.arg({ type: ScenarioRef, required: true }) },
    resolve: (_root, args, ctx) => applyScenario(ctx.db, ctx.principal, { scenarioNumber: scenarioNumber(args.scenario) }),
  }),
}));

/** The global ID of scenario `number` (for the command line, which takes numbers). */
export const scenarioGlobalId = (number: number): string => encodeGlobalID('Scenario', number);
