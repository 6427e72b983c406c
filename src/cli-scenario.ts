// `tdplan scenario create|list|show|decide|apply` and `tdplan report scenario`: the scenario
// commands for scripts and mailing lists. Writes go through src/commands/scenarios.ts as the CLI's
// admin principal; show and report print src/report.ts's text.
import { InvalidArgumentError, type Command } from 'commander';
import type { Principal } from './auth/principal.js';
import { CliError } from './cli-error.js';
import { applyScenario, createScenario, decideScenario, type ScenarioDecision } from './commands/scenarios.js';
import type { Database } from './db/client.js';
import { NotFoundError, ScenarioAppliedError, ScenarioApplyRefusedError, ValidationError } from './errors.js';
import type { ChangesInput } from './planning/scenario-changes.js';

export interface ScenarioCliDeps {
  /** Runs `fn` on the database the command line names (--data-dir or DATABASE_URL). */
  withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T>;
  actor: Principal;
  /** --module-limit, --kernel-policy and --changes as a WhatIfChanges input (as `report whatif` reads them). */
  changesFromOptions(opts: { moduleLimit: string[]; kernelPolicy: string[]; changes?: string }): Record<string, unknown[]>;
}

const STATUSES = ['OPEN', 'ACCEPTED', 'REJECTED', 'APPLIED'] as const;

function scenarioNumberArg(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a scenario number (see tdplan scenario list)');
  return n;
}

function decisionArg(value: string): ScenarioDecision {
  const v = value.toUpperCase();
  if (v === 'ACCEPT' || v === 'ACCEPTED') return 'ACCEPTED';
  if (v === 'REJECT' || v === 'REJECTED') return 'REJECTED';
  throw new InvalidArgumentError('must be accept or reject');
}

/** Domain errors as one CliError each: the message, then every problem or reason on its own line. */
async function scenarioErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ValidationError)
      throw new CliError(`refused, nothing was written:\n${err.problems.map((p) => `  ${p.field}: ${p.message}`).join('\n')}`);
    if (err instanceof ScenarioApplyRefusedError) {
      throw new CliError(
        `scenario ${err.scenarioNumber} was not applied, nothing was written:\n${err.reasons.map((r) => `  ${r.code}: ${r.field ? `${r.field}: ` : ''}${r.message}`).join('\n')}`,
      );
    }
    if (err instanceof NotFoundError || err instanceof ScenarioAppliedError) throw new CliError(err.message);
    throw err;
  }
}

export function registerScenarioCommands(program: Command, report: Command, deps: ScenarioCliDeps): void {
  const collect = (value: string, previous: string[]): string[] => [...previous, value];
  const scenario = program.command('scenario').description('scenarios: proposed changes to discuss, decide and apply (create, list, show, decide, apply)');

  scenario
    .command('create')
    .description('propose a scenario; prints its number')
    .requiredOption('--title <text>', 'a one-line summary')
    .option('--description <text>', 'the proposal and its reasons')
    .option('--module-limit <version=n>', "a module's new MAX_VCPUS_PER_TD (n or null; repeatable)", collect, [])
    .option('--kernel-policy <name=policy>', "a kernel's new policy, PRESENT_CPUS or MODULE_LIMIT (repeatable)", collect, [])
    .option('--changes <json>', 'the changes as the GraphQL WhatIfChanges input, for everything else (host moves, present CPUs)')
    .action(async (opts: { title: string; description?: string; moduleLimit: string[]; kernelPolicy: string[]; changes?: string }) => {
      const changes = deps.changesFromOptions(opts) as ChangesInput;
      const created = await deps.withDatabase((db) =>
        scenarioErrors(() => createScenario(db, deps.actor, { title: opts.title, description: opts.description ?? null, changes })),
      );
      console.log(created.id);
      console.error(`tdplan: created scenario ${created.id} (OPEN): ${created.title}`);
    });

  scenario
    .command('list')
    .description('scenarios, newest first')
    .option('--status <status>', `only this status: ${STATUSES.join(', ').toLowerCase()}`, (v) => {
      const s = v.toUpperCase() as (typeof STATUSES)[number];
      if (!STATUSES.includes(s)) throw new InvalidArgumentError(`must be one of ${STATUSES.join(', ').toLowerCase()}`);
      return s;
    })
    .option('--author <name>', 'only those proposed by this token name')
    .option('--json', 'JSON instead of a table')
    .action(async (opts: { status?: (typeof STATUSES)[number]; author?: string; json?: boolean }) => {
      // The reports run GraphQL queries: the schema is loaded when a report is asked for (src/cli.ts says why).
      console.log(
        await deps.withDatabase(async (db) =>
          (await import('./report.js')).scenarioListReport(db, { status: opts.status ?? null, author: opts.author ?? null }, Boolean(opts.json)),
        ),
      );
    });

  const show = async (n: number, opts: { json?: boolean }) => {
    console.log(await deps.withDatabase(async (db) => (await import('./report.js')).scenarioReport(db, n, Boolean(opts.json))));
  };
  scenario
    .command('show')
    .description('a scenario, its impact now, what changed since it was proposed, and its comments (as `tdplan report scenario`)')
    .argument('<number>', 'scenario number', scenarioNumberArg)
    .option('--json', 'JSON instead of text')
    .action(show);

  scenario
    .command('decide')
    .description('accept or reject a scenario (accepting records the generations of what it changes)')
    .argument('<number>', 'scenario number', scenarioNumberArg)
    .argument('<decision>', 'accept or reject', decisionArg)
    .option('--note <text>', 'why')
    .action(async (n: number, decision: ScenarioDecision, opts: { note?: string }) => {
      const decided = await deps.withDatabase((db) =>
        scenarioErrors(() => decideScenario(db, deps.actor, { scenarioNumber: n, status: decision, note: opts.note ?? null })),
      );
      console.log(`tdplan: scenario ${decided.id} is ${decided.status}`);
    });

  scenario
    .command('apply')
    .description("make an accepted scenario's changes real in one transaction; refused with every reason if the inventory has moved")
    .argument('<number>', 'scenario number', scenarioNumberArg)
    .action(async (n: number) => {
      const applied = await deps.withDatabase((db) => scenarioErrors(() => applyScenario(db, deps.actor, { scenarioNumber: n })));
      console.log(`tdplan: scenario ${applied.id} is APPLIED`);
    });

  report
    .command('scenario')
    .description('a scenario as text ready for a mailing-list reply: the proposal, its impact now, the drift since, the comments')
    .argument('<number>', 'scenario number', scenarioNumberArg)
    .option('--json', 'JSON instead of text')
    .action(show);
}
