// A site's thresholds tried on the drives HQ holds (issue 11, item 6): every vehicle that drove there, replayed under
// the current and the proposed profile (only while at that site); the CLI and the admin route, their bad input named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drivesPath, openDrivesDb } from '../../concentrator/store/drives/db.js';
import { SqliteDriveStore } from '../../concentrator/store/drives/service.js';
import { openSitesDb, sitesPath } from '../../concentrator/store/sites/db.js';
import { SiteService } from '../../concentrator/store/sites/service.js';
import { simulateSite } from '../../concentrator/drives/simulate.js';
import { simulationTable } from '../../cli/simulate.js';
import { TOKEN, dashboardFixture } from './dashboard.fixtures.test.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FLAP = readFileSync(join(ROOT, 'test/fixtures/drive/lab-flap.jsonl'), 'utf8');
const HQ_PRIV = 'KPD+e8mvLdOOI+Wl9HYVjuOXj4U/izotj3qE2CZTbUA=';
/** The thresholds the flapping drive ran with, as a site's profile. */
export const FLAP_PROFILE = { hysteresis_db: 4, hold_ms: 500, dwell_ms: 1000 };

/** The flap fixture as `vehicle`'s drive file at `site`, started at `startWall`, stored at HQ. */
export async function storeFlap(store: SqliteDriveStore, vehicle: string, site: string | null, startWall: number, segment = 'drive-2026-12-02T10-00-00-000Z.jsonl'): Promise<void> {
  const lines = FLAP.split('\n');
  const h = JSON.parse(lines[0]!) as Record<string, unknown>;
  delete h.origin_wall;
  delete h.until_wall;
  lines[0] = JSON.stringify({ ...h, start_wall: startWall, site });
  const text = lines.join('\n');
  const lastT = (JSON.parse(lines.at(-2)!) as { t: number }).t;
  (await store.append({ vehicle, segment, offset: 0, text, start_wall: startWall, last_t: lastT, sites: site ? [site] : [] }, Date.now()));
}

test('simulateSite: the vehicles that drove there, current against proposed; elsewhere untouched; flapping flagged', async () => {
  const store = new SqliteDriveStore(openDrivesDb(':memory:')!);
  const sites = new SiteService(openSitesDb(':memory:'));
  const street = (await sites.add({ name: 'street-7', match: { ssid: ['street-7'] }, profile: FLAP_PROFILE }, 'cli:test'));
  const T = Date.parse('2026-12-02T10:00:00Z');
  await storeFlap(store, 'bus-1', 'street-7', T);
  await storeFlap(store, 'bus-2', 'street-7', T + 60_000);
  await storeFlap(store, 'bus-3', 'depot', T); // another site: not replayed
  await storeFlap(store, 'bus-4', 'street-7', T - 30 * 86_400_000); // outside the window
  const wide = await simulateSite(store, street, { hysteresis_db: 10 }, T - 86_400_000, T + 86_400_000);
  assert.deepEqual(wide.vehicles.map((v) => v.vehicle), ['bus-1', 'bus-2']);
  assert.deepEqual(wide.changed, { hysteresis_db: { from: 4, to: 10 } });
  for (const v of wide.vehicles) {
    // Under the site's current profile (the one the drive ran with) the replay makes the agent's own switches.
    assert.equal(v.current.switches, v.recorded, v.vehicle);
    assert.ok(v.proposed.switches < v.current.switches, `${v.vehicle}: ${v.proposed.switches} < ${v.current.switches}`);
    assert.ok(v.current.ping_pong >= 1 && v.proposed.ping_pong === 0);
  }
  assert.equal(wide.total.current.switches, wide.vehicles[0]!.current.switches + wide.vehicles[1]!.current.switches);
  assert.deepEqual(wide.warnings, []);
  // The same proposal at a site none of them drove at: nothing to replay.
  const depotless = (await sites.add({ name: 'yard', match: { ssid: ['yard'] }, profile: {} }, 'cli:test'));
  assert.deepEqual((await simulateSite(store, depotless, { hysteresis_db: 10 }, T - 86_400_000, T + 86_400_000)).vehicles, []);
  // A hysteresis below the signals' own jitter is allowed, and flagged per vehicle.
  const narrow = await simulateSite(store, street, { hysteresis_db: 0.5 }, T - 86_400_000, T + 86_400_000);
  assert.equal(narrow.vehicles.length, 2);
  assert.ok(narrow.warnings.some((w) => /^bus-1: hysteresis_db 0.5 dB is not above the signals' own jitter/.test(w)), narrow.warnings.join('\n'));
  const table = simulationTable(wide);
  assert.match(table, /hysteresis_db 4 -> 10/);
  assert.match(table, new RegExp(`total\\s+${wide.total.current.switches} -> ${wide.total.proposed.switches}`));
  store.close();
});

test('roamlink site simulate: --json, and bad input exits 2 naming it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-sim-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hq.key'), `${HQ_PRIV}\n`, { mode: 0o600 });
  const config = join(dir, 'hq.yaml');
  writeFileSync(config, 'interface: rl-test0\nprivate_key_file: hq.key\ntunnel_network: 10.99.0.0/24\nstate_dir: state\ncontrol_socket: hq.sock\n');
  const sdb = openSitesDb(sitesPath(join(dir, 'state')));
  await new SiteService(sdb).add({ name: 'street-7', match: { ssid: ['street-7'] }, profile: FLAP_PROFILE }, 'cli:test');
  sdb.close();
  const store = new SqliteDriveStore(openDrivesDb(drivesPath(join(dir, 'state')))!);
  await storeFlap(store, 'bus-1', 'street-7', Date.now() - 3_600_000);
  store.close();
  const run = (...args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('node', [join(ROOT, 'bin/roamlink'), 'site', 'simulate', ...args, '--config', config], { cwd: ROOT }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
  const bad: Array<[string[], RegExp]> = [
    [['street-7', '--set', 'hysteresis=8'], /--set hysteresis: not a profile field/],
    [['street-7', '--set', 'hysteresis_db=loud'], /--set hysteresis_db/],
    [['street-7', '--set', 'hysteresis_db=99'], /--set hysteresis_db.*40/],
    [['street-7', '--set', 'hysteresis_db'], /--set: .*FIELD=VALUE/],
    [['street-7', '--since', 'a while'], /--since/],
    [['nowhere', '--set', 'hysteresis_db=8'], /no site "nowhere"/],
  ];
  for (const [args, msg] of bad) {
    const r = await run(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg, args.join(' '));
  }
  const r = await run('street-7', '--set', 'hysteresis_db=10', '--since', '1d', '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { vehicles: Array<{ vehicle: string; recorded: number; current: { switches: number }; proposed: { switches: number } }>; total: { current: object; proposed: object } };
  assert.deepEqual(j.vehicles.map((v) => v.vehicle), ['bus-1']);
  assert.equal(j.vehicles[0]!.current.switches, j.vehicles[0]!.recorded);
  assert.ok(j.vehicles[0]!.proposed.switches < j.vehicles[0]!.current.switches);
});

test('POST /v1/sites/:name/simulate: operators only, bad fields named, nothing saved', async (t) => {
  const f = await dashboardFixture();
  t.after(f.close);
  const post = (url: string, payload: unknown, auth = true) =>
    f.app.inject({ method: 'POST', url, payload: payload as object, headers: auth ? { authorization: `Bearer ${TOKEN}` } : {} });
  assert.equal((await post('/v1/sites/depot/simulate', { set: { hysteresis_db: 10 } }, false)).statusCode, 401);
  const bad: Array<[unknown, number, string, string]> = [
    [{ set: { hysteresis: 8 } }, 400, 'INVALID', 'set.hysteresis'],
    [{ set: { hysteresis_db: 99 } }, 400, 'INVALID', 'set.hysteresis_db'],
    [{ set: { hysteresis_db: [1] } }, 400, 'INVALID', 'set.hysteresis_db'],
    [{ set: {}, since: 'a while' }, 400, 'INVALID', 'since'],
    [{ sett: {} }, 400, 'INVALID', 'sett'],
  ];
  for (const [body, status, code, field] of bad) {
    const r = await post('/v1/sites/depot/simulate', body);
    assert.equal(r.statusCode, status, JSON.stringify(body));
    assert.deepEqual([r.json().error.code, r.json().error.field], [code, field], JSON.stringify(body));
  }
  assert.equal((await post('/v1/sites/nowhere/simulate', { set: {} })).json().error.code, 'SITE_NOT_FOUND');
  const before = (await f.sites.get('depot'))!.version;
  const r = await post('/v1/sites/depot/simulate', { set: { hysteresis_db: 10 }, since: '7d' });
  assert.equal(r.statusCode, 200, r.body);
  const j = r.json() as { site: string; changed: Record<string, unknown>; vehicles: Array<{ vehicle: string; current: { switches: number }; proposed: { switches: number } }> };
  assert.equal(j.site, 'depot');
  assert.deepEqual(Object.keys(j.changed), ['hysteresis_db']);
  assert.deepEqual(j.vehicles.map((v) => v.vehicle), ['bus-7']);
  assert.ok(j.vehicles[0]!.proposed.switches < j.vehicles[0]!.current.switches, JSON.stringify(j.vehicles));
  assert.equal((await f.sites.get('depot'))!.version, before, 'a simulation saves nothing');
});

test('simulations in a worker thread: the same result as in-process; one at a time; stopped past the bound (503 SIMULATION_BUSY)', async (t) => {
  const { siteDrives, simulateDrives } = await import('../../concentrator/drives/simulate.js');
  const { SimulationBusyError, workerSimulations } = await import('../../concentrator/drives/simulate.thread.js');
  const store = new SqliteDriveStore(openDrivesDb(':memory:')!);
  t.after(() => store.close());
  const start = Date.UTC(2026, 11, 2, 10);
  await storeFlap(store, 'bus-1', 'depot', start);
  await storeFlap(store, 'bus-2', 'depot', start, 'drive-2026-12-02T10-00-00-001Z.jsonl');
  const site = { name: 'depot', description: '', match: { ssids: ['depot'] }, profile: FLAP_PROFILE, version: 1 } as never;
  const job = { drives: await siteDrives(store, 'depot', start - 1000, start + 3_600_000), site, overrides: { hysteresis_db: 10 }, sinceWall: start - 1000, untilWall: start + 3_600_000 };
  assert.equal(job.drives.length, 2);
  const runner = workerSimulations();
  const [first, second] = await Promise.allSettled([runner.run(job), runner.run(job)]);
  assert.equal(first.status, 'fulfilled');
  assert.deepEqual((first as PromiseFulfilledResult<unknown>).value, await simulateDrives(job.drives, site, job.overrides, job.sinceWall, job.untilWall), 'the worker\'s result is the in-process one');
  assert.ok(second.status === 'rejected' && second.reason instanceof SimulationBusyError && /another simulation is running/.test(second.reason.message));
  await assert.rejects(workerSimulations({ timeoutMs: 1 }).run(job), (err: unknown) => err instanceof SimulationBusyError && /took longer than/.test(err.message));
  assert.ok((await runner.run(job)).vehicles.length === 2, 'free again once done');
});
