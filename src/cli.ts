// The tdplan command: serve, migrate, import, export, seed.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { API_ROLES, type ApiRole, type Principal } from './auth/principal.js';
import { hasActiveTokens, listApiTokens } from './auth/tokens.js';
import { createApiToken, revokeApiToken } from './commands/tokens.js';
import { InvalidTokenNameError, TokenNameTakenError, TokenNotFoundError, ValidationError } from './errors.js';
import { CliError } from './cli-error.js';
import { EXPORT_FORMATS, exportText, parseExportFormat, type ExportFormat } from './cli/export.js';
import { registerProbeCommand } from './cli/probe.js';
import { registerScenarioCommands } from './cli-scenario.js';
import { openDatabase, type OpenedDatabase } from './db/open.js';
import { preparedStatementsSetting } from './db/prepared-statements.js';
import { replicaUrlsFrom } from './db/replicas.js';
import { demoFleet } from './inventory/demo-fleet.js';
import { generateFleet } from './inventory/generate.js';
import { importInventory, type ImportMode } from './commands/import-inventory.js';
import { createLogger, type Logger } from './ops/logger.js';

/** How long `serve` lets in-flight requests finish after SIGTERM. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

/** The CLI acts as an admin (it holds the database credentials); the audit trail names the OS user. */
const CLI_ACTOR: Principal = { name: `cli:${os.userInfo().username}`, role: 'ADMIN' };

/** Addresses only this machine can reach: the only ones `serve --no-auth` accepts. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

// The GraphQL schema and the HTTP server take most of a command's start (about 0.8 of 2.2 s):
// loaded only by the commands that use them (serve, and the reports, which run GraphQL queries).
const loadServer = () => import('./server.js');
const loadServerConfig = () => import('./ops/server-config.js');
const loadReports = () => import('./report.js');

const DEFAULT_DATA_DIR = process.env.TDPLAN_DATA_DIR ?? '.tdplan';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('must be a port number 0-65535');
  return port;
}

async function withDatabase<T>(dataDir: string, fn: (opened: OpenedDatabase) => Promise<T>): Promise<T> {
  const opened = await openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir, migrate: true, preparedStatements: preparedStatements() });
  try {
    return await fn(opened);
  } finally {
    await opened.close();
  }
}

async function importDocument(opened: OpenedDatabase, document: unknown, mode: ImportMode): Promise<string> {
  try {
    const counts = await importInventory(opened.db, CLI_ACTOR, { document, mode });
    return Object.entries(counts)
      .map(([kind, c]) => `${kind}: ${c.created} created, ${c.updated} updated, ${c.deleted} deleted`)
      .join('\n');
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throw new CliError(
      `import refused, nothing was written (${err.problems.length} error${err.problems.length === 1 ? '' : 's'}):\n` +
        err.problems.map((e) => `  ${e.field}: ${e.message}`).join('\n'),
    );
  }
}

async function tokenErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof TokenNameTakenError || err instanceof TokenNotFoundError || err instanceof InvalidTokenNameError) throw new CliError(err.message);
    throw err;
  }
}

/**
 * A server that no token can use would be useless, and one without auth unsafe. So when no active
 * token exists, the embedded default creates an admin token and writes it, readable by this user
 * only, to <data-dir>/admin-token; with DATABASE_URL it says how to create one.
 */
async function bootstrapAdminToken(opened: OpenedDatabase, dataDir: string, logger: Logger): Promise<void> {
  if (await hasActiveTokens(opened.db.prisma)) return;
  if (!opened.embedded) {
    logger.warn('no API tokens yet: every request will get 401. Create one with: tdplan token create --name <you> --role admin');
    return;
  }
  const file = path.join(dataDir, 'admin-token');
  const name = `bootstrap-admin-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
  const { token } = await createApiToken(opened.db.prisma, CLI_ACTOR, name, 'ADMIN');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  logger.info({ token: name, file }, `no API tokens yet: created admin token "${name}" in ${file}; send it as "Authorization: Bearer $(cat ${file})"`);
}

/** DATABASE_REPLICA_MAX_LAG_MS: how far behind a replica may be and still serve reads. */
function replicaMaxLagMs(): number | undefined {
  const raw = process.env.DATABASE_REPLICA_MAX_LAG_MS;
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new CliError(`DATABASE_REPLICA_MAX_LAG_MS must be a positive whole number of milliseconds, got ${JSON.stringify(raw)}`, 2);
  return value;
}

/** DATABASE_PREPARED_STATEMENTS: on (default) or off, for a PgBouncer that cannot route named statements. */
function preparedStatements(): boolean {
  try {
    return preparedStatementsSetting(process.env.DATABASE_PREPARED_STATEMENTS);
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
}

export function buildProgram(): Command {
  const program = new Command('tdplan')
    .description('Capacity planning for Intel TDX fleets on KVM: fleet inventory and KVM_CAP_MAX_VCPUS answers over GraphQL.')
    .addHelpText(
      'after',
      `
Database: DATABASE_URL (postgresql://...) if set, else an embedded PGlite in --data-dir.
Read replicas for serve: DATABASE_REPLICA_URLS (comma-separated postgresql:// URLs), DATABASE_REPLICA_MAX_LAG_MS (5000).
Named (prepared) statements: DATABASE_PREPARED_STATEMENTS=on (default) or off (PgBouncer in transaction mode).
Examples:
  tdplan serve                       GraphQL and GraphiQL at http://127.0.0.1:4000/graphql
  tdplan import fleet.json --replace make fleet.json the whole inventory
  tdplan export > fleet.json`,
    )
    .option('--data-dir <dir>', 'embedded database directory (without DATABASE_URL)', DEFAULT_DATA_DIR)
    .showHelpAfterError('(run tdplan --help for usage)')
    .exitOverride();

  program
    .command('serve')
    .description('serve the planning UI at http://HOST:PORT/ and GraphQL (GraphiQL in a browser) at /graphql; applies migrations first')
    .addOption(new Option('--host <host>', 'address to listen on').env('HOST').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port to listen on').env('PORT').default(4000).argParser(parsePort))
    .option('--no-seed', 'do not load the demo fleet into a newly created embedded database')
    .option('--no-auth', 'no API tokens needed: every request acts as admin (refused unless --host is a loopback address)')
    .action(async (opts: { host: string; port: number; seed: boolean; auth: boolean }) => {
      if (!opts.auth && !isLoopback(opts.host)) {
        throw new CliError(`--no-auth is refused on ${opts.host}: anyone who can reach it could change the fleet; listen on 127.0.0.1, or use API tokens`, 2);
      }
      const [{ serveSettingsFromEnv }, { createTdplanYoga, listen }] = await Promise.all([loadServerConfig(), loadServer()]);
      const { statementTimeoutMs, ...settings } = serveSettingsFromEnv();
      const dataDir = program.opts<{ dataDir: string }>().dataDir;
      const logger = createLogger();
      const opened = await openDatabase({
        databaseUrl: process.env.DATABASE_URL,
        dataDir,
        migrate: true,
        statementTimeoutMs,
        // A request waits for a busy pool's connection as long as its deadline allows.
        acquireTimeoutMs: settings.requestTimeoutMs,
        replicaUrls: replicaUrlsFrom(process.env.DATABASE_REPLICA_URLS),
        replicaMaxLagMs: replicaMaxLagMs(),
        preparedStatements: preparedStatements(),
      });
      try {
        if (opened.embedded && opened.createdNow && opts.seed) {
          await importDocument(opened, demoFleet(), 'MERGE');
          logger.info('new embedded database: loaded the demo fleet (skip with --no-seed)');
        }
        if (opts.auth) await bootstrapAdminToken(opened, dataDir, logger);
        else logger.warn('--no-auth: every request acts as admin; only this machine can reach it');
        const yoga = createTdplanYoga(opened.db, { auth: opts.auth ? 'required' : 'off', logger, ...settings });
        const running = await listen(yoga, opts.host, opts.port).catch((err: NodeJS.ErrnoException) => {
          throw new CliError(
            err.code === 'EADDRINUSE'
              ? `${opts.host}:${opts.port} is in use; choose another --port`
              : `cannot listen on ${opts.host}:${opts.port}: ${err.message}`,
          );
        });
        const uiUrl = running.url.replace(/graphql$/, '');
        logger.info({ url: running.url, ui: uiUrl, database: opened.description }, `serving GraphQL at ${running.url} and the planning UI at ${uiUrl}`);
        await new Promise<void>((resolve) => {
          // Graceful: in-flight requests finish, new ones are refused, then the database closes.
          const stop = (signal: string): void => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            logger.info({ signal }, 'stopping');
            void running.shutdown(SHUTDOWN_TIMEOUT_MS).then(resolve, resolve);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
      } finally {
        await opened.close();
      }
    });

  program
    .command('migrate')
    .description('apply pending migrations from prisma/migrations')
    .action(async () => {
      const opened = await openDatabase({
        databaseUrl: process.env.DATABASE_URL,
        dataDir: program.opts<{ dataDir: string }>().dataDir,
        migrate: true,
        preparedStatements: preparedStatements(),
      });
      await opened.close();
      console.log(
        opened.appliedMigrations.length
          ? `tdplan: applied ${opened.appliedMigrations.join(', ')} to ${opened.description}`
          : `tdplan: ${opened.description} is up to date`,
      );
    });

  program
    .command('import')
    .description('import an inventory document (JSON, see schemas/inventory.schema.json) in one transaction')
    .argument('<file>', 'inventory document, or - for standard input')
    .option('--replace', 'the document becomes the whole inventory (default: merge by natural key)')
    .action(async (file: string, opts: { replace?: boolean }) => {
      const text = await (file === '-' ? readStdin() : readFile(file, 'utf8')).catch((err: Error) => {
        throw new CliError(`cannot read ${file}: ${err.message}`);
      });
      let document: unknown;
      try {
        document = JSON.parse(text);
      } catch (err) {
        throw new CliError(`${file} is not JSON: ${(err as Error).message}`);
      }
      const summary = await withDatabase(program.opts<{ dataDir: string }>().dataDir, (opened) =>
        importDocument(opened, document, opts.replace ? 'REPLACE' : 'MERGE'),
      );
      console.log(summary);
    });

  program
    .command('export')
    .description("write the inventory as a JSON document (normalised order), or tdplan's answers for OpenStack Nova or Kubernetes NFD")
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .option('--format <format>', `${EXPORT_FORMATS.join(', ')}`, parseExportFormat, 'inventory')
    .option('--host <hostname>', 'only this host (nfd: its local feature file instead of a NodeFeatureRule for the fleet)')
    .action(async (opts: { output?: string; format: ExportFormat; host?: string }) => {
      const text = await withDatabase(program.opts<{ dataDir: string }>().dataDir, (opened) => exportText(opened.db, opts.format, opts.host));
      if (opts.output) await writeFile(opts.output, text);
      else await new Promise<void>((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
    });

  program
    .command('seed')
    .description('merge the demo fleet into the inventory')
    .action(async () => {
      const summary = await withDatabase(program.opts<{ dataDir: string }>().dataDir, (opened) => importDocument(opened, demoFleet(), 'MERGE'));
      console.log(summary);
    });

  const count =
    (what: string) =>
    (v: string): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 10_000_000) throw new InvalidArgumentError(`${what} must be a whole number 0..10000000`);
      return n;
    };
  program
    .command('generate')
    .description('a deterministic, realistic synthetic fleet: written as an inventory document, or straight into the database')
    .requiredOption('--hosts <n>', 'hosts', count('--hosts'))
    .requiredOption('--tds <n>', 'TDs', count('--tds'))
    .option('--seed <n>', 'random seed: the same seed gives the same fleet', count('--seed'), 1)
    .option('-o, --output <file>', 'write the document to a file (default: standard output)')
    .option('--into-db', 'import it into the database instead (replacing the inventory), in one transaction')
    .action(async (opts: { hosts: number; tds: number; seed: number; output?: string; intoDb?: boolean }) => {
      const document = generateFleet(opts);
      if (opts.intoDb) {
        const started = performance.now();
        const summary = await withDatabase(program.opts<{ dataDir: string }>().dataDir, (o) => importDocument(o, document, 'REPLACE'));
        console.log(`${summary}\nimported ${opts.hosts} hosts and ${opts.tds} TDs in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        return;
      }
      const text = JSON.stringify(document);
      if (opts.output) await writeFile(opts.output, text);
      else await new Promise<void>((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
    });

  const token = program.command('token').description('API tokens: create (shown once), revoke, list');
  const parseRole = (v: string): ApiRole => {
    const role = v.toUpperCase() as ApiRole;
    if (!API_ROLES.includes(role)) throw new InvalidArgumentError(`must be one of ${API_ROLES.map((r) => r.toLowerCase()).join(', ')}`);
    return role;
  };
  token
    .command('create')
    .description('create an API token and print it (only its hash is stored: it is shown this once)')
    .requiredOption('--name <name>', 'who or what holds it, e.g. planning-ui or alice')
    .requiredOption('--role <role>', 'viewer (read), planner (also place/migrate, what-if) or admin (also inventory writes, imports, tokens)', parseRole)
    .action(async (opts: { name: string; role: ApiRole }) => {
      const created = await withDatabase(program.opts<{ dataDir: string }>().dataDir, (o) =>
        tokenErrors(() => createApiToken(o.db.prisma, CLI_ACTOR, opts.name, opts.role)),
      );
      console.log(created.token);
      console.error(`tdplan: created ${opts.role} token "${opts.name}"; send it as: Authorization: Bearer <token>`);
    });
  token
    .command('revoke')
    .description('revoke the active token with this name')
    .argument('<name>', 'token name')
    .action(async (name: string) => {
      await withDatabase(program.opts<{ dataDir: string }>().dataDir, (o) => tokenErrors(() => revokeApiToken(o.db.prisma, CLI_ACTOR, name)));
      console.log(`tdplan: revoked token "${name}"`);
    });
  token
    .command('list')
    .description('list tokens (names, roles, dates; never the tokens)')
    .action(async () => {
      const tokens = await withDatabase(program.opts<{ dataDir: string }>().dataDir, (o) => listApiTokens(o.db.prisma));
      if (tokens.length === 0) console.log('no API tokens');
      for (const t of tokens)
        console.log(`${t.name}\t${t.role}\tcreated ${t.createdAt.toISOString()}${t.revokedAt ? `\trevoked ${t.revokedAt.toISOString()}` : ''}`);
    });

  registerProbeCommand(program);

  const report = program.command('report').description('negotiation answers as plain-text tables (or --json): floor, matrix, whatif, scenario');
  const collect = (value: string, previous: string[]): string[] => [...previous, value];
  report
    .command('floor')
    .description('N1: the lowest MAX_VCPUS_PER_TD each module may report, and what binds it')
    .option('-m, --module <version>', 'only this module (repeatable); default: every module', collect, [])
    .option('--json', 'JSON instead of tables')
    .action(async (opts: { module: string[]; json?: boolean }) => {
      console.log(
        await withDatabase(program.opts<{ dataDir: string }>().dataDir, async (o) => (await loadReports()).floorReport(o.db, opts.module, Boolean(opts.json))),
      );
    });
  report
    .command('matrix')
    .description('N3: every module x supported platform, fully populated, under each kernel policy')
    .option(
      '--kvm-max-vcpus <n>',
      'KVM_MAX_VCPUS assumed',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 4096) throw new InvalidArgumentError('must be 1..4096');
        return n;
      },
      4096,
    )
    .option('--json', 'JSON instead of tables')
    .action(async (opts: { kvmMaxVcpus: number; json?: boolean }) => {
      console.log(
        await withDatabase(program.opts<{ dataDir: string }>().dataDir, async (o) =>
          (await loadReports()).matrixReport(o.db, opts.kvmMaxVcpus, Boolean(opts.json)),
        ),
      );
    });
  report
    .command('whatif')
    .description('N2: the impact of proposed changes, without writing anything')
    .option('--module-limit <version=n>', "a module's new MAX_VCPUS_PER_TD (n or null; repeatable)", collect, [])
    .option('--kernel-policy <name=policy>', "a kernel's new policy, PRESENT_CPUS or MODULE_LIMIT (repeatable)", collect, [])
    .option('--changes <json>', 'the changes as the GraphQL WhatIfChanges input, for everything else (host moves, present CPUs)')
    .option('--json', 'JSON instead of tables')
    .action(async (opts: { moduleLimit: string[]; kernelPolicy: string[]; changes?: string; json?: boolean }) => {
      const changes = whatIfChangesFromOptions(opts);
      console.log(
        await withDatabase(program.opts<{ dataDir: string }>().dataDir, async (o) => (await loadReports()).whatIfReport(o.db, changes, Boolean(opts.json))),
      );
    });

  registerScenarioCommands(program, report, {
    withDatabase: (fn) => withDatabase(program.opts<{ dataDir: string }>().dataDir, (o) => fn(o.db)),
    actor: CLI_ACTOR,
    changesFromOptions: whatIfChangesFromOptions,
  });

  return program;
}

function pair(option: string, value: string): [string, string] {
  const at = value.lastIndexOf('=');
  if (at <= 0 || at === value.length - 1) throw new CliError(`${option} wants KEY=VALUE, got "${value}"`, 2);
  return [value.slice(0, at), value.slice(at + 1)];
}

function whatIfChangesFromOptions(opts: { moduleLimit: string[]; kernelPolicy: string[]; changes?: string }): Record<string, unknown[]> {
  let base: Record<string, unknown[]> = {};
  if (opts.changes) {
    try {
      base = JSON.parse(opts.changes) as Record<string, unknown[]>;
    } catch (err) {
      throw new CliError(`--changes is not JSON: ${(err as Error).message}`, 2);
    }
  }
  const modules = [
    ...(base.modules ?? []),
    ...opts.moduleLimit.map((v) => {
      const [version, n] = pair('--module-limit', v);
      const limit = n === 'null' ? null : Number(n);
      if (limit !== null && !Number.isInteger(limit)) throw new CliError(`--module-limit wants an integer or null, got "${n}"`, 2);
      return { module: { version }, maxVcpusPerTd: limit };
    }),
  ];
  const kernels = [
    ...(base.kernels ?? []),
    ...opts.kernelPolicy.map((v) => {
      const [name, policy] = pair('--kernel-policy', v);
      if (policy !== 'PRESENT_CPUS' && policy !== 'MODULE_LIMIT') throw new CliError(`--kernel-policy wants PRESENT_CPUS or MODULE_LIMIT, got "${policy}"`, 2);
      return { kernel: { name }, tdxVcpuPolicy: policy };
    }),
  ];
  if (!modules.length && !kernels.length && !base.hostMoves?.length && !base.hosts?.length) {
    throw new CliError('no change given: use --module-limit, --kernel-policy or --changes', 2);
  }
  return { ...base, modules, kernels };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed the message (or the help text, exit code 0).
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CliError) {
      console.error(`tdplan: ${err.message}`);
      return err.exitCode;
    }
    console.error(`tdplan: unexpected error: ${(err as Error).message ?? String(err)}`);
    return 1;
  }
}

// Exit explicitly: the wasm schema engine and PGlite leave timers behind that would keep the
// process alive for seconds after the work is done. Output was flushed above.
process.exit(await main(process.argv.slice(2)));
