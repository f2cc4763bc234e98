// The digest baseline's worker process: the bare select-render-write loop over one slice of the
// opted-in users (users whose id % parts = part), no claims and no queue. Started once per core by
// the digest scenario; it prints `ready` after its imports and connection, starts on a line on
// stdin (so every slice starts at once), and prints its result as JSON.
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { selectDigests, renderDigest } from '../../../services/app-api/src/domain/digest.js';
import { mboxEntry } from '../../../services/app-api/src/domain/transport.js';
import { buildMime } from '../../../services/app-api/src/domain/mime.js';

const [url, part, parts, out] = process.argv.slice(2) as [string, string, string, string];
const pool = new pg.Pool({ connectionString: url, max: 2 });
await pool.query('SELECT 1');
const go = new Promise<void>((r) => createInterface({ input: process.stdin }).once('line', () => r()));
console.log('ready');
await go;
const file = createWriteStream(out);
const t0 = performance.now();
let mails = 0;
let first = 0;
const ids = (await pool.query<{ id: string }>('SELECT id::text FROM users WHERE digest_opt_in AND id % $2 = $1 ORDER BY id', [Number(part), Number(parts)])).rows.map((r) => r.id);
for (let i = 0; i < ids.length; i += 200) {
  const batch = await selectDigests(pool, ids.slice(i, i + 200), { limit: 10 });
  let chunk = '';
  for (const d of batch.values()) {
    if (!d.posts.length) continue;
    const m = renderDigest(d.user, d.posts, '2026-W01', 'http://localhost:3000');
    const raw = buildMime({ from: 'digest@app-api.localhost', to: `${d.user.username} <${d.user.email}>`, messageId: `${d.user.id}@bare`, ...m }, new Date(), '\n');
    chunk += mboxEntry(raw, 'app-api@localhost', new Date());
    mails++;
  }
  first ||= (performance.now() - t0) / 1000;
  if (!file.write(chunk)) await new Promise<void>((r) => file.once('drain', () => r()));
}
await new Promise<void>((r, j) => file.end((e?: Error | null) => (e ? j(e) : r())));
const seconds = (performance.now() - t0) / 1000;
const usage = process.resourceUsage();
await pool.end();
console.log(JSON.stringify({ seconds, first, mails, cpuUs: usage.userCPUTime + usage.systemCPUTime }));
