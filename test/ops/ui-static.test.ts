// The planning UI's files at `/` (src/ui-static.ts), through the real server on a 127.0.0.1 port:
// content types, cache headers, no way out of ui/dist, HEAD, and a clear answer when the UI is not built.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTdplanYoga, listen, type RunningServer } from '../../src/server.js';
import { serveUi, UI_DIST } from '../../src/ui-static.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let server: RunningServer;
let origin: string;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await listen(createTdplanYoga(db), '127.0.0.1', 0);
  origin = new URL(server.url).origin;
});
afterAll(async () => {
  await server.close();
  await db.destroy();
});

/** A raw GET (fetch would normalise `..` away before sending). */
function rawGet(
  base: string,
  rawPath: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path: rawPath, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the planning UI at /', () => {
  it('serves index.html, revalidated, with a same-origin Content-Security-Policy', async () => {
    const res = await fetch(`${origin}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).toContain('<div id="root">');
    // Every script and stylesheet it names is local.
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.filter((r) => !r.startsWith('/') && !r.startsWith('data:'))).toEqual([]);
  });

  it('serves the hashed assets with their types, cached for good; HEAD gives the headers alone', async () => {
    const assets = await readdir(path.join(UI_DIST, 'assets'));
    const js = assets.find((a) => a.endsWith('.js'))!;
    const css = assets.find((a) => a.endsWith('.css'))!;
    const script = await fetch(`${origin}/assets/${js}`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await script.arrayBuffer()).byteLength).toBe(Number(script.headers.get('content-length')));
    expect((await fetch(`${origin}/assets/${css}`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
    const head = await rawGet(origin, `/assets/${js}`, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('never serves a file outside ui/dist, however the path is spelled', async () => {
    for (const p of [
      '/../package.json',
      '/..%2f..%2fpackage.json',
      '/%2e%2e/%2e%2e/package.json',
      '/assets/..%2f..%2f..%2fpackage.json',
      '/..\\package.json',
      '/%00',
      '/%E0%A4%A',
    ]) {
      const res = await rawGet(origin, p);
      expect([400, 404], p).toContain(res.status);
      expect(res.body, p).not.toContain('"name": "tdplan"');
    }
    expect((await fetch(`${origin}/nothing-here.js`)).status).toBe(404);
    // A directory is not a file.
    expect((await fetch(`${origin}/assets`)).status).toBe(404);
  });

  it('leaves /graphql and the operational endpoints to the server', async () => {
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
    const graphiql = await fetch(`${origin}/graphql`, { headers: { accept: 'text/html' } });
    expect(graphiql.status).toBe(200);
    const page = await graphiql.text();
    // GraphiQL ships inside the page: no script or stylesheet from elsewhere.
    expect(page).toContain('YogaGraphiQL.renderYogaGraphiQL');
    expect(page).not.toMatch(/<script[^>]+src="https?:/);
    expect(page).not.toMatch(/<link[^>]+href="https?:/);
  });

  it('answers 503 with what to do when the UI is not built', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'tdplan-ui-none-'));
    const bare = createServer((req, res) => {
      void serveUi(req, res, (req.url ?? '/').split('?')[0]!, empty).then((handled) => {
        if (!handled) res.writeHead(405).end();
      });
    });
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
      const res = await rawGet(base, '/');
      expect(res.status).toBe(503);
      expect(res.body).toContain('npm run ui:build');
      expect((await rawGet(base, '/', 'POST')).status).toBe(405);
    } finally {
      await new Promise((resolve) => bare.close(resolve));
      await rm(empty, { recursive: true });
    }
  });
});
