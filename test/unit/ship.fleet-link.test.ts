// The agent's fleet link wired end to end against HQ's agents' API over a real socket: a switch is journaled, shipped
// and stored once; heartbeats arrive; a site profile change at HQ reaches the agent; a restart ships what was left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFleetLink } from '../../agent/ship/fleet-link.js';
import type { SwitchRecord } from '../../agent/machines/arbiter.machine.js';
import type { UplinkStatus } from '../../agent/machines/uplink.machine.js';
import { buildAgentApi } from '../../concentrator/agent-api/app.js';
import { FleetState } from '../../concentrator/agent-api/fleet.js';
import { GroupCommit } from '../../concentrator/agent-api/ingest.js';
import { openEventsDb } from '../../concentrator/store/events/db.js';
import { EventStore } from '../../concentrator/store/events/service.js';
import { openSitesDb } from '../../concentrator/store/sites/db.js';
import { SiteService } from '../../concentrator/store/sites/service.js';
import { createLogger } from '../../shared/log.js';
import type { SiteSet } from '../../shared/wire/site-profile.js';
import { uuid } from './events.fixtures.test.js';

const status = (name: string, kind: UplinkStatus['kind'], ap: UplinkStatus['ap']): UplinkStatus => ({
  name, slot: 1, kind, phase: 'ready', carrier: true, lease: null, ready: true, rttMs: 10, lastOkAt: 0, misses: 0, ap,
});
const rec = (n: number, from: string | null, to: string): SwitchRecord => ({
  id: uuid(n), from, to, reason: n === 1 ? 'initial' : 'signal', decided_at: Date.UTC(2026, 10, 21, 10, 0, n), steered_at: 0, confirmed_at: 0, ms_to_first_packet: 5,
  candidates: [{ name: 'wlan0', phase: 'ready', ready: true, rttMs: 10, misses: 0, carrier: true, signal: -62 }],
});

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('fleet link: journal, ship, heartbeat, sites; a restart ships what was left, each once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-link-'));
  const events = new EventStore(openEventsDb(':memory:'));
  const gc = new GroupCommit(events);
  const fleet = new FleetState({ offlineAfterMs: 15_000 });
  const sites = new SiteService(openSitesDb(':memory:'));
  (await sites.add({ name: 'depot', match: { ssid: ['depot'] }, profile: { switch_below: -70 } }, 'cli:ann'));
  const app = buildAgentApi({ identify: async (a) => (a === '127.0.0.1' ? { name: 'bus-7' } : null), ingest: (b) => gc.submit(b), fleet, sites: () => sites.set(), sitesVersion: () => sites.version() });
  let up = true;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (!up) return res.socket?.destroy();
    const r = await app.inject({ method: req.method as 'GET', url: req.url!, remoteAddress: req.socket.remoteAddress, payload: chunks.length ? Buffer.concat(chunks) : undefined, headers: { 'content-type': 'application/json' } });
    res.writeHead(r.statusCode, { 'content-type': 'application/json' });
    res.end(r.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const apiUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const snapshot = () => ({ active: 'wlan0', status: { wlan0: status('wlan0', 'wifi', { ssid: 'depot', bssid: '02:00:00:00:00:01', signal: -70 }), wwan0: status('wwan0', 'lte', null) } });
  const applied: SiteSet[] = [];
  const logged: Array<{ event?: string }> = [];
  const opts = { vehicle: 'bus-7', stateDir: dir, apiUrl, localAddress: '127.0.0.1', snapshot, signalOf: (n: string) => (n === 'wwan0' ? -97 : null), heartbeatMs: 100, sitesPollMs: 60_000, onSites: (s: SiteSet) => applied.push(s), log: createLogger({ name: 'agent', level: 'info', destination: { write: (l: string) => void logged.push(JSON.parse(l) as { event?: string }) } }) };

  let link = await startFleetLink(opts);
  await until('the site set', () => applied.length === 1); // a first start has no set until HQ answers
  const e1 = link.recordSwitch(rec(1, null, 'wlan0'));
  assert.equal(e1.seq, 1);
  assert.equal(e1.site, 'depot');
  assert.equal(e1.candidates[0]!.signal, -62, 'the signal the decision saw, not the one at the time of journaling (-70)');
  await until('the first switch at HQ', async () => (await events.count()) === 1);
  // Heartbeats carry the site once the set is known (the first one may have gone before it).
  await until('a heartbeat from the depot', () => fleet.get('bus-7')?.last.site === 'depot');
  assert.equal(fleet.online('bus-7'), true);
  assert.equal(link.profileFor({ ssid: 'depot', bssid: 'x' }).policy.switch_below, -70);

  // HQ changes the profile: the agent has it within a heartbeat or two.
  (await sites.update('depot', { profile: { switch_below: -72 } }, 'cli:ann'));
  await until('the new site set', () => applied.length === 2);
  assert.equal(link.profileFor({ ssid: 'depot', bssid: 'x' }).policy.switch_below, -72);

  // HQ unreachable; two switches; the agent stops before it could ship them.
  up = false;
  link.recordSwitch(rec(2, 'wlan0', 'wwan0'));
  link.recordSwitch(rec(3, 'wwan0', 'wlan0'));
  // Heartbeats every 100 ms fail meanwhile: said once (waited for: under load the first failure may take longer than
  // a few heartbeats' time), and not again at the next ones.
  await until('a failed heartbeat said', () => logged.some((l) => l.event === 'heartbeat.failed'));
  await sleep(300);
  assert.equal(link.journal.backlog(), 2);
  assert.equal(logged.filter((l) => l.event === 'heartbeat.failed').length, 1);
  await link.stop();

  // Restarted agent, HQ back: the last good site set applies at once; the backlog ships; nothing doubled.
  up = true;
  link = await startFleetLink(opts);
  assert.equal(applied.length, 3);
  assert.equal(applied[2]!.version, 2);
  link.recordSwitch(rec(4, 'wlan0', 'wlan1'));
  await until('every switch at HQ', async () => (await events.count()) === 4);
  assert.deepEqual((await events.query({ vehicle: 'bus-7' })).map((e) => [e.seq, e.from, e.to]), [[1, null, 'wlan0'], [2, 'wlan0', 'wwan0'], [3, 'wwan0', 'wlan0'], [4, 'wlan0', 'wlan1']]);
  await until('every switch acknowledged', () => link.journal.backlog() === 0); // HQ stores, then answers
  assert.match(link.metrics.render(), /roamlink_agent_journal_backlog_events 0\n/);

  // A switch's intent journaled, the process gone before the confirmation: not shipped meanwhile.
  const unconfirmed = (r: SwitchRecord): SwitchRecord => ({ ...r, confirmed_at: null, ms_to_first_packet: null });
  link.intend(unconfirmed(rec(5, 'wlan1', 'wwan0')));
  await sleep(300);
  assert.equal((await events.count()), 4);
  await link.stop();
  // The next process finds the steering on wwan0: the switch happened, completed and shipped once.
  link = await startFleetLink(opts);
  assert.deepEqual(link.settleIntents('wwan0').map((v) => [v.id, v.do]), [[uuid(5), 'complete']]);
  assert.deepEqual(link.settleIntents('wwan0'), [], 'settled once');
  await until('the completed switch at HQ', async () => (await events.count()) === 5);
  assert.deepEqual((await events.query({ vehicle: 'bus-7' })).at(-1)!.id, uuid(5));
  // Another intent, killed before its steering (found still on wwan0): abandoned, never shipped.
  link.intend(unconfirmed(rec(6, 'wwan0', 'wlan0')));
  await link.stop();
  link = await startFleetLink(opts);
  assert.deepEqual(link.settleIntents('wwan0').map((v) => [v.id, v.do]), [[uuid(6), 'abandon']]);
  await sleep(300);
  assert.equal((await events.count()), 5);
  assert.equal(link.journal.backlog(), 0);
  await link.stop();
});
