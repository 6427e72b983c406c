// A whatIf answer (src/planning/what-if.ts) kept as data: a scenario's impact when it was
// created and the impact it was applied with are stored in this form, and served by the same
// GraphQL type as a live answer. Drift and comparison are differences between two answers, list
// by list: which hosts and TDs are in one and not in the other.
//
// The lists are named once, in IMPACT_LISTS: a new whatIf list (e.g. hosts whose KVM would no
// longer load) is one line there; answers stored before it existed read it as empty.
import { capacityTotals, type CapacityTotals, type HostCapacity } from '../capacity/rules.js';
import type { Database } from '../db/client.js';
import { ValidationError, type FieldProblem } from '../errors.js';
import { resolveChanges, storedChanges } from './scenario-changes.js';
import { whatIf, type PagedList, type TdImpact, type WhatIfResult } from './what-if.js';

export type { PagedList };

/** A host in a whatIf list: what the GraphQL type reads of it. */
export interface HostImpactView {
  host: { hostname: string };
  before: HostCapacity;
  after: HostCapacity;
}

export const HOST_LISTS = ['hostsLosingTdx', 'hostsLosingKvm', 'hostsGainingTdx', 'hostsWithNewCap'] as const;
/** Every TD list is read page by page (a live answer reads only the page asked for from SQL). */
export const PAGED_TD_LISTS = ['tdsNoLongerFitting', 'tdsLeftWithoutMigrationTarget'] as const;
export type HostListName = (typeof HOST_LISTS)[number];
export type TdListName = (typeof PAGED_TD_LISTS)[number];
export type ImpactListName = HostListName | TdListName;

/** Every list of an answer, with what its items are. */
export const IMPACT_LISTS: readonly { name: ImpactListName; kind: 'HOST' | 'TD' }[] = [
  ...HOST_LISTS.map((name) => ({ name, kind: 'HOST' as const })),
  ...PAGED_TD_LISTS.map((name) => ({ name, kind: 'TD' as const })),
];

/** A whatIf answer, live (WhatIfResult) or stored: what the GraphQL `WhatIf` type serves. */
export type ImpactView = { [K in HostListName]: HostImpactView[] } & {
  [K in (typeof PAGED_TD_LISTS)[number]]: PagedList<TdImpact>;
} & { capacityBefore: CapacityTotals; capacityAfter: CapacityTotals };

// A live answer is an ImpactView as it is (checked here, at compile time).
const liveIsView = (r: WhatIfResult): ImpactView => r;
void liveIsView;

/** The stored form: every list whole, JSON only. */
export type StoredImpact = { [K in HostListName]: HostImpactView[] } & { [K in TdListName]: TdImpact[] } & {
  capacityBefore: CapacityTotals;
  capacityAfter: CapacityTotals;
};

/** Every item of a list, whatever its form. */
async function allOf<T>(list: T[] | PagedList<T>): Promise<T[]> {
  return Array.isArray(list) ? list : list.page(list.count, 0);
}

export async function storeImpact(view: ImpactView): Promise<StoredImpact> {
  const hostItem = (h: HostImpactView): HostImpactView => ({ host: { hostname: h.host.hostname }, before: h.before, after: h.after });
  const hosts = Object.fromEntries(HOST_LISTS.map((name) => [name, view[name].map(hostItem)])) as { [K in HostListName]: HostImpactView[] };
  const tds = Object.fromEntries(await Promise.all(PAGED_TD_LISTS.map(async (name) => [name, await allOf(view[name])]))) as {
    [K in TdListName]: TdImpact[];
  };
  return { ...hosts, ...tds, capacityBefore: view.capacityBefore, capacityAfter: view.capacityAfter };
}

const pagedOf = <T>(items: T[]): PagedList<T> => ({ count: items.length, page: async (first, offset) => items.slice(offset, offset + first) });

/** A stored answer as a view; lists it does not have (stored before they existed) are empty. */
export function storedImpactView(json: unknown): ImpactView {
  const o = json as Partial<StoredImpact>;
  const hosts = Object.fromEntries(HOST_LISTS.map((name) => [name, o[name] ?? []])) as { [K in HostListName]: HostImpactView[] };
  const paged = Object.fromEntries(PAGED_TD_LISTS.map((name) => [name, pagedOf(o[name] ?? [])])) as {
    [K in (typeof PAGED_TD_LISTS)[number]]: PagedList<TdImpact>;
  };
  // Figures added after the answer was stored read as 0.
  const zero: CapacityTotals = capacityTotals([]);
  return { ...hosts, ...paged, capacityBefore: { ...zero, ...o.capacityBefore }, capacityAfter: { ...zero, ...o.capacityAfter } };
}

/** The hostnames or TD names of one list. */
export async function listKeys(view: ImpactView, name: ImpactListName): Promise<string[]> {
  if ((HOST_LISTS as readonly string[]).includes(name)) return view[name as HostListName].map((h) => h.host.hostname);
  return (await allOf(view[name as TdListName])).map((t) => t.name);
}

export interface ListDifference {
  list: ImpactListName;
  kind: 'HOST' | 'TD';
  countA: number;
  countB: number;
  /** In A and not in B, in A's order. */
  onlyInA: string[];
  /** In B and not in A, in B's order. */
  onlyInB: string[];
}

/** List by list: the hosts and TDs in one answer and not in the other. */
export async function compareImpacts(a: ImpactView, b: ImpactView): Promise<ListDifference[]> {
  return Promise.all(
    IMPACT_LISTS.map(async ({ name, kind }) => {
      const [keysA, keysB] = await Promise.all([listKeys(a, name), listKeys(b, name)]);
      const setA = new Set(keysA);
      const setB = new Set(keysB);
      return {
        list: name,
        kind,
        countA: keysA.length,
        countB: keysB.length,
        onlyInA: keysA.filter((k) => !setB.has(k)),
        onlyInB: keysB.filter((k) => !setA.has(k)),
      };
    }),
  );
}

export interface ScenarioEvaluation {
  /** The impact now; for an APPLIED scenario, the one it was applied with. Null when its changes no longer apply. */
  impact: ImpactView | null;
  /** Why the changes no longer apply to the inventory as it is now (empty while they do). */
  problems: FieldProblem[];
}

/** A scenario's impact against the inventory as it is now (its changes resolved by natural key now). */
export async function evaluateScenario(db: Database, scenario: { status: string; changes: unknown; appliedImpact: unknown }): Promise<ScenarioEvaluation> {
  if (scenario.status === 'APPLIED' && scenario.appliedImpact != null) return { impact: storedImpactView(scenario.appliedImpact), problems: [] };
  try {
    const resolved = await resolveChanges(db.prisma, storedChanges(scenario.changes));
    return { impact: await whatIf(db, resolved.ids), problems: [] };
  } catch (err) {
    if (err instanceof ValidationError) return { impact: null, problems: [...err.problems] };
    throw err;
  }
}
