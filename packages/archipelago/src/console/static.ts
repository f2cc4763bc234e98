// Serves the built front end from dist/ with headers that keep the page self-contained: no
// framing, no referrer (the URL carries the token), nothing loaded from elsewhere.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

export const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
} as const;

export async function serveStatic(distDir: string, path: string, res: ServerResponse): Promise<void> {
  const entry = FILES[path];
  if (!entry) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
    res.end('not found');
    return;
  }
  const body = await readFile(join(distDir, entry.file));
  res.writeHead(200, { 'content-type': entry.type, 'cache-control': 'no-cache', 'content-length': body.length, ...SECURITY_HEADERS });
  res.end(body);
}
