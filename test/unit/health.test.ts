// Host health end to end: the pure readings (thermal zones, USB identity), the host driver on a fixture /sys, the
// sampler's pace on a simulated clock, `roamlink status`'s line, and the heartbeat carrying it only to an HQ that said it
// takes it (an older HQ refuses unknown fields), stored at HQ and shown in the fleet row and /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hottestZone, usbIdentity } from '../../agent/drivers/host/host.parse.js';
import { createHostDriver, type HostDriver } from '../../agent/drivers/host/host.driver.js';
import { HealthSampler, healthLine } from '../../agent/ship/health.js';
import { heartbeatFrom } from '../../agent/ship/heartbeat.js';
import { startFleetLink } from '../../agent/ship/fleet-link.js';
import type { UplinkStatus } from '../../agent/machines/uplink.machine.js';
import { buildAgentApi } from '../../concentrator/agent-api/app.js';
import { FleetState } from '../../concentrator/agent-api/fleet.js';
import { fleetRow, LastSwitches } from '../../concentrator/admin/fleet-view.js';
import { HqMetrics } from '../../concentrator/metrics/hq.metrics.js';
import { SimClock } from '../../shared/clock.js';
import { createLogger } from '../../shared/log.js';
import { heartbeatSchema } from '../../shared/wire/heartbeat.js';
import { hostHealthSchema, type HostHealth } from '../../shared/wire/host-health.js';
import { parseAgentConfig } from '../../shared/config/agent.js';

const H: HostHealth = hostHealthSchema.parse({
  at: '2026-12-03T10:00:00.000Z', cpu_temp_c: 71.5, load1: 0.42, cpus: 4, mem_total_bytes: 4e9, mem_available_bytes: 1.5e9,
  disk_total_bytes: 32e9, disk_free_bytes: 20.25e9, uptime_s: 3 * 86_400 + 4 * 3600 + 60,
  modem_usb: { vendor_id: '2c7c', product_id: '0125', manufacturer: 'Quectel', product: 'EC25' },
});

test('hottestZone: the hottest plausible zone in °C; unwired zones (0, sentinels) and unreadable ones are skipped', () => {
  const table: Array<[Array<string | null>, number | null]> = [
    [['45000\n', '71500\n'], 71.5],
    [['0\n', '-274000\n', null, 'garbage'], null],
    [[], null],
    [['38250'], 38.3],
  ];
  for (const [given, want] of table) assert.equal(hottestZone(given), want, JSON.stringify(given));
});

test('usbIdentity: 4-hex ids (lower case) or nothing; names printable and bounded', () => {
  assert.deepEqual(usbIdentity({ idVendor: '2C7C\n', idProduct: '0125\n', manufacturer: 'Quectel\n', product: 'EC25\u0007 LTE\n' }),
    { vendor_id: '2c7c', product_id: '0125', manufacturer: 'Quectel', product: 'EC25 LTE' });
  assert.equal(usbIdentity({ idVendor: 'zz', idProduct: '0125', manufacturer: null, product: null }), null);
  assert.equal(usbIdentity({ idVendor: '2c7c', idProduct: null, manufacturer: null, product: null }), null);
  assert.equal(usbIdentity({ idVendor: '2c7c', idProduct: '0125', manufacturer: 'x'.repeat(200), product: '' })!.manufacturer!.length, 64);
});

test('the host driver on a fixture /sys: hottest zone, the modem\'s USB device found from its by-id link, statfs of state_dir, memory', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'rl-host-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const sys = join(root, 'sys');
  for (const [zone, temp] of [['thermal_zone0', '48000'], ['thermal_zone1', '67250']]) {
    mkdirSync(join(sys, 'class/thermal', zone), { recursive: true });
    writeFileSync(join(sys, 'class/thermal', zone, 'temp'), `${temp}\n`);
  }
  const usbDev = join(sys, 'devices/pci0000:00/usb1/1-1');
  mkdirSync(join(usbDev, '1-1:1.2/ttyUSB2'), { recursive: true });
  for (const [f, v] of [['idVendor', '2c7c'], ['idProduct', '0125'], ['manufacturer', 'Quectel'], ['product', 'EC25']]) writeFileSync(join(usbDev, f!), `${v}\n`);
  mkdirSync(join(sys, 'class/tty/ttyUSB2'), { recursive: true });
  symlinkSync(join(usbDev, '1-1:1.2'), join(sys, 'class/tty/ttyUSB2/device'));
  mkdirSync(join(root, 'dev/serial/by-id'), { recursive: true });
  writeFileSync(join(root, 'dev/ttyUSB2'), '');
  symlinkSync(join(root, 'dev/ttyUSB2'), join(root, 'dev/serial/by-id/usb-Quectel_EC25-if02-port0'));

  const d = createHostDriver({ stateDir: root, modemDevice: join(root, 'dev/serial/by-id/usb-Quectel_EC25-if02-port0'), sysRoot: sys, wallNow: () => Date.UTC(2026, 11, 3, 10) });
  const h = hostHealthSchema.parse(await d.sample(new AbortController().signal));
  assert.equal(h.at, '2026-12-03T10:00:00.000Z');
  assert.equal(h.cpu_temp_c, 67.3);
  assert.deepEqual(h.modem_usb, { vendor_id: '2c7c', product_id: '0125', manufacturer: 'Quectel', product: 'EC25' });
  assert.ok(h.disk_total_bytes! > 0 && h.disk_free_bytes! > 0 && h.disk_free_bytes! <= h.disk_total_bytes!, 'statfs of state_dir');
  assert.ok(h.mem_total_bytes! > 0 && h.mem_available_bytes! > 0 && h.mem_available_bytes! <= h.mem_total_bytes!, 'systeminformation mem()');
  assert.ok(h.uptime_s! > 0 && h.load1! >= 0 && h.cpus! >= 1);

  // No modem on USB (a built-in or absent one), no thermal zones: nulls, not errors.
  const bare = await createHostDriver({ stateDir: join(root, 'missing'), modemDevice: '/dev/ttyNOPE', sysRoot: join(root, 'nosys') }).sample(new AbortController().signal);
  assert.deepEqual([bare.cpu_temp_c, bare.modem_usb, bare.disk_free_bytes], [null, null, null]);
});

test('HealthSampler: a sample at start, then one interval after each ends, never two at once; latest() the last good one', async () => {
  const clock = new SimClock();
  let calls = 0;
  let inflight = 0;
  let fail = false;
  const driver: HostDriver = {
    async sample() {
      calls++;
      inflight++;
      assert.equal(inflight, 1, 'one sample at a time');
      await sleep(1);
      inflight--;
      if (fail) throw new Error('boom');
      return { ...H, load1: calls };
    },
  };
  const errors: string[] = [];
  const s = new HealthSampler({ driver, timer: clock, intervalMs: 60_000, onError: (e) => errors.push(e.message) });
  assert.equal(s.latest(), null);
  s.start();
  await sleep(5);
  assert.equal(s.latest()?.load1, 1);
  await clock.advance(59_000);
  assert.equal(calls, 1, 'not before the interval');
  await clock.advance(1000);
  await sleep(5);
  assert.equal(calls, 2);
  fail = true;
  await clock.advance(60_000);
  await sleep(5);
  assert.deepEqual([calls, s.latest()?.load1, errors], [3, 2, ['boom']], 'a failed sample keeps the last good one');
  await s.stop();
  await clock.advance(600_000);
  assert.equal(calls, 3, 'stopped: no more samples');
});

test('healthLine: what roamlink status prints', () => {
  assert.equal(healthLine(H), 'host: 71.5 °C, load 0.42 (4 cpus), memory 1.5 GB free of 4.0 GB, disk 20.3 GB free of 32.0 GB, up 3 d 4 h, modem USB 2c7c:0125 Quectel EC25 (sampled 2026-12-03T10:00:00.000Z)');
  assert.equal(healthLine({ ...H, cpu_temp_c: null, modem_usb: null, uptime_s: 150 }).split(' (sampled')[0], 'host: temperature ?, load 0.42 (4 cpus), memory 1.5 GB free of 4.0 GB, disk 20.3 GB free of 32.0 GB, up 2 min');
  assert.match(healthLine(null), /no sample yet/);
});

test('the agent config: health on by default every 60 s; a too-short interval is named', () => {
  const minimal = {
    vehicle: 'bus-7',
    wireguard: { interface: 'rl-wg0', private_key_file: '/etc/roamlink/agent.key', address: '10.99.0.2' },
    concentrator: { endpoint: '198.51.100.7:51820', public_key: 'vBwEETu5b+Q42o8jdYbZf9+mTrdGdXZWs4hvdqy4WX4=', tunnel_address: '10.99.0.1' },
    uplinks: [{ name: 'wwan0', kind: 'lte' }],
  };
  assert.deepEqual(parseAgentConfig(minimal).health, { enabled: true, interval_ms: 60_000 });
  assert.deepEqual(parseAgentConfig({ ...minimal, health: { enabled: false } }).health, { enabled: false, interval_ms: 60_000 });
  assert.throws(() => parseAgentConfig({ ...minimal, health: { interval_ms: 100 } }), /health\.interval_ms/);
});

const status = (name: string, kind: UplinkStatus['kind']): UplinkStatus => ({
  name, slot: 1, kind, phase: 'ready', carrier: true, lease: null, ready: true, rttMs: 10, lastOkAt: 0, misses: 0, ap: null,
});

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('heartbeats carry health only once HQ said it takes it: an older HQ (strict, no health) refuses none; a new one stores and shows it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-health-link-'));
  let now = Date.UTC(2026, 11, 3, 10);
  const fleet = new FleetState({ offlineAfterMs: 15_000, now: () => now });
  const newHq = buildAgentApi({ identify: async () => ({ name: 'bus-7' }), ingest: async () => ({ inserted: [], duplicates: 0 }), fleet });
  // An HQ from before health: the same schema without the field (strict), and a reply without the flag.
  const oldSchema = heartbeatSchema.omit({ health: true });
  const seen: Array<{ hq: string; health: boolean; ok: boolean }> = [];
  let old = true;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    if (req.url === '/v1/heartbeat') {
      const hasHealth = 'health' in JSON.parse(body);
      if (old) {
        const ok = oldSchema.safeParse(JSON.parse(body)).success;
        seen.push({ hq: 'old', health: hasHealth, ok });
        res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(ok ? { sites_version: 0, mono: true } : { error: { code: 'INVALID' } }));
      }
      seen.push({ hq: 'new', health: hasHealth, ok: true });
    }
    const r = await newHq.inject({ method: req.method as 'GET', url: req.url!, payload: body || undefined, headers: { 'content-type': 'application/json' } });
    res.writeHead(r.statusCode, { 'content-type': 'application/json' });
    res.end(r.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const link = await startFleetLink({
    vehicle: 'bus-7', stateDir: dir, apiUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, localAddress: '127.0.0.1',
    snapshot: () => ({ active: 'wwan0', status: { wwan0: status('wwan0', 'lte') } }), health: () => H, heartbeatMs: 50, sitesPollMs: 60_000,
    log: createLogger({ name: 'agent', level: 'silent' }),
  });
  t.after(async () => {
    await link.stop();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await until('three heartbeats to the old HQ', () => seen.length >= 3);
  old = false;
  await until('health at the new HQ', () => fleet.get('bus-7')?.last.health !== null && fleet.get('bus-7') !== null);
  const oldOnes = seen.filter((s) => s.hq === 'old');
  assert.ok(oldOnes.every((s) => s.ok && !s.health), `the old HQ got no health and refused nothing: ${JSON.stringify(oldOnes)}`);
  assert.deepEqual(fleet.get('bus-7')!.last.health, H);

  // A heartbeat without health (an agent just restarted) keeps the last sample at HQ.
  now += 1000;
  fleet.heartbeat(heartbeatSchema.parse(heartbeatFrom({ vehicle: 'bus-7', now, active: null, site: null, uplinks: [], backlog: 0, sitesVersion: null })));
  const row = await fleetRow({ name: 'bus-7', tunnel_address: '10.99.0.2', site: null, revoked_at: null } as Parameters<typeof fleetRow>[0], fleet, new LastSwitches({ last: async () => null }));
  assert.deepEqual(row.health, H);
  const text = new HqMetrics({ fleet, registered: () => 1, vehicles: () => ['bus-7'], process: false }).render();
  for (const line of ['roamlink_vehicle_cpu_temperature_celsius{vehicle="bus-7"} 71.5', 'roamlink_vehicle_disk_free_bytes{vehicle="bus-7"} 20250000000',
    'roamlink_vehicle_disk_size_bytes{vehicle="bus-7"} 32000000000', 'roamlink_vehicle_load1{vehicle="bus-7"} 0.42', 'roamlink_vehicle_uptime_seconds{vehicle="bus-7"} 273660']) {
    assert.ok(text.includes(`${line}\n`), line);
  }
});
