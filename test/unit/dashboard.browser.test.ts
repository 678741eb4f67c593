// The dashboard's pages in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core): sign-in, the
// fleet (pushed live, sorted, searched), a vehicle's switch timeline and signal chart, CSV and LTE per day, vehicles
// added and revoked (audited), adding and editing a site profile with the audit shown.
// Skips (with the reason) when playwright-core or chromium is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOKEN, TOKEN_BOB, dashboardFixture } from './dashboard.fixtures.test.js';

const CHROMIUM = process.env.ROAMLINK_CHROMIUM ?? '/usr/bin/chromium';

// Loaded by name at run time: playwright-core is optional (npm i -D playwright-core; apt install chromium).
type Pw = { chromium: { launch(o: object): Promise<Browser> } };
interface Browser { newPage(o?: object): Promise<Page>; close(): Promise<void> }
interface Page {
  goto(url: string): Promise<unknown>;
  fill(sel: string, v: string): Promise<void>;
  click(sel: string): Promise<void>;
  waitForSelector(sel: string, o?: object): Promise<unknown>;
  waitForFunction(fn: string, arg?: unknown, o?: object): Promise<unknown>;
  textContent(sel: string): Promise<string | null>;
  getAttribute(sel: string, name: string): Promise<string | null>;
  $$(sel: string): Promise<unknown[]>;
  isVisible(sel: string): Promise<boolean>;
  evaluate<T>(fn: string): Promise<T>;
  on(ev: 'pageerror' | 'console', fn: (x: { message?: string; type?: () => string; text?: () => string }) => void): void;
  waitForEvent(ev: 'download'): Promise<{ path(): Promise<string | null>; suggestedFilename(): string }>;
}

async function loadPlaywright(): Promise<Pw | string> {
  const name = 'playwright-core';
  try {
    return (await import(name)) as Pw;
  } catch {
    return 'playwright-core is not installed (npm i -D playwright-core)';
  }
}

const pw = await loadPlaywright();
const skip = typeof pw === 'string' ? pw : !existsSync(CHROMIUM) ? `${CHROMIUM} is absent (apt install chromium, or set ROAMLINK_CHROMIUM)` : false;
if (skip) console.log(`# dashboard browser tests skipped: ${skip}`);

/** The listener over HTTPS, as HQ runs it: a self-signed certificate made here (the browser is told to accept it). */
function selfSigned(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rl-dash-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=t',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'k'), '-out', join(dir, 'c')], { stdio: 'ignore' });
    chmodSync(join(dir, 'k'), 0o600);
    return { cert: readFileSync(join(dir, 'c'), 'utf8'), key: readFileSync(join(dir, 'k'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const TOKENS: Record<string, string> = { ann: TOKEN, bob: TOKEN_BOB };

async function open(t: { after: (fn: () => unknown) => void }) {
  const f = await dashboardFixture({ tls: selfSigned() });
  await f.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = f.app.server.address() as { port: number };
  const browser = await (pw as Pw).chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage({ ignoreHTTPSErrors: true });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type?.() === 'error') errors.push(`console: ${m.text?.()}`);
  });
  t.after(async () => {
    await browser.close();
    await f.close();
  });
  const base = `https://127.0.0.1:${addr.port}`;
  /** Signs in with the operator's own token: the server names them (no name is typed). */
  const signIn = async (operator = 'ann') => {
    await page.goto(`${base}/`);
    await page.waitForSelector('#login-form', { state: 'visible' });
    await page.fill('#token', TOKENS[operator]!);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector(`#whoami:has-text("${operator}")`);
  };
  return { f, page, base, errors, signIn };
}

test('sign-in: a wrong token is refused and the form comes back; the right one shows the fleet', { skip }, async (t) => {
  const { page, base, errors } = await open(t);
  await page.goto(`${base}/`);
  await page.waitForSelector('#login-form', { state: 'visible' });
  await page.fill('#token', 'not-the-token-at-all');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#login-error:has-text("refused")');
  assert.equal(await page.isVisible('#login'), true);
  await page.fill('#token', TOKEN);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#fleet tbody tr[data-vehicle="bus-7"]');
  assert.equal(await page.isVisible('#login'), false);
  assert.deepEqual(errors.filter((e) => !e.includes('401')), []);
});

test('fleet page: online state, active uplink, signal, site, last switch per vehicle', { skip }, async (t) => {
  const { page, errors, signIn } = await open(t);
  await signIn();
  await page.waitForSelector('#fleet tbody tr[data-vehicle="van-2"]');
  assert.equal((await page.textContent('#fleet-summary'))?.trim(), '1 of 2 online');
  const bus = '#fleet tr[data-vehicle="bus-7"]';
  assert.equal((await page.textContent(`${bus} .badge`))?.trim(), 'online');
  assert.equal((await page.textContent(`${bus} .active`))?.trim(), 'wwan0');
  assert.equal((await page.textContent(`${bus} .signal`))?.trim(), '-93 dBm');
  assert.equal((await page.textContent(`${bus} .site`))?.trim(), 'depot');
  // LTE bytes today from the heartbeats' counters (11 steps of 200 kB), and the computer's last health sample.
  assert.equal((await page.textContent(`${bus} .lte-today`))?.trim(), '2.2 MB');
  assert.equal((await page.textContent(`${bus} .host`))?.trim(), '71.5 °C, disk 25 % free, load 0.42');
  assert.equal((await page.textContent('#fleet tr[data-vehicle="van-2"] .host'))?.trim(), '—');
  assert.match((await page.textContent(`${bus} .last-switch`)) ?? '', /wlan1 → wwan0 \(carrier-loss\), 5 min ago/);
  assert.equal((await page.textContent('#fleet tr[data-vehicle="van-2"] .badge'))?.trim(), 'offline');
  assert.deepEqual(errors, []);
});

test('vehicle page: facts, switch timeline (a band per uplink) and table, signal chart per uplink', { skip }, async (t) => {
  const { page, errors, signIn } = await open(t);
  await signIn();
  await page.waitForSelector('#fleet tr[data-vehicle="bus-7"] a');
  await page.click('#fleet tr[data-vehicle="bus-7"] a');
  await page.waitForSelector('#vehicle-name');
  assert.match((await page.textContent('#vehicle-name')) ?? '', /bus-7\s+online/);
  assert.equal((await page.$$('#switches tbody tr')).length, 3);
  assert.match((await page.textContent('#switches tbody tr:first-child')) ?? '', /wlan1 → wwan0\s*carrier-loss/);
  for (const u of ['wlan0', 'wlan1', 'wwan0']) assert.ok((await page.$$(`#timeline rect[data-uplink="${u}"]`)).length >= 1, `timeline band for ${u}`);
  assert.ok((await page.$$('#timeline line.switch-mark')).length === 3);
  for (const u of ['wlan0', 'wwan0']) {
    const pts = await page.getAttribute(`#signal-chart polyline[data-uplink="${u}"]`, 'points');
    assert.equal(pts?.trim().split(' ').length, 12, `12 samples for ${u}`);
  }
  assert.match((await page.textContent('#vehicle-facts')) ?? '', /12\.5 EUR/);
  assert.deepEqual(errors, []);
});

test('sites: add one, edit its profile (saved, versioned, audited with who), a bad value named and nothing saved', { skip }, async (t) => {
  const { f, page, base, errors, signIn } = await open(t);
  await signIn('ann');
  await page.goto(`${base}/#/sites`);
  await page.waitForSelector('#sites tbody tr[data-site="depot"]');
  await page.fill('#a-name', 'street-7');
  await page.fill('#a-area_prefix', 'street-');
  await page.click('#site-add button[type=submit]');
  await page.waitForSelector('#site-edit');
  assert.match((await page.textContent('#site-version')) ?? '', /version 1/);
  await page.fill('#f-hold_ms', '2000');
  await page.fill('#f-lte', 'never');
  await page.click('#site-save');
  await page.waitForSelector('#site-edit-result:has-text("version 2")');
  assert.deepEqual((await f.sites.get('street-7'))!.profile, { hold_ms: 2000, lte: 'never' });
  assert.equal((await page.textContent('#site-history tbody tr:first-child .who'))?.trim(), 'dashboard:ann');
  assert.match((await page.textContent('#site-history tbody tr:first-child')) ?? '', /profile\.hold_ms: \(default\) → 2000/);
  await page.fill('#f-loss_max', '3');
  await page.click('#site-save');
  await page.waitForSelector('#site-edit-error:has-text("profile.loss_max")');
  assert.match((await page.getAttribute('#f-loss_max', 'class')) ?? '', /invalid/);
  assert.equal((await f.sites.get('street-7'))!.version, 2);
  await page.goto(`${base}/#/sites`);
  await page.fill('#a-name', 'bad');
  await page.fill('#a-bssid', 'not-a-bssid');
  await page.click('#site-add button[type=submit]');
  await page.waitForSelector('#site-add-error:has-text("match.bssid[0]")');
  assert.equal(await f.sites.get('bad'), null);
  assert.deepEqual(errors.filter((e) => !/status of 4\d\d/.test(e)), []);
});

test('site editor: a changed threshold is tried on the site\'s drives before Save (switches, back-and-forth, LTE), nothing saved', { skip }, async (t) => {
  const { f, page, base, errors, signIn } = await open(t);
  await signIn('ann');
  await page.goto(`${base}/#/site/depot`);
  await page.waitForSelector('#site-edit');
  const version = (await f.sites.get('depot'))!.version;
  await page.fill('#f-hysteresis_db', '10');
  await page.waitForSelector('#sim-table');
  const cell = async (row: number, col: 'current' | 'proposed') => (await page.textContent(`#sim-table tbody tr:nth-child(${row}) .${col}`))?.trim();
  assert.equal(await page.textContent('#sim-table tbody tr:nth-child(1) td:first-child'), 'switches');
  assert.ok(Number(await cell(1, 'proposed')) < Number(await cell(1, 'current')), `${await cell(1, 'proposed')} < ${await cell(1, 'current')}`);
  assert.ok(Number(await cell(2, 'current')) >= 1 && Number(await cell(2, 'proposed')) === 0, 'back-and-forth');
  assert.match((await cell(3, 'current')) ?? '', /^\d+\.\d s$/);
  assert.match((await page.textContent('#site-simulation')) ?? '', /hysteresis_db 4 → 10, on 1 vehicle/);
  // A hysteresis under the drive's own jitter is tried too, and flagged.
  await page.fill('#f-hysteresis_db', '0.5');
  await page.waitForSelector('.sim-warning');
  // A bad value is named, and nothing is saved by trying.
  await page.fill('#f-hysteresis_db', '99');
  await page.waitForSelector('#sim-error:has-text("set.hysteresis_db")');
  assert.equal((await f.sites.get('depot'))!.version, version);
  assert.deepEqual(errors.filter((e) => !/status of 4\d\d/.test(e)), []);
});

test('fleet pushed live (server-sent events), sorted by a click, searched; the switch log as CSV; LTE per day', { skip }, async (t) => {
  const { f, page, base, errors, signIn } = await open(t);
  await signIn();
  await page.waitForSelector('#fleet tr[data-vehicle="van-2"] .badge.offline');
  // A heartbeat at HQ: the page shows it without reloading (no polling left: the stream pushed the changed row).
  const at = new Date().toISOString();
  f.fleet.heartbeat({ vehicle: 'van-2', at, active: 'wlan0', site: 'street', journal_backlog: 0, health: null, modem: null,
    uplinks: [{ name: 'wlan0', kind: 'wifi', state: 'ready', ready: true, signal: -51, rtt_ms: 9, loss: 0, rx_bytes: null, tx_bytes: null, ap: null }] } as never);
  await page.waitForSelector('#fleet tr[data-vehicle="van-2"] .badge.online', { timeout: 5000 });
  assert.equal((await page.textContent('#fleet-summary'))?.trim(), '2 of 2 online');
  const order = () => page.evaluate<string[]>("[...document.querySelectorAll('#fleet tbody tr')].map((r) => r.dataset.vehicle)");
  await page.click('#fleet th[data-sort="signal"]');
  assert.deepEqual(await order(), ['bus-7', 'van-2'], 'weakest first');
  await page.click('#fleet th[data-sort="signal"]');
  assert.deepEqual(await order(), ['van-2', 'bus-7']);
  assert.equal(await page.getAttribute('#fleet th[data-sort="signal"]', 'aria-sort'), 'descending');
  await page.fill('#fleet-search', 'street');
  assert.deepEqual(await order(), ['van-2']);
  await page.fill('#fleet-search', '');
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#log-csv')]);
  assert.equal(dl.suggestedFilename(), 'roamlink-switch-log.csv');
  const csv = readFileSync((await dl.path())!, 'utf8').split('\r\n');
  assert.equal(csv[0], 'at,vehicle,from,to,reason,site,ms_to_first_packet,gap_ms,time_quality,why,id');
  assert.equal(csv.length - 2, 3, 'the 3 stored switches');
  await page.goto(`${base}/#/lte`);
  await page.waitForSelector('#lte-days tr[data-vehicle="bus-7"]');
  assert.equal((await page.textContent(`#lte-days tr[data-vehicle="bus-7"] td[data-day="${at.slice(0, 10)}"]`))?.trim(), '2.2 MB');
  assert.deepEqual(errors, []);
});

test('vehicles: added from the dashboard (a code shown once, or a key), a bad name named; revoked by typing its name; all audited with who', { skip }, async (t) => {
  const { f, page, base, errors, signIn } = await open(t);
  await signIn('bob');
  await page.goto(`${base}/#/vehicles`);
  await page.waitForSelector('#vehicle-add');
  await page.fill('#v-name', 'bus-9');
  await page.click('#vehicle-add button[type=submit]');
  await page.waitForSelector('#enroll-code');
  const code = (await page.textContent('#enroll-code'))!.trim();
  assert.ok((await f.enrollments.check(code)).ok, 'the code shown is the one HQ will take');
  assert.match((await page.textContent('#enroll-command')) ?? '', /^roamlink enroll \S+ --hq hq\.example\.net:8444$/);
  await page.fill('#v-name', 'Bad Name');
  await page.click('#vehicle-add button[type=submit]');
  await page.waitForSelector('#vehicle-add-error:has-text("name:")');
  assert.match((await page.getAttribute('#v-name', 'class')) ?? '', /invalid/);
  await page.fill('#v-name', 'car-3');
  await page.fill('#v-public_key', Buffer.alloc(32, 33).toString('base64'));
  await page.click('#vehicle-add button[type=submit]');
  await page.waitForSelector('#vehicle-added');
  assert.ok(await f.vehicles.get('car-3'));
  await page.goto(`${base}/#/vehicle/van-2`);
  await page.waitForSelector('#vehicle-revoke');
  await page.fill('#r-confirm', 'van-3');
  await page.click('#vehicle-revoke button[type=submit]');
  await page.waitForSelector('#vehicle-revoke-error:has-text("type van-2")');
  assert.equal((await f.vehicles.get('van-2'))!.revoked_at, null, 'a wrong name revokes nothing');
  await page.fill('#r-confirm', 'van-2');
  await page.click('#vehicle-revoke button[type=submit]');
  await page.waitForSelector('#vehicle-audit tbody tr[data-action="revoked"]');
  assert.ok((await f.vehicles.get('van-2'))!.revoked_at);
  const audit = await page.evaluate<string[]>("[...document.querySelectorAll('#vehicle-audit tbody tr')].map((r) => [...r.cells].slice(1, 4).map((c) => c.textContent).join(' '))");
  assert.deepEqual(audit, ['dashboard:bob revoked van-2', 'dashboard:bob added car-3', 'dashboard:bob code bus-9']);
  assert.deepEqual(errors.filter((e) => !/status of 4\d\d/.test(e)), []);
});
