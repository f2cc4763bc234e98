// The seed job: `archipelago job run seed -- --users 350000 [--copy]` generates realistic users,
// follows, posts, upvotes, comments and bookmarks, with a progress bar on stderr.
import { task } from 'archipelago-toolkit';
import { seed } from '../domain/seed.js';
import { progressBar } from './progress.js';

export function parseSeedArgs(args: readonly string[]): { users: number; method: 'sql' | 'copy' } {
  const i = args.indexOf('--users');
  const raw = i >= 0 ? args[i + 1] : args.find((a) => a.startsWith('--users='))?.slice(8);
  const users = raw === undefined ? 1000 : Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(users) || users < 1 || users > 10_000_000) throw new Error(`--users must be a whole number from 1 to 10,000,000 (got ${raw})`);
  return { users, method: args.includes('--copy') ? 'copy' : 'sql' };
}

export default task(async (ctx) => {
  const { users, method } = parseSeedArgs(ctx.args);
  const client = await ctx.db.connect();
  const t0 = Date.now();
  try {
    const counts = await seed(client, { users, method, progress: progressBar() });
    ctx.logger.info({ ...counts, method, seconds: (Date.now() - t0) / 1000 }, 'seeded');
  } finally {
    client.release();
  }
});
