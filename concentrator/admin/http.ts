// The admin HTTP listener on TCP (admin_listen): the dashboard's static pages, the JSON API (log, fleet, sites) and
// /metrics, all but the static files behind the bearer token.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../../shared/log.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../shared/wire/prometheus.js';
import { loadDashboard, type Asset } from '../dashboard/assets.js';
import { adminRoutes, type AdminRoutesDeps } from './routes.js';
import { bearerMatches } from './token.js';

export interface AdminHttpOptions extends AdminRoutesDeps {
  token: string;
  metrics: { render(): string };
  /** The dashboard's files (default: read from concentrator/dashboard/static). */
  dashboard?: Map<string, Asset>;
  logger?: Logger;
}

/** The pages only load what they ship with, and never run in a frame. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export function buildAdminHttp(o: AdminHttpOptions): FastifyInstance {
  const app = o.logger
    ? Fastify({ loggerInstance: o.logger as unknown as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) })
    : Fastify({ logger: false });
  const files = o.dashboard ?? loadDashboard();

  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (!(path.startsWith('/v1/') || path === '/metrics')) return;
    if (!bearerMatches(req.headers.authorization, o.token)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="roamlink"')
        .send({ error: { code: 'UNAUTHORIZED', message: 'a valid admin token is needed (Authorization: Bearer TOKEN)' } });
    }
    reply.header('cache-control', 'no-store');
  });

  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` } }));
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.code(400).send({ error: { code: 'BAD_REQUEST', message: err.message } });
    app.log.error({ err: err.message }, 'admin HTTP error');
    return reply.code(500).send({ error: { code: 'INTERNAL', message: err.message } });
  });

  for (const [path, asset] of files) {
    app.get(path, async (_req, reply) => reply.headers({ ...PAGE_HEADERS, 'content-type': asset.type, 'cache-control': 'no-cache' }).send(asset.body));
  }

  app.get('/metrics', async (_req, reply) => reply.header('content-type', PROMETHEUS_CONTENT_TYPE).send(o.metrics.render()));

  app.register(adminRoutes(o));
  return app;
}

/** host:port (IPv6 in brackets) to listen options. */
export function listenAddress(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(text.slice(i + 1)) };
}
