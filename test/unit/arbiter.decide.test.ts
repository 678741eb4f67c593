// The arbiter's pure helpers as tables: tunnel counters as times, the decision clock, state names, roles and exclusions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COUNTER_INTERVAL_MS, COUNTER_STALL_MS, decisionClock, NO_TUNNEL, regularGapMs, standbysToAsk, NO_WATCH, rolesFor, rxLapseAt, seeCounters, stateOf, tunnelAsOf, viewOf, watchCounters, type CounterWatch, type TunnelSeen } from '../../agent/machines/arbiter.decide.js';
import type { UplinkReport } from '../../agent/machines/uplink.machine.js';
import { DEFAULT_POLICY } from '../../agent/policy/policy.js';
import { createSysfsCounters, parseCounter } from '../../agent/drivers/tunnel/counters.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const P = { ...DEFAULT_POLICY };

function up(name: string, over: Partial<UplinkReport> = {}): UplinkReport {
  const kind = name.startsWith('wwan') ? 'lte' : 'wifi';
  return {
    name, slot: { wlan0: 1, wlan1: 2, wwan0: 3 }[name] ?? 9, kind, phase: 'ready', carrier: true,
    lease: { address: '10.0.0.2', prefix: 24, router: '10.0.0.1', leaseSeconds: 60 }, addressed: true, ready: true, rttMs: 5, lastOkAt: 0, misses: 0,
    probe: { rtt_ms: 5, loss: 0, last_ok_at: 0 }, signal: kind === 'wifi' ? -60 : -95, role: 'standby', radio: kind === 'wifi' ? 'idle' : null,
    ap: kind === 'wifi' ? { ssid: 'depot', bssid: name === 'wlan0' ? '02:00:00:00:00:01' : '02:00:00:00:00:02', signal: -60, entry: 0 } : null, addressing: 'dhcp',
    ...over,
  };
}

test('seeCounters: rx_rate is what came back per ms between regular readings, smoothed, kept through a silence and a stall', () => {
  let t = seeCounters({ ...NO_TUNNEL }, { rx: 0, tx: 0 }, 1000, 50);
  assert.equal(t.rx_rate, undefined, 'nothing measured yet');
  t = seeCounters(t, { rx: 50, tx: 50 }, 1050, 50);
  assert.equal(t.rx_rate, 1, '50 packets in 50 ms');
  t = seeCounters(t, { rx: 60, tx: 60 }, 1100, 50);
  assert.equal(t.rx_rate, 1 + (0.2 - 1) / 4, 'smoothed by a quarter of each new reading (10 in 50 ms)');
  const silent = seeCounters(t, { rx: 60, tx: 110 }, 1150, 50);
  assert.equal(silent.rx_rate, t.rx_rate, 'a silence keeps the rate the path carried before it');
  const stalled = seeCounters(silent, { rx: 2000, tx: 2000 }, 2150, 50);
  assert.equal(stalled.rx_rate, t.rx_rate, 'not measured across a stall (the packets queued meanwhile would overstate it)');
});

test('standbysToAsk: while packets came back at 1/ms, the active is asked once dead_packets\' time has passed, the others once its probe is half its deadline old', () => {
  const tunnel: TunnelSeen = { rx: 9, tx: 9, readAt: 1050, last_rx_at: 1000, last_tx_at: 1040, rx_moving: false, tx_moving: true, rx_rate: 1 };
  const quiet = up('wlan0', { probe: { rtt_ms: 5, loss: 0, last_ok_at: 900 } });
  const asking = up('wlan0', { probe: { rtt_ms: 5, loss: 0, last_ok_at: 900, in_flight_since: 1025 } });
  const P20 = { ...P, dead_packets: 20 };
  const ask = (now: number, over: Partial<TunnelSeen> = {}, policy = P20, a = quiet, askedActiveFor: number | null = null) =>
    standbysToAsk({ uplinks: [a, up('wlan1')], active: 'wlan0', tunnel: { ...tunnel, ...over }, policy, now, askedFor: null, askedActiveFor });
  assert.equal(ask(1015), null, '15 ms: under the 20 packets\' time');
  assert.deepEqual(ask(1025), { ask: ['wlan0'], askedFor: null, askedActiveFor: 1000, recheckInMs: 21 }, 'the active first, a recheck at half its deadline (40 ms)');
  assert.equal(ask(1040, {}, P20, asking, 1000), null, 'its probe out 15 ms: not yet');
  assert.deepEqual(ask(1045, {}, P20, asking, 1000), { ask: ['wlan1'], askedFor: 1000, askedActiveFor: 1000, recheckInMs: 21, otherHq: true }, 'out 20 ms: the others (and the other HQ through the active), a recheck at its deadline');
  const slow = up('wlan0', { probe: { rtt_ms: 30, loss: 0, last_ok_at: 900, in_flight_since: 1025 } });
  assert.equal(ask(1060, {}, P20, slow, 1000), null, 'an RTT of 30 ms: a deadline of 90 ms, the others asked only at 45');
  assert.deepEqual(ask(1070, {}, P20, slow, 1000)?.ask, ['wlan1']);
  assert.equal(ask(1025, { rx_rate: 0.01 }), null, 'at 10 packets/s, 20 packets take 2 s: the slow rule, asked at half of dead_busy_ms');
  assert.deepEqual(ask(1205, { rx_rate: 0.01 }), { ask: ['wlan1'], askedFor: 1000, askedActiveFor: null, otherHq: true });
  assert.equal(ask(1025, {}, { ...P, dead_packets: 40 }), null, 'dead_packets: 40 packets, 40 ms');
  assert.equal(ask(1025, {}, { ...P, dead_packets: 0 }), null, 'dead_packets 0: no fast check');
  assert.deepEqual(ask(1025, {}, P)?.ask, ['wlan0'], 'the default policy: the fast check on (20 packets)');
  // Only where replies are expected through the active (expectsReplies).
  assert.equal(ask(1025, { last_tx_at: 1000 }), null, 'the vehicle stopped sending with the replies: nothing asked');
  assert.equal(ask(1025, { last_tx_at: 1005 }), null, 'a packet out 5 ms into the silence (under half of 20 packets\' time): nothing asked');
  assert.deepEqual(ask(1025, { last_tx_at: 1010 })?.ask, ['wlan0'], 'out 10 ms into it (dated a reading early): the active asked');
  const copying = standbysToAsk({ uplinks: [quiet, up('wlan1')], active: 'wlan0', tunnel, policy: P20, now: 1025, askedFor: null, askedActiveFor: null, copying: true });
  assert.equal(copying, null, 'copies flowing: the tunnel\'s silence is not the active\'s, no fast ask');
});

test('standbysToAsk: a single uplink still asks (nobody but the other HQ, through it), once per silence', () => {
  const tunnel: TunnelSeen = { rx: 9, tx: 9, readAt: 1200, last_rx_at: 1000, last_tx_at: 1190, rx_moving: false, tx_moving: true };
  const only = up('wlan0', { probe: { rtt_ms: 5, loss: 0, last_ok_at: 900 } });
  const ask = (now: number, askedFor: number | null = null) => standbysToAsk({ uplinks: [only], active: 'wlan0', tunnel, policy: { ...P, dead_packets: 0 }, now, askedFor });
  assert.equal(ask(1150), null, 'before half of dead_busy_ms');
  assert.deepEqual(ask(1200), { ask: [], askedFor: 1000, askedActiveFor: null, otherHq: true });
  assert.equal(ask(1300, 1000), null, 'asked once per silence');
});

test('seeCounters: growth is dated at the previous reading when readings are regular, at now after a stall', () => {
  const t0: TunnelSeen = seeCounters({ ...NO_TUNNEL }, { rx: 10, tx: 10 }, 1000, 25);
  assert.deepEqual(t0, { rx: 10, tx: 10, readAt: 1000, last_rx_at: null, last_tx_at: null, rx_moving: false, tx_moving: false }, 'the first reading proves nothing');
  const t1 = seeCounters(t0, { rx: 12, tx: 10 }, 1025, 25);
  assert.deepEqual([t1.last_rx_at, t1.last_tx_at], [1000, null], 'rx grew after the reading at 1000');
  const t2 = seeCounters(t1, { rx: 12, tx: 11 }, 1050, 25);
  assert.deepEqual([t2.last_rx_at, t2.last_tx_at], [1000, 1025]);
  assert.deepEqual([t2.rx_moving, t2.tx_moving], [false, true], 'what grew at this reading');
  const stalled = seeCounters(t2, { rx: 20, tx: 20 }, 1600, 25);
  assert.deepEqual([stalled.last_rx_at, stalled.last_tx_at], [1600, 1600], 'after a 550 ms stall: dated now, not 550 ms ago');
  const stalledSilent = seeCounters(t2, { rx: 12, tx: 30 }, 4050, 25);
  assert.deepEqual([stalledSilent.last_rx_at, stalledSilent.last_tx_at], [1000 + 3000, 4050], 'rx silent since 1000, then a 3 s stall: the silence is 50 ms old, not 3050');
  const failed = seeCounters(t2, null, 1075, 25);
  assert.deepEqual([failed.readAt, failed.rx, failed.last_rx_at], [1075, 12, 1000], 'a failed read keeps what was known');
  const reset = seeCounters(t2, { rx: 0, tx: 0 }, 1075, 25);
  assert.deepEqual([reset.last_rx_at, reset.last_tx_at], [1050, 1050], 'a counter reset (new interface) is a change');
});

test('seeCounters at the agent\'s 10 ms interval on a loaded machine: readings 15-90 ms apart still date a silence; only a gap past COUNTER_STALL_MS is a stall', () => {
  assert.equal(COUNTER_INTERVAL_MS, 10);
  // Packets came back until the reading at 1000 (dated to the one before, 990); from then on only tx grows, and the
  // readings come late as a busy event loop fires them.
  let t: TunnelSeen = seeCounters(seeCounters({ ...NO_TUNNEL }, { rx: 0, tx: 0 }, 990, 10), { rx: 10, tx: 10 }, 1000, 10);
  assert.equal(t.last_rx_at, 990);
  const rows: Array<{ at: number; rx: number; tx: number }> = [
    { at: 1025, rx: 990, tx: 1000 }, // 25 ms after the last: late, not a stall; tx dated to the reading before
    { at: 1060, rx: 990, tx: 1025 }, // 35 ms
    { at: 1150, rx: 990, tx: 1060 }, // 90 ms
    { at: 1300, rx: 990 + 150, tx: 1300 }, // 150 ms: a stall; the silence is not lengthened by it, tx dated now
  ];
  let tx = 10;
  for (const r of rows) {
    t = seeCounters(t, { rx: 10, tx: (tx += 5) }, r.at, 10);
    assert.deepEqual([t.last_rx_at, t.last_tx_at], [r.rx, r.tx], `reading at ${r.at}`);
  }
  assert.equal(regularGapMs(10), COUNTER_STALL_MS);
  assert.equal(regularGapMs(80), 160, 'never less than two intervals');
});

test('decisionClock: never more than a heartbeat and an interval past the last reading heard of', () => {
  assert.equal(decisionClock(5000, { ...NO_TUNNEL }, 25), 5000, 'no reading yet: now');
  assert.equal(decisionClock(5010, { ...NO_TUNNEL, readAt: 5000 }, 25), 5010);
  assert.equal(decisionClock(5600, { ...NO_TUNNEL, readAt: 5000 }, 25), 5050, 'stalled: as of the last reading');
  assert.equal(decisionClock(5200, { ...NO_TUNNEL, readAt: 5000 }, 25, 250), 5200, 'within a heartbeat: now');
  assert.equal(decisionClock(5600, { ...NO_TUNNEL, readAt: 5000 }, 25, 250), 5275);
  assert.equal(decisionClock(5600, { ...NO_TUNNEL, readAt: 5000, rx_moving: true }, 25, 250), 5600, 'replies were coming back: the long heartbeat');
  assert.equal(decisionClock(6500, { ...NO_TUNNEL, readAt: 5000, rx_moving: true }, 25, 250), 6025);
});

/** Readings every 25 ms of counters that grow as `flow(t)` says; which readings the arbiter hears of. */
function told(flow: (t: number) => { rx: boolean; tx: boolean }, untilMs: number, heartbeatMs = 250): number[] {
  let w: CounterWatch = NO_WATCH;
  let rx = 0;
  let tx = 0;
  const out: number[] = [];
  for (let t = 0; t <= untilMs; t += 25) {
    const f = flow(t);
    if (f.rx) rx += 3;
    if (f.tx) tx += 3;
    const r = watchCounters(w, { rx, tx }, t, 25, heartbeatMs);
    w = r.watch;
    if (r.tell) out.push(t);
  }
  return out;
}

test('watchCounters: a steady tunnel is told once a heartbeat; a change at once; a one-way silence at every reading', () => {
  assert.deepEqual(told(() => ({ rx: true, tx: true }), 2500), [0, 25, 1025, 2025], 'both ways flowing: the first readings, then a heartbeat 4 times as long (replies prove the path)');
  assert.deepEqual(told(() => ({ rx: true, tx: false }), 2500), [0, 25, 1025, 2025], 'replies with nothing sent: alive all the same');
  assert.deepEqual(told(() => ({ rx: false, tx: false }), 1000), [0, 250, 500, 750, 1000], 'idle: heartbeats');
  const blackhole = told((t) => ({ rx: t < 500, tx: true }), 800);
  assert.deepEqual(blackhole.filter((t) => t >= 500), [500, 525, 550, 575, 600, 625, 650, 675, 700, 725, 750, 775, 800], 'replies stop while packets go out: every reading');
  assert.deepEqual(told((t) => ({ rx: t < 500, tx: t < 500 }), 800).filter((t) => t >= 300), [500, 750], 'traffic stops: at once, then the short heartbeat');
  assert.deepEqual(told((t) => ({ rx: t >= 500, tx: t >= 500 }), 1600).filter((t) => t >= 300), [500, 1500], 'traffic starts: at once, then the long heartbeat');
  let w: CounterWatch = NO_WATCH;
  w = watchCounters(w, { rx: 1, tx: 1 }, 0, 25, 250).watch;
  assert.equal(watchCounters(w, null, 25, 25, 250).tell, true, 'a failed read is news');
});

test('tunnelAsOf: no news is the counters moving as last heard, dated as a reading would date them', () => {
  const flowing: TunnelSeen = { rx: 9, tx: 9, readAt: 1000, last_rx_at: 975, last_tx_at: 975, rx_moving: true, tx_moving: true };
  assert.deepEqual(tunnelAsOf(flowing, 1000, 25), flowing, 'at the reading: as read');
  const later = tunnelAsOf(flowing, 1200, 25);
  assert.deepEqual([later.last_rx_at, later.last_tx_at], [1150, 1150]);
  const silent: TunnelSeen = { ...flowing, last_rx_at: 700, rx_moving: false };
  assert.deepEqual([tunnelAsOf(silent, 1200, 25).last_rx_at, tunnelAsOf(silent, 1200, 25).last_tx_at], [700, 1150], 'a silence stays a silence');
});

test('stateOf: the issue\'s state names', () => {
  const o = { active: 'wlan0', holdDown: { wlan1: 2000 }, policy: P, now: 1000 };
  const table: Array<[string, UplinkReport, string]> = [
    ['Wi-Fi without carrier, radio scanning', up('wlan1', { carrier: false, radio: 'scanning', ap: null }), 'scanning'],
    ['Wi-Fi without carrier, associating', up('wlan1', { carrier: false, radio: 'associating' }), 'associating'],
    ['LTE without carrier', up('wwan0', { carrier: false }), 'down'],
    ['no lease', up('wwan0', { lease: null }), 'addressing'],
    ['addressed, not yet answered', up('wwan0', { ready: false }), 'probing'],
    ['ready standby', up('wwan0'), 'standby'],
    ['lossy standby', up('wwan0', { probe: { rtt_ms: 5, loss: 0.4, last_ok_at: 0 } }), 'degraded'],
    ['held down', up('wlan1'), 'hold-down'],
    ['the active', up('wlan0'), 'active'],
    ['the active below switch_below', up('wlan0', { signal: -80 }), 'degraded'],
    ['the active not answering', up('wlan0', { ready: false }), 'degraded'],
  ];
  for (const [name, u, want] of table) assert.equal(stateOf(u, o), want, name);
  assert.equal(viewOf(up('wlan1', { addressed: false }), o).ready, false, 'not steerable before its routing is in place');
  assert.equal(viewOf(up('eth0', { kind: 'ethernet', signal: null, ap: null }), o).signal, 0, 'a cable counts as a strong signal');
});

test('rolesFor: roles, the active\'s probe pace, and which APs each radio leaves to others', () => {
  const uplinks = [up('wlan0'), up('wlan1'), up('wwan0')];
  const base = { uplinks, holdDown: {}, heldAps: {}, now: 1000, policy: P };
  const busy = rolesFor({ ...base, active: 'wlan0', busy: true });
  assert.deepEqual(busy, {
    wlan0: { role: 'active', probeIntervalMs: 50, exclude: [] },
    wlan1: { role: 'standby', exclude: ['02:00:00:00:00:01'] },
    wwan0: { role: 'standby' },
  });
  assert.equal(rolesFor({ ...base, active: 'wlan0', busy: false }).wlan0!.probeIntervalMs, 200, 'idle: every 200 ms');
  assert.equal(rolesFor({ ...base, active: 'wlan0', busy: true, rxFlowing: true, restProbeMs: 1000 }).wlan0!.probeIntervalMs, 1000, 'tunnel packets come back: they prove the path; the standby pace');
  // LTE active: the higher-numbered radio leaves the lower one's AP.
  const lte = rolesFor({ ...base, active: 'wwan0', busy: false });
  assert.deepEqual([lte.wlan0!.exclude, lte.wlan1!.exclude], [[], ['02:00:00:00:00:01']]);
  // wlan1 active: wlan0 leaves its AP; an AP in hold-down is left by everyone not active.
  const held = rolesFor({ ...base, active: 'wlan1', busy: false, holdDown: { wlan0: 5000 }, heldAps: { '02:00:00:00:00:09': 5000, '02:00:00:00:00:08': 900 } });
  assert.deepEqual(held.wlan0, { role: 'hold-down', exclude: ['02:00:00:00:00:02', '02:00:00:00:00:09'] });
  assert.deepEqual(held.wlan1, { role: 'active', probeIntervalMs: 200, exclude: ['02:00:00:00:00:09'] });
});

test('tunnel counters: sysfs files kept open and re-read from offset 0; an interface that is not there throws', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'rl-sysfs-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const stats = join(root, 'wg0', 'statistics');
  const write = (rx: number, tx: number) => {
    mkdirSync(stats, { recursive: true });
    writeFileSync(join(stats, 'rx_packets'), `${rx}\n`);
    writeFileSync(join(stats, 'tx_packets'), `${tx}\n`);
  };
  write(5, 7);
  const c = createSysfsCounters('wg0', root);
  t.after(() => c.close());
  assert.deepEqual(c.read(), { rx: 5, tx: 7 });
  write(123456789012, 8);
  assert.deepEqual(c.read(), { rx: 123456789012, tx: 8 }, 'the same open files show the new values');
  assert.throws(() => parseCounter('garbage', 'rx_packets'), /rx_packets: not a counter/);
  const gone = createSysfsCounters('nope', root);
  assert.throws(() => gone.read(), /ENOENT/);
});

test('rxLapseAt: when the tunnel\'s replies stop proving the active, while they have stopped and still do', () => {
  const p = DEFAULT_POLICY; // busy_window_ms 250
  const seen = (over: Partial<TunnelSeen>): TunnelSeen => ({ ...NO_TUNNEL, readAt: 1000, ...over });
  const table: Array<[string, TunnelSeen, number, number | null]> = [
    ['stopped 100 ms ago: at the window\'s end', seen({ last_rx_at: 900 }), 1000, 1151],
    ['still coming: the counter reader tells when they stop', seen({ last_rx_at: 995, rx_moving: true }), 1000, null],
    ['stopped longer ago than the window: already past', seen({ last_rx_at: 700 }), 1000, null],
    ['never came', seen({ last_rx_at: null }), 1000, null],
  ];
  for (const [name, t, now, want] of table) assert.equal(rxLapseAt(t, p, now), want, name);
});
