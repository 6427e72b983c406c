// The tdplan command as a user runs it: a real process, real exit codes and output.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFleet } from '../src/inventory/demo-fleet.js';
import { createTestDatabase, databaseKind, type TestDatabase } from './support/database.js';

const BIN = path.resolve(import.meta.dirname, '../bin/tdplan.js');
const run = promisify(execFile);
let dir: string;
// The commands run against this pass's PostgreSQL (a fresh database) when the suite has one, else
// against the embedded PGlite in a data directory; `serve`'s own test is always the embedded one.
let postgres: TestDatabase | null = null;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function tdplan(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  const base = { ...process.env };
  delete base.DATABASE_URL;
  if (postgres) base.DATABASE_URL = postgres.url;
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, '--data-dir', path.join(dir, 'data'), ...args], { env: { ...base, ...env }, cwd: dir });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tdplan-cli-'));
  if (databaseKind === 'postgres') postgres = await createTestDatabase();
});
afterAll(async () => {
  await postgres?.destroy();
  await rm(dir, { recursive: true, force: true });
});

// Each case runs the real command several times in a row, and on the embedded database every run
// starts PGlite anew: seconds each, so a case gets more than vitest's default 30 s.
describe('tdplan command', { timeout: 120_000 }, () => {
  it('explains itself with --help', async () => {
    const out = await tdplan(['--help']);
    expect(out.code).toBe(0);
    for (const command of ['serve', 'migrate', 'import', 'export', 'seed']) expect(out.stdout).toContain(command);
  });

  it('refuses a wrong argument with one line and exit 2', async () => {
    const out = await tdplan(['frobnicate']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("unknown command 'frobnicate'");
    expect(out.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('says in one line that the database is unreachable, exit 1', async () => {
    const out = await tdplan(['migrate'], { DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none' });
    expect(out.code).toBe(1);
    expect(out.stderr.trim()).toBe('tdplan: cannot reach the database at postgresql://nobody@127.0.0.1:1/none: connection refused');
  });

  it('imports, refuses a bad document with every problem, and exports', async () => {
    const good = path.join(dir, 'fleet.json');
    await writeFile(
      good,
      JSON.stringify({
        platforms: [{ name: 'EMR-2S', sockets: 2, coresPerSocket: 64, threadsPerCore: 2 }],
        kernels: [{ name: 'linux-6.16', kvmMaxVcpus: 4096, tdxVcpuPolicy: 'PRESENT_CPUS' }],
        hosts: [{ hostname: 'emr-a01', platform: 'EMR-2S', kernel: 'linux-6.16', presentCpus: 256, guestKeyIds: 64 }],
      }),
    );
    const imported = await tdplan(['import', good, '--replace']);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain('hosts: 1 created, 0 updated, 0 deleted');

    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ hosts: [{ hostname: 'x', platform: 'XYZ', kernel: 'nope', presentCpus: 1, guestKeyIds: 1 }] }));
    const refused = await tdplan(['import', bad]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('hosts[0].platform: unknown platform "XYZ"');
    expect(refused.stderr).toContain('hosts[0].kernel: unknown kernel "nope"');

    const exported = await tdplan(['export']);
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout).hosts).toEqual([
      // every default explicit, revision 2's included
      {
        hostname: 'emr-a01',
        platform: 'EMR-2S',
        module: null,
        kernel: 'linux-6.16',
        presentCpus: 256,
        guestKeyIds: 64,
        allocationRatio: 1,
        kvmIntelTdx: true,
        memoryMiB: null,
        reservedMemoryMiB: 0,
      },
    ]);
  });

  it('reports the negotiation answers as tables and as JSON', async () => {
    expect((await tdplan(['seed'])).code).toBe(0);
    const floor = await tdplan(['report', 'floor', '--module', '1.5.10.00.0820', '--json']);
    expect(floor.code).toBe(0);
    expect(JSON.parse(floor.stdout)).toEqual([
      expect.objectContaining({ floor: 688, headroom: -112, boundBy: ['HOST_PRESENT_CPUS', 'PLATFORM_MAX_LOGICAL_CPUS'] }),
    ]);
    const whatif = await tdplan(['report', 'whatif', '--module-limit', '2.0.02.00.0420=512']);
    expect(whatif.code).toBe(0);
    expect(whatif.stdout).toContain('Hosts losing TDX: 1');
    expect(whatif.stdout).toMatch(/gnr-b02\s+MAX_VCPUS_PER_TD 512 < 688 present CPUs \[KVM fails to load\]/);
    // R1 v2: gnr-b02 runs the mainline linux-6.16, so the failed check takes kvm_intel down with it.
    expect(whatif.stdout).toContain('Hosts whose KVM would fail to load: 1');
    const matrix = await tdplan(['report', 'matrix']);
    expect(matrix.stdout).toMatch(
      /1\.5\.10\.00\.0820\s+576\s+GNR-SP-4S\s+688\s+off: MAX_VCPUS_PER_TD 576 < 688 present CPUs\s+cap 576\s+KVM fails to load: MAX_VCPUS_PER_TD 576 < 688/,
    );
    const wrong = await tdplan(['report', 'whatif', '--kernel-policy', 'linux-6.16=SOMETIMES']);
    expect(wrong).toMatchObject({ code: 2, stderr: 'tdplan: --kernel-policy wants PRESENT_CPUS or MODULE_LIMIT, got "SOMETIMES"\n' });
  });

  it('runs a scenario from proposal to application, and refuses an application with every reason', async () => {
    expect((await tdplan(['seed'])).code).toBe(0);
    const created = await tdplan(['scenario', 'create', '--title', '600 for the 2.0 module', '--module-limit', '2.0.02.00.0420=600']);
    expect(created.code).toBe(0);
    const number = created.stdout.trim();
    expect(number).toMatch(/^\d+$/);
    const early = await tdplan(['scenario', 'apply', number]);
    expect(early).toMatchObject({
      code: 1,
      stderr: `tdplan: scenario ${number} was not applied, nothing was written:\n  NOT_ACCEPTED: the scenario is OPEN: only an ACCEPTED scenario can be applied\n`,
    });
    expect((await tdplan(['scenario', 'decide', number, 'accept', '--note', 'agreed on the list'])).stdout).toBe(`tdplan: scenario ${number} is ACCEPTED\n`);
    expect((await tdplan(['scenario', 'apply', number])).stdout).toBe(`tdplan: scenario ${number} is APPLIED\n`);
    const report = await tdplan(['report', 'scenario', number]);
    expect(report.stdout).toContain(`Scenario ${number}: 600 for the 2.0 module\n`);
    expect(report.stdout).toMatch(/Status: APPLIED by cli:\S+ on /);
    expect(report.stdout).toMatch(/gnr-b02\s+MAX_VCPUS_PER_TD 600 < 688 present CPUs/);
  }, 300_000); // six runs of the command, each opening the embedded database

  it('serves GraphQL and GraphiQL, seeds a new embedded database once, and keeps data across restarts', async () => {
    const dataDir = path.join(dir, 'served');
    const serve = async (): Promise<{ url: string; stop: () => Promise<string> }> => {
      const base = { ...process.env };
      delete base.DATABASE_URL;
      const child = spawn(process.execPath, [BIN, '--data-dir', dataDir, 'serve', '--port', '0'], { env: base, cwd: dir });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        // Starting PGlite, migrating and seeding took over 20 s on a loaded 2-core machine.
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`no URL within 60 s in: ${output}`));
        }, 60_000);
        child.stdout.on('data', () => {
          const m = /serving GraphQL at (http:\/\/[^\s"]+)/.exec(output);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      // SIGTERM: a graceful stop, exit 0, and the log says so.
      const stop = () =>
        new Promise<string>((resolve) => {
          child.on('exit', (code) => resolve(`${output}\nexit code ${code}`));
          child.kill('SIGTERM');
        });
      return { url, stop };
    };
    const auth = async (): Promise<Record<string, string>> => ({
      authorization: `Bearer ${(await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim()}`,
    });
    const count = async (url: string): Promise<number> => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await auth()) },
        body: JSON.stringify({ query: '{ hosts { totalCount } }' }),
      });
      return ((await response.json()) as { data: { hosts: { totalCount: number } } }).data.hosts.totalCount;
    };

    const first = await serve();
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
    // No token configured: the first start made an admin token, readable by this user only.
    expect((await stat(path.join(dataDir, 'admin-token'))).mode & 0o777).toBe(0o600);
    const anonymous = await fetch(first.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ hosts { totalCount } }' }),
    });
    expect(anonymous.status).toBe(401);
    expect(await count(first.url)).toBe(demoFleet().hosts.length); // the demo fleet
    const page = await fetch(first.url, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('GraphiQL');
    await fetch(first.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await auth()) },
      body: JSON.stringify({ query: 'mutation { deleteHost(host: { hostname: "emr-a04" }) { __typename } }' }),
    });
    const firstOutput = await first.stop();
    expect(firstOutput).toContain('exit code 0');
    // Structured logs: the serve command's own lines are JSON objects.
    const logLines = firstOutput.split('\n').filter((l) => l.startsWith('{'));
    expect(logLines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(expect.arrayContaining(['request', 'stopped']));
    expect(firstOutput).toContain('loaded the demo fleet');
    expect(firstOutput).toContain('created admin token');

    const second = await serve();
    expect(await count(second.url)).toBe(demoFleet().hosts.length - 1); // kept, and not seeded again; the token still works
    const secondOutput = await second.stop();
    expect(secondOutput).not.toContain('loaded the demo fleet');
    expect(secondOutput).not.toContain('created admin token');
  });

  it('never serves without auth on a non-loopback address', async () => {
    const out = await tdplan(['serve', '--no-auth', '--host', '0.0.0.0', '--port', '0']);
    expect(out.code).toBe(2);
    expect(out.stderr.trim()).toBe(
      'tdplan: --no-auth is refused on 0.0.0.0: anyone who can reach it could change the fleet; listen on 127.0.0.1, or use API tokens',
    );
  });

  it('creates, lists and revokes API tokens; the token is printed once and only its hash is stored', async () => {
    const created = await tdplan(['token', 'create', '--name', 'planning-ui', '--role', 'planner']);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^tdp_[A-Za-z0-9_-]{43}$/);
    const listed = await tdplan(['token', 'list']);
    expect(listed.stdout).toMatch(/^planning-ui\tPLANNER\tcreated \S+$/m);
    expect(listed.stdout).not.toContain(token);
    const taken = await tdplan(['token', 'create', '--name', 'planning-ui', '--role', 'viewer']);
    expect(taken).toMatchObject({ code: 1, stderr: expect.stringContaining('exists already') });
    const badRole = await tdplan(['token', 'create', '--name', 'x', '--role', 'root']);
    expect(badRole.code).toBe(2);
    expect((await tdplan(['token', 'revoke', 'planning-ui'])).code).toBe(0);
    expect((await tdplan(['token', 'list'])).stdout).toMatch(/^planning-ui\tPLANNER\tcreated \S+\trevoked \S+$/m);
    expect(await tdplan(['token', 'revoke', 'planning-ui'])).toMatchObject({ code: 1, stderr: 'tdplan: no active API token named "planning-ui"\n' });
  });
});
