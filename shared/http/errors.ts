// One table of HTTP error codes for every surface (HQ's admin listener and control socket, the agents' API, the agent's
// control socket): each code documented, each with its status; fastify's own errors keep their real status.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { InputError } from '../errors.js';
import type { Logger } from '../log.js';

/** Every error any roamlink HTTP surface answers with, as `{ error: { code, message, field? } }` and this status. */
export const HTTP_ERRORS = {
  /** The request cannot be read: bad JSON, an empty body where one is needed, a malformed URL or header. */
  BAD_REQUEST: 400,
  /** A parameter or body field is wrong; `field` names it. Nothing was changed or stored. */
  INVALID: 400,
  /** No valid credential: the admin listener wants `Authorization: Bearer TOKEN` (an operator's token). */
  UNAUTHORIZED: 401,
  /** Authenticated, but the route is not open to this caller (or declares no access at all: deny by default). */
  FORBIDDEN: 403,
  /** Agents' API: the source address is not the tunnel address of a registered, non-revoked vehicle. */
  NOT_A_VEHICLE: 403,
  /** Agents' API: the message speaks for another vehicle than the one sending it (`field` names where). */
  WRONG_VEHICLE: 403,
  /** Enrollment: the code is unknown, expired or already used (the message says which). Nothing was changed. */
  ENROLL_REFUSED: 403,
  /** No such route on this surface. */
  NOT_FOUND: 404,
  /** No vehicle of that name. */
  VEHICLE_NOT_FOUND: 404,
  /** No site of that name. */
  SITE_NOT_FOUND: 404,
  /** Agent: no modem is configured. */
  NO_MODEM: 404,
  /** The route exists, but not with this method. */
  METHOD_NOT_ALLOWED: 405,
  /** A site of that name exists already. */
  SITE_EXISTS: 409,
  /** Agents' API: a drive piece starts past what HQ holds of that file; the body's `have` says where to send from. */
  DRIVE_GAP: 409,
  /** Agent: the operator's switch was refused (the message says why: unknown uplink, not ready, a switch under way). */
  SWITCH_REFUSED: 409,
  /** Enrollment: the vehicle cannot be registered as the code says (its name or subnet taken since; `field` names it). */
  ENROLL_CONFLICT: 409,
  /** Too many requests from this address (enrollment): try again after `retry-after` seconds. */
  RATE_LIMITED: 429,
  /** The body is larger than the surface accepts (agents: split the batch). */
  TOO_LARGE: 413,
  /** The URL is longer than MAX_URL_LENGTH. */
  URI_TOO_LONG: 414,
  /** The body's content type is not one the route reads (JSON only). */
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** HQ: the reconcile pass could not read the current state or some change failed; `result` has the details. */
  RECONCILE_FAILED: 500,
  /** Anything unexpected. The message never carries the internal error (that goes to the log); agents retry. */
  INTERNAL: 500,
  /** HQ: a site simulation is already running (they run one at a time, off the event loop), or this one ran past its
   *  time bound and was stopped; the message says which. Try again, or with a shorter window. */
  SIMULATION_BUSY: 503,
  /** HQ: its database cannot be reached now (agents keep their events journaled and retry; HQ reconnects by itself). */
  STORE_UNAVAILABLE: 503,
} as const;
export type HttpErrorCode = keyof typeof HTTP_ERRORS;

/** Longest request target accepted (characters); longer ones get 414 before routing. */
export const MAX_URL_LENGTH = 4096;

export interface HttpErrorBody {
  error: { code: HttpErrorCode; message: string; field?: string };
}

export function errorBody(code: HttpErrorCode, message: string, field?: string): HttpErrorBody {
  return { error: { code, message, ...(field ? { field } : {}) } };
}

/** Answers with `code`'s status and body. */
export function sendError(reply: FastifyReply, code: HttpErrorCode, message: string, field?: string): FastifyReply {
  return reply.code(HTTP_ERRORS[code]).send(errorBody(code, message, field));
}

/** The code for a 4xx status that fastify (or a parser) raised; a status the table lacks reads as BAD_REQUEST (400). */
export function codeForStatus(status: number): HttpErrorCode {
  const generic: Record<number, HttpErrorCode> = {
    400: 'BAD_REQUEST',
    401: 'UNAUTHORIZED',
    403: 'FORBIDDEN',
    404: 'NOT_FOUND',
    405: 'METHOD_NOT_ALLOWED',
    413: 'TOO_LARGE',
    414: 'URI_TOO_LONG',
    415: 'UNSUPPORTED_MEDIA_TYPE',
  };
  return generic[status] ?? 'BAD_REQUEST';
}

export interface ErrorHandlingOptions {
  /** Where a 500's real cause goes (never to the client). */
  log?: Pick<Logger, 'error'>;
  /** Which surface, for the log line ("admin HTTP", "agent API"). */
  surface: string;
  /** Called with every code answered (metrics). */
  onError?: (code: HttpErrorCode) => void;
  /** Whether an error says the store is unreachable (not a bad request): answered 503 STORE_UNAVAILABLE, retry later. */
  unavailable?: (err: unknown) => boolean;
}

/**
 * Installs the table on `app`: unknown routes, fastify's own 4xx (kept at their status), InputError (400 INVALID naming
 * the field), over-long URLs (414), and anything else as a 500 whose message says nothing of the cause.
 */
export function installErrorHandling(app: FastifyInstance, o: ErrorHandlingOptions): void {
  const answer = (reply: FastifyReply, code: HttpErrorCode, message: string, field?: string) => {
    o.onError?.(code);
    return sendError(reply, code, message, field);
  };
  app.addHook('onRequest', async (req, reply) => {
    if (req.url.length > MAX_URL_LENGTH) return answer(reply, 'URI_TOO_LONG', `the URL is longer than ${MAX_URL_LENGTH} characters`);
  });
  app.setNotFoundHandler((req, reply) => answer(reply, 'NOT_FOUND', `no route ${req.method} ${req.url.slice(0, 200)}`));
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    if (err instanceof InputError) {
      const prefix = err.field ? `${err.field}: ` : '';
      return answer(reply, 'INVALID', prefix && err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message, err.field);
    }
    if (o.unavailable?.(err)) {
      o.log?.error({ err: err.message }, `${o.surface}: the store is unavailable`);
      reply.header('retry-after', '5');
      return answer(reply, 'STORE_UNAVAILABLE', 'the store is unavailable now: retry later');
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = codeForStatus(status);
      o.onError?.(code);
      return reply.code(status).send(errorBody(code, err.message));
    }
    o.log?.error({ err: err.message }, `${o.surface} error`);
    return answer(reply, 'INTERNAL', 'internal error (see the daemon log)');
  });
}
