// The admin API's fleet-operations routes (log, fleet, sites): a fastify plugin, mounted on the control socket and the admin HTTP listener.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { InputError } from '../../shared/errors.js';
import type { FleetState } from '../agent-api/fleet.js';
import type { EventStore } from '../store/events/service.js';
import type { Vehicle } from '../store/vehicles/schema.js';
import { fleetRow, vehicleDetail, type LastSwitches } from './fleet-view.js';
import { parseLogParams, type LogParams } from './log-query.js';
import type { SiteRoutesDeps } from './sites.routes.js';
import { registerSiteRoutes } from './sites.routes.js';

/** Errors these routes add to the admin API's table (`{ error: { code, message, field? } }`). */
export const ADMIN_OPS_ERRORS = {
  /** A parameter or body field is wrong; `field` names it. Nothing was changed. */
  INVALID: 400,
  /** No vehicle of that name. */
  VEHICLE_NOT_FOUND: 404,
  /** No site of that name. */
  SITE_NOT_FOUND: 404,
  /** A site of that name exists already. */
  SITE_EXISTS: 409,
} as const;
export type AdminOpsErrorCode = keyof typeof ADMIN_OPS_ERRORS;

export function opsError(reply: FastifyReply, code: AdminOpsErrorCode, message: string, field?: string) {
  return reply.code(ADMIN_OPS_ERRORS[code]).send({ error: { code, message, ...(field ? { field } : {}) } });
}

/** Runs `fn`; an InputError becomes a 400 naming its field. */
export async function checked<T>(reply: FastifyReply, fn: () => T | Promise<T>): Promise<T | FastifyReply> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof InputError) {
      const prefix = err.field ? `${err.field}: ` : '';
      return opsError(reply, 'INVALID', prefix && err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message, err.field);
    }
    throw err;
  }
}

export interface AdminRoutesDeps {
  events: Pick<EventStore, 'query' | 'last'>;
  fleet: FleetState;
  lastSwitches: LastSwitches;
  vehicles: { list(): Vehicle[]; get(name: string): Vehicle | null };
  sites?: SiteRoutesDeps['sites'];
  /** Who changes made through this listener come from, for the sites' audit. */
  origin?: string;
  now?: () => number;
}

/** Most events one GET /v1/log returns (page with `after`). */
export const LOG_PAGE_MAX = 10_000;

export function adminRoutes(d: AdminRoutesDeps) {
  const now = d.now ?? Date.now;
  return async function plugin(app: FastifyInstance): Promise<void> {
    /** The switch log, filtered; `cursor` is the last row's (pass it as `after` to read on, in stored order). */
    app.get<{ Querystring: LogParams }>('/v1/log', async (req, reply) =>
      checked(reply, () => {
        const f = parseLogParams(req.query, now());
        f.limit = Math.min(f.limit ?? 1000, LOG_PAGE_MAX);
        const events = d.events.query(f);
        const cursor = events.reduce((m, e) => Math.max(m, e.rowid), f.afterRowid ?? 0);
        return { events, cursor };
      }),
    );

    app.get('/v1/fleet', async () => {
      const rows = d.vehicles.list().filter((v) => v.revoked_at === null).map((v) => fleetRow(v, d.fleet, d.lastSwitches));
      return { vehicles: rows, online: rows.filter((r) => r.online).length, offline_after_ms: d.fleet.offlineAfterMs };
    });

    app.get<{ Params: { name: string } }>('/v1/fleet/:name', async (req, reply) => {
      const v = d.vehicles.get(req.params.name);
      if (!v) return opsError(reply, 'VEHICLE_NOT_FOUND', `no vehicle "${req.params.name}"`);
      return vehicleDetail(v, d.fleet, d.lastSwitches);
    });

    if (d.sites) registerSiteRoutes(app, { sites: d.sites, origin: d.origin });
  };
}
