// The arbiter's pure decision: rule tables at one instant, then simulated-clock runs (flapping, dwell, hold-down, LTE, steady).
import { seeded } from '../../shared/rng.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseUplink, EMPTY_MEMORY, fastDeadlineMs, othersAfterMs, QUIET_KEPT, rxBefore, type ArbiterMemory, type ArbiterSnapshot, type Decision, type UplinkView } from '../../agent/policy/choose.js';
import { activeProbeIntervalMs, policyWith, type Policy } from '../../agent/policy/policy.js';
import { EMPTY_HISTORY, probeStatsOf, recordProbeResult, type ProbeHistory } from '../../agent/machines/probe.stats.js';

const P = policyWith({});
const NOW = 1_000_000;

function up(name: string, kind: 'wifi' | 'lte', signal: number | null, over: Partial<UplinkView> = {}): UplinkView {
  return { name, kind, state: 'standby', signal, ready: true, carrier: true, probe: { rtt_ms: 12, loss: 0, last_ok_at: NOW - 50 }, ...over };
}
const wifi = (name: string, signal: number, over: Partial<UplinkView> = {}) => up(name, 'wifi', signal, over);
const lte = (over: Partial<UplinkView> = {}) => up('wwan0', 'lte', -95, { probe: { rtt_ms: 60, loss: 0, last_ok_at: NOW - 20_000 }, ...over });
const lteActive = () => lte({ probe: { rtt_ms: 60, loss: 0, last_ok_at: NOW - 50 } });
const probe = (last_ok_at: number | null, loss = 0, rtt_ms: number | null = 12) => ({ rtt_ms, loss, last_ok_at });

/** A snapshot with `active` active since long ago, unless told otherwise. */
function snap(uplinks: UplinkView[], active: string | null, over: Partial<ArbiterSnapshot> = {}): ArbiterSnapshot {
  return { uplinks: uplinks.map((u) => (u.name === active ? { ...u, state: 'active' } : u)), active, activeSince: active ? NOW - 60_000 : null, ...over };
}

interface Want {
  action: 'stay' | 'switch';
  to?: string;
  rule: string;
  holdDown?: boolean;
  text?: RegExp;
}

function check(name: string, d: Decision, want: Want) {
  assert.equal(d.action, want.action, `${name}: action (why: ${d.why.text})`);
  assert.equal(d.why.rule, want.rule, `${name}: rule (why: ${d.why.text})`);
  if (d.action === 'switch') {
    assert.equal(d.to, want.to, `${name}: to`);
    assert.equal(d.rule, want.rule, `${name}: rule`);
    assert.equal(d.holdDown !== undefined, want.holdDown ?? false, `${name}: holdDown`);
  }
  if (want.text) assert.match(d.why.text, want.text, name);
}

const below = (since: number): ArbiterMemory => ({ ...EMPTY_MEMORY, belowSince: since });

test('chooseUplink: one decision per rule', () => {
  const busyTunnel = { last_rx_at: null, last_tx_at: NOW - 10 };
  const table: Array<{ name: string; given: ArbiterSnapshot; policy?: Partial<Policy>; want: Want }> = [
    // initial
    { name: 'initial: strongest good Wi-Fi', given: snap([wifi('wlan0', -70), wifi('wlan1', -60), lte()], null), want: { action: 'switch', to: 'wlan1', rule: 'initial' } },
    { name: 'initial: LTE before weak Wi-Fi', given: snap([wifi('wlan0', -85), lte()], null), want: { action: 'switch', to: 'wwan0', rule: 'initial' } },
    { name: 'initial: last-resort LTE after weak Wi-Fi', given: snap([wifi('wlan0', -85), lte()], null), policy: { lte: 'last-resort' }, want: { action: 'switch', to: 'wlan0', rule: 'initial' } },
    { name: 'initial: nothing usable', given: snap([wifi('wlan0', -60, { ready: false }), lte({ carrier: false })], null), want: { action: 'stay', rule: 'none' } },
    { name: 'initial: never LTE', given: snap([lte()], null), policy: { lte: 'never' }, want: { action: 'stay', rule: 'none' } },
    // carrier loss: at once, even right after a switch
    {
      name: 'carrier loss: at once, within dwell',
      given: snap([wifi('wlan0', -60, { carrier: false }), wifi('wlan1', -70), lte()], 'wlan0', { activeSince: NOW - 100 }),
      want: { action: 'switch', to: 'wlan1', rule: 'carrier-loss', holdDown: true, text: /wlan0 lost carrier → wlan1 -70 dBm/ },
    },
    { name: 'carrier loss: to LTE when the other Wi-Fi is weak', given: snap([wifi('wlan0', -60, { carrier: false }), wifi('wlan1', -82), lte()], 'wlan0'), want: { action: 'switch', to: 'wwan0', rule: 'carrier-loss', holdDown: true } },
    { name: 'carrier loss: nothing to move to', given: snap([wifi('wlan0', -60, { carrier: false })], 'wlan0'), want: { action: 'stay', rule: 'none', text: /lost carrier; nothing usable/ } },
    // blackhole
    {
      name: 'blackhole while traffic flows: 450 ms of silence',
      given: snap([wifi('wlan0', -60, { probe: probe(NOW - 450) }), wifi('wlan1', -65)], 'wlan0', { tunnel: busyTunnel, memory: { ...EMPTY_MEMORY, busySince: NOW - 5000 } }),
      want: { action: 'switch', to: 'wlan1', rule: 'blackhole', holdDown: true, text: /silent for 450 ms while traffic flows/ },
    },
    {
      name: 'no blackhole: 350 ms of silence while traffic flows',
      given: snap([wifi('wlan0', -60, { probe: probe(NOW - 350) }), wifi('wlan1', -65)], 'wlan0', { tunnel: busyTunnel, memory: { ...EMPTY_MEMORY, busySince: NOW - 5000 } }),
      want: { action: 'stay', rule: 'none' },
    },
    {
      name: 'no blackhole: traffic just started after an idle probe gap',
      given: snap([wifi('wlan0', -60, { probe: probe(NOW - 600) }), wifi('wlan1', -65)], 'wlan0', { tunnel: busyTunnel, memory: { ...EMPTY_MEMORY, busySince: NOW - 100 } }),
      want: { action: 'stay', rule: 'none' },
    },
    {
      name: 'no blackhole: tunnel packets count as life',
      given: snap([wifi('wlan0', -60, { probe: probe(NOW - 900) }), wifi('wlan1', -65)], 'wlan0', { tunnel: { last_rx_at: NOW - 5, last_tx_at: NOW - 5 }, memory: { ...EMPTY_MEMORY, busySince: NOW - 5000 } }),
      want: { action: 'stay', rule: 'none' },
    },
    { name: 'blackhole idle: 1300 ms', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 1300) }), wifi('wlan1', -65)], 'wlan0'), want: { action: 'switch', to: 'wlan1', rule: 'blackhole', holdDown: true, text: /silent for 1300 ms \(limit 1200 ms\)/ } },
    { name: 'no blackhole idle: 1100 ms', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 1100) }), wifi('wlan1', -65)], 'wlan0'), want: { action: 'stay', rule: 'none' } },
    { name: 'no blackhole: just switched, no probe yet on the new path', given: snap([wifi('wlan0', -60, { probe: probe(null) }), wifi('wlan1', -65)], 'wlan0', { activeSince: NOW - 300 }), want: { action: 'stay', rule: 'dwell' } },
    // forced
    { name: 'forced: within dwell, to LTE', given: snap([wifi('wlan0', -60), lte()], 'wlan0', { activeSince: NOW - 100, forced: { to: 'wwan0', at: NOW - 10 } }), want: { action: 'switch', to: 'wwan0', rule: 'forced' } },
    { name: 'forced: target not ready', given: snap([wifi('wlan0', -60), wifi('wlan1', -50, { ready: false })], 'wlan0', { forced: { to: 'wlan1', at: NOW - 10 } }), want: { action: 'stay', rule: 'none', text: /operator asked for wlan1, which is not ready/ } },
    { name: 'forced: pinned against a better standby', given: snap([wifi('wlan0', -80), wifi('wlan1', -50)], 'wlan0', { forced: { to: 'wlan0', at: NOW - 30_000 }, memory: below(NOW - 10_000) }), want: { action: 'stay', rule: 'forced' } },
    { name: 'forced: pin expired', given: snap([wifi('wlan0', -80), wifi('wlan1', -50)], 'wlan0', { forced: { to: 'wlan0', at: NOW - 61_000 }, memory: below(NOW - 10_000) }), want: { action: 'switch', to: 'wlan1', rule: 'signal' } },
    { name: 'forced: pinned but carrier lost', given: snap([wifi('wlan0', -60, { carrier: false }), wifi('wlan1', -50)], 'wlan0', { forced: { to: 'wlan0', at: NOW - 10 } }), want: { action: 'switch', to: 'wlan1', rule: 'carrier-loss', holdDown: true } },
    // dwell
    { name: 'dwell holds the signal rule', given: snap([wifi('wlan0', -85), wifi('wlan1', -50)], 'wlan0', { activeSince: NOW - 4000, memory: below(NOW - 3000) }), want: { action: 'stay', rule: 'dwell', text: /dwell 5000 ms/ } },
    // loss
    { name: 'loss: degraded active is left and held down', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 50, 0.5) }), wifi('wlan1', -70)], 'wlan0'), want: { action: 'switch', to: 'wlan1', rule: 'loss', holdDown: true, text: /loses 50% of probes/ } },
    { name: 'loss: a lossy standby is not usable', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 50, 0.5) }), wifi('wlan1', -50, { probe: probe(NOW - 50, 0.4) }), lte()], 'wlan0'), want: { action: 'switch', to: 'wwan0', rule: 'loss', holdDown: true } },
    // below threshold
    { name: 'signal: below for below_ms, strong standby', given: snap([wifi('wlan0', -80), wifi('wlan1', -68), lte()], 'wlan0', { memory: below(NOW - 1000) }), want: { action: 'switch', to: 'wlan1', rule: 'signal', text: /wlan0 -80 dBm.* below -75 dBm for 1000 ms/ } },
    { name: 'signal: below but not yet for below_ms', given: snap([wifi('wlan0', -80), wifi('wlan1', -68), lte()], 'wlan0', { memory: below(NOW - 900) }), want: { action: 'stay', rule: 'none', text: /below -75 dBm for 900 ms/ } },
    { name: 'signal: first sample below starts the timer', given: snap([wifi('wlan0', -80), wifi('wlan1', -68)], 'wlan0'), want: { action: 'stay', rule: 'none', text: /for 0 ms/ } },
    { name: 'signal: standby above threshold but not by the hysteresis: stay, no LTE', given: snap([wifi('wlan0', -78), wifi('wlan1', -73), lte()], 'wlan0', { memory: below(NOW - 2000) }), want: { action: 'stay', rule: 'none' } },
    { name: 'lte-fallback: below, no Wi-Fi good enough', given: snap([wifi('wlan0', -78), wifi('wlan1', -77), lte()], 'wlan0', { memory: below(NOW - 2000) }), want: { action: 'switch', to: 'wwan0', rule: 'lte-fallback', text: /no other Wi-Fi at or above -75 dBm/ } },
    { name: 'lte-fallback: not with lte never', given: snap([wifi('wlan0', -78), lte()], 'wlan0', { memory: below(NOW - 2000) }), policy: { lte: 'never' }, want: { action: 'stay', rule: 'none' } },
    { name: 'lte-fallback: not with lte last-resort', given: snap([wifi('wlan0', -85), lte()], 'wlan0', { memory: below(NOW - 2000) }), policy: { lte: 'last-resort' }, want: { action: 'stay', rule: 'none' } },
    // better
    { name: 'better: by hysteresis for hold_ms', given: snap([wifi('wlan0', -70), wifi('wlan1', -64)], 'wlan0', { memory: { ...EMPTY_MEMORY, betterSince: { wlan1: NOW - 3000 } } }), want: { action: 'switch', to: 'wlan1', rule: 'better', text: /wlan1 -64 dBm beats wlan0 -70 dBm.* by ≥5 dB for 3000 ms/ } },
    { name: 'better: not yet for hold_ms', given: snap([wifi('wlan0', -70), wifi('wlan1', -64)], 'wlan0', { memory: { ...EMPTY_MEMORY, betterSince: { wlan1: NOW - 2900 } } }), want: { action: 'stay', rule: 'none' } },
    { name: 'better: less than the hysteresis resets', given: snap([wifi('wlan0', -70), wifi('wlan1', -66)], 'wlan0', { memory: { ...EMPTY_MEMORY, betterSince: { wlan1: NOW - 9000 } } }), want: { action: 'stay', rule: 'none' } },
    // hold-down
    { name: 'hold-down: a failed uplink is not taken', given: snap([wifi('wlan0', -60, { carrier: false }), wifi('wlan1', -50, { holdDownUntil: NOW + 1 }), lte()], 'wlan0'), want: { action: 'switch', to: 'wwan0', rule: 'carrier-loss', holdDown: true } },
    { name: 'hold-down: the only working uplink is taken even so (a dead active is worse)', given: snap([wifi('wlan0', -60, { carrier: false }), wifi('wlan1', -50, { holdDownUntil: NOW + 1 }), lte({ carrier: false })], 'wlan0'), want: { action: 'switch', to: 'wlan1', rule: 'carrier-loss', holdDown: true } },
    { name: 'hold-down: but not to leave a lossy active', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 50, 0.5) }), wifi('wlan1', -50, { holdDownUntil: NOW + 1 })], 'wlan0'), want: { action: 'stay', rule: 'none', text: /nothing usable/ } },
    { name: 'hold-down: taken again once it expires', given: snap([wifi('wlan0', -60, { carrier: false }), wifi('wlan1', -50, { holdDownUntil: NOW }), lte()], 'wlan0'), want: { action: 'switch', to: 'wlan1', rule: 'carrier-loss', holdDown: true } },
    // LTE
    { name: 'leave-lte: a Wi-Fi at threshold + hysteresis', given: snap([wifi('wlan0', -70), lteActive()], 'wwan0'), want: { action: 'switch', to: 'wlan0', rule: 'leave-lte' } },
    { name: 'leave-lte: not below threshold + hysteresis', given: snap([wifi('wlan0', -71), lteActive()], 'wwan0'), want: { action: 'stay', rule: 'none' } },
    { name: 'leave-lte: last-resort leaves for any usable Wi-Fi', given: snap([wifi('wlan0', -85), lteActive()], 'wwan0'), policy: { lte: 'last-resort' }, want: { action: 'switch', to: 'wlan0', rule: 'leave-lte' } },
    { name: 'leave-lte: not a held-down Wi-Fi', given: snap([wifi('wlan0', -60, { holdDownUntil: NOW + 5000 }), lteActive()], 'wwan0'), want: { action: 'stay', rule: 'none' } },
    { name: 'steady: good active, nothing better', given: snap([wifi('wlan0', -60), wifi('wlan1', -62), lte()], 'wlan0'), want: { action: 'stay', rule: 'none', text: /wlan0 -60 dBm, rtt 12 ms good/ } },
  ];
  for (const { name, given, policy, want } of table) check(name, chooseUplink(given, policyWith(policy), NOW), want);
});

test('chooseUplink: the why lists every candidate with signal, RTT and loss', () => {
  const d = chooseUplink(snap([wifi('wlan0', -60, { carrier: false, ssid: 'depot', bssid: '02:00:00:00:00:01' }), wifi('wlan1', -70, { probe: probe(NOW - 10, 0.1, 23) }), lte({ ready: false })], 'wlan0'), P, NOW);
  assert.equal(d.action, 'switch');
  assert.equal(d.why.at, NOW);
  assert.equal(d.why.active, 'wlan0');
  assert.deepEqual(d.why.candidates, [
    { name: 'wlan0', kind: 'wifi', state: 'active', signal: -60, rtt_ms: 12, loss: 0, ready: true, carrier: false, active: true, usable: false, ssid: 'depot', bssid: '02:00:00:00:00:01' },
    { name: 'wlan1', kind: 'wifi', state: 'standby', signal: -70, rtt_ms: 23, loss: 0.1, ready: true, carrier: true, active: false, usable: true },
    { name: 'wwan0', kind: 'lte', state: 'standby', signal: -95, rtt_ms: 60, loss: 0, ready: false, carrier: true, active: false, usable: false },
  ]);
  assert.equal(d.action === 'switch' && d.holdDown?.until, NOW + P.hold_down_ms);
  assert.deepEqual(JSON.parse(JSON.stringify(d.why)), d.why, 'the why is plain JSON');
});

test('chooseUplink: memory timers start, continue and reset', () => {
  const s = (w0: number, w1: number, memory: ArbiterMemory, tx: number | null = null) =>
    chooseUplink(snap([wifi('wlan0', w0), wifi('wlan1', w1)], 'wlan0', { activeSince: NOW - 100, memory, tunnel: { last_rx_at: null, last_tx_at: tx } }), P, NOW).memory;
  assert.deepEqual(s(-80, -60, EMPTY_MEMORY, NOW), { belowSince: NOW, betterSince: { wlan1: NOW }, busySince: NOW });
  assert.deepEqual(s(-80, -60, { belowSince: 5, betterSince: { wlan1: 7 }, busySince: 9 }, NOW - 100), { belowSince: 5, betterSince: { wlan1: 7 }, busySince: 9 });
  assert.deepEqual(s(-70, -66, { belowSince: 5, betterSince: { wlan1: 7 }, busySince: 9 }), { belowSince: null, betterSince: {}, busySince: null });
});

// ---- simulated clock -------------------------------------------------------------------------------------------


interface SimUplink {
  name: string;
  kind: 'wifi' | 'lte';
  signal: (t: number) => number;
  ready?: (t: number) => boolean;
  carrier?: (t: number) => boolean;
  /** Blackholed: probes get no reply. */
  dead?: (t: number) => boolean;
  /** Random probe loss of a healthy link. */
  lossRate?: number;
}

interface SimOptions {
  uplinks: SimUplink[];
  active: string;
  durationMs: number;
  stepMs?: number;
  policy?: Policy;
  /** Traffic flowing (upload only: the tunnel receives nothing, only probes tell life). */
  busy?: (t: number) => boolean;
  /** Signal noise: each sample gets a correlated (random walk, pulled back) offset of about this many dB. */
  noiseDb?: number;
  forced?: { to: string; at: number };
  seed?: number;
}

interface SimSwitch {
  t: number;
  from: string | null;
  to: string;
  rule: string;
  why: string;
}

function simulate(o: SimOptions): SimSwitch[] {
  const policy = o.policy ?? P;
  const step = o.stepMs ?? 50;
  const rand = seeded(o.seed ?? 1);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
  const st = new Map(o.uplinks.map((u) => [u.name, { lastProbe: -Infinity, lastOk: null as number | null, loss: 0, rtt: null as number | null, noise: 0, holdDownUntil: null as number | null }]));
  let active = o.active;
  let activeSince = 0;
  let memory: ArbiterMemory = EMPTY_MEMORY;
  let lastTx: number | null = null;
  const switches: SimSwitch[] = [];
  for (let t = 0; t <= o.durationMs; t += step) {
    const busy = o.busy?.(t) ?? false;
    if (busy) lastTx = t;
    const views: UplinkView[] = o.uplinks.map((u) => {
      const s = st.get(u.name)!;
      // probe: fast on the active (as activeProbeIntervalMs says), 500 ms on a Wi-Fi standby, 5 s on LTE standby
      const interval = u.name === active ? activeProbeIntervalMs(policy, busy) : u.kind === 'lte' ? 5000 : 500;
      if (t - s.lastProbe >= interval && (u.carrier?.(t) ?? true)) {
        s.lastProbe = t;
        const lost = (u.dead?.(t) ?? false) || rand() < (u.lossRate ?? 0);
        s.loss = s.loss * 0.95 + (lost ? 0.05 : 0); // about the last 20 probes
        if (!lost) {
          s.lastOk = t;
          s.rtt = 10 + rand() * 8;
        }
      }
      s.noise = s.noise * 0.95 + gauss() * (o.noiseDb ?? 0) * 0.3;
      return {
        name: u.name, kind: u.kind, state: u.name === active ? 'active' : 'standby', signal: Math.round(u.signal(t) + s.noise),
        ready: u.ready?.(t) ?? true, carrier: u.carrier?.(t) ?? true, probe: { rtt_ms: s.rtt, loss: s.loss, last_ok_at: s.lastOk }, holdDownUntil: s.holdDownUntil,
      };
    });
    const forced = o.forced && t >= o.forced.at ? o.forced : null;
    const d = chooseUplink({ uplinks: views, active, activeSince, memory, forced, tunnel: { last_rx_at: null, last_tx_at: lastTx } }, policy, t);
    memory = d.memory;
    if (d.action === 'switch') {
      switches.push({ t, from: d.from, to: d.to, rule: d.rule, why: d.why.text });
      if (d.holdDown) st.get(d.holdDown.uplink)!.holdDownUntil = d.holdDown.until;
      active = d.to;
      activeSince = t;
    }
  }
  return switches;
}

const flat = (dbm: number) => () => dbm;
const MIN = 60_000;

test('simulated: 10 minutes of noisy but healthy links, zero switches', () => {
  for (const seed of [1, 2, 3]) {
    const switches = simulate({
      uplinks: [
        { name: 'wlan0', kind: 'wifi', signal: flat(-62), lossRate: 0.02 },
        { name: 'wlan1', kind: 'wifi', signal: flat(-64), lossRate: 0.02 },
        { name: 'wwan0', kind: 'lte', signal: flat(-100), lossRate: 0.02 },
      ],
      active: 'wlan0',
      durationMs: 10 * MIN,
      busy: (t) => Math.floor(t / 20_000) % 2 === 0, // traffic 20 s on, 20 s off
      noiseDb: 3,
      seed,
    });
    assert.deepEqual(switches, [], `seed ${seed}`);
  }
});

test('simulated: a Wi-Fi wobbling ±3 dB around the threshold goes to LTE once and does not flap back', () => {
  const switches = simulate({
    uplinks: [
      { name: 'wlan0', kind: 'wifi', signal: (t) => -75 + 3 * Math.sin((2 * Math.PI * t) / 4000) },
      { name: 'wwan0', kind: 'lte', signal: flat(-100) },
    ],
    active: 'wlan0',
    durationMs: 10 * MIN,
  });
  assert.equal(switches.length, 1, JSON.stringify(switches));
  assert.equal(switches[0]!.to, 'wwan0');
  assert.equal(switches[0]!.rule, 'lte-fallback');
});

test('simulated: two Wi-Fis crossing every few seconds do not flap', () => {
  const switches = simulate({
    uplinks: [
      { name: 'wlan0', kind: 'wifi', signal: (t) => -65 + 4 * Math.sin((2 * Math.PI * t) / 6000) },
      { name: 'wlan1', kind: 'wifi', signal: (t) => -65 - 4 * Math.sin((2 * Math.PI * t) / 6000) },
      { name: 'wwan0', kind: 'lte', signal: flat(-100) },
    ],
    active: 'wlan0',
    durationMs: 10 * MIN,
  });
  assert.deepEqual(switches, []);
});

test('simulated: two Wi-Fis trading places slowly switch once per crossing, never inside the dwell', () => {
  const period = 60_000;
  const switches = simulate({
    uplinks: [
      { name: 'wlan0', kind: 'wifi', signal: (t) => -62 + 8 * Math.sin((2 * Math.PI * t) / period) },
      { name: 'wlan1', kind: 'wifi', signal: (t) => -62 - 8 * Math.sin((2 * Math.PI * t) / period) },
    ],
    active: 'wlan0',
    durationMs: 5 * period,
    noiseDb: 1,
  });
  assert.ok(switches.length >= 9 && switches.length <= 10, JSON.stringify(switches.map((s) => [s.t, s.to])));
  for (let i = 1; i < switches.length; i++) {
    assert.ok(switches[i]!.t - switches[i - 1]!.t >= 20_000, `switches ${i - 1} and ${i} too close`);
    assert.notEqual(switches[i]!.to, switches[i - 1]!.to);
  }
  assert.ok(switches.every((s) => s.rule === 'better'));
});

test('simulated: a blackhole is detected within 500 ms while traffic flows and 1.5 s idle; hold-down keeps it away', () => {
  for (const busy of [true, false]) {
    const switches = simulate({
      uplinks: [
        { name: 'wlan0', kind: 'wifi', signal: flat(-55), dead: (t) => t >= 30_000 && t < 33_000 },
        { name: 'wlan1', kind: 'wifi', signal: flat(-68) },
      ],
      active: 'wlan0',
      durationMs: 2 * MIN,
      busy: () => busy,
    });
    const limit = busy ? 500 : 1500;
    assert.equal(switches[0]?.rule, 'blackhole', JSON.stringify(switches));
    assert.equal(switches[0]!.to, 'wlan1');
    assert.ok(switches[0]!.t - 30_000 <= limit, `${busy ? 'busy' : 'idle'}: detected after ${switches[0]!.t - 30_000} ms`);
    // wlan0 is back (and 13 dB better) at 33 s, but held down until 30 s after the switch
    assert.equal(switches[1]?.to, 'wlan0');
    assert.equal(switches[1]!.rule, 'better');
    assert.ok(switches[1]!.t >= switches[0]!.t + P.hold_down_ms, `back after ${switches[1]!.t - switches[0]!.t} ms`);
    assert.equal(switches.length, 2);
  }
});

test('simulated: carrier loss switches at once', () => {
  const switches = simulate({
    uplinks: [
      { name: 'wlan0', kind: 'wifi', signal: flat(-55), carrier: (t) => t < 10_000 },
      { name: 'wlan1', kind: 'wifi', signal: flat(-70) },
    ],
    active: 'wlan0',
    durationMs: 20_000,
  });
  assert.deepEqual(switches.map((s) => [s.t, s.to, s.rule]), [[10_000, 'wlan1', 'carrier-loss']]);
});

test('simulated: LTE entered when Wi-Fi fades, left as soon as a Wi-Fi is good enough', () => {
  const switches = simulate({
    uplinks: [
      // fades from -60 to -90 over 30 s, then stays there
      { name: 'wlan0', kind: 'wifi', signal: (t) => Math.max(-90, -60 - t / 1000), ready: (t) => t < 40_000 },
      // a new AP comes into view at 45 s, rising from -80 to -60 by 65 s
      { name: 'wlan1', kind: 'wifi', signal: (t) => Math.min(-60, -80 + Math.max(0, t - 45_000) / 1000), ready: (t) => t >= 45_000 },
      { name: 'wwan0', kind: 'lte', signal: flat(-100) },
    ],
    active: 'wlan0',
    durationMs: 90_000,
  });
  assert.deepEqual(switches.map((s) => [s.to, s.rule]), [['wwan0', 'lte-fallback'], ['wlan1', 'leave-lte']]);
  // the rounded signal is below -75 from 15.55 s (-75.55 → -76), then below_ms (1 s)
  assert.ok(switches[0]!.t >= 16_550 && switches[0]!.t <= 16_600, `entered LTE at ${switches[0]!.t}`);
  // wlan1's rounded signal reaches -70 (threshold + hysteresis) at 54.5 s (-70.5 → -70)
  assert.ok(switches[1]!.t >= 54_500 && switches[1]!.t <= 54_550, `left LTE at ${switches[1]!.t}`);
});

test('simulated: the dwell delays a signal switch right after a switch; failures are not delayed', () => {
  const switches = simulate({
    uplinks: [
      { name: 'wlan0', kind: 'wifi', signal: flat(-60), carrier: (t) => t < 10_000 },
      { name: 'wlan1', kind: 'wifi', signal: (t) => (t < 11_000 ? -72 : -85) },
      { name: 'wlan2', kind: 'wifi', signal: flat(-62) },
      { name: 'wwan0', kind: 'lte', signal: flat(-100) },
    ],
    active: 'wlan0',
    durationMs: 30_000,
  }).map((s) => [s.t, s.to, s.rule]);
  // with wlan2 ready from the start, the failover takes the strongest standby at once
  assert.deepEqual(switches, [[10_000, 'wlan2', 'carrier-loss']]);

  const dwell = simulate({
    uplinks: [
      { name: 'wlan0', kind: 'wifi', signal: flat(-60), carrier: (t) => t < 10_000 },
      { name: 'wlan1', kind: 'wifi', signal: (t) => (t < 11_000 ? -72 : -85) },
      { name: 'wlan2', kind: 'wifi', signal: flat(-62), ready: (t) => t >= 10_500 },
    ],
    active: 'wlan0',
    durationMs: 30_000,
  }).map((s) => [s.t, s.to, s.rule]);
  // wlan1 takes over at 10 s; it fades at 11 s with wlan2 ready and strong, but the dwell holds until 15 s
  assert.deepEqual(dwell, [[10_000, 'wlan1', 'carrier-loss'], [15_000, 'wlan2', 'signal']]);
});

test('simulated: an operator-forced switch pins, then the policy takes over again', () => {
  const switches = simulate({
    uplinks: [
      { name: 'wlan0', kind: 'wifi', signal: flat(-55) },
      { name: 'wwan0', kind: 'lte', signal: flat(-100) },
    ],
    active: 'wlan0',
    durationMs: 2 * MIN,
    forced: { to: 'wwan0', at: 10_000 },
  }).map((s) => [s.t, s.to, s.rule]);
  assert.deepEqual(switches, [[10_000, 'wwan0', 'forced'], [70_000, 'wlan0', 'leave-lte']]);
});

// ---- the far end silent on every path ------------------------------------------------------------------------------

test('chooseUplink: the concentrator silent on every path is the far end, not the active path', () => {
  const busy = { tunnel: { last_rx_at: null, last_tx_at: NOW - 10 }, memory: { ...EMPTY_MEMORY, busySince: NOW - 5000 } };
  // The active was last heard 450 ms ago; traffic flows; what the standbys heard decides.
  const silent = (over: Partial<UplinkView> = {}) => wifi('wlan0', -60, { probe: probe(NOW - 450), ...over });
  const failing = (lastOk: number, since: number, last = since, lostBefore: number[] = []) => ({ ...probe(lastOk, 0.05), failing: { since, last_at: last, lost_before: lostBefore } });
  const far = /concentrator silent on every path: nothing heard for 450 ms \(wlan0 silent for 450 ms\)/;
  const table: Array<{ name: string; given: ArbiterSnapshot; policy?: Partial<Policy>; want: Want }> = [
    {
      name: 'a standby probed since failed too, none answered: stay, nothing held down',
      given: snap([silent(), wifi('wlan1', -65, { probe: failing(NOW - 1400, NOW - 300) }), lte()], 'wlan0', busy),
      want: { action: 'stay', rule: 'far-end', text: /^concentrator silent on every path: nothing heard for 450 ms \(wlan0 silent for 450 ms\), wlan1 fails too, none answers; staying on wlan0, nothing held down$/ },
    },
    {
      name: 'its failures began a little before the active\'s last sign of life (the probe responder stops before the tunnel)',
      given: snap([silent(), wifi('wlan1', -65, { probe: failing(NOW - 1400, NOW - 700, NOW - 200) }), lte()], 'wlan0', busy),
      want: { action: 'stay', rule: 'far-end', text: far },
    },
    {
      name: 'idle: the same after dead_idle_ms',
      given: snap([wifi('wlan0', -60, { probe: probe(NOW - 1300) }), wifi('wlan1', -65, { probe: failing(NOW - 2000, NOW - 700) })], 'wlan0'),
      want: { action: 'stay', rule: 'far-end', text: /nothing heard for 1300 ms \(wlan0 silent for 1300 ms\)/ },
    },
    {
      name: 'nothing usable to move to: the far end all the same',
      given: snap([silent(), wifi('wlan1', -65, { ready: false, probe: failing(NOW - 3000, NOW - 300) })], 'wlan0', busy),
      want: { action: 'stay', rule: 'far-end', text: far },
    },
    {
      name: 'blackhole of the active alone: a standby answered since it went silent',
      given: snap([silent(), wifi('wlan1', -65, { probe: probe(NOW - 100) }), lte()], 'wlan0', busy),
      want: { action: 'switch', to: 'wlan1', rule: 'blackhole', holdDown: true, text: /wlan0 silent for 450 ms while traffic flows/ },
    },
    {
      name: 'blackhole: one standby failed since, another answered: to the one that answers',
      given: snap([silent(), wifi('wlan1', -65, { probe: failing(NOW - 1400, NOW - 300) }), lte({ probe: probe(NOW - 200, 0, 60) })], 'wlan0', busy),
      want: { action: 'switch', to: 'wwan0', rule: 'blackhole', holdDown: true },
    },
    {
      name: 'blackhole: the standby\'s last probe is a bit old (not probed since the silence began): move',
      given: snap([silent(), wifi('wlan1', -65, { probe: probe(NOW - 800) }), lte()], 'wlan0', busy),
      want: { action: 'switch', to: 'wlan1', rule: 'blackhole', holdDown: true },
    },
    {
      name: 'blackhole: a standby failing since long before (its own trouble) says nothing about the far end',
      given: snap([silent(), wifi('wlan1', -65, { holdDownUntil: NOW + 20_000, probe: failing(NOW - 9000, NOW - 8500, NOW - 100) }), lte()], 'wlan0', busy),
      want: { action: 'switch', to: 'wwan0', rule: 'blackhole', holdDown: true },
    },
    {
      name: 'blackhole: a standby that loses probes now and then (one more of its last 20) lost one more: no evidence (and not the target)',
      given: snap([silent(), wifi('wlan1', -65, { probe: failing(NOW - 1400, NOW - 300, NOW - 300, [NOW - 9000]) }), lte()], 'wlan0', busy),
      want: { action: 'switch', to: 'wwan0', rule: 'blackhole', holdDown: true },
    },
    {
      name: 'a standby whose other loss was in an earlier quiet spell (nothing heard anywhere then): evidence all the same',
      given: snap([silent(), wifi('wlan1', -65, { probe: failing(NOW - 1400, NOW - 300, NOW - 300, [NOW - 9000]) }), lte()], 'wlan0', { ...busy, memory: { ...busy.memory, quiet: [{ from: NOW - 9500, to: NOW - 8000 }] } }),
      want: { action: 'stay', rule: 'far-end', text: far },
    },
    {
      name: 'blackhole: a standby that failed before the active went silent, answered since: move',
      given: snap([silent(), wifi('wlan1', -65, { probe: probe(NOW - 50) }), lte()], 'wlan0', busy),
      want: { action: 'switch', to: 'wlan1', rule: 'blackhole', holdDown: true },
    },
    {
      name: 'not yet silent for the dead limit: normal judgement',
      given: snap([wifi('wlan0', -60, { probe: probe(NOW - 350) }), wifi('wlan1', -65, { probe: failing(NOW - 1400, NOW - 300) })], 'wlan0', busy),
      want: { action: 'stay', rule: 'none' },
    },
    {
      name: 'a standby answered after the active went silent, then failed: its latest word is a failure',
      given: snap([silent(), wifi('wlan1', -65, { probe: failing(NOW - 200, NOW - 100) }), lte()], 'wlan0', busy),
      want: { action: 'stay', rule: 'far-end', text: /nothing heard for 200 ms \(wlan0 silent for 450 ms\), wlan1 fails too/ },
    },
    {
      name: 'a standby answered after the active went silent (beyond one of its probe intervals), another failed: move',
      given: snap([silent(), wifi('wlan1', -65, { probe: failing(NOW - 1400, NOW - 300) }), lte({ probe: probe(NOW - 380, 0, 60) })], 'wlan0', busy),
      want: { action: 'switch', to: 'wwan0', rule: 'blackhole', holdDown: true },
    },
    {
      name: 'a standby\'s last answer within one active probe interval of the active\'s: the far end may have died between',
      given: snap([silent(), wifi('wlan1', -65, { probe: failing(NOW - 1400, NOW - 300) }), lte({ probe: probe(NOW - 420, 0, 60) })], 'wlan0', busy),
      want: { action: 'stay', rule: 'far-end', text: /nothing heard for 420 ms \(wlan0 silent for 450 ms\), wlan1 fails too/ },
    },
    {
      name: 'the standby\'s failure was before the active\'s last sign of life: no evidence',
      given: snap([silent(), wifi('wlan1', -65, { probe: failing(NOW - 1400, NOW - 500) }), lte()], 'wlan0', busy),
      want: { action: 'switch', to: 'wlan1', rule: 'blackhole', holdDown: true },
    },
    {
      name: 'a new active not heard since it took the tunnel: dead_idle_ms, not dead_busy_ms (its last probe may still be out)',
      given: snap([wifi('wlan0', -60, { probe: probe(NOW - 2000) }), wifi('wlan1', -65, { probe: probe(NOW - 50) })], 'wlan0', { ...busy, activeSince: NOW - 500 }),
      want: { action: 'stay', rule: 'dwell' },
    },
    {
      name: 'a new active not heard for dead_idle_ms since it took the tunnel: blackhole',
      given: snap([wifi('wlan0', -60, { probe: probe(NOW - 2000) }), wifi('wlan1', -65, { probe: probe(NOW - 50) })], 'wlan0', { ...busy, activeSince: NOW - 1300 }),
      want: { action: 'switch', to: 'wlan1', rule: 'blackhole', holdDown: true, text: /wlan0 silent for 1300 ms \(limit 1200 ms\)/ },
    },
    {
      name: 'the verdict blocks the other rules: no flip back to an operator\'s pinned uplink meanwhile',
      given: snap([silent(), wifi('wlan1', -65, { probe: failing(NOW - 1400, NOW - 300) }), lte({ probe: failing(NOW - 3000, NOW - 200) })], 'wlan0', { ...busy, activeSince: NOW - 100, forced: { to: 'wwan0', at: NOW - 5000 } }),
      want: { action: 'stay', rule: 'far-end' },
    },
  ];
  const lastHeard = (g: ArbiterSnapshot) => Math.max(...g.uplinks.map((u) => u.probe.last_ok_at ?? -Infinity));
  for (const { name, given, policy, want } of table) {
    const d = chooseUplink(given, policyWith(policy), NOW);
    check(name, d, want);
    if (d.why.rule === 'far-end') assert.deepEqual([d.memory.farEnd, d.memory.farEndLoss], [{ uplink: 'wlan0', lastHeard: lastHeard(given), since: NOW }, { uplinks: given.uplinks.map((u) => u.name), lastHeard: lastHeard(given) }], name);
    if (d.why.rule === 'far-end') assert.equal(JSON.stringify(d).includes('holdDown'), false, name);
  }
});

test('chooseUplink: two HQs, the other HQ\'s answer through the active is the far end\'s witness when no other uplink can answer', () => {
  const busy = { tunnel: { last_rx_at: null, last_tx_at: NOW - 10 }, memory: { ...EMPTY_MEMORY, busySince: NOW - 5000 } };
  // The active silent for 450 ms while traffic flows; LTE, the only other uplink, not probed since (its day budget spent).
  const silent = () => wifi('wlan0', -60, { probe: probe(NOW - 450) });
  const asked = (sent: number, answered: number | null, givenUp: number | null = null, via = 'wlan0') => ({ otherHq: { via, sent_at: sent, answered_at: answered, given_up_at: givenUp } });
  const witness = /^concentrator silent on every path: nothing heard for 450 ms \(wlan0 silent for 450 ms\), while the other HQ answers through wlan0 \(5 ms\): the path works; staying on wlan0, nothing held down$/;
  const table: Array<{ name: string; given: ArbiterSnapshot; policy?: Partial<Policy>; want: Want }> = [
    { name: 'nothing asked (one HQ): no evidence, the slow rule moves to LTE', given: snap([silent(), lte()], 'wlan0', busy), want: { action: 'switch', to: 'wwan0', rule: 'blackhole', holdDown: true } },
    { name: 'the other HQ answered through the active during this silence: the far end, stay', given: snap([silent(), lte()], 'wlan0', { ...busy, ...asked(NOW - 250, NOW - 245) }), want: { action: 'stay', rule: 'far-end', text: witness } },
    { name: 'a single uplink: the far end too (not "nothing usable")', given: snap([silent()], 'wlan0', { ...busy, ...asked(NOW - 250, NOW - 245) }), want: { action: 'stay', rule: 'far-end', text: witness } },
    { name: 'idle: the same after dead_idle_ms', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 1300) }), lte()], 'wlan0', asked(NOW - 700, NOW - 695)), want: { action: 'stay', rule: 'far-end', text: /while the other HQ answers through wlan0/ } },
    { name: 'asked, not answered yet: waited for', given: snap([silent(), lte()], 'wlan0', { ...busy, ...asked(NOW - 250, null) }), want: { action: 'stay', rule: 'far-end', text: /^wlan0 silent for 450 ms; is it the far end\? waiting for the other HQ through wlan0 probed at once$/ } },
    { name: 'asked dead_busy_ms ago, still no answer: no longer waited for', given: snap([silent(), lte()], 'wlan0', { ...busy, ...asked(NOW - 401, null) }), want: { action: 'switch', to: 'wwan0', rule: 'blackhole', holdDown: true } },
    { name: 'given up (the path, or both HQs): no evidence', given: snap([silent(), lte()], 'wlan0', { ...busy, ...asked(NOW - 250, null, NOW - 10) }), want: { action: 'switch', to: 'wwan0', rule: 'blackhole', holdDown: true } },
    { name: 'answered before the active\'s last sign of life: says nothing of this silence', given: snap([silent(), lte()], 'wlan0', { ...busy, ...asked(NOW - 460, NOW - 455) }), want: { action: 'switch', to: 'wwan0', rule: 'blackhole', holdDown: true } },
    { name: 'asked through another uplink: says nothing of the active\'s path', given: snap([silent(), lte()], 'wlan0', { ...busy, ...asked(NOW - 250, NOW - 245, null, 'wwan0') }), want: { action: 'switch', to: 'wwan0', rule: 'blackhole', holdDown: true } },
    { name: 'a standby hears our HQ since the silence: it reaches our HQ, the active does not: move', given: snap([silent(), lte({ probe: probe(NOW - 100, 0, 60) })], 'wlan0', { ...busy, ...asked(NOW - 250, NOW - 245) }), want: { action: 'switch', to: 'wwan0', rule: 'blackhole', holdDown: true } },
    { name: 'not yet the dead limit: normal judgement', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 350) }), lte()], 'wlan0', { ...busy, ...asked(NOW - 150, NOW - 145) }), want: { action: 'stay', rule: 'none' } },
  ];
  for (const { name, given, policy, want } of table) {
    const d = chooseUplink(given, policyWith(policy), NOW);
    check(name, d, want);
    if (d.why.rule === 'far-end' && d.action === 'stay' && !/waiting/.test(d.why.text)) assert.deepEqual(d.memory.farEnd, { uplink: 'wlan0', lastHeard: Math.max(...given.uplinks.map((u) => u.probe.last_ok_at ?? -Infinity)), since: NOW }, name);
    assert.equal(JSON.stringify(d).includes('holdDown'), want.holdDown ?? false, name);
  }
  // The verdict holds while nothing is heard (the ask is not repeated in a silence), and ends when our HQ answers again.
  const first = chooseUplink(snap([silent(), lte()], 'wlan0', { ...busy, ...asked(NOW - 250, NOW - 245) }), P, NOW);
  const later = chooseUplink(snap([silent(), lte()], 'wlan0', { tunnel: { last_rx_at: null, last_tx_at: NOW + 290 }, memory: first.memory, ...asked(NOW - 250, NOW - 245) }), P, NOW + 300);
  check('300 ms later', later, { action: 'stay', rule: 'far-end' });
  assert.equal(later.memory.farEnd?.since, NOW);
  const back = chooseUplink(snap([wifi('wlan0', -60, { probe: probe(NOW + 390) }), lte()], 'wlan0', { tunnel: { last_rx_at: null, last_tx_at: NOW + 390 }, memory: later.memory, ...asked(NOW - 250, NOW - 245) }), P, NOW + 400);
  check('our HQ answers again (the tunnel moved to it, or it came back)', back, { action: 'stay', rule: 'none' });
  assert.equal(back.memory.farEnd, undefined);
});

test('chooseUplink: the far end comes back: normal judgement at once, the active has dead_idle_ms from then', () => {
  const busyAt = (t: number) => ({ last_rx_at: null, last_tx_at: t - 10 });
  const tunnel = busyAt(NOW);
  const heardAt = NOW - 3000;
  const active = wifi('wlan0', -60, { probe: probe(heardAt) });
  const farEnd = { uplink: 'wlan0', lastHeard: heardAt, since: NOW - 2600 };
  const memory: ArbiterMemory = { ...EMPTY_MEMORY, busySince: NOW - 9000, farEnd, farEndLoss: { uplinks: ['wlan0', 'wlan1'], lastHeard: heardAt } };
  const failing = { ...probe(NOW - 3500, 0.2), failing: { since: NOW - 2500, last_at: NOW - 1000, lost_before: [] } };

  // Still silent everywhere; the witness went away (carrier): the verdict holds, since it began.
  const held = chooseUplink(snap([active, wifi('wlan1', -65, { carrier: false, probe: failing })], 'wlan0', { tunnel, memory }), P, NOW);
  check('verdict held', held, { action: 'stay', rule: 'far-end', text: /nothing heard for 3000 ms \(wlan0 silent for 3000 ms\), no path has answered since/ });
  assert.deepEqual(held.memory.farEnd, farEnd);

  // wlan1 hears the concentrator again at NOW - 5; wlan0 is still silent: no switch yet, its silence counts from NOW - 5,
  // against dead_idle_ms even though traffic flows (its probe sent during the silence may still be out).
  const back = chooseUplink(snap([active, wifi('wlan1', -65, { probe: probe(NOW - 5, 0.2) })], 'wlan0', { tunnel, memory }), P, NOW);
  check('back on wlan1', back, { action: 'stay', rule: 'none' });
  assert.deepEqual(back.memory.farEndBack, { uplink: 'wlan0', at: NOW - 5 });
  assert.equal(back.memory.farEnd, undefined);
  // ...and wlan0 stays silent for dead_idle_ms after that: a blackhole after all.
  const later = chooseUplink(snap([active, wifi('wlan1', -65, { probe: probe(NOW + 1000, 0.2) })], 'wlan0', { tunnel: busyAt(NOW + 1190), memory: back.memory }), P, NOW + 1190);
  check('not before dead_idle_ms', later, { action: 'stay', rule: 'none' });
  const moved = chooseUplink(snap([active, wifi('wlan1', -65, { probe: probe(NOW + 1000, 0.2) })], 'wlan0', { tunnel: busyAt(NOW + 1200), memory: later.memory }), P, NOW + 1200);
  check('then moved', moved, { action: 'switch', to: 'wlan1', rule: 'blackhole', holdDown: true, text: /wlan0 silent for 1205 ms since the concentrator answered again \(limit 1200 ms\)/ });

  // wlan0 hears it again itself: nothing to carry.
  const self = chooseUplink(snap([wifi('wlan0', -60, { probe: probe(NOW - 20, 0.9) }), wifi('wlan1', -65, { probe: failing })], 'wlan0', { tunnel, memory }), P, NOW);
  check('back on the active', self, { action: 'stay', rule: 'none' });
  assert.equal(self.memory.farEndBack, undefined);
  // The probes it lost meanwhile (90%) are the far end's: no loss switch while its latest probe answers...
  assert.deepEqual(self.memory.farEndLoss, { uplinks: ['wlan0', 'wlan1'], lastHeard: heardAt });
  // ...nor for a probe sent during the silence and given up after it (it has not answered since)...
  const outage = chooseUplink(snap([wifi('wlan0', -60, { probe: { ...probe(heardAt, 0.9), failing: { since: NOW - 2500, last_at: NOW - 5, lost_before: [] } } }), wifi('wlan1', -65, { probe: probe(NOW - 10) })], 'wlan0', { tunnel, memory: { ...self.memory, farEndBack: { uplink: 'wlan0', at: NOW - 10 } } }), P, NOW);
  check('an outage probe given up late', outage, { action: 'stay', rule: 'none' });
  // ...one lost after it answered again counts; once the loss is under loss_max, the memory is gone.
  const lossy = chooseUplink(snap([wifi('wlan0', -60, { probe: { ...probe(NOW - 20, 0.9), failing: { since: NOW - 5, last_at: NOW - 5, lost_before: [NOW - 900, NOW - 700] } } }), wifi('wlan1', -65)], 'wlan0', { tunnel, memory: self.memory }), P, NOW);
  check('lossy after all', lossy, { action: 'switch', to: 'wlan1', rule: 'loss', holdDown: true });
  const healed = chooseUplink(snap([wifi('wlan0', -60, { probe: probe(NOW - 20, 0.25) }), wifi('wlan1', -65)], 'wlan0', { tunnel, memory: self.memory }), P, NOW);
  assert.equal(healed.memory.farEndLoss, undefined);
  // A standby's loss from the silence does not make it unusable once it answers again (a blackhole right after has
  // somewhere to go); it does while its latest probe is lost.
  const standbyLoss = (p: UplinkView['probe']) => chooseUplink(snap([wifi('wlan0', -60, { probe: probe(NOW - 1300) }), wifi('wlan1', -65, { probe: p })], 'wlan0', { memory: { ...EMPTY_MEMORY, farEndLoss: { uplinks: ['wlan0', 'wlan1'], lastHeard: heardAt } } }), P, NOW);
  check('standby forgiven', standbyLoss(probe(NOW - 50, 0.5)), { action: 'switch', to: 'wlan1', rule: 'blackhole', holdDown: true });
  check('standby failing again', standbyLoss({ ...probe(NOW - 500, 0.5), failing: { since: NOW - 20, last_at: NOW - 20, lost_before: [NOW - 900, NOW - 700] } }), { action: 'stay', rule: 'none', text: /nothing usable/ });
});

test('chooseUplink: quiet spells (nothing heard on any path for dead_busy_ms) open, close at the first answer, survive switches', () => {
  const views = (w0: number, w1: number) => [wifi('wlan0', -60, { probe: probe(w0) }), wifi('wlan1', -65, { probe: probe(w1) })];
  const a = chooseUplink(snap(views(NOW - 390, NOW - 900), 'wlan0'), P, NOW);
  assert.equal(a.memory.quiet, undefined, 'heard 390 ms ago');
  const b = chooseUplink(snap(views(NOW - 400, NOW - 900), 'wlan0', { memory: a.memory }), P, NOW);
  assert.deepEqual(b.memory.quiet, [{ from: NOW - 400, to: null }]);
  const c = chooseUplink(snap(views(NOW - 400, NOW - 20), 'wlan0', { memory: b.memory }), P, NOW);
  assert.deepEqual(c.memory.quiet, [{ from: NOW - 400, to: NOW - 20 }], 'closed at wlan1\'s answer');
  // The blackhole that follows (wlan0 still silent after dead_idle_ms) keeps them for the next active.
  const d = chooseUplink(snap(views(NOW - 1300, NOW - 20), 'wlan0', { memory: c.memory }), P, NOW);
  assert.equal(d.action, 'switch');
  assert.deepEqual(d.memory.quiet, [{ from: NOW - 400, to: NOW - 20 }]);
  // At most QUIET_KEPT.
  let m: ArbiterMemory = EMPTY_MEMORY;
  for (let i = 0; i < 6; i++) {
    const t = NOW + i * 10_000;
    m = chooseUplink(snap(views(t - 500, t - 900), 'wlan0', { memory: m, activeSince: t - 60_000 }), P, t).memory;
    m = chooseUplink(snap(views(t + 10, t - 900), 'wlan0', { memory: m, activeSince: t - 60_000 }), P, t + 20).memory;
  }
  assert.equal(m.quiet?.length, QUIET_KEPT);
  assert.deepEqual(m.quiet?.at(-1), { from: NOW + 50_000 - 500, to: NOW + 50_000 + 10 });
});

/**
 * Probes as the uplink machines send them: the active at activeProbeIntervalMs (upload only, so only probes tell life),
 * each standby `standbyMs` after its last result (LTE at `lteMs`, its budget's pace), each given up after `timeoutMs`.
 * Returns the switches. `farEndDown` silences every path; `dead` one path.
 * With `rxEveryMs`, a tunnel packet goes out that often (`txOffsetMs` into each period) and one comes back on the active
 * path while it works: the active is probed at the rest pace (1 s) while they flow and at once, at its own pace, when
 * they stop (rolesFor, uplink.retime); busy is then the policy's (a packet sent within busy_window_ms). With
 * `askAtOnce`, every other uplink is probed at once when the active has been quiet for half its dead limit
 * (standbysToAsk), and the arbiter sees that probe in flight.
 */

function simulateProbes(o: {
  uplinks: Array<{ name: string; kind: 'wifi' | 'lte'; signal: number; dead?: (t: number) => boolean; lossRate?: number }>;
  active: string;
  durationMs: number;
  busy: boolean;
  farEndDown?: (t: number) => boolean;
  standbyMs?: number;
  lteMs?: number;
  timeoutMs?: number;
  /** When the first probe of each uplink goes (its phase in the probe cycle). */
  phase?: Record<string, number>;
  seed?: number;
  rxEveryMs?: number;
  txOffsetMs?: number;
  askAtOnce?: boolean;
}): Array<{ t: number; from: string | null; to: string; rule: string; why: string; holdDown: boolean }> {
  const policy = P;
  const step = 5;
  const rand = seeded(o.seed ?? 1);
  const timeout = o.timeoutMs ?? 500;
  const st = new Map(o.uplinks.map((u) => [u.name, {
    next: o.phase?.[u.name] ?? 0, inFlight: null as null | { sent: number; ok: boolean; rtt: number; asked: boolean }, results: [] as Array<number | true>, asked: false,
    lastOk: null as number | null, failingSince: null as number | null, lastMiss: null as number | null, holdDownUntil: null as number | null,
  }]));
  let active = o.active;
  let activeSince = -60_000;
  let memory: ArbiterMemory = EMPTY_MEMORY;
  let lastRx: number | null = null;
  let lastTx: number | null = null;
  let askedFor: number | null = null;
  let wasFlowing = false;
  const switches: Array<{ t: number; from: string | null; to: string; rule: string; why: string; holdDown: boolean }> = [];
  for (let t = 0; t <= o.durationMs; t += step) {
    const activeDef = o.uplinks.find((u) => u.name === active)!;
    if (o.rxEveryMs && t % o.rxEveryMs === 0 && !(o.farEndDown?.(t) ?? false) && !(activeDef.dead?.(t) ?? false)) lastRx = t;
    if (o.rxEveryMs && t % o.rxEveryMs === (o.txOffsetMs ?? 0)) lastTx = t;
    const busy = o.rxEveryMs ? lastTx !== null && t - lastTx <= policy.busy_window_ms : o.busy;
    const rxFlowing = lastRx !== null && t - lastRx <= policy.busy_window_ms;
    if (wasFlowing && !rxFlowing) st.get(active)!.next = t;
    wasFlowing = rxFlowing;
    if (o.askAtOnce) {
      const heardAt = Math.max(st.get(active)!.lastOk ?? -Infinity, lastRx ?? -Infinity);
      const limit = busy ? policy.dead_busy_ms : policy.dead_idle_ms;
      if (Number.isFinite(heardAt) && heardAt !== askedFor && t - heardAt >= limit / 2) {
        askedFor = heardAt;
        for (const u of o.uplinks) if (u.name !== active) { const s = st.get(u.name)!; s.next = Math.min(s.next, t); s.asked = true; }
      }
    }
    for (const u of o.uplinks) {
      const s = st.get(u.name)!;
      const activePace = rxFlowing ? 1000 : activeProbeIntervalMs(policy, busy);
      const interval = u.name === active ? activePace : u.kind === 'lte' ? (o.lteMs ?? 3456) : (o.standbyMs ?? 1000);
      if (!s.inFlight && t >= s.next) {
        const ok = !(o.farEndDown?.(t) ?? false) && !(u.dead?.(t) ?? false) && rand() >= (u.lossRate ?? 0);
        s.inFlight = { sent: t, ok, rtt: u.kind === 'lte' ? 40 : 10, asked: s.asked };
        s.asked = false;
      }
      const f = s.inFlight;
      if (f && f.ok && t >= f.sent + f.rtt) {
        s.results = [...s.results, true as const].slice(-20);
        s.lastOk = t;
        s.failingSince = null;
        s.inFlight = null;
        s.next = t + interval;
      } else if (f && !f.ok && t >= f.sent + timeout) {
        s.results = [...s.results, t].slice(-20);
        s.failingSince ??= t;
        s.lastMiss = t;
        s.inFlight = null;
        s.next = t + interval;
      }
    }
    const views: UplinkView[] = o.uplinks.map((u) => {
      const s = st.get(u.name)!;
      const lost = s.results.filter((r): r is number => r !== true);
      const loss = s.results.length ? lost.length / s.results.length : 0;
      let run = 0;
      while (run < s.results.length && s.results[s.results.length - 1 - run] !== true) run++;
      return {
        name: u.name, kind: u.kind, state: u.name === active ? 'active' : 'standby', signal: u.signal, ready: true, carrier: true, holdDownUntil: s.holdDownUntil,
        probe: {
          rtt_ms: 10, loss, probes: s.results.length, last_ok_at: s.lastOk,
          ...(s.failingSince !== null ? { failing: { since: s.failingSince, last_at: s.lastMiss!, lost_before: lost.slice(0, lost.length - run) } } : {}),
          ...(s.inFlight?.asked ? { in_flight_since: s.inFlight.sent } : {}),
        },
      };
    });
    const d = chooseUplink({ uplinks: views, active, activeSince, memory, tunnel: { last_rx_at: lastRx, last_tx_at: o.rxEveryMs ? lastTx : o.busy ? t : null } }, policy, t);
    memory = d.memory;
    if (d.action === 'switch') {
      switches.push({ t, from: d.from, to: d.to, rule: d.rule, why: d.why.text, holdDown: !!d.holdDown });
      if (d.holdDown) st.get(d.holdDown.uplink)!.holdDownUntil = d.holdDown.until;
      active = d.to;
      activeSince = t;
      st.get(d.to)!.next = t; // the active is probed at once, at its pace
    }
  }
  return switches;
}

const THREE = [
  { name: 'wlan0', kind: 'wifi' as const, signal: -55 },
  { name: 'wlan1', kind: 'wifi' as const, signal: -62 },
  { name: 'wwan0', kind: 'lte' as const, signal: -95 },
];

test('simulated probes: a blackhole of the active alone moves within 500 ms with traffic and 1.5 s idle, whatever the standbys\' probe phase', () => {
  for (const busy of [true, false]) {
    for (const standbys of [['wlan1', 'wwan0'], ['wwan0']]) {
      const uplinks = THREE.filter((u) => u.name === 'wlan0' || standbys.includes(u.name)).map((u) => (u.name === 'wlan0' ? { ...u, dead: (t: number) => t >= 20_000 } : u));
      // The silence begins at every point of the standbys' probe cycles (their last probe fresh, a bit old, or in flight).
      for (let phase = 0; phase < 3500; phase += 50) {
        const sw = simulateProbes({ uplinks, active: 'wlan0', durationMs: 23_000, busy, phase: { wlan1: phase % 1010, wwan0: phase } });
        const first = sw[0];
        const label = `${busy ? 'busy' : 'idle'}, standbys ${standbys.join('+')}, phase ${phase}: ${JSON.stringify(sw)}`;
        assert.ok(first && first.rule === 'blackhole' && first.holdDown, label);
        assert.equal(first.to, standbys[0], label);
        assert.ok(first.t - 20_000 <= (busy ? 500 : 1500), `detected after ${first.t - 20_000} ms: ${label}`);
      }
    }
  }
});

test('simulated probes: the concentrator silent for 4 s: no cascade, nothing after it comes back', () => {
  const counts = { busy: [0, 0], idle: [0, 0] } as Record<'busy' | 'idle', number[]>;
  for (const busy of [true, false]) {
    for (let phase = 0; phase < 3500; phase += 50) {
      const sw = simulateProbes({ uplinks: THREE, active: 'wlan0', durationMs: 90_000, busy, farEndDown: (t) => t >= 20_000 && t < 24_000, phase: { wlan1: phase % 1010, wwan0: phase } });
      const label = `${busy ? 'busy' : 'idle'}, phase ${phase}: ${JSON.stringify(sw)}`;
      // At most one switch for it, at the very first dead limit, before any standby could tell; then the verdict holds.
      const [first, ...rest] = sw;
      if (first) assert.ok(first.rule === 'blackhole' && first.t - 20_000 <= (busy ? 500 : 1500), label);
      // After it, only the way back to the stronger Wi-Fi once its hold-down is over: no loss or blackhole switch.
      assert.ok(rest.every((s) => s.rule === 'better' && s.to === 'wlan0' && s.t >= first!.t + P.hold_down_ms), label);
      assert.ok(rest.length <= 1, label);
      counts[busy ? 'busy' : 'idle']![first ? 1 : 0]!++;
    }
  }
  // With traffic, no standby probe sent after the silence began can have failed by dead_busy_ms (1 s pace, 500 ms
  // timeout): the first decision is a switch. Idle, a standby usually has failed by dead_idle_ms: no switch at all.
  assert.deepEqual(counts.busy, [0, 70]);
  assert.ok(counts.idle[0]! >= 45, `idle: no switch in ${counts.idle[0]} of 70 phases`);
});

test('simulated probes: with standbys probed every 200 ms (timeout 100 ms) a far-end silence never moves the tunnel, a blackhole still does in time', () => {
  for (const busy of [true, false]) {
    for (let phase = 0; phase < 3500; phase += 50) {
      const fast = { standbyMs: 200, timeoutMs: 100, phase: { wlan1: phase % 210, wwan0: phase } };
      const far = simulateProbes({ uplinks: THREE, active: 'wlan0', durationMs: 60_000, busy, farEndDown: (t) => t >= 20_000 && t < 24_000, ...fast });
      assert.deepEqual(far, [], `${busy ? 'busy' : 'idle'}, phase ${phase}: ${JSON.stringify(far)}`);
      const bh = simulateProbes({ uplinks: THREE.map((u) => (u.name === 'wlan0' ? { ...u, dead: (t: number) => t >= 20_000 } : u)), active: 'wlan0', durationMs: 22_000, busy, ...fast });
      assert.ok(bh[0] && bh[0].to === 'wlan1' && bh[0].t - 20_000 <= (busy ? 500 : 1500), `${busy ? 'busy' : 'idle'}, phase ${phase}: ${JSON.stringify(bh)}`);
    }
  }
});

test('simulated probes: standbys losing 5% of their probes on their own delay a blackhole only when one lost the probe that would have told', () => {
  let late = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const uplinks = THREE.map((u) => (u.name === 'wlan0' ? { ...u, dead: (t: number) => t >= 20_000 } : { ...u, lossRate: 0.05 }));
    const sw = simulateProbes({ uplinks, active: 'wlan0', durationMs: 26_000, busy: seed % 2 === 0, seed, phase: { wlan1: (seed * 37) % 1010, wwan0: (seed * 53) % 3456 } });
    const first = sw[0];
    assert.ok(first && first.rule === 'blackhole', `seed ${seed}: ${JSON.stringify(sw)}`);
    const bound = seed % 2 === 0 ? 500 : 1500;
    if (first.t - 20_000 > bound) {
      late++;
      // Never more than one standby probe cycle (LTE's, the slowest) and a dead limit late.
      assert.ok(first.t - 20_000 <= bound + 3456 + 500 + 1200, `seed ${seed}: after ${first.t - 20_000} ms`);
    }
  }
  assert.ok(late <= 6, `${late} of 300 late`);
});

test('chooseUplink: after a far-end silence, a failing active\'s loss counts only the probes it lost outside quiet spells', () => {
  const heardAt = NOW - 7000;
  const quiet = [{ from: heardAt, to: NOW - 5000 }];
  const memory: ArbiterMemory = { ...EMPTY_MEMORY, quiet, farEndLoss: { uplinks: ['wlan0', 'wlan1', 'wwan0'], lastHeard: heardAt } };
  // 7 probes lost in the silence (given up 6.5-5.1 s ago), the latest `run` lost since it answered again 1 s ago.
  const silence = [NOW - 6500, NOW - 6300, NOW - 6100, NOW - 5900, NOW - 5700, NOW - 5500, NOW - 5100];
  const active = (run: number, others: number[] = []) => wifi('wlan0', -50, {
    probe: { rtt_ms: 5, loss: (silence.length + others.length + run) / 20, probes: 20, last_ok_at: NOW - 1000, failing: { since: NOW - 200 * run, last_at: NOW, lost_before: [...silence, ...others] } },
  });
  const table: Array<{ name: string; given: UplinkView; probes?: number; want: Want }> = [
    { name: 'one lost now (8 of 20 in all): its own is 1 of 20', given: active(1), want: { action: 'stay', rule: 'none' } },
    { name: 'five lost now: its own 25%', given: active(5), want: { action: 'stay', rule: 'none' } },
    {
      name: 'two lost now and four lost since it answered again: its own 30%', given: active(2, [NOW - 3000, NOW - 2500, NOW - 2000, NOW - 1500]),
      want: { action: 'switch', to: 'wlan1', rule: 'loss', holdDown: true, text: /^wlan0 loses 30% of probes outside far-end silences \(65% in all\) \(limit 30%\)/ },
    },
    { name: 'an older drive without the window size: counted whole, as before', given: active(1), probes: 0, want: { action: 'switch', to: 'wlan1', rule: 'loss', holdDown: true, text: /loses 40% of probes \(limit/ } },
  ];
  for (const { name, given, probes, want } of table) {
    const a = probes === undefined ? given : { ...given, probe: { ...given.probe, probes: undefined } };
    const d = chooseUplink(snap([a, wifi('wlan1', -55), lte()], 'wlan0', { memory, tunnel: { last_rx_at: NOW - 300, last_tx_at: NOW - 300 } }), P, NOW);
    check(name, d, want);
  }
});

test('far-end-idle.yaml on a simulated clock: a blackhole of the active 4 s after a far-end silence is a blackhole, not loss from the silence\'s probes', () => {
  // The probes as the lab's drive recorded them (far-end-idle, 2026-12-03; ms from the scenario's start), each path's
  // stats from the agent's own probe.stats. Every path silent 3-6.85 s: the active loses 6 probes (given up every
  // ~550 ms), the standbys probed at once lose theirs; the active alone blackholed from 10 s. A packet each way every
  // 500 ms: busy for 250 ms of each 500. At 10.56 s the active's first lost probe leaves 7 of its 20 lost (35%), 6 of
  // them the silence's: counted whole, that was a 'loss' switch (3 of 3 lab runs under load before e659b3c).
  type Outcome = [at: number, ok: boolean];
  const every = (from: number, to: number, step: number, ok: boolean): Outcome[] => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => [from + i * step, ok]);
  const outcomes: Record<string, Outcome[]> = {
    wlan0: [...every(0, 2815, 280, true), ...[3523, 4027, 4578, 5131, 5682, 6234].map((t): Outcome => [t, false]), ...every(6853, 10006, 300, true), ...every(10563, 12000, 520, false)],
    wlan1: [...every(100, 2100, 1000, true), [3620, false], [4650, false], [5700, false], ...every(6860, 9860, 1000, true), [10615, true], [11615, true]],
    wwan0: [[300, true], [3620, false], [5700, false], [6900, true], [10650, true]],
  };
  const histories = Object.fromEntries(Object.entries(outcomes).map(([name, os]) => {
    let h: ProbeHistory = EMPTY_HISTORY;
    return [name, os.map(([at, ok]) => ({ at, h: (h = recordProbeResult(h, ok ? (name === 'wwan0' ? 40 : 12) : null, at)) }))];
  }));
  const statsAt = (name: string, t: number) => {
    const h = histories[name]!.filter((x) => x.at <= t).at(-1)?.h;
    return h ? probeStatsOf(h) : { rtt_ms: null, loss: 0, last_ok_at: null };
  };
  const silent = (t: number) => t >= 3000 && t < 6850;
  let active = 'wlan0';
  let activeSince = -10_000;
  let memory: ArbiterMemory = EMPTY_MEMORY;
  const rules = new Set<string>();
  const switches: Array<[number, string | null, string, string, string]> = [];
  for (let t = 0; t <= 12_000; t += 5) {
    const lastTx = Math.floor(t / 500) * 500;
    let lastRx: number | null = null;
    for (let r = lastTx; r >= 0; r -= 500) if (!silent(r) && !(active === 'wlan0' && r >= 10_000)) { lastRx = r; break; }
    const views = THREE.map((u) => ({ name: u.name, kind: u.kind, signal: u.signal, state: (u.name === active ? 'active' : 'standby') as UplinkView['state'], ready: true, carrier: true, probe: statsAt(u.name, t) }));
    const d = chooseUplink({ uplinks: views, active, activeSince, memory, tunnel: { last_rx_at: lastRx, last_tx_at: lastTx } }, P, t);
    memory = d.memory;
    rules.add(d.why.rule);
    if (d.action === 'switch') {
      switches.push([t, d.from, d.to, d.rule, d.why.text]);
      active = d.to;
      activeSince = t;
    }
  }
  assert.ok(rules.has('far-end'), 'the silence is the far end\'s');
  assert.deepEqual(switches.map(([, from, to, rule]) => [from, to, rule]), [['wlan0', 'wlan1', 'blackhole']], JSON.stringify(switches));
  const [at] = switches[0]!;
  assert.ok(at >= 10_000 && at - 10_000 <= 1200 + 150, `decided ${at - 10_000} ms after the blackhole`);
});

// ---- redundancy (issue 13, item 1): while copies flow the active is judged on its own probes ------------------------
test('chooseUplink while copies flow: a silence is a blackhole only once two probes of the active went unanswered (the lab\'s false switches)', () => {
  // The lab (2026-12-03): copies began through wlan0 at T while wlan1, active, was probed at its 1 s rest pace (the
  // tunnel's packets had proved it); 432 ms later, with no probe of it even sent, it was left on 'blackhole'.
  const T = NOW - 450;
  const busy = { last_rx_at: NOW - 5, last_tx_at: NOW - 5 };
  const copying = { via: 'wlan0', since: T };
  const given = (probe: UplinkView['probe']) => snap([wifi('wlan0', -55), wifi('wlan1', -58, { probe }), lte()], 'wlan1', { tunnel: busy, copying, memory: { ...EMPTY_MEMORY, busySince: NOW - 10_000 } });
  const table: Array<{ name: string; probe: UplinkView['probe']; want: Want }> = [
    { name: 'last answer 900 ms before the copies, no probe since: no proof, stay', probe: { rtt_ms: 7, loss: 0, last_ok_at: T - 900 }, want: { action: 'stay', rule: 'none' } },
    { name: 'its probe out for 250 ms: one probe is no proof (the copies carry the tunnel meanwhile)', probe: { rtt_ms: 7, loss: 0, last_ok_at: T - 900, in_flight_since: NOW - 250 }, want: { action: 'stay', rule: 'none' } },
    // The lab at load 15: one probe of a healthy active given up (500 ms) took it for dead.
    { name: 'one probe given up: not yet', probe: { rtt_ms: 7, loss: 0.05, last_ok_at: T - 900, failing: { since: NOW - 30, last_at: NOW - 30, lost_before: [] } }, want: { action: 'stay', rule: 'none' } },
    {
      name: 'one given up, the next out for 250 ms (half dead_busy_ms and more): dead',
      probe: { rtt_ms: 7, loss: 0.05, last_ok_at: T - 900, failing: { since: NOW - 300, last_at: NOW - 300, lost_before: [] }, in_flight_since: NOW - 250 },
      want: { action: 'switch', to: 'wlan0', rule: 'blackhole', holdDown: true, text: /wlan1 silent for 450 ms while traffic flows \(limit 400 ms\), a probe given up 300 ms ago and the next unanswered for 250 ms \(copies flowing\)/ },
    },
    {
      name: 'two given up in a row: dead',
      probe: { rtt_ms: 7, loss: 0.1, last_ok_at: T - 900, failing: { since: NOW - 600, last_at: NOW - 30, lost_before: [] } },
      want: { action: 'switch', to: 'wlan0', rule: 'blackhole', holdDown: true, text: /its last probes unanswered/ },
    },
    { name: 'answered since the copies began: alive', probe: { rtt_ms: 7, loss: 0, last_ok_at: NOW - 30, in_flight_since: NOW - 5 }, want: { action: 'stay', rule: 'none' } },
  ];
  for (const c of table) check(c.name, chooseUplink(given(c.probe), P, NOW), c.want);
  // Without copies the tunnel's packets are the proof, as before: the same silence with no probe out is no blackhole
  // because the packets still come back; stop them and it is one (the slow rule, unchanged).
  const quiet = snap([wifi('wlan0', -55), wifi('wlan1', -58, { probe: { rtt_ms: 7, loss: 0, last_ok_at: T - 900 } }), lte()], 'wlan1', { tunnel: { last_rx_at: T, last_tx_at: NOW - 5 }, memory: { ...EMPTY_MEMORY, busySince: NOW - 10_000 } });
  check('no copies, silent 450 ms', chooseUplink(quiet, P, NOW), { action: 'switch', to: 'wlan0', rule: 'blackhole', holdDown: true });
});

// ---- the fast check (issue 13, item 3): only where replies are expected through the active --------------------------
test('chooseUplink, fast check: judged only while the vehicle sends into the silence and no copies flow (expectsReplies)', () => {
  const P20 = policyWith({ dead_packets: 20 });
  // Packets came back at 1/ms until 100 ms ago; the active's own probe sent 90 ms ago is unanswered; wlan1, asked 40 ms
  // later, answered.
  const given = (tunnel: Partial<NonNullable<ArbiterSnapshot['tunnel']>>, over: Partial<ArbiterSnapshot> = {}) => snap([
    wifi('wlan0', -55, { probe: { rtt_ms: 5, loss: 0, last_ok_at: NOW - 300, in_flight_since: NOW - 90 } }),
    wifi('wlan1', -58, { probe: { rtt_ms: 5, loss: 0, last_ok_at: NOW - 10, last_ok_sent_at: NOW - 20 } }),
  ], 'wlan0', { tunnel: { last_rx_at: NOW - 100, last_tx_at: NOW - 5, rx_rate: 1, ...tunnel }, memory: { ...EMPTY_MEMORY, busySince: NOW - 10_000 }, ...over });
  check('sending into the silence: dead', chooseUplink(given({}), P20, NOW), { action: 'switch', to: 'wlan1', rule: 'blackhole', holdDown: true, text: /fast check/ });
  check('the sender stopped with the replies: nothing expected, no fast verdict', chooseUplink(given({ last_tx_at: NOW - 100 }), P20, NOW), { action: 'stay', rule: 'none' });
  check('sent only 5 ms into the silence (under half the 20 packets\' time): not yet', chooseUplink(given({ last_tx_at: NOW - 95 }), P20, NOW), { action: 'stay', rule: 'none' });
  // A packet counted at the reading the silence reached 20 ms is dated to the reading before (10 ms earlier).
  check('sent 10 ms into the silence (half the 20 packets\' time, a reading interval): dead', chooseUplink(given({ last_tx_at: NOW - 90 }), P20, NOW), { action: 'switch', to: 'wlan1', rule: 'blackhole', holdDown: true, text: /fast check/ });
  // Copies began 100 ms ago: what comes back after them may come through the copy; the tunnel's silence is not the
  // active's (before: taken for it, a false 'blackhole' under copies).
  check('copies just began: no fast verdict', chooseUplink(given({}, { copying: { via: 'wlan1', since: NOW - 100 } }), P20, NOW), { action: 'stay', rule: 'none' });
  check('the fast check off (dead_packets 0): the slow rule only', chooseUplink(given({}), policyWith({ dead_packets: 0 }), NOW), { action: 'stay', rule: 'none' });
  check('the default policy: the fast check on (dead_packets 20)', chooseUplink(given({}), P, NOW), { action: 'switch', to: 'wlan1', rule: 'blackhole', holdDown: true, text: /fast check/ });
});

test('chooseUplink: a stay while the active is silent says when its dead limit passes (wakeAt), counted as rule 3 counts (table)', () => {
  const busyFor = (since: number) => ({ memory: { ...EMPTY_MEMORY, busySince: since } });
  const busyTx = { last_rx_at: null, last_tx_at: NOW - 10 };
  const table: Array<{ name: string; given: ArbiterSnapshot; want: { action: 'stay' | 'switch'; wakeAt?: number } }> = [
    { name: 'idle, last heard 500 ms ago: at dead_idle_ms after it', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 500) }), wifi('wlan1', -65)], 'wlan0'), want: { action: 'stay', wakeAt: NOW - 500 + 1201 } },
    { name: 'busy for long, the tunnel\'s last packet 100 ms ago: at dead_busy_ms after it', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 5000) }), wifi('wlan1', -65)], 'wlan0', { tunnel: { last_rx_at: NOW - 100, last_tx_at: NOW - 10 }, ...busyFor(NOW - 5000) }), want: { action: 'stay', wakeAt: NOW - 100 + 401 } },
    { name: 'traffic began 50 ms ago after 600 ms of silence: dead_busy_ms from when it began', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 600) }), wifi('wlan1', -65)], 'wlan0', { tunnel: busyTx, ...busyFor(NOW - 50) }), want: { action: 'stay', wakeAt: NOW - 50 + 401 } },
    { name: 'not heard since it took the tunnel 300 ms ago: dead_idle_ms from then, busy or not', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 2000) }), wifi('wlan1', -65)], 'wlan0', { activeSince: NOW - 300, tunnel: busyTx, ...busyFor(NOW - 5000) }), want: { action: 'stay', wakeAt: NOW - 300 + 1201 } },
    { name: 'past the limit: a switch, nothing to wake for', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 1300) }), wifi('wlan1', -65)], 'wlan0'), want: { action: 'switch' } },
    // While copies flow a silence past the limit waits for the active's own probes (copyProof): their results wake it.
    { name: 'past the limit while copies flow, no proof yet: no wake-up (the probes bring it)', given: snap([wifi('wlan0', -60, { probe: probe(NOW - 1300) }), wifi('wlan1', -65)], 'wlan0', { copying: { via: 'wlan1', since: NOW - 2000, rx_at: NOW - 2000 } }), want: { action: 'stay' } },
    { name: 'heard just now: a whole dead limit away', given: snap([wifi('wlan0', -60, { probe: probe(NOW) }), wifi('wlan1', -65)], 'wlan0'), want: { action: 'stay', wakeAt: NOW + 1201 } },
  ];
  for (const { name, given, want } of table) {
    const d = chooseUplink(given, P, NOW);
    assert.equal(d.action, want.action, `${name}: ${d.why.text}`);
    if (d.action === 'stay') assert.equal(d.wakeAt, want.wakeAt, `${name}: ${d.why.text}`);
    if (want.wakeAt !== undefined) {
      // Nothing heard until then (traffic still going out where it was): not a switch one ms before, a blackhole at it.
      const at = (t: number) => chooseUplink({ ...given, memory: d.memory, ...(given.tunnel ? { tunnel: { ...given.tunnel, last_tx_at: t - 10 } } : {}) }, P, t);
      assert.equal(at(want.wakeAt - 1).action, 'stay', `${name}: 1 ms before`);
      assert.deepEqual([at(want.wakeAt).action, at(want.wakeAt).why.rule], ['switch', 'blackhole'], `${name}: at wakeAt`);
    }
  }
});

test('rxBefore: the tunnel\'s last packet the active may claim while copies flow: the last before they began (table)', () => {
  const T = 50_000;
  const cases: Array<{ name: string; lastRx: number | null; copying: { via: string; since: number; rx_at?: number | null }; want: number | null }> = [
    { name: 'nothing ever came back', lastRx: null, copying: { via: 'wlan1', since: T, rx_at: null }, want: null },
    { name: 'packets flowed until the copies began', lastRx: T + 900, copying: { via: 'wlan1', since: T, rx_at: T - 20 }, want: T - 20 },
    // The silence began the copies (the active's probes failing); HQ answered through them: not the active's life.
    { name: 'silent 600 ms before the copies, HQ heard again through them', lastRx: T + 400, copying: { via: 'wlan1', since: T, rx_at: T - 600 }, want: T - 600 },
    { name: 'nothing before the copies, HQ heard through them', lastRx: T + 400, copying: { via: 'wlan1', since: T, rx_at: null }, want: null },
    { name: 'when they began unknown (older callers): their start', lastRx: T + 400, copying: { via: 'wlan1', since: T }, want: T },
  ];
  for (const c of cases) assert.equal(rxBefore(c.lastRx, c.copying), c.want, c.name);
});

test('chooseUplink, fast check: the others\' answers count for probes sent half the active\'s deadline after its own (othersAfterMs)', () => {
  // Packets came back at 1/ms until 100 ms ago; the active's probe sent 60 ms ago (deadline 40 ms) is unanswered.
  const given = (otherSentAgo: number, activeRtt = 5) => snap([
    wifi('wlan0', -55, { probe: { rtt_ms: activeRtt, loss: 0, last_ok_at: NOW - 300, in_flight_since: NOW - 60 } }),
    wifi('wlan1', -58, { probe: { rtt_ms: 5, loss: 0, last_ok_at: NOW - 2, last_ok_sent_at: NOW - otherSentAgo } }),
  ], 'wlan0', { tunnel: { last_rx_at: NOW - 100, last_tx_at: NOW - 5, rx_rate: 1 }, memory: { ...EMPTY_MEMORY, busySince: NOW - 10_000 } });
  const rows: Array<{ name: string; otherSentAgo: number; activeRtt?: number; want: Want }> = [
    { name: 'sent 20 ms after the active\'s (half of 40): counts', otherSentAgo: 40, want: { action: 'switch', to: 'wlan1', rule: 'blackhole', holdDown: true, text: /fast check/ } },
    { name: 'sent 15 ms after: may have raced the active\'s answer, does not count', otherSentAgo: 45, want: { action: 'stay', rule: 'none' } },
    // An active RTT of 18 ms: a deadline of 54 ms, half of it 27: wlan1's probe sent 20 ms after is too early.
    { name: 'a slower active: half of 3 RTTs', otherSentAgo: 40, activeRtt: 18, want: { action: 'stay', rule: 'none' } },
    { name: 'a slower active, wlan1 asked 30 ms after', otherSentAgo: 30, activeRtt: 18, want: { action: 'switch', to: 'wlan1', rule: 'blackhole', holdDown: true } },
  ];
  for (const r of rows) check(r.name, chooseUplink(given(r.otherSentAgo, r.activeRtt), P, NOW), r.want);
  assert.equal(othersAfterMs(40), 20);
  assert.equal(othersAfterMs(fastDeadlineMs({ probe: { rtt_ms: 18, loss: 0, last_ok_at: null } }, P)), 27);
});

test('fastDeadlineMs: dead_fast_ms, or 3 of the path\'s low RTTs (rtt_low_ms) when longer; the smoothed RTT only without them (older drives)', () => {
  const rows: Array<{ name: string; rtt_ms: number | null; rtt_low_ms?: number; want: number }> = [
    { name: 'no RTT yet', rtt_ms: null, want: 40 },
    { name: 'Wi-Fi on a quiet machine', rtt_ms: 9, rtt_low_ms: 9, want: 40 },
    // 2026-12-04, lab at load 3.5: Wi-Fi probes answered in 8-12 ms, a smoothed RTT of 17-25 ms (the agent's lag).
    { name: 'Wi-Fi, the smoothed RTT inflated by a loaded agent', rtt_ms: 25, rtt_low_ms: 9, want: 40 },
    { name: 'LTE: its own RTT is long', rtt_ms: 70, rtt_low_ms: 55, want: 165 },
    { name: 'no low RTT (an older drive): the smoothed one', rtt_ms: 25, want: 75 },
  ];
  for (const r of rows) {
    const probe = { rtt_ms: r.rtt_ms, loss: 0, last_ok_at: null, ...(r.rtt_low_ms !== undefined ? { rtt_low_ms: r.rtt_low_ms } : {}) };
    assert.equal(fastDeadlineMs({ probe }, P), r.want, r.name);
  }
});

