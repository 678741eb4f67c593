// Sites: validation (4xx/exit 2 naming the field, nothing half-stored), versions, the audit (who, when, what), the
// admin routes, the agents' fetch, the agent keeping its last good set, and `roamlink site`.
import { installErrorHandling } from '../../shared/http/errors.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { openSitesDb } from '../../concentrator/store/sites/db.js';
import { SiteService } from '../../concentrator/store/sites/service.js';
import { adminRoutes } from '../../concentrator/admin/routes.js';
import { installAccessGuard } from '../../concentrator/admin/access.js';
import { OperatorTable, tokenHash } from '../../concentrator/admin/operators.js';
import { FleetState } from '../../concentrator/agent-api/fleet.js';
import { LastSwitches } from '../../concentrator/admin/fleet-view.js';
import { openEventsDb } from '../../concentrator/store/events/db.js';
import { EventStore } from '../../concentrator/store/events/service.js';
import { SiteSync } from '../../agent/sites/sync.js';
import { fileSiteStore, memorySiteStore } from '../../agent/sites/store.js';
import { applyFor } from '../../agent/sites/apply.js';
import { SimClock, settle } from '../../shared/clock.js';
import { parseSettings } from '../../cli/site.js';
import { InputError } from '../../shared/errors.js';
import { DEFAULT_POLICY } from '../../agent/policy/policy.js';
import type { SiteSet } from '../../shared/wire/site-profile.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HQ_PRIV = 'KPD+e8mvLdOOI+Wl9HYVjuOXj4U/izotj3qE2CZTbUA=';

function service() {
  let t = Date.parse('2026-11-21T10:00:00Z');
  return new SiteService(openSitesDb(':memory:'), { now: () => new Date((t += 1000)) });
}

test('add: validated whole, version 1, audited; a bad profile names the field and stores nothing', async () => {
  const s = service();
  assert.equal((await s.version()), 0);
  const depot = (await s.add({ name: 'depot', match: { ssid: ['depot'] }, profile: { switch_below: -70, lte: 'never' } }, 'cli:ann'));
  assert.equal(depot.version, 1);
  assert.equal((await s.version()), 1);
  const bad: Array<[unknown, string]> = [
    [{ name: 'yard', match: { ssid: ['yard'] }, profile: { switch_below: -10 } }, 'profile.switch_below'],
    [{ name: 'yard', match: { ssid: ['yard'] }, profile: { min_signal: -60 } }, 'profile.min_signal'],
    [{ name: 'yard', match: { ssid: ['yard'] }, profile: { hysterisis_db: 3 } }, 'profile'],
    [{ name: 'yard', match: { bssid: ['nope'] } }, 'match.bssid[0]'],
    [{ name: 'yard' }, 'match'],
    [{ name: '-yard', match: { ssid: ['yard'] } }, 'name'],
  ];
  for (const [input, field] of bad) await assert.rejects(async () => (await s.add(input, 'cli:ann')), (e: unknown) => e instanceof InputError && e.field === field, field);
  await assert.rejects(async () => (await s.add({ name: 'depot', match: { ssid: ['x'] } }, 'cli:ann')), /already exists/);
  await assert.rejects(async () => (await s.add({ name: 'yard', match: { ssid: ['y'] } }, '')), (e: unknown) => e instanceof InputError && e.field === 'who');
  assert.deepEqual((await s.list()).map((x) => x.name), ['depot']);
  assert.equal((await s.version()), 1);
});

test('update: a real change bumps the site and set versions and is audited with its diff; no change, no version', async () => {
  const s = service();
  (await s.add({ name: 'depot', match: { ssid: ['depot'] }, profile: { switch_below: -70 } }, 'cli:ann'));
  (await s.add({ name: 'default' }, 'cli:ann'));
  let r = (await s.update('depot', { profile: { hold_ms: 2000, switch_below: null }, match: { bssid: ['02:00:00:00:00:01'] } }, 'dashboard:bob'));
  assert.equal(r.changed, true);
  assert.equal(r.site.version, 2);
  assert.deepEqual(r.site.profile, { hold_ms: 2000 });
  assert.equal((await s.version()), 3);
  r = (await s.update('depot', { profile: { hold_ms: 2000 } }, 'dashboard:bob'));
  assert.equal(r.changed, false);
  assert.equal((await s.version()), 3);
  await assert.rejects(async () => (await s.update('depot', { profile: { dead_busy_ms: 5000 } }, 'x')), (e: unknown) => e instanceof InputError && e.field === 'profile.dead_busy_ms');
  await assert.rejects(async () => (await s.update('depot', { profile: { colour: 1 } as never }, 'x')), (e: unknown) => e instanceof InputError && e.field === 'profile.colour');
  await assert.rejects(async () => (await s.update('nowhere', {}, 'x')), /no site "nowhere"/);
  assert.equal((await s.get('depot'))!.version, 2);
  const h = (await s.history('depot'));
  assert.deepEqual(h.map((a) => [a.action, a.version, a.who]), [['add', 1, 'cli:ann'], ['set', 2, 'dashboard:bob']]);
  assert.deepEqual(h[1]!.diff, {
    'match.bssid': { from: [], to: ['02:00:00:00:00:01'] },
    'profile.switch_below': { from: -70, to: null },
    'profile.hold_ms': { from: null, to: 2000 },
  });
  assert.equal(h[1]!.at, '2026-11-21T10:00:03.000Z');
  (await s.remove('depot', 'cli:ann'));
  assert.equal((await s.get('depot')), null);
  assert.equal((await s.history('depot')).at(-1)!.action, 'remove');
  assert.equal((await s.version()), 4);
});

function adminApp(t: { after: (fn: () => unknown) => void }) {
  const sites = service();
  const app = Fastify();
  installErrorHandling(app, { surface: 'test' });
  const operators = new OperatorTable([{ name: 'ann', sha256: tokenHash('ann-token-0123456789') }, { name: 'bob', sha256: tokenHash('bob-token-0123456789') }]);
  installAccessGuard(app, (req) => operators.authenticate(req.headers.authorization));
  const events = new EventStore(openEventsDb(':memory:'));
  app.register(adminRoutes({ events, fleet: new FleetState({ offlineAfterMs: 1000 }), lastSwitches: new LastSwitches(events), vehicles: { list: async () => [], get: async () => null }, sites, origin: 'dashboard' }));
  t.after(() => app.close());
  return { app, sites };
}

test('admin routes: add (201), 409 on a duplicate, 400 naming the field, patch with the operator named, history', async (t) => {
  const { app, sites } = adminApp(t);
  const ANN = { authorization: 'Bearer ann-token-0123456789' };
  const inj = (o: { method: 'GET' | 'POST' | 'PATCH'; url: string; payload?: object; headers?: Record<string, string> }) => app.inject({ ...o, headers: { ...ANN, ...o.headers } });
  let r = await inj({ method: 'POST', url: '/v1/sites', payload: { name: 'depot', match: { ssid: ['depot'] } }, headers: { 'x-roamlink-operator': 'mallory' } }); // a header names nobody: the token does
  assert.equal(r.statusCode, 201);
  r = await inj({ method: 'POST', url: '/v1/sites', payload: { name: 'depot', match: { ssid: ['depot'] } } });
  assert.equal(r.statusCode, 409);
  assert.equal(r.json().error.code, 'SITE_EXISTS');
  r = await inj({ method: 'PATCH', url: '/v1/sites/depot', payload: { profile: { loss_max: 3 } } });
  assert.equal(r.statusCode, 400);
  assert.deepEqual(r.json().error, { code: 'INVALID', message: 'must be ≤ 1', field: 'profile.loss_max' });
  r = await inj({ method: 'PATCH', url: '/v1/sites/depot', payload: { colour: 'red' } });
  assert.equal(r.json().error.field, 'colour');
  r = await inj({ method: 'PATCH', url: '/v1/sites/nowhere', payload: { profile: {} } });
  assert.equal(r.statusCode, 404);
  r = await inj({ method: 'PATCH', url: '/v1/sites/depot', payload: { profile: { loss_max: 0.2 } }, headers: { authorization: 'Bearer bob-token-0123456789', 'x-roamlink-operator': 'ann' } });
  assert.equal(r.statusCode, 200);
  assert.equal(r.json().site.version, 2);
  assert.equal((await sites.get('depot'))!.profile.loss_max, 0.2);
  r = await inj({ method: 'GET', url: '/v1/sites/depot' });
  assert.equal(r.json().effective.loss_max, 0.2);
  assert.equal(r.json().effective.hold_ms, DEFAULT_POLICY.hold_ms);
  r = await inj({ method: 'GET', url: '/v1/sites/depot/history' });
  assert.deepEqual(r.json().history.map((a: { who: string }) => a.who), ['dashboard:ann', 'dashboard:bob']);
  r = await inj({ method: 'GET', url: '/v1/sites' });
  assert.equal(r.json().version, 2);
  assert.equal(r.json().sites.length, 1);
});

const SET = (version: number, switchBelow: number): SiteSet => ({
  version,
  sites: [{ name: 'depot', version, description: null, match: { ssid: ['depot'], bssid: [], area_prefix: [] }, profile: { switch_below: switchBelow }, updated_at: '2026-11-21T10:00:00.000Z' }],
});

test('agent site sync: last good set from disk at once; new versions applied; invalid or unreachable keeps the last good', async () => {
  const timer = new SimClock();
  const store = memorySiteStore(SET(1, -70));
  const applied: number[] = [];
  let hq: unknown = SET(1, -70);
  let reachable = true;
  const fetched: Array<number | null> = [];
  const sync = new SiteSync({
    store, timer, intervalMs: 30_000, onChange: (s) => applied.push(s.version),
    fetch: async (v) => {
      fetched.push(v);
      if (!reachable) throw new Error('ECONNREFUSED');
      return (hq as SiteSet).version === v ? 'unchanged' : hq;
    },
  });
  sync.start();
  await settle();
  assert.deepEqual(applied, [1]);
  assert.deepEqual(fetched, [1]);
  hq = SET(2, -72);
  sync.hint(2); // a heartbeat reply: applied within the second, not at the next poll
  await settle();
  assert.deepEqual(applied, [1, 2]);
  assert.equal(store.saved!.version, 2);
  hq = { version: 3, sites: [{ name: 'depot' }] }; // broken on HQ's side
  sync.hint(3);
  await settle();
  assert.deepEqual(applied, [1, 2]);
  reachable = false;
  await timer.advance(120_000);
  assert.equal(sync.current!.version, 2);
  reachable = true;
  hq = SET(4, -74);
  await timer.advance(30_000);
  assert.deepEqual(applied, [1, 2, 4]);
  await sync.stop();
});

test('agent site sync: a hint while a fetch is out is fetched as that one ends, not at the next poll', async () => {
  // The agent's first fetch goes out before HQ's change (or waits on a tunnel not up yet); the heartbeat reply telling
  // of the change arrives meanwhile. A CI run lost that hint: the profile came only with the poll 30 s later.
  const timer = new SimClock();
  const applied: number[] = [];
  let hq: SiteSet = SET(1, -70);
  const out: Array<{ answer: () => void }> = [];
  const sync = new SiteSync({
    store: memorySiteStore(null), timer, intervalMs: 30_000, onChange: (s) => applied.push(s.version),
    fetch: (v) => new Promise((resolve) => {
      const seen = hq; // what HQ had when the request reached it
      out.push({ answer: () => resolve(seen.version === v ? 'unchanged' : seen) });
    }),
  });
  sync.start();
  await settle();
  assert.equal(out.length, 1);
  hq = SET(2, -72);
  sync.hint(2); // the fetch is still out
  sync.hint(2); // twice: still one more fetch, not two
  await settle();
  assert.equal(out.length, 1, 'no second request while one is out');
  out[0]!.answer(); // answered with version 1
  await settle();
  assert.deepEqual(applied, [1]);
  assert.equal(out.length, 2, 'the hinted version fetched at once');
  out[1]!.answer();
  await settle();
  assert.deepEqual(applied, [1, 2]);
  // A hint for the version the fetch out brings needs nothing more: the next request is the poll, 30 s on.
  hq = SET(3, -73);
  await timer.advance(30_000);
  assert.equal(out.length, 3);
  sync.hint(3);
  out[2]!.answer();
  await settle();
  assert.deepEqual(applied, [1, 2, 3]);
  assert.equal(out.length, 3);
  await timer.advance(29_000);
  assert.equal(out.length, 3);
  await timer.advance(1_000);
  assert.equal(out.length, 4);
  out[3]!.answer();
  await sync.stop();
});

test('agent site store on disk: atomic save, reload, a corrupt file ignored', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-sites-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'state', 'sites.json');
  const warnings: string[] = [];
  const st = fileSiteStore(path, (m) => warnings.push(m));
  assert.equal(st.load(), null);
  st.save(SET(5, -71));
  assert.deepEqual(fileSiteStore(path).load(), SET(5, -71));
  writeFileSync(path, '{"version": 6, "sites": [{}]}');
  assert.equal(st.load(), null);
  assert.equal(warnings.length, 1);
  assert.ok(readFileSync(path, 'utf8').length > 0);
  // Half written (a crash of an older agent mid-write): a warning naming the file, never a throw; the file kept.
  st.save(SET(7, -70));
  const whole = readFileSync(path, 'utf8');
  writeFileSync(path, whole.slice(0, Math.floor(whole.length / 2)));
  assert.equal(st.load(), null);
  assert.equal(warnings.length, 2);
  assert.ok(warnings[1]!.startsWith(`${path}: not JSON`), warnings[1]);
  // Not a file at all: a warning too.
  rmSync(path);
  mkdirSync(path);
  assert.equal(st.load(), null);
  assert.match(warnings[2] ?? '', new RegExp(`^${path}: cannot read the site profiles \\(EISDIR\\)`));
  // No temp file is left beside it by a save.
  rmSync(path, { recursive: true });
  st.save(SET(8, -70));
  assert.deepEqual(readdirSync(join(dir, 'state')), ['sites.json']);
});

test('applyFor: the matched site\'s profile over the defaults; policy fields only in the policy', async () => {
  const a = applyFor(SET(2, -70), { ssid: 'depot', bssid: '02:00:00:00:00:01' });
  assert.equal(a.site, 'depot');
  assert.equal(a.policy.switch_below, -70);
  assert.equal(a.policy.hold_ms, DEFAULT_POLICY.hold_ms);
  assert.deepEqual(Object.keys(a.policy).sort(), Object.keys(DEFAULT_POLICY).sort());
  const none = applyFor(SET(2, -70), { ssid: 'street-7', bssid: '02:00:00:00:00:02' });
  assert.equal(none.site, null);
  assert.deepEqual(none.policy, { ...DEFAULT_POLICY });
  assert.equal(applyFor(null, null).policy.min_signal, -85);
});

test('parseSettings: profile fields, lists, unset; unknown setting named', async () => {
  assert.deepEqual(parseSettings(['switch_below=-70', 'lte=never', 'hold-ms=', 'ssid=a,b', 'description=the yard']), {
    profile: { switch_below: -70, lte: 'never', hold_ms: null }, match: { ssid: ['a', 'b'] }, description: 'the yard',
  });
  assert.throws(() => parseSettings(['colour=red']), (e: unknown) => e instanceof InputError && e.field === 'colour');
  assert.throws(() => parseSettings(['switch_below']), (e: unknown) => e instanceof InputError && e.field === 'SETTING');
});

interface Ran { code: number; stdout: string; stderr: string }
function roamlink(...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile('node', [join(ROOT, 'bin/roamlink'), ...args], { cwd: ROOT, env: { ...process.env, SUDO_USER: 'ann' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('roamlink site add/set/show/list/history: exit 0, or 2 naming the field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-site-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hq.key'), `${HQ_PRIV}\n`, { mode: 0o600 });
  const config = join(dir, 'hq.yaml');
  writeFileSync(config, 'interface: rl-test0\nprivate_key_file: hq.key\ntunnel_network: 10.99.0.0/24\nstate_dir: state\ncontrol_socket: hq.sock\n');
  let r = await roamlink('site', 'add', 'depot', '--ssid', 'depot', 'switch_below=-70', '--config', config);
  assert.equal(r.code, 0, r.stderr);
  r = await roamlink('site', 'add', 'yard', '--ssid', 'yard', 'switch_below=-20', '--config', config);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /profile\.switch_below: must be ≤ -30 dBm/);
  r = await roamlink('site', 'set', 'depot', 'hold_ms=2000', 'lte=never', '--config', config);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /version 2/);
  r = await roamlink('site', 'set', 'depot', 'lte=sometimes', '--config', config);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /profile\.lte: /);
  r = await roamlink('site', 'set', 'nowhere', 'hold_ms=1', '--config', config);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /NAME: no site "nowhere"/);
  r = await roamlink('site', 'show', 'depot', '--json', '--config', config);
  const shown = JSON.parse(r.stdout);
  assert.deepEqual(shown.profile, { switch_below: -70, hold_ms: 2000, lte: 'never' });
  assert.equal(shown.effective.dwell_ms, DEFAULT_POLICY.dwell_ms);
  r = await roamlink('site', 'show', 'depot', '--config', config);
  assert.match(r.stdout, /dwell_ms\s+5000\s+\(default\)/);
  r = await roamlink('site', 'list', '--json', '--config', config);
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l).name), ['depot']);
  r = await roamlink('site', 'history', 'depot', '--json', '--config', config);
  const h = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(h.map((a) => [a.action, a.who]), [['add', 'cli:ann'], ['set', 'cli:ann']]);
  assert.deepEqual(h[1].diff['profile.hold_ms'], { from: null, to: 2000 });
});
