// The admin API's fleet-operations routes (log, fleet, sites): a fastify plugin, mounted on the control socket and the
// admin HTTP listener; every route is for operators (access.ts), errors from the one table (shared/http/errors.ts).
import type { FastifyInstance } from 'fastify';
import { sendError } from '../../shared/http/errors.js';
import { OPERATOR } from './access.js';
import type { FleetState } from '../agent-api/fleet.js';
import type { EventStore } from '../store/events/service.js';
import type { Vehicle } from '../store/vehicles/schema.js';
import { fleetRow, vehicleDetail, type LastSwitches } from './fleet-view.js';
import { parseLogParams, type LogParams } from './log-query.js';
import { switchLogCsv } from './log-csv.js';
import type { SiteRoutesDeps } from './sites.routes.js';
import { registerSiteRoutes } from './sites.routes.js';

export interface AdminRoutesDeps {
  events: Pick<EventStore, 'query' | 'last'>;
  fleet: FleetState;
  lastSwitches: LastSwitches;
  vehicles: { list(): Promise<Vehicle[]>; get(name: string): Promise<Vehicle | null> };
  sites?: SiteRoutesDeps['sites'];
  drives?: SiteRoutesDeps['drives'];
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
    // A bad parameter throws an InputError: the error table answers 400 INVALID naming it.
    app.get<{ Querystring: LogParams }>('/v1/log', OPERATOR, async (req) => {
      const f = parseLogParams(req.query, now());
      f.limit = Math.min(f.limit ?? 1000, LOG_PAGE_MAX);
      const events = await d.events.query(f);
      const cursor = events.reduce((m, e) => Math.max(m, e.rowid), f.afterRowid ?? 0);
      return { events, cursor };
    });

    /** The same, as CSV for a spreadsheet (log-csv.ts): the filters of /v1/log, at most LOG_PAGE_MAX rows (page with `after`). */
    app.get<{ Querystring: LogParams }>('/v1/log.csv', OPERATOR, async (req, reply) => {
      const f = parseLogParams(req.query, now());
      f.limit = Math.min(f.limit ?? LOG_PAGE_MAX, LOG_PAGE_MAX);
      const events = await d.events.query(f);
      return reply.headers({ 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="roamlink-switch-log.csv"' }).send(switchLogCsv(events));
    });

    app.get('/v1/fleet', OPERATOR, async () => {
      const rows = await Promise.all((await d.vehicles.list()).filter((v) => v.revoked_at === null).map((v) => fleetRow(v, d.fleet, d.lastSwitches)));
      return { vehicles: rows, online: rows.filter((r) => r.online).length, offline_after_ms: d.fleet.offlineAfterMs };
    });

    app.get<{ Params: { name: string } }>('/v1/fleet/:name', OPERATOR, async (req, reply) => {
      const v = await d.vehicles.get(req.params.name);
      if (!v) return sendError(reply, 'VEHICLE_NOT_FOUND', `no vehicle "${req.params.name}"`);
      return vehicleDetail(v, d.fleet, d.lastSwitches);
    });

    if (d.sites) registerSiteRoutes(app, { sites: d.sites, origin: d.origin, drives: d.drives, now });
  };
}
