// The arbiter's pure decision: rule tables at one instant, then simulated-clock runs (flapping, dwell, hold-down, LTE, steady).
import { seeded } from '../../shared/rng.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseUplink, EMPTY_MEMORY, type ArbiterMemory, type ArbiterSnapshot, type Decision, type UplinkView } from '../../agent/policy/choose.js';
import { activeProbeIntervalMs, policyWith, type Policy } from '../../agent/policy/policy.js';

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
