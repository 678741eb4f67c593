// The admin API's fleet-operations routes (log, fleet and its stream, LTE per day, sites, vehicles added and revoked): a fastify plugin, mounted on the control socket and the
// admin HTTP listener; every route is for operators (access.ts), errors from the one table (shared/http/errors.ts).
import type { FastifyInstance } from 'fastify';
import { sendError } from '../../shared/http/errors.js';
import { InputError } from '../../shared/errors.js';
import { OPERATOR } from './access.js';
import type { FleetState } from '../agent-api/fleet.js';
import type { EventStore } from '../store/events/service.js';
import type { Vehicle } from '../store/vehicles/schema.js';
import { fleetRow, vehicleDetail, type LastSwitches } from './fleet-view.js';
import { parseLogParams, type LogParams } from './log-query.js';
import { switchLogCsv } from './log-csv.js';
import type { SiteRoutesDeps } from './sites.routes.js';
import { registerSiteRoutes } from './sites.routes.js';
import { registerVehicleRoutes, type VehicleRoutesDeps } from './vehicles.routes.js';
import { FleetFeed, type FleetPayload } from './fleet-feed.js';
import { realClock, type Timer } from '../../shared/clock.js';
import { utcDay } from '../agent-api/fleet.js';

export interface AdminRoutesDeps {
  events: Pick<EventStore, 'query' | 'last'>;
  fleet: FleetState;
  lastSwitches: LastSwitches;
  vehicles: { list(): Promise<Vehicle[]>; get(name: string): Promise<Vehicle | null> };
  sites?: SiteRoutesDeps['sites'];
  drives?: SiteRoutesDeps['drives'];
  /** Who changes made through this listener come from, for the sites' audit. */
  origin?: string;
  /** Adding and revoking vehicles (absent: those routes are not offered). */
  registry?: Omit<VehicleRoutesDeps, 'origin'>;
  now?: () => number;
  /** The fleet stream's waits (realClock; a SimClock in tests). */
  timer?: Timer;
  /** How often the fleet stream looks for changes (default 1 s). */
  streamTickMs?: number;
}

/** Days the LTE table shows at most. */
export const LTE_DAYS_MAX = 31;

/** The last `n` UTC days up to `now`'s, oldest first. */
export function lastDays(now: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => utcDay(now - (n - 1 - i) * 86_400_000));
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

    const readFleet = async (): Promise<FleetPayload> => {
      const rows = await Promise.all((await d.vehicles.list()).filter((v) => v.revoked_at === null).map((v) => fleetRow(v, d.fleet, d.lastSwitches)));
      return { vehicles: rows, online: rows.filter((r) => r.online).length, offline_after_ms: d.fleet.offlineAfterMs };
    };
    app.get('/v1/fleet', OPERATOR, readFleet);

    // Pushed to the dashboard (server-sent events) instead of polled: a change in heartbeats, switches, online count or
    // the registry is sent within streamTickMs, only the rows that changed. The token goes in the Authorization header
    // (the page reads the stream with fetch: EventSource cannot send one), so the access guard decides as for any route.
    let registryChanges = 0;
    const feed = new FleetFeed({
      read: readFleet,
      signature: () => `${d.fleet.version}:${d.lastSwitches.version}:${d.fleet.onlineCount()}:${registryChanges}`,
      timer: d.timer ?? realClock,
      tickMs: d.streamTickMs ?? 1000,
      now,
      onError: (err) => app.log.warn({ err: err.message }, 'fleet stream: reading the fleet failed (next look retries)'),
    });
    app.addHook('preClose', async () => feed.close((send) => send('')));
    app.get('/v1/fleet-stream', OPERATOR, (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write(`retry: 3000\n\n`);
      const unsubscribe = feed.subscribe((chunk) => {
        if (chunk === '') res.end();
        else res.write(chunk);
      });
      req.raw.on('close', unsubscribe);
    });

    /** LTE bytes per vehicle per UTC day, the last `days` days (default 7), from the heartbeats' counters. */
    app.get<{ Querystring: { days?: string } }>('/v1/lte-days', OPERATOR, async (req) => {
      const n = req.query.days === undefined ? 7 : Number(req.query.days);
      if (!Number.isInteger(n) || n < 1 || n > LTE_DAYS_MAX) throw new InputError(`must be 1 to ${LTE_DAYS_MAX}`, 'days');
      const days = lastDays(now(), n);
      const vehicles = (await d.vehicles.list())
        .filter((v) => v.revoked_at === null)
        .map((v) => {
          const by = new Map(d.fleet.lteDays(v.name).map((x) => [x.day, x.bytes]));
          return { name: v.name, bytes: days.map((day) => by.get(day) ?? null) };
        });
      return { days, vehicles };
    });

    app.get<{ Params: { name: string } }>('/v1/fleet/:name', OPERATOR, async (req, reply) => {
      const v = await d.vehicles.get(req.params.name);
      if (!v) return sendError(reply, 'VEHICLE_NOT_FOUND', `no vehicle "${req.params.name}"`);
      return vehicleDetail(v, d.fleet, d.lastSwitches);
    });

    if (d.sites) registerSiteRoutes(app, { sites: d.sites, origin: d.origin, drives: d.drives, now });
    if (d.registry) {
      const r = d.registry;
      registerVehicleRoutes(app, {
        ...r,
        origin: d.origin ?? 'admin',
        changed: (vehicle, how) => {
          registryChanges++;
          if (how === 'revoked') d.fleet.forget(vehicle);
          r.changed?.(vehicle, how);
        },
      });
    }
  };
}
