// Users: sign-up, login, profile and preferences.
import type { Queryable } from 'archipelago-toolkit';
import { ApiError, notFound } from './errors.js';
import { DECOY_HASH, hashPassword, verifyPassword } from './passwords.js';

export interface Me {
  id: string; username: string; email: string; reputation: number; tags: string[];
  digest: { optIn: boolean; timeZone: string }; createdAt: string;
}

const ZONES = new Set(Intl.supportedValuesOf('timeZone'));
ZONES.add('UTC');

export function isTimeZone(tz: string): boolean {
  return ZONES.has(tz);
}

/** Lower-case, de-duplicated, sorted: tags compare by value everywhere. */
export function normaliseTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((t) => t.trim().toLowerCase()).filter(Boolean))].sort();
}

export async function signup(db: Queryable, input: { username: string; email: string; password: string; tags?: string[]; timeZone?: string }): Promise<string> {
  const tz = input.timeZone ?? 'UTC';
  if (!isTimeZone(tz)) throw new ApiError(400, 'VALIDATION_FAILED', `timeZone "${tz}" is not a known IANA time zone`);
  const hash = await hashPassword(input.password);
  try {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO users (username, email, password_hash, tags, time_zone) VALUES ($1, $2, $3, $4, $5) RETURNING id::text`,
      [input.username, input.email, hash, normaliseTags(input.tags ?? []), tz]);
    return rows[0]!.id;
  } catch (e) {
    if ((e as { code?: string }).code === '23505') throw new ApiError(409, 'CONFLICT', 'username or email is already taken');
    throw e;
  }
}

/** The user id for a username-or-email and password, or null. Unknown names cost as much as wrong passwords. */
export async function checkLogin(db: Queryable, login: string, password: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string; password_hash: string }>(
    `SELECT id::text, password_hash FROM users WHERE lower(username) = lower($1) OR lower(email) = lower($1) LIMIT 1`, [login]);
  const row = rows[0];
  const ok = await verifyPassword(password, row?.password_hash ?? DECOY_HASH);
  return row && ok ? row.id : null;
}

export async function getMe(db: Queryable, userId: string): Promise<Me> {
  const { rows } = await db.query(
    `SELECT id::text, username, email, reputation, tags, digest_opt_in, time_zone, created_at FROM users WHERE id = $1`, [userId]);
  const r = rows[0];
  if (!r) throw notFound('user');
  return {
    id: r.id, username: r.username, email: r.email, reputation: r.reputation, tags: r.tags,
    digest: { optIn: r.digest_opt_in, timeZone: r.time_zone }, createdAt: r.created_at.toISOString(),
  };
}

export async function setTags(db: Queryable, userId: string, tags: readonly string[]): Promise<string[]> {
  const norm = normaliseTags(tags);
  await db.query('UPDATE users SET tags = $2 WHERE id = $1', [userId, norm]);
  return norm;
}

export async function setDigest(db: Queryable, userId: string, opts: { optIn?: boolean; timeZone?: string }): Promise<void> {
  if (opts.timeZone !== undefined && !isTimeZone(opts.timeZone)) {
    throw new ApiError(400, 'VALIDATION_FAILED', `timeZone "${opts.timeZone}" is not a known IANA time zone`);
  }
  await db.query(
    `UPDATE users SET digest_opt_in = coalesce($2, digest_opt_in), time_zone = coalesce($3, time_zone) WHERE id = $1`,
    [userId, opts.optIn ?? null, opts.timeZone ?? null]);
}
