// JSON schemas of the public API: Fastify validates with them and the OpenAPI document shows them.
// The toolkit validates strictly (no coercion, unknown properties refused, no NUL in any string);
// `single-line` refuses control characters in text that may reach a header, a subject or a log line.
import { SINGLE_LINE } from 'archipelago-toolkit';

const id = { type: 'string', pattern: '^[1-9][0-9]{0,17}$', description: 'numeric id' } as const;
const tag = { type: 'string', minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9][A-Za-z0-9+#.-]*$' } as const;
const tags = { type: 'array', items: tag, maxItems: 20, uniqueItems: false } as const;
const cursor = { type: 'string', pattern: '^[A-Za-z0-9_-]+$', maxLength: 200, description: 'nextCursor of the previous page' } as const;
const limit = { type: 'integer', minimum: 1, maximum: 100, default: 20 } as const;

export const errorBody = {
  type: 'object', required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } } },
} as const;

const author = { type: 'object', properties: { id: { type: 'string' }, username: { type: 'string' } } } as const;
export const post = {
  type: 'object',
  properties: {
    id: { type: 'string' }, author, title: { type: 'string' }, url: { type: ['string', 'null'] }, body: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } }, upvotes: { type: 'integer' }, comments: { type: 'integer' },
    createdAt: { type: 'string', format: 'date-time' }, upvoted: { type: 'boolean' }, bookmarked: { type: 'boolean' },
  },
} as const;
const comment = {
  type: 'object',
  properties: { id: { type: 'string' }, postId: { type: 'string' }, author, body: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' } },
} as const;
const page = (item: object) => ({
  type: 'object', properties: { items: { type: 'array', items: item }, nextCursor: { type: ['string', 'null'] } },
}) as const;
const notification = {
  type: 'object',
  properties: {
    id: { type: 'string' }, kind: { type: 'string', enum: ['upvote', 'comment'] },
    post: { type: 'object', properties: { id: { type: 'string' }, title: { type: 'string' } } },
    count: { type: 'integer' }, actors: { type: 'array', items: author }, message: { type: 'string' },
    read: { type: 'boolean' }, updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;
const me = {
  type: 'object',
  properties: {
    id: { type: 'string' }, username: { type: 'string' }, email: { type: 'string' }, reputation: { type: 'integer' },
    tags: { type: 'array', items: { type: 'string' } },
    digest: { type: 'object', properties: { optIn: { type: 'boolean' }, timeZone: { type: 'string' } } },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;
const token = { type: 'object', properties: { token: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' }, user: me } } as const;

const errors = { 400: errorBody, 401: errorBody, 404: errorBody, 409: errorBody, 413: errorBody, 429: errorBody } as const;
const secured = [{ bearer: [] }];
/** Anonymous or signed in; a token that is sent must be valid. */
const optionalAuth: Record<string, string[]>[] = [{}, { bearer: [] }];
const postParams = { type: 'object', required: ['id'], properties: { id }, additionalProperties: false } as const;

export const S = {
  signup: {
    tags: ['auth'], summary: 'Create an account and get a token',
    body: {
      type: 'object', required: ['username', 'email', 'password'], additionalProperties: false,
      properties: {
        username: { type: 'string', minLength: 3, maxLength: 32, pattern: '^[A-Za-z0-9_]+$' },
        email: { type: 'string', format: 'email', maxLength: 254 },
        password: { type: 'string', minLength: 8, maxLength: 200 },
        tags, timeZone: { type: 'string', format: SINGLE_LINE, maxLength: 64 },
      },
    },
    response: { 201: token, ...errors },
  },
  login: {
    tags: ['auth'], summary: 'Exchange username (or email) and password for a bearer token',
    body: {
      type: 'object', required: ['login', 'password'], additionalProperties: false,
      properties: { login: { type: 'string', format: SINGLE_LINE, minLength: 1, maxLength: 254 }, password: { type: 'string', minLength: 1, maxLength: 200 } },
    },
    response: { 200: token, ...errors },
  },
  me: { tags: ['me'], summary: 'The signed-in user', security: secured, response: { 200: me, ...errors } },
  putTags: {
    tags: ['me'], summary: 'Replace the followed tags', security: secured,
    body: { type: 'object', required: ['tags'], additionalProperties: false, properties: { tags } },
    response: { 200: me, ...errors },
  },
  putDigest: {
    tags: ['me'], summary: 'Weekly digest preferences', security: secured,
    body: {
      type: 'object', additionalProperties: false, minProperties: 1,
      properties: { optIn: { type: 'boolean' }, timeZone: { type: 'string', format: SINGLE_LINE, maxLength: 64 } },
    },
    response: { 200: me, ...errors },
  },
  createPost: {
    tags: ['posts'], summary: 'Publish a post', security: secured,
    body: {
      type: 'object', required: ['title'], additionalProperties: false,
      properties: {
        title: { type: 'string', format: SINGLE_LINE, minLength: 1, maxLength: 300 },
        url: { type: 'string', format: 'uri', pattern: '^https?://', maxLength: 2000 },
        body: { type: 'string', maxLength: 20_000 }, tags,
      },
    },
    response: { 201: post, ...errors },
  },
  getPost: { tags: ['posts'], summary: 'One post', security: optionalAuth, params: postParams, response: { 200: post, ...errors } },
  feed: {
    tags: ['posts'], summary: 'Newest posts in the followed tags', security: secured,
    querystring: { type: 'object', additionalProperties: false, properties: { cursor, limit } },
    response: { 200: page(post), ...errors },
  },
  upvote: { tags: ['engagement'], summary: 'Upvote a post', security: secured, params: postParams, response: { 200: post, 201: post, ...errors } },
  unvote: { tags: ['engagement'], summary: 'Withdraw an upvote', security: secured, params: postParams, response: { 204: { type: 'null' }, ...errors } },
  addComment: {
    tags: ['engagement'], summary: 'Comment on a post', security: secured, params: postParams,
    body: { type: 'object', required: ['body'], additionalProperties: false, properties: { body: { type: 'string', minLength: 1, maxLength: 10_000 } } },
    response: { 201: comment, ...errors },
  },
  listComments: {
    tags: ['engagement'], summary: 'Comments on a post, oldest first', security: optionalAuth, params: postParams,
    querystring: { type: 'object', additionalProperties: false, properties: { cursor, limit } },
    response: { 200: page(comment), ...errors },
  },
  bookmark: { tags: ['engagement'], summary: 'Bookmark a post', security: secured, params: postParams, response: { 200: post, 201: post, ...errors } },
  unbookmark: { tags: ['engagement'], summary: 'Remove a bookmark', security: secured, params: postParams, response: { 204: { type: 'null' }, ...errors } },
  bookmarks: {
    tags: ['engagement'], summary: 'My bookmarks, newest first', security: secured,
    querystring: { type: 'object', additionalProperties: false, properties: { cursor, limit } },
    response: { 200: page(post), ...errors },
  },
  notifications: {
    tags: ['notifications'], summary: 'My notifications, newest first', security: secured,
    querystring: { type: 'object', additionalProperties: false, properties: { unread: { type: 'boolean' }, limit } },
    response: { 200: { type: 'object', properties: { items: { type: 'array', items: notification } } }, ...errors },
  },
  readNotifications: {
    tags: ['notifications'], summary: 'Mark notifications read (the given ids, or all)', security: secured,
    body: {
      type: 'object', additionalProperties: false, minProperties: 1,
      properties: { ids: { type: 'array', items: id, minItems: 1, maxItems: 500 }, all: { type: 'boolean', const: true } },
    },
    response: { 200: { type: 'object', properties: { updated: { type: 'integer' } } }, ...errors },
  },
} as const;
