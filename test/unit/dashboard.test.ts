// The admin HTTP listener without a browser: the token guards the API and /metrics (never logged), the static pages
// carry a strict CSP, and the dashboard's pure view helpers (imported as the browser loads them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OperatorTable, readTokenFile, tokenHash } from '../../concentrator/admin/operators.js';
import { listenAddress } from '../../concentrator/admin/http.js';
import { InputError } from '../../shared/errors.js';
import { createLogger } from '../../shared/log.js';
import { TOKEN, dashboardFixture } from './dashboard.fixtures.test.js';

const VIEW = fileURLToPath(new URL('../../../concentrator/dashboard/static/view.js', import.meta.url));
const auth = { authorization: `Bearer ${TOKEN}` };

test('the API and /metrics need the token; the pages do not; the token never reaches the log', async (t) => {
  const lines: string[] = [];
  const logger = createLogger({ name: 'hq', level: 'trace', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
  const f = await dashboardFixture({ logger });
  t.after(f.close);
  for (const url of ['/v1/fleet', '/v1/log', '/v1/log.csv', '/v1/sites', '/metrics', '/v1/anything']) {
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: TOKEN }]) {
      const r = await f.app.inject({ method: 'GET', url, headers });
      assert.equal(r.statusCode, 401, `${url} ${JSON.stringify(headers)}`);
      assert.equal(r.json().error.code, 'UNAUTHORIZED');
      assert.match(String(r.headers['www-authenticate']), /^Bearer/);
    }
  }
  const page = await f.app.inject({ method: 'GET', url: '/' });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-type']), /text\/html/);
  assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
  assert.match(page.body, /<script type="module" src="\/app.js">/);
  for (const url of ['/app.js', '/view.js', '/style.css']) assert.equal((await f.app.inject({ method: 'GET', url })).statusCode, 200, url);
  assert.equal((await f.app.inject({ method: 'GET', url: '/../daemon.ts' })).statusCode, 401);
  assert.equal((await f.app.inject({ method: 'GET', url: '/../daemon.ts', headers: auth })).statusCode, 404);
  const fleet = await f.app.inject({ method: 'GET', url: '/v1/fleet', headers: auth });
  assert.equal(fleet.statusCode, 200);
  assert.equal(fleet.headers['cache-control'], 'no-store');
  const metrics = await f.app.inject({ method: 'GET', url: '/metrics', headers: auth });
  assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.match(metrics.body, /roamlink_vehicles_online 1\n/);
  await f.app.inject({ method: 'POST', url: '/v1/sites', headers: auth, payload: { name: 'x', match: { ssid: ['x'], bssid: ['bad'] } } });
  assert.ok(!lines.join('').includes(TOKEN), 'the token appears in the log');
});

test('fleet and vehicle JSON: online, active uplink, signal, site, last switch; history for the chart', async (t) => {
  const f = await dashboardFixture();
  t.after(f.close);
  const fleet = (await f.app.inject({ method: 'GET', url: '/v1/fleet', headers: auth })).json();
  assert.equal(fleet.online, 1);
  const bus = fleet.vehicles.find((v: { name: string }) => v.name === 'bus-7');
  assert.deepEqual({ online: bus.online, active: bus.active, signal: bus.signal, site: bus.site, last: [bus.last_switch.from, bus.last_switch.to, bus.last_switch.reason] }, {
    online: true, active: 'wwan0', signal: -93, site: 'depot', last: ['wlan1', 'wwan0', 'carrier-loss'],
  });
  const van = fleet.vehicles.find((v: { name: string }) => v.name === 'van-2');
  assert.deepEqual([van.online, van.last_switch], [false, null]);
  const detail = (await f.app.inject({ method: 'GET', url: '/v1/fleet/bus-7', headers: auth })).json();
  assert.equal(detail.history.length, 12);
  assert.equal(detail.heartbeat.modem.balance, 12.5);
  assert.equal((await f.app.inject({ method: 'GET', url: '/v1/fleet/nobody', headers: auth })).statusCode, 404);
  const log = (await f.app.inject({ method: 'GET', url: '/v1/log?vehicle=bus-7&order=desc&limit=2', headers: auth })).json();
  assert.deepEqual(log.events.map((e: { seq: number }) => e.seq), [3, 2]);
  const bad = await f.app.inject({ method: 'GET', url: '/v1/log?since=soon', headers: auth });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.field, 'since');
});

test('the legacy token file: mode 0600, one long token; bearer compare', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, 'token');
  return (async () => {
    writeFileSync(p, `${TOKEN}\n`, { mode: 0o600 });
    assert.equal(await readTokenFile(p), TOKEN);
    writeFileSync(join(dir, 'short'), 'abc', { mode: 0o600 });
    await assert.rejects(readTokenFile(join(dir, 'short')), (e: unknown) => e instanceof InputError && e.field === 'admin_token_file');
    writeFileSync(join(dir, 'open'), TOKEN, { mode: 0o644 });
    await assert.rejects(readTokenFile(join(dir, 'open')), /chmod 600/);
    const ops = new OperatorTable([{ name: 'ann', sha256: tokenHash(TOKEN) }]);
    assert.equal(ops.authenticate(`Bearer ${TOKEN}`), 'ann');
    assert.equal(ops.authenticate(`bearer ${TOKEN}`), 'ann');
    assert.equal(ops.authenticate(`Bearer ${TOKEN}x`), null);
    assert.equal(ops.authenticate(`Bearer ${TOKEN.slice(0, -1)}`), null);
    assert.equal(ops.authenticate(TOKEN), null);
    assert.equal(ops.authenticate(undefined), null);
    assert.deepEqual(listenAddress('127.0.0.1:8443'), { host: '127.0.0.1', port: 8443 });
    assert.deepEqual(listenAddress('[::1]:8443'), { host: '::1', port: 8443 });
  })();
});

test('view helpers: escaping, ages, timeline segments, signal series, polyline, profile patch', async () => {
  const v = await import(VIEW);
  assert.equal(v.esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  const now = Date.parse('2026-11-21T12:00:00Z');
  assert.deepEqual(['2026-11-21T11:59:30Z', '2026-11-21T11:30:00Z', '2026-11-21T09:00:00Z', '2026-11-18T12:00:00Z', null].map((x) => v.ago(x, now)), ['30 s ago', '30 min ago', '3 h ago', '3 d ago', 'never']);
  const sw = [
    { at: '2026-11-21T11:10:00Z', from: '-', to: 'wlan0' },
    { at: '2026-11-21T11:40:00Z', from: 'wlan0', to: 'wwan0' },
    { at: '2026-11-21T11:20:00Z', from: 'wlan0', to: 'wlan1' },
  ];
  const from = Date.parse('2026-11-21T11:00:00Z');
  assert.deepEqual(v.timelineSegments(sw, from, now).map((s: { uplink: string | null; start: number; end: number }) => [s.uplink, (s.end - s.start) / 60_000]), [
    [null, 10], ['wlan0', 10], ['wlan1', 20], ['wwan0', 20],
  ]);
  assert.deepEqual(v.timelineSegments([{ at: '2026-11-21T11:30:00Z', from: 'wlan1', to: 'wlan0' }], from, now).map((s: { uplink: string }) => s.uplink), ['wlan1', 'wlan0']);
  assert.deepEqual(v.signalSeries([{ t: 1, u: [['wlan0', -60, 1, 0], ['wwan0', null, 2, 0]] }, { t: 2, u: [['wlan0', -62, 1, 0]] }]), { wlan0: [[1, -60], [2, -62]] });
  assert.equal(v.polyline([[0, -100], [10, -50]], [0, 10], [-100, -50], 100, 50), '0.0,50.0 100.0,0.0');
  assert.equal(v.uplinkColor('wlan0'), v.uplinkColor('wlan0'));
  assert.deepEqual(v.profilePatch({ hold_ms: '2000', lte: 'never', loss_max: '', switch_below: '-70' }, { hold_ms: 3000, lte: 'fallback', loss_max: 0.3, switch_below: -75 }, { loss_max: 0.2, switch_below: -70 }), {
    hold_ms: 2000, lte: 'never', loss_max: null,
  });
  // What the editor tries before Save: the edited fields, a cleared one as its default.
  assert.deepEqual(v.simulationSet({ hold_ms: '2000', loss_max: '', switch_below: '-70' }, { hold_ms: 3000, loss_max: 0.3, switch_below: -75 }, { loss_max: 0.2, switch_below: -70 }), { hold_ms: 2000, loss_max: 0.3 });
  const sum = (n: number) => ({ switches: n, ping_pong: n - 1, lte_ms: 1500, lte_mb: 0.5, below_ms: 0, failovers: 0, outage_ms: 12 });
  assert.deepEqual(v.simulationRows({ total: { current: sum(5), proposed: sum(1) } }).slice(0, 3), [['switches', '5', '1'], ['back-and-forth within 30 s', '4', '0'], ['time on LTE', '1.5 s', '1.5 s']]);
  assert.deepEqual(v.diffLines({ 'profile.hold_ms': { from: null, to: 2000 }, 'match.ssid': { from: ['a'], to: [] } }), ['profile.hold_ms: (default) → 2000', 'match.ssid: a → (none)']);
});

test('the switch log as CSV: the token needed, the filters of /v1/log, one row per event, a vehicle\'s text never a formula', async (t) => {
  const f = await dashboardFixture();
  t.after(f.close);
  const json = (await f.app.inject({ method: 'GET', url: '/v1/log?vehicle=bus-7', headers: auth })).json();
  const r = await f.app.inject({ method: 'GET', url: '/v1/log.csv?vehicle=bus-7', headers: auth });
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^text\/csv/);
  assert.match(String(r.headers['content-disposition']), /attachment; filename="roamlink-switch-log\.csv"/);
  const lines = r.body.split('\r\n');
  assert.equal(lines[0], 'at,vehicle,from,to,reason,site,ms_to_first_packet,gap_ms,time_quality,why,id');
  assert.equal(lines.length - 2, json.events.length, 'a row per event (and a last empty line)');
  assert.ok(json.events.length > 0);
  assert.ok(lines.slice(1, -1).every((l: string) => l.includes(',bus-7,')));
  assert.equal((await f.app.inject({ method: 'GET', url: '/v1/log.csv?since=banana', headers: auth })).statusCode, 400);
});

test('csvCell: quotes, line breaks, and would-be formulas', async () => {
  const { csvCell } = await import('../../concentrator/admin/log-csv.js');
  const table: Array<[string | number | null, string]> = [
    ['plain', 'plain'], [null, ''], [12.5, '12.5'], ['a,b', '"a,b"'], ['say "hi"', '"say ""hi"""'], ['two\nlines', '"two\nlines"'],
    ['=HYPERLINK("x")', `"'=HYPERLINK(""x"")"`], ['+1', "'+1"], ['-2', "'-2"], ['@SUM(A1)', "'@SUM(A1)"],
  ];
  for (const [given, want] of table) assert.equal(csvCell(given), want, String(given));
});

test('fleet feed: a newcomer gets every row, then only changed rows and names gone; nothing sent while nothing changed; stops when nobody listens', async () => {
  const { FleetFeed } = await import('../../concentrator/admin/fleet-feed.js');
  const { SimClock } = await import('../../shared/clock.js');
  const clock = new SimClock();
  const row = (name: string, online: boolean) => ({ name, online }) as unknown as import('../../concentrator/admin/fleet-view.js').FleetRow;
  let rows = [row('a', true), row('b', false)];
  let sig = 1;
  let reads = 0;
  const feed = new FleetFeed({
    read: async () => (reads++, { vehicles: rows, online: rows.filter((r) => r.online).length, offline_after_ms: 15_000 }),
    signature: () => String(sig), timer: clock, tickMs: 1000, keepaliveMs: 15_000, rereadMs: 60_000, now: () => clock.now(),
  });
  const got: string[] = [];
  const frames = () => got.splice(0).map((c) => (c.startsWith(':') ? 'keepalive' : JSON.parse(c.split('\ndata: ')[1]!)));
  const off = feed.subscribe((c) => got.push(c));
  await feed.tick();
  assert.deepEqual(frames(), [{ vehicles: rows, online: 1, offline_after_ms: 15_000, full: true, removed: [] }]);
  const before = reads;
  for (let i = 0; i < 3; i++) await clock.advance(1000);
  assert.deepEqual([frames(), reads], [[], before], 'the signature stood still: nothing read, nothing sent');
  rows = [row('a', false), row('c', true)];
  sig++;
  await clock.advance(1000);
  await feed.tick();
  assert.deepEqual(frames(), [{ vehicles: [row('a', false), row('c', true)], online: 1, offline_after_ms: 15_000, full: false, removed: ['b'] }]);
  await clock.advance(15_000);
  assert.ok(frames().includes('keepalive'));
  off();
  assert.equal(feed.size, 0);
  assert.deepEqual(clock.delays(), [], 'no wait left once nobody listens');

  // A big fleet: a read that takes 500 ms is not repeated within 5 s (10 % of the time), however often the fleet moves.
  let slow = 0;
  let lag = 0;
  const big = new FleetFeed({
    read: async () => (slow++, (lag += 500), { vehicles: rows, online: 1, offline_after_ms: 15_000 }),
    signature: () => String(sig++), timer: clock, tickMs: 1000, now: () => clock.now() + lag,
  });
  const off2 = big.subscribe(() => {});
  await big.tick();
  for (let i = 0; i < 10; i++) await clock.advance(1000);
  await big.tick();
  assert.equal(slow, 3, 'one read at subscribe, then one every 5 s: 3 in 10 s of ticks');
  off2();
});

test('vehicles from the admin API: a code (shown once, never logged) or a key; revoke; each audited with the operator; bad input named, nothing changed', async (t) => {
  const lines: string[] = [];
  const logger = createLogger({ name: 'hq', level: 'trace', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
  const f = await dashboardFixture({ logger });
  t.after(f.close);
  const post = (url: string, payload: object, headers: object = auth) => f.app.inject({ method: 'POST', url, headers: headers as Record<string, string>, payload });
  assert.equal((await post('/v1/vehicles', { name: 'bus-9' }, {})).statusCode, 401, 'deny by default: the token needed');
  assert.equal((await f.app.inject({ method: 'GET', url: '/v1/audit/vehicles' })).statusCode, 401);
  const c = await post('/v1/vehicles', { name: 'bus-9', site: 'depot' });
  assert.equal(c.statusCode, 201, c.body);
  const e = c.json().enrollment;
  assert.deepEqual([e.name, e.hq, typeof e.code], ['bus-9', 'hq.example.net:8444', 'string']);
  assert.equal(await f.vehicles.get('bus-9'), null, 'added only when the code is redeemed');
  assert.ok((await f.enrollments.check(e.code)).ok);
  const k = await post('/v1/vehicles', { name: 'car-3', public_key: Buffer.alloc(32, 33).toString('base64'), subnet: '10.20.33.0/24' });
  assert.equal(k.statusCode, 201, k.body);
  assert.equal(k.json().vehicle.subnet, '10.20.33.0/24');
  for (const [body, field] of [[{ name: 'Bad Name' }, 'name'], [{ name: 'x1', subnet: 'nope' }, 'subnet'], [{ name: 'x2', public_key: 'short' }, 'public_key'], [{ name: 'bus-7' }, 'name'], [{ name: 'x3', colour: 'red' }, 'colour'], [{ name: 'x4', valid: '3d' }, 'valid']] as const) {
    const r = await post('/v1/vehicles', body);
    assert.deepEqual([r.statusCode, r.json().error.field], [400, field], JSON.stringify(body));
  }
  assert.deepEqual((await f.vehicles.active()).map((v) => v.name), ['bus-7', 'van-2', 'car-3'], 'the refusals changed nothing');
  assert.ok(f.fleet.get('bus-7'));
  const rv = await post('/v1/vehicles/bus-7/revoke', {});
  assert.equal(rv.statusCode, 200, rv.body);
  assert.ok(rv.json().vehicle.revoked_at);
  assert.equal(f.fleet.get('bus-7'), null, 'its live state gone');
  assert.equal((await post('/v1/vehicles/bus-7/revoke', {})).statusCode, 400, 'twice: refused, named');
  assert.equal((await post('/v1/vehicles/nobody/revoke', {})).statusCode, 404);
  assert.deepEqual(f.changed, ['added car-3', 'revoked bus-7']);
  const audit = (await f.app.inject({ method: 'GET', url: '/v1/audit/vehicles', headers: auth })).json().audit;
  assert.deepEqual(audit.map((a: { action: string; vehicle: string; who: string }) => [a.action, a.vehicle, a.who]), [['revoked', 'bus-7', 'dashboard:ann'], ['added', 'car-3', 'dashboard:ann'], ['code', 'bus-9', 'dashboard:ann']]);
  const all = lines.join('');
  assert.ok(!all.includes(e.code) && !all.includes(e.code.replace(/-/g, '')), 'the code never logged');
});

test('dashboard helpers: sort (unknowns last), search by words, a push applied, SSE frames parsed across chunks', async () => {
  const v = await import(VIEW);
  const rows = [
    { name: 'b', online: true, signal: -80, site: 'depot', last_switch: null, lte_bytes_today: 5 },
    { name: 'a', online: false, signal: null, site: null, home_site: 'yard', last_switch: { at: '2026-12-01T00:00:00Z', reason: 'signal', to: 'wwan0' }, lte_bytes_today: 9 },
    { name: 'c', online: true, signal: -60, site: 'street', last_switch: null, lte_bytes_today: 0 },
  ];
  const names = (rs: Array<{ name: string }>) => rs.map((r) => r.name).join('');
  const table: Array<[string, string, string]> = [['name', 'asc', 'abc'], ['name', 'desc', 'cba'], ['signal', 'asc', 'bca'], ['signal', 'desc', 'cba'], ['state', 'asc', 'bca'], ['lte_today', 'desc', 'abc'], ['site', 'asc', 'bca'], ['last_switch', 'asc', 'abc']];
  for (const [key, dir, want] of table) assert.equal(names(v.sortFleet(rows, key, dir)), want, `${key} ${dir}`);
  assert.equal(names(rows.filter((r) => v.matchFleet(r, 'YARD'))), 'a');
  assert.equal(names(rows.filter((r) => v.matchFleet(r, 'online de'))), 'b');
  assert.equal(names(rows.filter((r) => v.matchFleet(r, ''))), 'bac');
  let m = v.applyFleetPush(new Map(), { full: true, vehicles: rows, removed: [] });
  m = v.applyFleetPush(m, { full: false, vehicles: [{ ...rows[0], signal: -70 }], removed: ['c'] });
  assert.deepEqual([...m.keys()], ['b', 'a']);
  assert.equal(m.get('b').signal, -70);
  const feed = v.sseParser();
  assert.deepEqual(feed('retry: 3000\n\nevent: fleet\ndata: {"a"'), []);
  assert.deepEqual(feed(':1}\n\n: keepalive\n\nevent: fleet\ndata: 2\n\n'), [{ event: 'fleet', data: '{"a":1}' }, { event: 'fleet', data: '2' }]);
});
