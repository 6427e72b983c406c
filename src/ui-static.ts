// Serves the planning UI's built files (ui/dist, written by `npm run ui:build`) at `/`: GET and
// HEAD only, known content types, no path outside ui/dist, hashed assets cached for good and
// index.html revalidated. A Content-Security-Policy keeps the page on its own origin.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** ui/dist beside src/ (the package's own copy). */
export const UI_DIST = fileURLToPath(new URL('../ui/dist/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS });
  res.end(text);
}

/**
 * Answers `req` from `root` if its path names a UI file (`/` is index.html); returns false when
 * the request is not for the UI (another method, or /graphql and the other routes handled before).
 */
export async function serveUi(req: IncomingMessage, res: ServerResponse, urlPath: string, root: string = UI_DIST): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    send(res, 400, 'malformed path');
    return true;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) {
    send(res, 400, 'malformed path');
    return true;
  }
  const relative = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
  const file = path.resolve(root, relative);
  // Whatever the path says (.., encoded ..), the file must be inside root.
  if (!file.startsWith(path.resolve(root) + path.sep)) {
    send(res, 404, 'not found');
    return true;
  }
  const type = CONTENT_TYPES[path.extname(file)];
  const info = type ? await stat(file).catch(() => null) : null;
  if (!info?.isFile()) {
    if (decoded === '/') {
      send(res, 503, 'The planning UI is not built: run `npm run ui:build` (npm install does it), then reload. GraphQL is at /graphql.');
    } else {
      send(res, 404, 'not found');
    }
    return true;
  }
  const hashed = relative.startsWith('assets/');
  res.writeHead(200, {
    'content-type': type!,
    'content-length': String(info.size),
    'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...SECURITY_HEADERS,
  });
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  await new Promise<void>((resolve, reject) => {
    createReadStream(file).on('error', reject).on('end', resolve).pipe(res);
  });
  return true;
}
