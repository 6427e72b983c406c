// Scenarios: proposed changes (N2) that the KVM, TDX-module and operator teams discuss, decide
// and apply. Every write here is one transaction with its audit event; applying one makes its
// changes real, each changed entity audited and linked to the scenario.
//
// Changes are stored by natural key and resolved again whenever they are evaluated, so a
// scenario notices when the inventory has moved under it. Acceptance records the generation of
// every entity the changes name; applying is refused, with every reason, when one has moved since.
import { recordAudit } from '../audit/record.js';
import type { Principal } from '../auth/principal.js';
import type { Database, Prisma } from '../db/client.js';
import {
  NotFoundError,
  ScenarioAppliedError,
  ScenarioApplyRefusedError,
  StaleGenerationError,
  ValidationError,
  type FieldProblem,
  type ScenarioApplyRefusal,
} from '../errors.js';
import type { Scenario, ScenarioComment } from '../generated/prisma/client.js';
import { noChanges, resolveChanges, storedChanges, type ChangesInput, type NamedEntity, type ResolvedChanges } from '../planning/scenario-changes.js';
import { storeImpact } from '../planning/scenario-impact.js';
import { whatIf } from '../planning/what-if.js';
import { auditedUpdate, lockForUpdate, type Tx } from './write.js';

export type { Scenario, ScenarioComment };

export const TITLE_MAX = 200;
export const TEXT_MAX = 20_000;

export interface CreateScenarioInput {
  title: string;
  description?: string | null;
  changes: ChangesInput;
}

/** What acceptance records, and applyScenario checks. */
interface AcceptedBaseline {
  entities: { entity: NamedEntity['entity']; id: number; key: string; generation: number }[];
  /** Hostnames each host move selected, in move order. */
  movedHosts: string[][];
}

function text(problems: FieldProblem[], field: string, value: string | null | undefined, required: boolean, max: number): string {
  const v = (value ?? '').trim();
  if (required && v === '') problems.push({ field, message: 'must not be blank' });
  if (v.length > max) problems.push({ field, message: `must be at most ${max} characters, got ${v.length}` });
  return v;
}

const scenarioAudit = (s: Scenario): Prisma.InputJsonObject => ({
  number: s.id,
  title: s.title,
  description: s.description,
  author: s.author,
  status: s.status,
  changes: s.changes as Prisma.InputJsonObject,
  decisionNote: s.decisionNote,
});

/** Proposes a scenario (PLANNER and up): its changes stored by natural key, its impact now kept as impactWhenCreated. */
export async function createScenario(db: Database, actor: Principal, input: CreateScenarioInput): Promise<Scenario> {
  const problems: FieldProblem[] = [];
  const title = text(problems, 'title', input.title, true, TITLE_MAX);
  const description = text(problems, 'description', input.description, false, TEXT_MAX);
  let resolved: ResolvedChanges | null = null;
  try {
    resolved = await resolveChanges(db.prisma, input.changes);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    problems.push(...err.problems);
  }
  if (resolved && noChanges(resolved.named)) problems.push({ field: 'changes', message: 'give at least one change' });
  if (problems.length > 0 || !resolved) throw new ValidationError(problems);
  // Evaluated before the transaction: whatIf reads its own snapshot through the pool (which has a
  // single connection on the embedded database).
  const impact = await storeImpact(await whatIf(db, resolved.ids));
  const named = resolved.named;
  return db.prisma.$transaction(async (tx) => {
    const scenario = await tx.scenario.create({
      data: {
        title,
        description,
        author: actor.name,
        changes: named as unknown as Prisma.InputJsonObject,
        impactWhenCreated: impact as unknown as Prisma.InputJsonObject,
      },
    });
    await recordAudit(tx, actor, {
      action: 'CREATE',
      entityType: 'Scenario',
      entityKey: String(scenario.id),
      before: null,
      after: scenarioAudit(scenario),
      scenarioId: scenario.id,
    });
    return scenario;
  });
}

async function findScenario(tx: Tx, scenarioNumber: number, lock: boolean): Promise<Scenario> {
  if (lock) await tx.$queryRaw`SELECT id FROM scenario WHERE id = ${scenarioNumber} FOR UPDATE`;
  const scenario = await tx.scenario.findUnique({ where: { id: scenarioNumber } });
  if (!scenario) throw new NotFoundError('Scenario', String(scenarioNumber));
  return scenario;
}

/** A comment (PLANNER and up), on a scenario in any status. */
export async function commentOnScenario(db: Database, actor: Principal, input: { scenarioNumber: number; body: string }): Promise<ScenarioComment> {
  const problems: FieldProblem[] = [];
  const body = text(problems, 'body', input.body, true, TEXT_MAX);
  if (problems.length > 0) throw new ValidationError(problems);
  return db.prisma.$transaction(async (tx) => {
    const scenario = await findScenario(tx, input.scenarioNumber, false);
    const comment = await tx.scenarioComment.create({ data: { scenarioId: scenario.id, author: actor.name, body } });
    await tx.scenario.update({ where: { id: scenario.id }, data: { updatedAt: comment.createdAt } });
    await recordAudit(tx, actor, {
      action: 'COMMENT',
      entityType: 'Scenario',
      entityKey: String(scenario.id),
      before: null,
      after: { comment: comment.id, body },
      scenarioId: scenario.id,
    });
    return comment;
  });
}

export type ScenarioDecision = 'ACCEPTED' | 'REJECTED';

/**
 * Accepts or rejects a scenario (ADMIN); a decision can be revisited until the scenario is applied.
 * Accepting resolves the changes against the inventory now (they must still apply) and records
 * the generations of the entities they name.
 */
export async function decideScenario(
  db: Database,
  actor: Principal,
  input: { scenarioNumber: number; status: ScenarioDecision; note?: string | null },
): Promise<Scenario> {
  const problems: FieldProblem[] = [];
  const note = text(problems, 'note', input.note, false, TEXT_MAX);
  if (problems.length > 0) throw new ValidationError(problems);
  const current = await db.prisma.scenario.findUnique({ where: { id: input.scenarioNumber } });
  if (!current) throw new NotFoundError('Scenario', String(input.scenarioNumber));
  if (current.status === 'APPLIED') throw new ScenarioAppliedError(current.id);
  let baseline: AcceptedBaseline | null = null;
  if (input.status === 'ACCEPTED') {
    // Throws ValidationError (every change that no longer applies) when the inventory has moved.
    const resolved = await resolveChanges(db.prisma, storedChanges(current.changes));
    baseline = {
      entities: resolved.entities.map((e) => ({ entity: e.entity, id: e.id, key: e.key, generation: e.generation })),
      movedHosts: resolved.movedHosts,
    };
  }
  return db.prisma.$transaction(async (tx) => {
    const before = await findScenario(tx, input.scenarioNumber, true);
    if (before.status === 'APPLIED') throw new ScenarioAppliedError(before.id);
    const after = await tx.scenario.update({
      where: { id: before.id },
      data: {
        status: input.status,
        decidedBy: actor.name,
        decidedAt: new Date(),
        decisionNote: note === '' ? null : note,
        acceptedBaseline: baseline === null ? undefined : (baseline as unknown as Prisma.InputJsonObject),
        updatedAt: new Date(),
      },
    });
    await recordAudit(tx, actor, {
      action: 'DECIDE',
      entityType: 'Scenario',
      entityKey: String(before.id),
      before: { status: before.status, decisionNote: before.decisionNote },
      after: { status: after.status, decisionNote: after.decisionNote },
      scenarioId: before.id,
    });
    return after;
  });
}

// ---- application --------------------------------------------------------------------------------

/** Every reason the changes, resolved now, differ from what was accepted. */
function movedSinceAcceptance(baseline: AcceptedBaseline, resolved: ResolvedChanges): ScenarioApplyRefusal[] {
  const reasons: ScenarioApplyRefusal[] = [];
  const now = new Map(resolved.entities.map((e) => [`${e.entity}:${e.key}`, e]));
  for (const e of baseline.entities) {
    const current = now.get(`${e.entity}:${e.key}`);
    if (current && current.id !== e.id) {
      reasons.push({
        code: 'CHANGED_SINCE_ACCEPTED',
        field: null,
        message: `${e.entity} "${e.key}" was deleted and created again since the scenario was accepted`,
      });
    } else if (current && current.generation !== e.generation) {
      reasons.push({
        code: 'CHANGED_SINCE_ACCEPTED',
        field: null,
        message: `${e.entity} "${e.key}" has changed since the scenario was accepted (generation ${e.generation}, now ${current.generation})`,
      });
    }
  }
  baseline.movedHosts.forEach((accepted, i) => {
    const selected = resolved.movedHosts[i] ?? [];
    const gone = accepted.filter((h) => !selected.includes(h));
    const added = selected.filter((h) => !accepted.includes(h));
    if (gone.length || added.length) {
      reasons.push({
        code: 'SELECTION_CHANGED',
        field: `changes.hostMoves[${i}]`,
        message: `selects other hosts than when the scenario was accepted${gone.length ? `: no longer ${gone.join(', ')}` : ''}${added.length ? `${gone.length ? ';' : ':'} now also ${added.join(', ')}` : ''}`,
      });
    }
  });
  return reasons;
}

interface EntityUpdate {
  entity: NamedEntity['entity'];
  id: number;
  data: Record<string, unknown>;
}

/** The writes that make the changes real, one per entity (a host moved and resized is one update). */
function entityUpdates(resolved: ResolvedChanges): EntityUpdate[] {
  const updates = new Map<string, EntityUpdate>();
  const update = (entity: EntityUpdate['entity'], id: number, data: Record<string, unknown>): void => {
    const key = `${entity}:${id}`;
    const u = updates.get(key) ?? { entity, id, data: {} };
    Object.assign(u.data, data);
    updates.set(key, u);
  };
  // The resolved changes carry only the fields given, named as the columns are.
  for (const { moduleId, ...fields } of resolved.ids.modules) update('TdxModule', moduleId, fields);
  for (const { kernelId, ...fields } of resolved.ids.kernels) update('Kernel', kernelId, fields);
  for (const move of resolved.ids.hostMoves) {
    for (const hostId of move.hostIds) {
      update('Host', hostId, {
        ...(move.moduleId !== undefined ? { moduleId: move.moduleId } : {}),
        ...(move.kernelId !== undefined ? { kernelId: move.kernelId } : {}),
      });
    }
  }
  for (const { hostId, ...fields } of resolved.ids.hosts) update('Host', hostId, fields);
  for (const { tdId, ...fields } of resolved.ids.tds) update('Td', tdId, fields);
  return [...updates.values()];
}

function writeEntity(tx: Tx, u: EntityUpdate): Promise<unknown> {
  switch (u.entity) {
    case 'TdxModule':
      return tx.tdxModule.update({ where: { id: u.id }, data: u.data, select: { id: true } });
    case 'Kernel':
      return tx.kernel.update({ where: { id: u.id }, data: u.data, select: { id: true } });
    case 'Host':
      return tx.host.update({ where: { id: u.id }, data: u.data, select: { id: true } });
    case 'Td':
      return tx.td.update({ where: { id: u.id }, data: u.data, select: { id: true } });
  }
}

/**
 * Makes an ACCEPTED scenario's changes real (ADMIN), in one transaction: every changed entity is
 * audited (before and after) and linked to the scenario, which becomes APPLIED with the impact
 * computed for the application. Refused, writing nothing, with every reason when the scenario is
 * not accepted or the inventory has moved so that a change no longer applies.
 */
export async function applyScenario(db: Database, actor: Principal, input: { scenarioNumber: number }): Promise<Scenario> {
  const scenario = await db.prisma.scenario.findUnique({ where: { id: input.scenarioNumber } });
  if (!scenario) throw new NotFoundError('Scenario', String(input.scenarioNumber));
  const reasons: ScenarioApplyRefusal[] = [];
  if (scenario.status !== 'ACCEPTED') {
    reasons.push({ code: 'NOT_ACCEPTED', field: null, message: `the scenario is ${scenario.status}: only an ACCEPTED scenario can be applied` });
  }
  let resolved: ResolvedChanges | null = null;
  try {
    resolved = await resolveChanges(db.prisma, storedChanges(scenario.changes));
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    reasons.push(...err.problems.map((p) => ({ code: 'CHANGE_NO_LONGER_APPLIES' as const, field: p.field, message: p.message })));
  }
  if (resolved && scenario.status === 'ACCEPTED' && scenario.acceptedBaseline != null) {
    reasons.push(...movedSinceAcceptance(scenario.acceptedBaseline as unknown as AcceptedBaseline, resolved));
  }
  if (reasons.length > 0 || !resolved) throw new ScenarioApplyRefusedError(scenario.id, reasons);
  const changes = resolved;
  // The impact the scenario is applied with: the last one computed, against the inventory as it
  // is just before. Computed outside the transaction (whatIf reads through the pool).
  const impact = await storeImpact(await whatIf(db, changes.ids));

  return db.prisma.$transaction(async (tx) => {
    const locked = await findScenario(tx, scenario.id, true);
    const late: ScenarioApplyRefusal[] = [];
    if (locked.status !== 'ACCEPTED')
      late.push({ code: 'NOT_ACCEPTED', field: null, message: `the scenario is ${locked.status}: only an ACCEPTED scenario can be applied` });
    // Lock what is about to change (in a fixed order: no deadlock with another application), and
    // make sure nobody changed it since it was resolved above.
    const order = { TdxModule: 0, Kernel: 1, Host: 2, Td: 3 };
    for (const e of [...changes.entities].sort((x, y) => order[x.entity] - order[y.entity] || x.id - y.id)) {
      try {
        await lockForUpdate(tx, e.entity, e.id, e.key, e.generation);
      } catch (err) {
        if (err instanceof NotFoundError) late.push({ code: 'CHANGE_NO_LONGER_APPLIES', field: null, message: `${e.entity} "${e.key}" no longer exists` });
        else if (err instanceof StaleGenerationError)
          late.push({ code: 'CHANGED_SINCE_ACCEPTED', field: null, message: `${e.entity} "${e.key}" changed while the scenario was being applied; try again` });
        else throw err;
      }
    }
    if (late.length > 0) throw new ScenarioApplyRefusedError(scenario.id, late);

    for (const u of entityUpdates(changes)) await auditedUpdate(tx, actor, u.entity, u.id, () => writeEntity(tx, u), 'UPDATE', scenario.id);
    const now = new Date();
    const applied = await tx.scenario.update({
      where: { id: scenario.id },
      data: { status: 'APPLIED', appliedImpact: impact as unknown as Prisma.InputJsonObject, appliedBy: actor.name, appliedAt: now, updatedAt: now },
    });
    await recordAudit(tx, actor, {
      action: 'APPLY',
      entityType: 'Scenario',
      entityKey: String(scenario.id),
      before: { status: locked.status },
      after: { status: applied.status, changes: applied.changes as Prisma.InputJsonObject },
      scenarioId: scenario.id,
    });
    return applied;
  });
}
