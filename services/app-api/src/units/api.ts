// The public REST API (port 3000): auth, profile, posts, feed, engagement, notifications, OpenAPI.
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { api, transaction, type UnitContext } from 'archipelago-toolkit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { S } from '../api/schemas.js';
import { ApiError, unauthorized } from '../domain/errors.js';
import { addComment, bookmark, listBookmarks, listComments, removeBookmark, removeUpvote, upvote } from '../domain/engagement.js';
import { listNotifications, markRead } from '../domain/notifications.js';
import { createPost, feed, getPost } from '../domain/posts.js';
import { hit, postgresRateLimitStore } from '../domain/rate-limit.js';
import { bearer, createSession, principalFor, type Principal } from '../domain/sessions.js';
import { checkLogin, getMe, setDigest, setTags, signup } from '../domain/users.js';

/** Bodies above this are refused with 413 before they are parsed. */
export const BODY_LIMIT = 64 * 1024;

type Req<T extends { body?: unknown; params?: unknown; querystring?: unknown }> = FastifyRequest<{
  Body: T['body']; Params: T['params']; Querystring: T['querystring'];
}>;
type IdParams = { params: { id: string } };
type PageQuery = { querystring: { cursor?: string; limit: number } };

/**
 * Registers the API in its own scope, so its hooks leave the host's routes alone. Errors keep the
 * host's root handler: every failure, before or after routing, is `{ error: { code, message } }`.
 */
export async function routes(app: FastifyInstance, ctx: UnitContext) {
  await app.register(async (scope) => service(scope, ctx));
}

async function service(app: FastifyInstance, ctx: UnitContext) {
  const db = ctx.db;
  const num = (name: string, fallback: number) => Number(ctx.config[name] ?? fallback) || fallback;
  app.addHook('onRoute', (route) => { route.bodyLimit ??= BODY_LIMIT; });

  await app.register(swagger, {
    openapi: {
      info: { title: 'app-api', version: '1.0.0', description: 'The Archipelago reference service' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // Only the auth routes are limited (per client address, across all replicas: the counters live in
  // PostgreSQL): they cost a scrypt each. The client address is `req.ip`: the peer, or the address
  // a trusted proxy (the unit's `trustProxy`) forwarded, so clients behind an ingress do not share
  // one bucket. Login is also limited per account name, whatever address the attempts come from.
  await app.register(rateLimit, {
    global: false,
    store: postgresRateLimitStore(db),
    errorResponseBuilder: (_req, c) => new ApiError(429, 'RATE_LIMITED', `too many requests, retry in ${Math.ceil(c.ttl / 1000)} s`),
  });
  const authWindow = num('AUTH_RATE_WINDOW_MS', 60_000);
  const authLimit = { rateLimit: { max: num('AUTH_RATE_LIMIT', 10), timeWindow: authWindow, keyGenerator: (req: FastifyRequest) => req.ip } };
  const accountMax = num('LOGIN_ACCOUNT_RATE_LIMIT', 10);
  const limitAccount = async (login: string) => {
    const { current, ttl } = await hit(db, `login-account:${login.toLowerCase()}`, authWindow);
    if (current > accountMax) throw new ApiError(429, 'RATE_LIMITED', `too many attempts for this account, retry in ${Math.ceil(ttl / 1000)} s`);
  };

  // Routes documented as secured refuse a bad token before their body is even parsed. Where the
  // token is optional (`security: [{}, { bearer: [] }]`), no Authorization header is anonymous, but
  // a bad one is still refused: a client with an expired token must learn it, not see a stranger's view.
  const principals = new WeakMap<FastifyRequest, Principal>();
  app.addHook('onRequest', async (req) => {
    const security = (req.routeOptions.schema as { security?: object[] } | undefined)?.security;
    if (!security) return;
    const header = req.headers.authorization;
    if (header === undefined && security.some((s) => Object.keys(s).length === 0)) return;
    const p = await principalFor(db, bearer(header));
    if (!p) throw unauthorized();
    principals.set(req, p);
  });
  const auth = async (req: FastifyRequest): Promise<Principal> => {
    const p = principals.get(req);
    if (!p) throw unauthorized();
    return p;
  };
  const session = async (userId: string) => ({ ...(await createSession(db, userId)), user: await getMe(db, userId) });

  app.post('/auth/signup', { schema: S.signup, config: authLimit }, async (req: Req<{ body: { username: string; email: string; password: string; tags?: string[]; timeZone?: string } }>, reply) => {
    const id = await signup(db, req.body);
    return reply.code(201).send(await session(id));
  });
  app.post('/auth/login', { schema: S.login, config: authLimit }, async (req: Req<{ body: { login: string; password: string } }>) => {
    await limitAccount(req.body.login);
    const id = await checkLogin(db, req.body.login, req.body.password);
    if (!id) throw new ApiError(401, 'INVALID_CREDENTIALS', 'unknown login or wrong password');
    return session(id);
  });

  app.get('/me', { schema: S.me }, async (req) => getMe(db, (await auth(req)).id));
  app.put('/me/tags', { schema: S.putTags }, async (req: Req<{ body: { tags: string[] } }>) => {
    const me = await auth(req);
    await setTags(db, me.id, req.body.tags);
    return getMe(db, me.id);
  });
  app.put('/me/digest', { schema: S.putDigest }, async (req: Req<{ body: { optIn?: boolean; timeZone?: string } }>) => {
    const me = await auth(req);
    await setDigest(db, me.id, req.body);
    return getMe(db, me.id);
  });

  app.post('/posts', { schema: S.createPost }, async (req: Req<{ body: { title: string; url?: string; body?: string; tags?: string[] } }>, reply) => {
    const me = await auth(req);
    const id = await createPost(db, me.id, req.body);
    return reply.code(201).send(await getPost(db, id, me.id));
  });
  app.get('/posts/:id', { schema: S.getPost }, async (req: Req<IdParams>) => getPost(db, req.params.id, principals.get(req)?.id ?? null));
  app.get('/feed', { schema: S.feed }, async (req: Req<PageQuery>) => feed(db, (await auth(req)).id, req.query));

  app.post('/posts/:id/upvote', { schema: S.upvote }, async (req: Req<IdParams>, reply) => {
    const me = await auth(req);
    // Through the toolkit's transaction helper: the change the cdc relay publishes joins this request's trace.
    const created = await transaction(db, (tx) => upvote(tx, me.id, req.params.id));
    return reply.code(created ? 201 : 200).send(await getPost(db, req.params.id, me.id));
  });
  app.delete('/posts/:id/upvote', { schema: S.unvote }, async (req: Req<IdParams>, reply) => {
    await removeUpvote(db, (await auth(req)).id, req.params.id);
    return reply.code(204).send();
  });
  app.post('/posts/:id/comments', { schema: S.addComment }, async (req: Req<IdParams & { body: { body: string } }>, reply) => {
    const me = await auth(req);
    return reply.code(201).send(await addComment(db, me.id, req.params.id, req.body.body));
  });
  app.get('/posts/:id/comments', { schema: S.listComments }, async (req: Req<IdParams & PageQuery>) => listComments(db, req.params.id, req.query));
  app.post('/posts/:id/bookmark', { schema: S.bookmark }, async (req: Req<IdParams>, reply) => {
    const me = await auth(req);
    const created = await bookmark(db, me.id, req.params.id);
    return reply.code(created ? 201 : 200).send(await getPost(db, req.params.id, me.id));
  });
  app.delete('/posts/:id/bookmark', { schema: S.unbookmark }, async (req: Req<IdParams>, reply) => {
    await removeBookmark(db, (await auth(req)).id, req.params.id);
    return reply.code(204).send();
  });
  app.get('/bookmarks', { schema: S.bookmarks }, async (req: Req<PageQuery>) => listBookmarks(db, (await auth(req)).id, req.query));

  app.get('/notifications', { schema: S.notifications }, async (req: Req<{ querystring: { unread?: boolean; limit: number } }>) => ({
    items: await listNotifications(db, (await auth(req)).id, req.query),
  }));
  app.post('/notifications/read', { schema: S.readNotifications }, async (req: Req<{ body: { ids?: string[]; all?: true } }>) => {
    const me = await auth(req);
    return { updated: await markRead(db, me.id, req.body.all ? 'all' : req.body.ids ?? []) };
  });
}

export default api(routes);
