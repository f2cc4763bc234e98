// The API's error type: an HTTP status plus a stable machine-readable code.
export class ApiError extends Error {
  /** `field` names the request field at fault (`querystring.cursor`), as validation errors do. */
  constructor(readonly statusCode: number, readonly code: string, message: string, readonly field?: string) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string) => new ApiError(404, 'NOT_FOUND', `${what} not found`);
export const unauthorized = (message = 'a valid bearer token is required') => new ApiError(401, 'UNAUTHORIZED', message);
