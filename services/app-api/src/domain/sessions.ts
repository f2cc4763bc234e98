// Bearer tokens: random, stored only as their SHA-256, with an expiry.
import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from 'archipelago-toolkit';

export const SESSION_TTL_DAYS = 30;
const TOKEN = /^ak_[A-Za-z0-9_-]{43}$/;

const digest = (token: string) => createHash('sha256').update(token).digest();

export async function createSession(db: Queryable, userId: string, ttlDays = SESSION_TTL_DAYS): Promise<{ token: string; expiresAt: string }> {
  const token = `ak_${randomBytes(32).toString('base64url')}`;
  const { rows } = await db.query<{ expires_at: Date }>(
    `INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, now() + make_interval(days => $3))
     RETURNING expires_at`, [digest(token), userId, ttlDays]);
  return { token, expiresAt: rows[0]!.expires_at.toISOString() };
}

export interface Principal { readonly id: string; readonly username: string }

/** The user a token belongs to, or null for a missing, malformed, unknown or expired token. */
export async function principalFor(db: Queryable, token: string | undefined | null): Promise<Principal | null> {
  if (!token || !TOKEN.test(token)) return null;
  const { rows } = await db.query<{ id: string; username: string }>(
    `SELECT u.id::text AS id, u.username FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE s.token_hash = $1 AND s.expires_at > now()`, [digest(token)]);
  return rows[0] ?? null;
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearer(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}
