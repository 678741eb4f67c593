// A concentrator's admin HTTP listener with a small fleet in memory, for the dashboard tests (no tests of its own).
import { buildAdminHttp } from '../../concentrator/admin/http.js';
import { OperatorTable, tokenHash } from '../../concentrator/admin/operators.js';
import { LastSwitches } from '../../concentrator/admin/fleet-view.js';
import { FleetState } from '../../concentrator/agent-api/fleet.js';
import { HqMetrics } from '../../concentrator/metrics/hq.metrics.js';
import { openDb } from '../../concentrator/store/db.js';
import { openEventsDb } from '../../concentrator/store/events/db.js';
import { EventStore } from '../../concentrator/store/events/service.js';
import { openSitesDb } from '../../concentrator/store/sites/db.js';
import { SiteService } from '../../concentrator/store/sites/service.js';
import { VehicleService } from '../../concentrator/store/vehicles/service.js';
import { EnrollmentService } from '../../concentrator/store/enrollments/service.js';
import { heartbeatSchema } from '../../shared/wire/heartbeat.js';
import type { Logger } from '../../shared/log.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openDrivesDb } from '../../concentrator/store/drives/db.js';
import { SqliteDriveStore } from '../../concentrator/store/drives/service.js';
import { ev, whyOf } from './events.fixtures.test.js';

/** ann's token; bob has his own. */
export const TOKEN = 'test-token-0123456789abcdef';
export const TOKEN_BOB = 'test-token-bob-9876543210fedcba';
const K = (n: number) => Buffer.alloc(32, n).toString('base64');

export async function dashboardFixture(opts: { logger?: Logger; tls?: { cert: string; key: string } } = {}) {
  const now = Date.now();
  const db = openDb(':memory:');
  const vehicles = new VehicleService(db, { tunnelNetwork: '10.99.0.0/24' });
  (await vehicles.add({ name: 'bus-7', subnet: '10.20.7.0/24', publicKey: K(1), site: 'depot' }));
  (await vehicles.add({ name: 'van-2', subnet: '10.20.8.0/24', publicKey: K(2) }));
  const events = new EventStore(openEventsDb(':memory:'));
  const at = (msAgo: number) => new Date(now - msAgo).toISOString();
  (await events.ingest([
    ev(1, { at: at(40 * 60_000), from: null, to: 'wlan0', reason: 'initial', site: 'depot' }),
    ev(2, { at: at(20 * 60_000), from: 'wlan0', to: 'wlan1', reason: 'signal', site: 'depot', why: whyOf('wlan0 below -75 dBm for 1 s') }),
    ev(3, { at: at(5 * 60_000), from: 'wlan1', to: 'wwan0', reason: 'carrier-loss', site: null }),
  ]));
  let t = now - 60_000;
  const fleet = new FleetState({ offlineAfterMs: 15_000, now: () => t });
  for (let i = 0; i < 12; i++) {
    t = now - 60_000 + i * 5000;
    fleet.heartbeat(heartbeatSchema.parse({
      vehicle: 'bus-7', at: new Date(t).toISOString(), active: 'wwan0', site: 'depot', journal_backlog: 0,
      uplinks: [
        { name: 'wlan0', kind: 'wifi', state: 'ready', ready: true, signal: -60 - i, rtt_ms: 10, ap: { ssid: 'depot', bssid: '02:00:00:00:00:01' } },
        { name: 'wwan0', kind: 'lte', state: 'ready', ready: true, signal: -95 + (i % 3), rtt_ms: 45, rx_bytes: 1e9 + i * 150_000, tx_bytes: 5e8 + i * 50_000 },
      ],
      // The vehicle computer's health, from the last heartbeat on (the agent sends it once HQ said it takes it).
      health: i === 11 ? { at: new Date(t).toISOString(), cpu_temp_c: 71.5, load1: 0.42, cpus: 4, disk_total_bytes: 32e9, disk_free_bytes: 8e9 } : null,
      modem: { balance: 12.5, currency: 'EUR' },
    }));
  }
  t = now;
  const sites = new SiteService(openSitesDb(':memory:'));
  (await sites.add({ name: 'depot', match: { ssid: ['depot'] }, profile: { switch_below: -70, hysteresis_db: 4, hold_ms: 500, dwell_ms: 1000 } }, 'cli:root'));
  // bus-7's flapping drive at the depot an hour ago, as HQ stores what the agent shipped: what a simulation replays.
  const drives = new SqliteDriveStore(openDrivesDb(':memory:')!);
  const lines = readFileSync(fileURLToPath(new URL('../../../test/fixtures/drive/lab-flap.jsonl', import.meta.url)), 'utf8').split('\n');
  const h = JSON.parse(lines[0]!) as Record<string, unknown>;
  delete h.origin_wall;
  delete h.until_wall;
  lines[0] = JSON.stringify({ ...h, vehicle: 'bus-7', start_wall: now - 3_600_000, site: 'depot' });
  (await drives.append({ vehicle: 'bus-7', segment: 'drive-1.jsonl', offset: 0, text: lines.join('\n'), start_wall: now - 3_600_000, last_t: (JSON.parse(lines.at(-2)!) as { t: number }).t, sites: ['depot'] }, now));
  const lastSwitches = new LastSwitches(events);
  const registered = (await vehicles.active()).length;
  const metrics = new HqMetrics({ fleet, registered: () => registered });
  const operators = new OperatorTable([{ name: 'ann', sha256: tokenHash(TOKEN) }, { name: 'bob', sha256: tokenHash(TOKEN_BOB) }]);
  const enrollments = new EnrollmentService(vehicles.store);
  const changed: string[] = [];
  const registry = { vehicles, enrollments, enrollTarget: async () => ({ hq: 'hq.example.net:8444', pin: null }), changed: (v: string, how: string) => void changed.push(`${how} ${v}`) };
  const app = buildAdminHttp({ operators, metrics, events, fleet, lastSwitches, vehicles, sites, drives, registry, origin: 'dashboard', logger: opts.logger, tls: opts.tls, streamTickMs: 200 });
  return { app, operators, sites, events, fleet, drives, vehicles, enrollments, changed, close: async () => { await app.close(); db.close(); drives.close(); } };
}
