// Authorization decided on the route that matched, never on the raw URL: every route declares its access in its
// config, and a hook denies whatever declares none (unknown routes included). Deny by default.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendError } from '../../shared/http/errors.js';

/** Who may call a route: anyone (the dashboard's static files), an operator (a token, or the root-only socket). */
export type Access = 'public' | 'operator';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** The operator the request was authenticated as ('' when none): the audit's name comes from here. */
    operator: string;
  }
}

/** Route options declaring access (`app.get(path, OPERATOR, handler)`). */
export const OPERATOR = { config: { access: 'operator' as Access } };
export const PUBLIC = { config: { access: 'public' as Access } };

/** How a surface authenticates an operator: the operator's name, or null. */
export type Authenticate = (req: FastifyRequest) => string | null;

/** The access the matched route declared; undefined for an unknown route or one that declared nothing. */
export function routeAccess(req: FastifyRequest): Access | undefined {
  if (req.routeOptions.url === undefined) return undefined;
  return req.routeOptions.config?.access;
}

/**
 * Installs the guard on `app` (before any route is added): public routes pass; operator routes need `authenticate` to
 * name an operator (401 otherwise); anything else is refused: 401 without a credential (an unknown route tells an
 * anonymous caller nothing), 404 for an unknown route with one, 403 for a route that declares no access.
 */
export function installAccessGuard(app: FastifyInstance, authenticate: Authenticate): void {
  app.decorateRequest('operator', '');
  app.addHook('onRequest', async (req, reply) => {
    const access = routeAccess(req);
    if (access === 'public') return;
    const who = authenticate(req);
    if (who === null) {
      return sendError(reply.header('www-authenticate', 'Bearer realm="roamlink"'), 'UNAUTHORIZED', 'a valid operator token is needed (Authorization: Bearer TOKEN)');
    }
    req.operator = who;
    reply.header('cache-control', 'no-store');
    if (access === 'operator') return;
    if (req.routeOptions.url === undefined) return; // the not-found handler answers 404
    return sendError(reply, 'FORBIDDEN', `${req.method} ${req.routeOptions.url} declares no access`);
  });
}
