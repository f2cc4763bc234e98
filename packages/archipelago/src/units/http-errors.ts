// Every error an api or realtime unit answers, before routing (the HTTP parser, a bad URL) or
// after it (validation, a handler's throw), has one shape: `{ "error": { "code", "message" } }`.
import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { fieldOfError } from './validation.js';

export interface ErrorBody { error: { code: string; message: string; field?: string } }

const STATUS_CODES: Record<number, string> = {
  400: 'BAD_REQUEST', 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED', 408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT', 413: 'PAYLOAD_TOO_LARGE', 414: 'URI_TOO_LONG', 415: 'UNSUPPORTED_MEDIA_TYPE', 422: 'UNPROCESSABLE',
  429: 'TOO_MANY_REQUESTS', 431: 'HEADERS_TOO_LARGE', 503: 'UNAVAILABLE',
};

/** Fastify's own error codes, as this API names them. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_BAD_URL: 'BAD_URL',
  FST_ERR_MAX_PARAM_LENGTH: 'URI_TOO_LONG',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
};

type ErrorLike = Partial<FastifyError> & { validationContext?: string; field?: unknown };

export function errorBody(status: number, err: ErrorLike): ErrorBody {
  if (err.validation) {
    const first = err.validation[0];
    const field = first ? fieldOfError(err.validationContext ?? 'request', first as never) : undefined;
    return { error: { code: 'VALIDATION_FAILED', message: err.message ?? 'invalid request', ...(field ? { field } : {}) } };
  }
  // A 5xx the code did not choose deliberately is a bug: its message may leak internals.
  if (status >= 500 && !err.statusCode) return { error: { code: 'INTERNAL', message: 'internal server error' } };
  const own = typeof err.code === 'string' && !err.code.startsWith('FST_') ? err.code : undefined;
  const code = own ?? FASTIFY_CODES[err.code ?? ''] ?? STATUS_CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
  // A thrown error may name the field at fault, as validation does (`querystring.cursor`).
  return { error: { code, message: err.message ?? '', ...(typeof err.field === 'string' ? { field: err.field } : {}) } };
}

export function statusOf(err: ErrorLike): number {
  if (err.validation) return 400;
  return err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
}

/**
 * The root error handler: every scope inherits it, so a plugin's errors get the same shape. Also
 * Fastify's `frameworkErrors` (a URL that does not decode, a path parameter over `maxParamLength`).
 */
export function handleError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const status = statusOf(err);
  if (status >= 500) req.log.error({ err, method: req.method, url: req.url }, 'request failed');
  void reply.code(status).type('application/json').send(errorBody(status, err));
}

export function handleNotFound(req: FastifyRequest, reply: FastifyReply): void {
  void reply.code(404).type('application/json').send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
}

/**
 * Node's `clientError`: the HTTP parser refused the request (headers too large, a bad
 * Content-Length or method, a malformed request line), so there is no request object to answer
 * through; the response is written to the socket, as Node's and Fastify's defaults do, in our shape.
 */
export function handleClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'HEADERS_TOO_LARGE', 'the request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'REQUEST_TIMEOUT', 'the request took too long to arrive']
        : err.code === 'HPE_INVALID_METHOD' ? [405, 'METHOD_NOT_ALLOWED', 'unknown HTTP method']
          : [400, 'BAD_REQUEST', `malformed HTTP request${err.code ? ` (${err.code})` : ''}`] as const;
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
