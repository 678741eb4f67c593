// The admin API through app.inject(): health, vehicles (with live peer state), reconcile, and the error table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { build, type AppOptions } from '../../concentrator/app.js';
import { openDb } from '../../concentrator/store/db.js';
import { VehicleService } from '../../concentrator/store/vehicles/service.js';
import type { ReconcileResult } from '../../concentrator/reconcile/reconciler.js';
import { createLogger } from '../../shared/log.js';

const K = (n: number) => Buffer.alloc(32, n).toString('base64');

async function setup(t: { after: (fn: () => unknown) => void }, over: Partial<AppOptions> = {}) {
  const db = openDb(':memory:');
  const vehicles = new VehicleService(db, { tunnelNetwork: '10.99.0.0/24', now: () => new Date('2026-11-21T10:00:00Z') });
  (await vehicles.add({ name: 'bus-7', subnet: '10.20.7.0/24', publicKey: K(1), site: 'depot' }));
  (await vehicles.add({ name: 'old', subnet: '10.20.8.0/24', publicKey: K(2) }));
  (await vehicles.revoke('old'));
  let last: ReconcileResult | null = null;
  let passes = 0;
  const app = build({
    vehicles,
    reconcile: async () => {
      passes++;
      return (last = { at: '2026-11-21T10:00:01.000Z', ok: true, changes: [{ change: { kind: 'route.replace', dst: '10.20.7.0/24' }, ok: true }] });
    },
    lastReconcile: () => last,
    health: () => ({ interface: 'rl-hq0', implementation: 'wireguard-go', public_key: K(100), tunnel_address: '10.99.0.1', listen_port: 51820 }),
    peers: async () => [
      { publicKey: K(1), hasPresharedKey: false, endpoint: '198.51.100.7:40000', allowedIps: ['10.99.0.2/32', '10.20.7.0/24'], latestHandshake: 1795251522, rxBytes: 10, txBytes: 20, keepalive: null },
    ],
    ...over,
  });
  t.after(async () => {
    await app.close();
    db.close();
  });
  return { app, passes: () => passes };
}

test('GET /v1/health: not ok before the first reconcile, ok after', async (t) => {
  const { app } = await setup(t);
  let r = await app.inject({ method: 'GET', url: '/v1/health' });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.json(), {
    ok: false, interface: 'rl-hq0', implementation: 'wireguard-go', public_key: K(100), tunnel_address: '10.99.0.1', listen_port: 51820,
    vehicles_active: 1, last_reconcile: null,
  });
  await app.inject({ method: 'POST', url: '/v1/reconcile' });
  r = await app.inject({ method: 'GET', url: '/v1/health' });
  assert.equal(r.json().ok, true);
  assert.deepEqual(r.json().last_reconcile, { at: '2026-11-21T10:00:01.000Z', ok: true, changes: 1, error: null });
});

test('GET /v1/vehicles lists all, live peer state on active ones', async (t) => {
  const { app } = await setup(t);
  const r = await app.inject({ method: 'GET', url: '/v1/vehicles' });
  assert.equal(r.statusCode, 200);
  const { vehicles } = r.json() as { vehicles: Array<Record<string, unknown>> };
  assert.deepEqual(vehicles.map((v) => [v.name, v.tunnel_address, v.subnet, v.revoked_at === null]), [['bus-7', '10.99.0.2', '10.20.7.0/24', true], ['old', '10.99.0.3', '10.20.8.0/24', false]]);
  assert.deepEqual(vehicles[0]!.peer, { endpoint: '198.51.100.7:40000', latest_handshake: '2026-11-21T08:58:42.000Z', rx_bytes: 10, tx_bytes: 20 });
  assert.equal(vehicles[1]!.peer, undefined);
});

test('GET /v1/vehicles still answers when wg cannot be read (no live state)', async (t) => {
  const { app } = await setup(t, { peers: async () => { throw new Error('no wg'); } });
  const r = await app.inject({ method: 'GET', url: '/v1/vehicles/bus-7' });
  assert.equal(r.statusCode, 200);
  assert.equal(r.json().name, 'bus-7');
  assert.equal(r.json().peer, undefined);
});

test('GET /v1/vehicles/:name, and the error codes', async (t) => {
  const { app } = await setup(t);
  assert.equal((await app.inject({ method: 'GET', url: '/v1/vehicles/bus-7' })).json().site, 'depot');
  const missing = await app.inject({ method: 'GET', url: '/v1/vehicles/nope' });
  assert.equal(missing.statusCode, 404);
  assert.deepEqual(missing.json(), { error: { code: 'VEHICLE_NOT_FOUND', message: 'no vehicle "nope"' } });
  const route = await app.inject({ method: 'GET', url: '/v1/nothing' });
  assert.equal(route.statusCode, 404);
  assert.equal(route.json().error.code, 'NOT_FOUND');
});

test('POST /v1/reconcile runs a pass; a failed pass is a 500 RECONCILE_FAILED with the result', async (t) => {
  const { app, passes } = await setup(t);
  const r = await app.inject({ method: 'POST', url: '/v1/reconcile' });
  assert.equal(r.statusCode, 200);
  assert.equal(r.json().ok, true);
  assert.equal(passes(), 1);

  const failing = await setup(t, { reconcile: async () => ({ at: 'x', ok: false, changes: [], error: 'Unable to access interface' }) });
  const f = await failing.app.inject({ method: 'POST', url: '/v1/reconcile' });
  assert.equal(f.statusCode, 500);
  assert.equal(f.json().error.code, 'RECONCILE_FAILED');
  assert.equal(f.json().error.message, 'Unable to access interface');
  assert.equal(f.json().result.ok, false);
});

test('logs go through our pino (JSON lines), without request noise', async (t) => {
  const lines: string[] = [];
  const destination = new Writable({ write(chunk, _enc, cb) { lines.push(...String(chunk).split('\n').filter(Boolean)); cb(); } });
  const log = createLogger({ name: 'hq', level: 'info', destination, time: () => 0 });
  const { app } = await setup(t, { logger: log, reconcile: async () => { throw new Error('boom'); } });
  const r = await app.inject({ method: 'POST', url: '/v1/reconcile' });
  assert.equal(r.statusCode, 500);
  assert.equal(r.json().error.code, 'INTERNAL');
  const parsed = lines.map((l) => JSON.parse(l) as { msg: string; err?: string; name: string });
  assert.deepEqual(parsed.map((p) => [p.name, p.msg, p.err]), [['hq', 'admin API error', 'boom']]);
});
