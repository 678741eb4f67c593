// The agent's start modules (agent/start/): what each computes from the config and what adoption found, the switch's
// steering with its intent journaled first, the site applier, the log's rules, the tunnel keeper's path check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseAgentConfig, type AgentConfig } from '../../shared/config/agent.js';
import { createLogger } from '../../shared/log.js';
import { realClock } from '../../shared/clock.js';
import type { AdoptPlan } from '../../agent/adopt/adopt.plan.js';
import type { SwitchRecord } from '../../agent/machines/arbiter.machine.js';
import type { UplinkReport, UplinkStatus } from '../../agent/machines/uplink.machine.js';
import { DEFAULT_POLICY } from '../../agent/policy/policy.js';
import { DEFAULT_BUDGET } from '../../agent/policy/budget.js';
import { COUNTER_INTERVAL_MS } from '../../agent/machines/arbiter.decide.js';
import { arbiterInputOf, modemUplinkOf, uplinkInputsOf, watchdogOf } from '../../agent/start/arbiter.inputs.js';
import { phaseKeys, watchdogOk } from '../../agent/start/arbiter.log.js';
import { loadBudgets } from '../../agent/start/budget.start.js';
import { pathOk } from '../../agent/start/keeper.start.js';
import { apInUse, createSiteApplier } from '../../agent/start/sites.start.js';
import { createSwitchSteer, type IntentJournal } from '../../agent/start/switch.steer.js';
import { heartbeatModemOf } from '../../agent/modem.js';
import type { FleetLink } from '../../agent/ship/fleet-link.js';

const HQ_PUB = 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=';
const cfgOf = (over: Record<string, unknown> = {}): AgentConfig => parseAgentConfig({
  vehicle: 'bus-7',
  wireguard: { interface: 'rl-wg0', private_key_file: '/etc/roamlink/agent.key', address: '10.99.0.2' },
  concentrator: { endpoint: '198.51.100.7:51820', public_key: HQ_PUB, tunnel_address: '10.99.0.1' },
  uplinks: [{ name: 'wlan0', kind: 'wifi' }, { name: 'wlan1', kind: 'wifi' }, { name: 'wwan0', kind: 'lte' }],
  ...over,
});
const lines = () => {
  const out: Array<Record<string, unknown>> = [];
  const log = createLogger({ name: 'test', level: 'debug', destination: new Writable({ write(c, _e, cb) { out.push(JSON.parse(String(c))); cb(); } }) as never });
  return { log, out };
};
const lease = (address: string) => ({ address, prefix: 24, router: address.replace(/\.\d+$/, '.1'), leaseSeconds: 0 });
const plan = (over: Partial<AdoptPlan> = {}): AdoptPlan => ({
  active: null, steered: null, peerConfigured: false, actions: [], notes: [],
  uplinks: { wlan0: { lease: null, ap: null }, wlan1: { lease: null, ap: null }, wwan0: { lease: null, ap: null } }, ...over,
});

test('arbiter inputs: the adopted active with its address; a fresh start none; the watchdog only when it has checks; the modem\'s uplink', () => {
  const adopted = plan({ active: 'wlan1', steered: 'wlan1', uplinks: { wlan0: { lease: lease('192.168.10.5'), ap: null }, wlan1: { lease: lease('192.168.11.7'), ap: { ssid: 'street-7', bssid: '02:00:00:00:00:02' } }, wwan0: { lease: null, ap: null } } });
  const cfg = cfgOf({ initial_uplink: 'wlan0' });
  const a = arbiterInputOf(cfg, DEFAULT_POLICY, adopted);
  assert.deepEqual([a.uplinks, a.initial, a.adopted, a.watchdog], [['wlan0', 'wlan1', 'wwan0'], 'wlan0', { uplink: 'wlan1', address: '192.168.11.7' }, null]);
  assert.equal(arbiterInputOf(cfg, DEFAULT_POLICY, plan()).adopted, null);
  assert.equal(a.counterIntervalMs, COUNTER_INTERVAL_MS, 'the tunnel\'s counters read at the interval the fast check is timed for');
  // An active without a lease (cannot happen from planAdoption) is not adopted rather than a crash.
  assert.equal(arbiterInputOf(cfg, DEFAULT_POLICY, plan({ active: 'wlan0' })).adopted, null);
  const ups = uplinkInputsOf(cfg, DEFAULT_POLICY, DEFAULT_BUDGET, new Map([['wwan0', { day_start: 0, bytes: 900, last_probe_at: null }]]), adopted);
  assert.deepEqual(ups.map((u) => [u.name, u.slot, u.adopted?.lease?.address ?? null, u.budgetUsage?.bytes ?? null, u.redial]),
    [['wlan0', 1, '192.168.10.5', null, false], ['wlan1', 2, '192.168.11.7', null, false], ['wwan0', 3, null, 900, false]]);
  assert.equal(modemUplinkOf(cfg), null, 'no modem configured: no redial');
  const withModem = cfgOf({ modem: { device: '/dev/ttyUSB2', apn: 'internet' } });
  assert.equal(modemUplinkOf(withModem), 'wwan0');
  assert.deepEqual(uplinkInputsOf(withModem, DEFAULT_POLICY, DEFAULT_BUDGET, new Map(), plan()).map((u) => u.redial), [false, false, true]);
  assert.equal(watchdogOf(cfgOf({ watchdog: { hosts: [] } })), null);
  assert.deepEqual(watchdogOf(cfgOf({ watchdog: { hosts: ['10.0.0.5'] } }))?.hosts, ['10.0.0.5']);
  assert.equal(watchdogOf(cfgOf({ watchdog: { hosts: ['10.0.0.5'] } }))?.tunnelIf, 'rl-wg0');
});

function steerRig(o: { nftFails?: string; journalThrows?: boolean; peerConfigured?: boolean } = {}) {
  const calls: string[] = [];
  const journal: IntentJournal = {
    intend: (r) => {
      if (o.journalThrows) throw new Error('disk full');
      calls.push(`intend ${r.id}`);
    },
    abandon: (id, why) => void calls.push(`abandon ${id}: ${why}`),
  };
  const { log, out } = lines();
  const s = createSwitchSteer({
    steer: { steer: async (spec) => {
      calls.push(`nft ${spec.target?.mark.toString(16)} ${spec.target?.address}`);
      if (o.nftFails) throw new Error(o.nftFails);
    } },
    routing: { setTunnelDefault: async (u, l) => void calls.push(`tunnel default ${u.name} ${l.address}`) },
    setPeer: async () => void calls.push('peer'),
    slots: new Map([['wlan0', { name: 'wlan0', slot: 1 }], ['wlan1', { name: 'wlan1', slot: 2 }]]),
    wgMark: 0xca6c, endpoint: { address: '198.51.100.7', port: 51820 }, peerConfigured: o.peerConfigured ?? false,
    journal: () => journal, log,
  });
  return { s, calls, out };
}
const to = (name: string, address: string) => ({ name, lease: lease(address) }) as unknown as UplinkStatus;
const intent = { id: 'sw-1', from: 'wlan0', to: 'wlan1', operator: false } as SwitchRecord;

test('switch steering: the intent journaled before nft; the peer set once, at the first steering; a re-steering journals nothing', async () => {
  const r = steerRig();
  await r.s.steer(to('wlan1', '192.168.11.7'), new AbortController().signal, intent);
  await r.s.steer(to('wlan1', '192.168.11.8'), new AbortController().signal);
  assert.deepEqual(r.calls, ['intend sw-1', 'nft ca6e 192.168.11.7', 'tunnel default wlan1 192.168.11.7', 'peer', 'nft ca6e 192.168.11.8']);
  assert.equal(r.s.peerConfigured(), true);
  const adopted = steerRig({ peerConfigured: true });
  await adopted.s.steer(to('wlan0', '192.168.10.5'), new AbortController().signal, { ...intent, to: 'wlan0' });
  assert.deepEqual(adopted.calls, ['intend sw-1', 'nft ca6d 192.168.10.5'], 'an adopted peer is not set again');
});

test('switch steering: nft failing abandons the intent (no switch); aborted (the agent stopping) leaves it open; a journal that fails never stops the switch', async () => {
  const failed = steerRig({ nftFails: 'nft: syntax error' });
  await assert.rejects(failed.s.steer(to('wlan1', '192.168.11.7'), new AbortController().signal, intent), /syntax error/);
  assert.deepEqual(failed.calls, ['intend sw-1', 'nft ca6e 192.168.11.7', 'abandon sw-1: steering failed: Error: nft: syntax error']);
  const aborted = steerRig({ nftFails: 'killed' });
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(aborted.s.steer(to('wlan1', '192.168.11.7'), ac.signal, intent));
  assert.deepEqual(aborted.calls, ['intend sw-1', 'nft ca6e 192.168.11.7'], 'it may have taken effect: the next process settles it');
  const broken = steerRig({ journalThrows: true });
  await broken.s.steer(to('wlan1', '192.168.11.7'), new AbortController().signal, intent);
  assert.deepEqual(broken.calls.slice(0, 1), ['nft ca6e 192.168.11.7']);
  assert.deepEqual(broken.out.filter((l) => l.event === 'journal.failed').map((l) => l.id), ['sw-1']);
  await assert.rejects(steerRig().s.steer({ name: 'wlan1', lease: null } as unknown as UplinkStatus, new AbortController().signal, intent), /wlan1 has no address/);
});

const up = (name: string, over: Partial<UplinkReport> = {}) => ({
  name, slot: 1, kind: 'wifi', phase: 'ready', carrier: true, lease: null, ready: true, rttMs: 10, lastOkAt: 0, misses: 0, ap: null,
  probe: { loss: 0, rtt_ms: 10, last_ok_at: 0 }, signal: -60, role: 'standby', radio: 'idle', addressing: 'dhcp', addressed: true, ...over,
}) as unknown as UplinkReport;
const AP = (ssid: string) => ({ ssid, bssid: `02:00:00:00:00:0${ssid.length}`, signal: -60, entry: 0 });

test('site: the active uplink\'s AP, else any radio\'s, else none; the applier sends a policy only when the site or its version changes', () => {
  assert.deepEqual(apInUse({ active: 'wlan1', status: { wlan0: up('wlan0', { ap: AP('depot') }), wlan1: up('wlan1', { ap: AP('street-7') }) } }), { ssid: 'street-7', bssid: '02:00:00:00:00:08' });
  assert.deepEqual(apInUse({ active: 'wwan0', status: { wwan0: up('wwan0'), wlan0: up('wlan0', { ap: AP('depot') }) } }), { ssid: 'depot', bssid: '02:00:00:00:00:05' });
  assert.equal(apInUse({ active: null, status: { wwan0: up('wwan0') } }), null);
  const sent: Array<{ site: string | null; below: number }> = [];
  let site: { site: string | null; version: number | null } = { site: 'depot', version: 3 };
  const link = { profileFor: () => ({ ...site, policy: { ...DEFAULT_POLICY, switch_below: -70 } }) } as unknown as FleetLink;
  const { log } = lines();
  const a = createSiteApplier({ view: () => ({ active: null, status: {} }) as never, send: (e) => void sent.push({ site: e.site, below: e.policy.switch_below }), policy: DEFAULT_POLICY, log });
  a.apply(link);
  a.apply(link);
  site = { site: 'depot', version: 4 };
  a.apply(link);
  site = { site: null, version: 4 };
  a.apply(link);
  a.reset();
  a.apply(link);
  assert.deepEqual(sent, [{ site: 'depot', below: -70 }, { site: 'depot', below: -70 }, { site: null, below: DEFAULT_POLICY.switch_below }, { site: null, below: DEFAULT_POLICY.switch_below }]);
});

test("site applier, a reload's policy: sent at once away from any site; at a site, the site's profile stays and the log says the config's waits", () => {
  const sent: Array<{ site: string | null; below: number }> = [];
  let site: { site: string | null; version: number | null } = { site: null, version: 1 };
  const link = { profileFor: () => ({ ...site, policy: { ...DEFAULT_POLICY, switch_below: -70 } }) } as unknown as FleetLink;
  const { log, out } = lines();
  const a = createSiteApplier({ view: () => ({ active: null, status: {} }) as never, send: (e) => void sent.push({ site: e.site, below: e.policy.switch_below }), policy: DEFAULT_POLICY, log });
  a.apply(link);
  a.reloadPolicy({ ...DEFAULT_POLICY, switch_below: -75 }, link);
  site = { site: 'depot', version: 2 };
  a.reloadPolicy({ ...DEFAULT_POLICY, switch_below: -77 }, link);
  site = { site: null, version: 2 };
  a.apply(link);
  assert.deepEqual(sent, [{ site: null, below: DEFAULT_POLICY.switch_below }, { site: null, below: -75 }, { site: 'depot', below: -70 }, { site: null, below: -77 }]);
  assert.deepEqual(out.filter((l) => l.event === 'config.policy').map((l) => l.site), ['depot']);
});

test('log rules: a watchdog round fails when every host is silent or DNS fails; phase keys name phase and state; the keeper\'s path check', () => {
  const round = (rtts: Array<number | null>, dns?: boolean) => ({ result: { hosts: rtts.map((rttMs, i) => ({ host: `h${i}`, rttMs })), dns: dns === undefined ? null : { ok: dns } } }) as never;
  assert.deepEqual([round([5, null]), round([null, null]), round([]), round([5], false), round([], true)].map(watchdogOk), [true, false, true, false, true]);
  const l = lease('192.168.10.5');
  const keys = phaseKeys({
    active: 'wlan0', status: { wlan0: up('wlan0', { lease: l }), wlan1: up('wlan1', { phase: 'probing', ready: false, lease: l }), wwan0: up('wwan0', { carrier: false, kind: 'lte', radio: null }) },
    holdDown: { wlan1: 10 }, policy: DEFAULT_POLICY, pending: null, site: null, state: 'steady',
  }, 0);
  assert.deepEqual([...keys.values()].map((k) => k.key), ['ready/active', 'probing/hold-down', 'ready/down']);
  assert.deepEqual([
    pathOk({ active: 'wlan0', status: { wlan0: up('wlan0') } }, true),
    pathOk({ active: 'wlan0', status: { wlan0: up('wlan0') } }, false),
    pathOk({ active: 'wlan0', status: { wlan0: up('wlan0', { misses: 1 }) } }, true),
    pathOk({ active: null, status: {} }, true),
  ], [true, false, false, false]);
});

test('budgets at start: the saved spend loaded; a half-written file a warning naming it, the day from zero; the modem\'s heartbeat part', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-budgets-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = cfgOf({ state_dir: dir, uplinks: [{ name: 'wlan0', kind: 'wifi' }, { name: 'wwan0', kind: 'lte' }, { name: 'wwan1', kind: 'lte' }] });
  const now = Date.UTC(2026, 11, 3, 12, 0);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'lte-budget-wwan0.json'), JSON.stringify({ version: 1, day_start: Date.UTC(2026, 11, 3), bytes: 4096, last_probe_at: now - 1000 }));
  writeFileSync(join(dir, 'lte-budget-wwan1.json'), '{"version":1,"day_st');
  const { log, out } = lines();
  const b = loadBudgets(cfg, log, { ...realClock, wallNow: () => now });
  assert.deepEqual([...b.stores.keys()], ['wwan0', 'wwan1']);
  assert.deepEqual([...b.usage].map(([k, u]) => [k, u.bytes]), [['wwan0', 4096]]);
  const warned = out.filter((l) => l.event === 'budget.store');
  assert.equal(warned.length, 1);
  assert.equal(warned[0]!.file, join(dir, 'lte-budget-wwan1.json'));
  assert.match(String(warned[0]!.msg), /lte-budget-wwan1\.json: not JSON/);
  assert.deepEqual([heartbeatModemOf(null), heartbeatModemOf({ currency: 'EUR' }), heartbeatModemOf({ amount: 12.5, currency: 'EUR', at: 0 })],
    [null, null, { balance: 12.5, currency: 'EUR', balance_at: null, operator: null }]);
});

test('switch steering with copies: a switch onto the copies\' path is one nft call, steering and copies ended together (never the copies ended first)', async () => {
  const specs: string[] = [];
  const s = createSwitchSteer({
    steer: { steer: async (spec) => void specs.push(`target ${spec.target?.address} copy ${spec.copy?.device ?? 'none'}`) },
    routing: { setTunnelDefault: async () => {} }, setPeer: async () => {},
    slots: new Map([['wlan0', { name: 'wlan0', slot: 1 }], ['wlan1', { name: 'wlan1', slot: 2 }]]),
    wgMark: 0xca6c, endpoint: { address: '198.51.100.7', port: 51820 }, peerConfigured: true, journal: () => null, log: lines().log,
  });
  await s.steer(to('wlan0', '192.168.10.5'), new AbortController().signal);
  await s.copy(to('wlan1', '192.168.11.7'));
  // The arbiter's redundancy.changed with bySwitch: the agent does not call copy(null) first; the steering ends them.
  await s.steer(to('wlan1', '192.168.11.7'), new AbortController().signal);
  assert.deepEqual(specs, ['target 192.168.10.5 copy none', 'target 192.168.10.5 copy wlan1', 'target 192.168.11.7 copy none']);
});
