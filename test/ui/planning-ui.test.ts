// The planning UI in a real browser (Debian's chromium through playwright-core), served by the
// real server on a 127.0.0.1 port over a real database holding the demo fleet. Every number the
// screens show is compared with the API's own answer; every request the browser makes is recorded
// (none may leave the machine), the console must stay free of errors, and axe-core scans each
// screen. Screenshots: docs/screenshots with TDPLAN_SCREENSHOTS=docs (npm run ui:screenshots).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, EMBEDDED_POOL_SIZE, type Database } from '../../src/db/client.js';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { whatIfReport } from '../../src/report.js';
import { createTdplanYoga, listen, type RunningServer } from '../../src/server.js';
import { UI_DIST } from '../../src/ui-static.js';
import { axeScan, launchBrowser, openPage, screenshot, type WatchedPage } from '../support/browser.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../support/database.js';
import { importDocument } from '../support/import.js';
import { tokenFor } from '../support/server.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

let db: TestDatabase;
let proxy: TcpProxy;
let proxied: Database;
let server: RunningServer;
let origin: string;
let browser: Browser;
const tokens = { ADMIN: '', PLANNER: '', VIEWER: '' };
const pages: WatchedPage[] = [];

/** The API's answer, asked with the admin token: what the screens must show. */
async function api<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.ADMIN}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (body.errors || !body.data) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const n = (v: number | null): string => (v === null ? '–' : v.toLocaleString('en-US'));

async function signedIn(role: keyof typeof tokens, hash = '/'): Promise<WatchedPage> {
  const watched = await openPage(browser);
  pages.push(watched);
  const { page } = watched;
  await page.goto(`${origin}/#${hash}`);
  await page.getByLabel('API token', { exact: true }).fill(tokens[role]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').waitFor();
  return watched;
}

async function expectAccessible(page: Page, screen: string): Promise<void> {
  const violations = await axeScan(page);
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious, `${screen}: ${JSON.stringify(serious, null, 1)}`).toEqual([]);
}

beforeAll(async () => {
  if (!existsSync(`${UI_DIST}/index.html`)) throw new Error('the UI is not built: run npm run ui:build (npm install does)');
  db = await createTestDatabase();
  const imported = await importDocument(db, demoFleet(), 'MERGE');
  if (!imported.ok) throw new Error(JSON.stringify(imported.errors));
  // The server reaches the database through a proxy the outage test can cut.
  proxy = await startTcpProxy(db.url);
  proxied = connectDatabase(proxy.url, databaseKind === 'embedded' ? { max: EMBEDDED_POOL_SIZE, embedded: true } : { max: 5 });
  server = await listen(createTdplanYoga(proxied), '127.0.0.1', 0);
  origin = new URL(server.url).origin;
  for (const role of ['ADMIN', 'PLANNER', 'VIEWER'] as const) tokens[role] = await tokenFor(db, role, `ui-${role.toLowerCase()}`);
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  // Nothing any page asked for left the machine: the server's origin, or data:/blob: URLs it made itself.
  const all = pages.flatMap((p) => p.requests);
  expect(all.length).toBeGreaterThan(0);
  expect(all.filter((url) => !url.startsWith(`${origin}/`) && !/^(data|blob):/.test(url))).toEqual([]);
  await browser?.close();
  await server?.close();
  await proxied?.close();
  await proxy?.close();
  await db?.destroy();
}, 60_000);

describe('planning UI', { timeout: 90_000 }, () => {
  it('signs in with a token in a password field, keeps it out of the URL, and refuses a wrong one', async () => {
    const watched = await openPage(browser);
    pages.push(watched);
    const { page, consoleErrors } = watched;
    await page.goto(`${origin}/`);
    const field = page.getByLabel('API token', { exact: true });
    expect(await field.getAttribute('type')).toBe('password');
    await screenshot(page, 'signin');
    await expectAccessible(page, 'sign-in');
    await field.fill('tdp_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not accepted');
    // The refused request is the only console error (the browser logs the 401 itself).
    expect(consoleErrors.every((e) => e.includes('401'))).toBe(true);
    consoleErrors.length = 0;
    await field.fill(tokens.VIEWER);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('who').textContent()).toBe('ui-viewer (viewer)');
    expect(page.url()).not.toContain(tokens.VIEWER);
    expect(await page.evaluate(() => sessionStorage.getItem('tdplan.token'))).toBe(tokens.VIEWER);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(consoleErrors).toEqual([]);
  });

  it('Fleet shows the fleet summary the API gives', async () => {
    const { page, consoleErrors } = await signedIn('ADMIN');
    const { fleetSummary: s } = await api<{
      fleetSummary: {
        hosts: number;
        tdxEnabledHosts: number;
        kvmLoadFailingHosts: number;
        tdSlots: number;
        freeVcpus: number;
        tdxDisabledByReason: { reason: string; hosts: number }[];
        byModule: { key: string | null; hosts: number; freeVcpus: number }[];
      };
    }>(
      '{ fleetSummary { hosts tdxEnabledHosts kvmLoadFailingHosts tdSlots freeVcpus tdxDisabledByReason { reason hosts } byModule { key hosts freeVcpus } } }',
    );
    const stat = (label: string) => page.locator(`[data-stat="${label}"]`).textContent();
    await expect.poll(() => stat('hosts')).toBe(n(s.hosts));
    expect(await stat('TDX enabled')).toBe(n(s.tdxEnabledHosts));
    expect(await stat('TDX disabled')).toBe(n(s.hosts - s.tdxEnabledHosts));
    expect(await stat('free vCPUs')).toBe(n(s.freeVcpus));
    expect(await stat('TD slots')).toBe(n(s.tdSlots));
    expect(await stat('KVM fails to load')).toBe(n(s.kvmLoadFailingHosts));
    expect(s.tdxDisabledByReason.length).toBeGreaterThan(0);
    const reasons = page.getByRole('table', { name: /Why TDX is disabled/ });
    for (const r of s.tdxDisabledByReason) {
      await expect
        .poll(() =>
          reasons
            .getByRole('row', { name: new RegExp(r.reason) })
            .locator('td')
            .first()
            .textContent(),
        )
        .toBe(n(r.hosts));
    }
    const byModule = page.getByRole('table', { name: 'Capacity by module' });
    for (const g of s.byModule) {
      const row = byModule.getByRole('row', { name: new RegExp(`^${(g.key ?? '(no module)').replace(/[.()]/g, '\\$&')}`) });
      expect(await row.locator('td').nth(0).textContent()).toBe(n(g.hosts));
      expect(await row.locator('td').nth(2).textContent()).toBe(n(g.freeVcpus));
    }
    await screenshot(page, 'fleet');
    await expectAccessible(page, 'fleet');
    expect(consoleErrors).toEqual([]);
  });

  it('Hosts filters, sorts and pages on the server, and a host page shows its capacity and reasons', async () => {
    const { page, consoleErrors } = await signedIn('ADMIN', '/hosts');
    const total = (filter: Record<string, unknown>) =>
      api<{ hosts: { totalCount: number } }>('query($f: HostFilter) { hosts(filter: $f) { totalCount } }', { f: filter });
    await expect.poll(() => page.getByTestId('hosts-total').textContent()).toBe(n((await total({})).hosts.totalCount));

    await page.getByLabel('TDX', { exact: true }).selectOption('disabled');
    await expect.poll(() => page.getByTestId('hosts-total').textContent()).toBe(n((await total({ tdxEnabled: false })).hosts.totalCount));
    await page.getByLabel('TDX', { exact: true }).selectOption('');

    // Where KVM would not load (R1 v2).
    await page.getByLabel('KVM', { exact: true }).selectOption('fails');
    await expect.poll(() => page.getByTestId('hosts-total').textContent()).toBe(n((await total({ kvmLoads: false })).hosts.totalCount));
    await page.getByLabel('KVM', { exact: true }).selectOption('');

    const { modules } = await api<{ modules: { edges: { node: { version: string } }[] } }>('{ modules(first: 10) { edges { node { version } } } }');
    const version = modules.edges[0]!.node.version;
    await page.getByLabel('Module', { exact: true }).selectOption(version);
    await expect.poll(() => page.getByTestId('hosts-total').textContent()).toBe(n((await total({ module: { version } })).hosts.totalCount));
    await page.getByLabel('Module', { exact: true }).selectOption('');

    await page.getByLabel('Min. KVM_CAP_MAX_VCPUS', { exact: true }).fill('500');
    await expect.poll(() => page.getByTestId('hosts-total').textContent()).toBe(n((await total({ minKvmCapMaxVcpus: 500 })).hosts.totalCount));
    await page.getByLabel('Min. KVM_CAP_MAX_VCPUS', { exact: true }).fill('');

    await page.getByLabel('Sort by', { exact: true }).selectOption('PRESENT_CPUS');
    await page.getByLabel('Direction', { exact: true }).selectOption('DESC');
    const sorted = await api<{ hosts: { edges: { node: { hostname: string } }[] } }>(
      '{ hosts(first: 50, orderBy: { field: PRESENT_CPUS, direction: DESC }) { edges { node { hostname } } } }',
    );
    const expected = sorted.hosts.edges.map((e) => e.node.hostname);
    await expect.poll(() => page.locator('table.hosts tbody th').allTextContents()).toEqual(expected);
    await screenshot(page, 'hosts');
    await expectAccessible(page, 'hosts');

    // A TDX-disabled host: its page lists every reason with its message.
    const { hosts } = await api<{
      hosts: {
        edges: {
          node: {
            hostname: string;
            tdxDisabledReasons: { code: string; message: string }[];
            allocatedVcpus: number;
            schedulableVcpus: number;
            freeVcpus: number;
            usedKeyIds: number;
            guestKeyIds: number;
            tds: { totalCount: number };
          };
        }[];
      };
    }>(
      '{ hosts(first: 1, filter: { tdxEnabled: false, hasModule: true }) { edges { node { hostname tdxDisabledReasons { code message } allocatedVcpus schedulableVcpus freeVcpus usedKeyIds guestKeyIds tds { totalCount } } } } }',
    );
    const h = hosts.edges[0]!.node;
    await page.getByRole('link', { name: h.hostname, exact: true }).click();
    await page.getByRole('heading', { name: `Host ${h.hostname}` }).waitFor();
    await expect
      .poll(() => page.getByTestId('host-vcpus').textContent())
      .toBe(`${n(h.allocatedVcpus)} allocated of ${n(h.schedulableVcpus)} schedulable, ${n(h.freeVcpus)} free`);
    expect(await page.getByTestId('host-keyids').textContent()).toBe(`${n(h.usedKeyIds)} used of ${n(h.guestKeyIds)}, ${n(h.guestKeyIds - h.usedKeyIds)} free`);
    expect(await page.getByTestId('host-td-count').textContent()).toBe(n(h.tds.totalCount));
    // Every reason with its message and the kernel condition behind it (the schema's description of the code).
    const { __type } = await api<{ __type: { enumValues: { name: string; description: string }[] } }>(
      '{ __type(name: "TdxDisabledReasonCode") { enumValues { name description } } }',
    );
    for (const r of h.tdxDisabledReasons) {
      const shown = await page.locator('ul.reasons').textContent();
      expect(shown).toContain(`${r.code}: ${r.message}`);
      expect(shown).toContain(`Kernel: ${__type.enumValues.find((v) => v.name === r.code)!.description}`);
    }
    await screenshot(page, 'host');
    await expectAccessible(page, 'host');
    // Back: the filters chosen before are still there.
    await page.goBack();
    await expect.poll(() => page.getByLabel('Sort by', { exact: true }).inputValue()).toBe('PRESENT_CPUS');
    expect(consoleErrors).toEqual([]);
  });

  it('TD page: where it runs, whether it fits, its migration targets, and every blocker for another host', async () => {
    const { tds } = await api<{
      tds: { edges: { node: { name: string; vcpus: number; host: { hostname: string }; migrationTargets: { totalCount: number } } }[] };
    }>('{ tds(first: 50, filter: { placed: true, migratable: true }) { edges { node { name vcpus host { hostname } migrationTargets { totalCount } } } } }');
    const td = tds.edges.find((e) => e.node.migrationTargets.totalCount > 0)!.node;
    const { hosts } = await api<{ hosts: { edges: { node: { hostname: string } }[] } }>(
      '{ hosts(first: 1, filter: { tdxEnabled: false }) { edges { node { hostname } } } }',
    );
    const other = hosts.edges[0]!.node.hostname;
    const check = await api<{ td: { migrationCheck: { blockers: { code: string; message: string }[] } } }>(
      'query($t: String!, $h: String!) { td(name: $t) { migrationCheck(targetHostname: $h) { blockers { code message } } } }',
      { t: td.name, h: other },
    );
    const { page, consoleErrors } = await signedIn('PLANNER', `/tds/${td.name}`);
    await expect.poll(() => page.getByTestId('td-host').textContent()).toContain(td.host.hostname);
    expect(await page.getByTestId('td-vcpus').textContent()).toBe(n(td.vcpus));
    expect(await page.getByTestId('td-fits').textContent()).toMatch(/^yes/);
    await expect.poll(() => page.getByTestId('td-target-count').textContent()).toBe(n(td.migrationTargets.totalCount));
    await page.getByLabel('Hostname', { exact: true }).fill(other);
    await page.getByRole('button', { name: 'Check' }).click();
    const shown = page.getByTestId('td-check');
    await shown.waitFor();
    expect(check.td.migrationCheck.blockers.length).toBeGreaterThan(0);
    for (const b of check.td.migrationCheck.blockers) expect(await shown.textContent()).toContain(`${b.code}: ${b.message}`);
    await screenshot(page, 'td');
    await expectAccessible(page, 'td');
    expect(consoleErrors).toEqual([]);
  });

  it('Placement ranks candidates, places a planned TD after a confirmation, and shows every blocker of a refusal', async () => {
    const { tds } = await api<{ tds: { edges: { node: { name: string; vcpus: number } }[] } }>(
      '{ tds(first: 10, filter: { placed: false }) { edges { node { name vcpus } } } }',
    );
    expect(tds.edges.length).toBeGreaterThanOrEqual(2);
    // The smallest planned TD is placed; another one is refused.
    const [first, second] = tds.edges.map((e) => e.node).sort((a, b) => a.vcpus - b.vcpus) as [
      { name: string; vcpus: number },
      { name: string; vcpus: number },
    ];
    const { page, consoleErrors } = await signedIn('PLANNER', '/placement');
    await page.getByLabel('vCPUs', { exact: true }).fill(String(first.vcpus));
    const candidates = await api<{
      placementCandidates: { totalCount: number; edges: { node: { hostname: string } }[] };
      whatFitsWhere: { fleet: { acceptingHosts: number; refusingHosts: number } };
    }>(
      'query($v: Int!) { placementCandidates(vcpus: $v, first: 20) { totalCount edges { node { hostname } } } whatFitsWhere(vcpus: $v) { fleet { acceptingHosts refusingHosts } } }',
      { v: first.vcpus },
    );
    await expect.poll(() => page.getByTestId('candidates-total').textContent()).toBe(n(candidates.placementCandidates.totalCount));
    expect(await page.getByTestId('fits-fleet').textContent()).toContain(
      `${n(candidates.whatFitsWhere.fleet.acceptingHosts)} hosts accept a TD of ${n(first.vcpus)} vCPUs, ${n(candidates.whatFitsWhere.fleet.refusingHosts)} refuse it`,
    );
    const best = candidates.placementCandidates.edges[0]!.node.hostname;
    await page.getByLabel('TD', { exact: true }).fill(first.name);
    await page.getByRole('button', { name: `Choose ${best}` }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'it will be placed' }).count()).toBe(1);
    await screenshot(page, 'placement');
    await expectAccessible(page, 'placement');
    await page.getByRole('button', { name: 'Place…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await api<{ td: { host: null } }>('query($t: String!) { td(name: $t) { host { hostname } } }', { t: first.name })).td.host).toBeNull();
    await page.getByRole('button', { name: 'Place…' }).click();
    await dialog.getByRole('button', { name: `Place ${first.name} on ${best}` }).click();
    await expect.poll(() => page.locator('.success').textContent()).toBe(`${first.name} now runs on ${best}.`);
    expect(
      (await api<{ td: { host: { hostname: string } } }>('query($t: String!) { td(name: $t) { host { hostname } } }', { t: first.name })).td.host.hostname,
    ).toBe(best);

    // A refused one: a TDX-disabled host. The screen lists every blocker the API reports.
    const { hosts } = await api<{ hosts: { edges: { node: { hostname: string } }[] } }>(
      '{ hosts(first: 1, filter: { tdxEnabled: false }) { edges { node { hostname } } } }',
    );
    const refusing = hosts.edges[0]!.node.hostname;
    const expected = await api<{ td: { placementCheck: { blockers: { code: string; message: string }[] } } }>(
      'query($t: String!, $h: String!) { td(name: $t) { placementCheck(hostname: $h) { blockers { code message } } } }',
      { t: second.name, h: refusing },
    );
    await page.getByLabel('TD', { exact: true }).fill(second.name);
    await page.getByLabel('Host', { exact: true }).fill(refusing);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'it will be placed' }).textContent()).toContain(second.name);
    await page.getByRole('button', { name: 'Place…' }).click();
    await dialog.getByRole('button', { name: `Place ${second.name} on ${refusing}` }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'Refused. Every blocker' });
    await refusal.waitFor();
    for (const b of expected.td.placementCheck.blockers) expect(await refusal.textContent()).toContain(`${b.code}: ${b.message}`);
    // The input stays, and nothing moved.
    expect(await page.getByLabel('Host', { exact: true }).inputValue()).toBe(refusing);
    expect((await api<{ td: { host: null } }>('query($t: String!) { td(name: $t) { host { hostname } } }', { t: second.name })).td.host).toBeNull();
    await screenshot(page, 'placement-refused');
    await expectAccessible(page, 'placement refused');
    expect(consoleErrors).toEqual([]);
  });

  it('Negotiation: the floor, the matrix as a heat map, and a what-if whose download is the text tdplan report prints', async () => {
    const { page, consoleErrors } = await signedIn('PLANNER', '/negotiation');
    const { modules } = await api<{ modules: { edges: { node: { version: string; maxVcpusPerTd: number | null } }[] } }>(
      '{ modules(first: 10) { edges { node { version maxVcpusPerTd } } } }',
    );
    const version = modules.edges[0]!.node.version;
    const { moduleFloor: f } = await api<{ moduleFloor: { floor: number; effectiveMaxVcpusPerTd: number } }>(
      'query($v: String!) { moduleFloor(version: $v) { floor effectiveMaxVcpusPerTd } }',
      { v: version },
    );
    await expect
      .poll(() => page.getByTestId('floor-summary').textContent())
      .toContain(`MAX_VCPUS_PER_TD floor ${n(f.floor)} (reports ${n(f.effectiveMaxVcpusPerTd)}`);
    const { moduleMatrix } = await api<{ moduleMatrix: unknown[] }>('{ moduleMatrix { platform { name } } }');
    await expect.poll(() => page.getByTestId('matrix').locator('tbody td:not(.heat-none)').count()).toBe(moduleMatrix.length);

    // What if the module reporting the largest limit reported 512 instead? (Hosts with more CPUs lose TDX.)
    const target = [...modules.edges].sort((a, b) => (b.node.maxVcpusPerTd ?? -1) - (a.node.maxVcpusPerTd ?? -1))[0]!.node.version;
    await page.getByRole('button', { name: 'Add a module change' }).click();
    await page.getByLabel('Module', { exact: true }).last().selectOption(target);
    await page.getByLabel('New MAX_VCPUS_PER_TD', { exact: true }).fill('512');
    await page.getByRole('button', { name: 'Show the impact' }).click();
    const changes = { modules: [{ module: { version: target }, maxVcpusPerTd: 512 }], kernels: [], hostMoves: [], hosts: [], tds: [] };
    const { whatIf } = await api<{ whatIf: { hostsLosingTdx: { totalCount: number }; tdsNoLongerFitting: { totalCount: number } } }>(
      'query($c: WhatIfChanges!) { whatIf(changes: $c) { hostsLosingTdx { totalCount } tdsNoLongerFitting { totalCount } } }',
      { c: changes },
    );
    await page.getByTestId('whatif-answer').waitFor();
    expect(whatIf.hostsLosingTdx.totalCount).toBeGreaterThan(0);
    expect(await page.getByTestId('impact-Hosts losing TDX').textContent()).toBe(n(whatIf.hostsLosingTdx.totalCount));
    expect(await page.getByTestId('impact-TDs that would no longer fit where they run').textContent()).toBe(n(whatIf.tdsNoLongerFitting.totalCount));
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download as text' }).click();
    const text = await readFile((await (await download).path())!, 'utf8');
    expect(text).toBe(await whatIfReport(db, changes, false));
    await screenshot(page, 'negotiation');
    await expectAccessible(page, 'negotiation');
    expect(consoleErrors).toEqual([]);
  });

  it('Scenarios: a proposal shows the impact the API gives; planners comment, admins decide, viewers only read (N2)', async () => {
    const { modules } = await api<{ modules: { edges: { node: { version: string; maxVcpusPerTd: number | null } }[] } }>(
      '{ modules(first: 10) { edges { node { version maxVcpusPerTd } } } }',
    );
    const target = [...modules.edges].sort((a, b) => (b.node.maxVcpusPerTd ?? -1) - (a.node.maxVcpusPerTd ?? -1))[0]!.node.version;
    const changes = { modules: [{ module: { version: target }, maxVcpusPerTd: 512 }], kernels: [], hostMoves: [], hosts: [], tds: [] };
    type Counts = {
      hostsLosingTdx: { totalCount: number };
      hostsLosingKvm: { totalCount: number };
      tdsNoLongerFitting: { totalCount: number };
      tdsLeftWithoutMigrationTarget: { totalCount: number };
    };
    const { createScenario } = await api<{ createScenario: { __typename: string; data?: { id: string; number: number; impact: Counts } } }>(
      `mutation($input: CreateScenarioInput!) { createScenario(input: $input) { __typename ... on MutationCreateScenarioSuccess { data { id number
        impact { hostsLosingTdx { totalCount } hostsLosingKvm { totalCount } tdsNoLongerFitting { totalCount } tdsLeftWithoutMigrationTarget { totalCount } } } } } }`,
      { input: { title: 'Cap the biggest module at 512', description: 'UI test', changes } },
    );
    expect(createScenario.__typename).toBe('MutationCreateScenarioSuccess');
    const scenario = createScenario.data!;
    expect(scenario.impact.hostsLosingTdx.totalCount).toBeGreaterThan(0);

    const planner = await signedIn('PLANNER', '/negotiation');
    await planner.page.getByRole('link', { name: 'Scenarios' }).click();
    await planner.page.getByRole('link', { name: 'Cap the biggest module at 512' }).click();
    const { page } = planner;
    await expect.poll(() => page.getByTestId('scenario-status').textContent()).toBe('OPEN');
    for (const [label, count] of [
      ['Hosts losing TDX', scenario.impact.hostsLosingTdx],
      ['Hosts losing KVM', scenario.impact.hostsLosingKvm],
      ['TDs no longer fitting', scenario.impact.tdsNoLongerFitting],
      ['TDs without a migration target', scenario.impact.tdsLeftWithoutMigrationTarget],
    ] as const) {
      expect(await page.getByTestId(`scenario-impact-${label}`).textContent()).toBe(n(count.totalCount));
    }
    expect(await page.getByTestId('scenario-changes').textContent()).toContain(target);
    expect(await page.getByRole('button', { name: 'Accept' }).count()).toBe(0);
    await page.getByLabel('Your comment', { exact: true }).fill('Fine by the TDX team');
    await page.getByRole('button', { name: 'Add comment' }).click();
    await expect.poll(() => page.getByTestId('scenario-comments').textContent()).toContain('ui-planner');
    expect(await page.getByTestId('scenario-comments').textContent()).toContain('Fine by the TDX team');
    await expectAccessible(page, 'scenario');
    expect(planner.consoleErrors).toEqual([]);

    const admin = await signedIn('ADMIN', `/scenarios/${encodeURIComponent(scenario.id)}`);
    await expect.poll(() => admin.page.getByTestId('scenario-status').textContent()).toBe('OPEN');
    await admin.page.getByLabel('Decision note', { exact: true }).fill('Agreed at the planning meeting');
    await admin.page.getByRole('button', { name: 'Accept' }).click();
    await expect.poll(() => admin.page.getByTestId('scenario-status').textContent()).toBe('ACCEPTED');
    const { node } = await api<{ node: { status: string; decisionNote: string | null } }>(
      'query($id: ID!) { node(id: $id) { ... on Scenario { status decisionNote } } }',
      { id: scenario.id },
    );
    expect(node).toEqual({ status: 'ACCEPTED', decisionNote: 'Agreed at the planning meeting' });
    expect(admin.consoleErrors).toEqual([]);

    const viewer = await signedIn('VIEWER', `/scenarios/${encodeURIComponent(scenario.id)}`);
    await expect.poll(() => viewer.page.getByTestId('scenario-status').textContent()).toBe('ACCEPTED');
    expect(await viewer.page.getByTestId('scenario-comments').textContent()).toContain('Fine by the TDX team');
    expect(await viewer.page.getByRole('button', { name: /Accept|Reject|Add comment/ }).count()).toBe(0);
    expect(viewer.consoleErrors).toEqual([]);
  });

  it('Audit (admins) shows the trail, filtered by the server', async () => {
    const { page, consoleErrors } = await signedIn('ADMIN', '/audit');
    const count = async (filter: Record<string, unknown>) =>
      n(
        (await api<{ auditEvents: { totalCount: number } }>('query($f: AuditEventFilter) { auditEvents(filter: $f) { totalCount } }', { f: filter }))
          .auditEvents.totalCount,
      );
    await expect.poll(() => page.getByTestId('audit-total').textContent()).toBe(await count({}));
    await page.getByLabel('Action', { exact: true }).selectOption('PLACE');
    const places = await count({ action: 'PLACE' });
    expect(places).not.toBe('0'); // the placement above
    await expect.poll(() => page.getByTestId('audit-total').textContent()).toBe(places);
    await screenshot(page, 'audit');
    await expectAccessible(page, 'audit');
    expect(consoleErrors).toEqual([]);
  });

  it('offers a role only what it may do: viewers get no place, migrate, what-if or audit', async () => {
    const viewer = await signedIn('VIEWER', '/placement');
    const { page } = viewer;
    await page.getByTestId('candidates-total').waitFor();
    expect(await page.getByRole('link', { name: 'Audit' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Place|Migrate|Choose/ }).count()).toBe(0);
    const { tds } = await api<{ tds: { edges: { node: { name: string } }[] } }>(
      '{ tds(first: 1, filter: { placed: true, migratable: true }) { edges { node { name } } } }',
    );
    await page.goto(`${origin}/#/tds/${tds.edges[0]!.node.name}`);
    await page.getByTestId('td-target-count').waitFor();
    expect(await page.getByRole('button', { name: /Migrate|Place/ }).count()).toBe(0);
    await page.goto(`${origin}/#/negotiation`);
    await page.getByTestId('matrix').waitFor();
    expect(await page.getByRole('button', { name: 'Show the impact' }).count()).toBe(0);
    await page.goto(`${origin}/#/audit`);
    await expect.poll(() => page.locator('main').textContent()).toContain('Only admins see the audit trail.');
    expect(viewer.consoleErrors).toEqual([]);

    const planner = await signedIn('PLANNER', '/');
    expect(await planner.page.getByRole('link', { name: 'Audit' }).count()).toBe(0);
    expect(await planner.page.getByRole('link', { name: 'Placement' }).count()).toBe(1);
  });

  it('says what went wrong in words and keeps the input: database gone, token revoked', async () => {
    const { page, consoleErrors } = await signedIn('PLANNER', '/placement');
    await page.getByTestId('candidates-total').waitFor();
    await page.getByLabel('TD', { exact: true }).fill('td-kept-input');

    proxy.cut();
    try {
      await page.getByLabel('vCPUs', { exact: true }).fill('16');
      await expect
        .poll(() => page.getByRole('alert').allTextContents(), { timeout: 15_000 })
        .toContainEqual(expect.stringContaining('database cannot be reached'));
      await screenshot(page, 'error-database');
    } finally {
      proxy.restore();
    }
    const readyz = server.url.replace('/graphql', '/readyz');
    for (let tries = 0; (await fetch(readyz)).status !== 200; tries++) {
      if (tries > 75) throw new Error('the database did not come back');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await page.getByLabel('TD', { exact: true }).inputValue()).toBe('td-kept-input');
    expect(await page.getByLabel('vCPUs', { exact: true }).inputValue()).toBe('16');

    // The token is revoked while the page is open: the next request asks to sign in again, over the screen.
    const revoked = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.ADMIN}` },
      body: JSON.stringify({ query: 'mutation { revokeApiToken(name: "ui-planner") { __typename } }' }),
    });
    expect(revoked.status).toBe(200);
    await page.getByLabel('vCPUs', { exact: true }).fill('24');
    const again = page.getByRole('dialog', { name: 'Sign in again' });
    await again.waitFor();
    expect(await again.textContent()).toContain('no longer accepted');
    tokens.PLANNER = await tokenFor(db, 'PLANNER', 'ui-planner-2');
    await again.getByLabel('API token', { exact: true }).fill(tokens.PLANNER);
    await again.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('who').textContent()).toBe('ui-planner-2 (planner)');
    expect(await page.getByLabel('TD', { exact: true }).inputValue()).toBe('td-kept-input');
    expect(await page.getByLabel('vCPUs', { exact: true }).inputValue()).toBe('24');
    await expect.poll(() => page.getByTestId('candidates-total').textContent()).toBeTruthy();
    // The browser logs the failed requests (503, 401) itself; nothing else.
    expect(consoleErrors.filter((e) => !/status of (503|401)/.test(e))).toEqual([]);
  });

  it('GraphiQL at /graphql works offline: its assets come from tdplan itself', async () => {
    const watched = await openPage(browser);
    pages.push(watched);
    const { page, requests, consoleErrors } = watched;
    await page.goto(`${origin}/graphql`);
    await page.locator('.graphiql-container').first().waitFor({ timeout: 30_000 });
    expect(requests.filter((url) => !url.startsWith(`${origin}/`) && !/^(data|blob):/.test(url))).toEqual([]);
    expect(consoleErrors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    await screenshot(page, 'graphiql');
  });
});
