// HQ failover (issue 14): the pure decision as a table, then the tick on a simulated clock, from the power-off of the
// tunnel's HQ to the move (steering, probes, peer), and the cases that must move nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideHq, type HqAction, type HqFacts } from '../../agent/policy/hq.failover.js';
import { endpointOf, startHqFailover, type HqEndpoint } from '../../agent/start/hq.start.js';
import type { UplinkStatus } from '../../agent/machines/uplink.machine.js';
import type { TunnelPeer } from '../../agent/start/tunnel.start.js';
import { SimClock } from '../../shared/clock.js';

const policy = { failoverMs: 800, noActiveFailoverMs: 3800, askEveryMs: 500 };
const base: HqFacts = { now: 10_000, count: 2, current: 0, since: 0, heardAt: 9_900, via: 'wlan0', hasActive: true, pathsSince: 0, asked: null };

test('decideHq: given the facts, the action', () => {
  const table: Array<{ name: string; given: Partial<HqFacts>; want: HqAction }> = [
    { name: 'the current HQ answers', given: {}, want: { do: 'stay' } },
    { name: 'one HQ: never anything else', given: { count: 1, heardAt: 0 }, want: { do: 'stay' } },
    { name: 'silent, not yet failover_ms', given: { heardAt: 9_201 }, want: { do: 'stay' } },
    { name: 'silent failover_ms on every path: ask the other through the uplink given', given: { heardAt: 9_200 }, want: { do: 'ask', hq: 1, via: 'wlan0' } },
    { name: 'silent, on HQ b: ask a', given: { current: 1, heardAt: 9_000 }, want: { do: 'ask', hq: 0, via: 'wlan0' } },
    { name: 'never heard, moved here long ago: ask', given: { heardAt: null, since: 1_000 }, want: { do: 'ask', hq: 1, via: 'wlan0' } },
    { name: 'just moved here: the new HQ gets failover_ms of its own', given: { heardAt: 5_000, since: 9_500 }, want: { do: 'stay' } },
    { name: 'no uplink with an address: nobody to ask, stay', given: { heardAt: 5_000, via: null, pathsSince: null }, want: { do: 'stay' } },
    { name: 'the active just became active (or an uplink just got an address): silence before counts for nothing', given: { heardAt: 5_000, pathsSince: 9_300 }, want: { do: 'stay' } },
    { name: 'the active active for failover_ms, silent all along: ask', given: { heardAt: 5_000, pathsSince: 9_200 }, want: { do: 'ask', hq: 1, via: 'wlan0' } },
    { name: 'no active (start-up: standbys probed ~1 s apart): 1 s of silence is nothing', given: { hasActive: false, heardAt: 9_000 }, want: { do: 'stay' } },
    { name: 'no active: silent noActiveFailoverMs: ask', given: { hasActive: false, heardAt: 6_200 }, want: { do: 'ask', hq: 1, via: 'wlan0' } },
    { name: 'no active, HQ a never heard since the first address: ask after noActiveFailoverMs', given: { hasActive: false, heardAt: null, pathsSince: 6_200 }, want: { do: 'ask', hq: 1, via: 'wlan0' } },
    { name: 'asked during this silence, no answer yet, within askEveryMs', given: { heardAt: 5_000, asked: { hq: 1, at: 9_600, answeredAt: null } }, want: { do: 'stay' } },
    { name: 'asked during this silence, no answer for askEveryMs: ask again', given: { heardAt: 5_000, asked: { hq: 1, at: 9_500, answeredAt: null } }, want: { do: 'ask', hq: 1, via: 'wlan0' } },
    { name: 'the other answered during this silence: move', given: { heardAt: 5_000, asked: { hq: 1, at: 9_600, answeredAt: 9_605 } }, want: { do: 'move', to: 1 } },
    { name: 'answered, even with no uplink left now: stay (nothing to say the paths work now)', given: { heardAt: 5_000, via: null, pathsSince: null, asked: { hq: 1, at: 9_600, answeredAt: 9_605 } }, want: { do: 'stay' } },
    { name: 'answered, the asking uplink gone, another with an address: move (it answered through one)', given: { heardAt: 5_000, via: 'wlan1', asked: { hq: 1, at: 9_600, answeredAt: 9_605 } }, want: { do: 'move', to: 1 } },
    { name: 'an answer from before this silence counts for nothing: ask again', given: { heardAt: 8_000, asked: { hq: 1, at: 7_000, answeredAt: 7_004 } }, want: { do: 'ask', hq: 1, via: 'wlan0' } },
    { name: 'the current HQ answered again after an ask: stay', given: { heardAt: 9_900, asked: { hq: 1, at: 9_600, answeredAt: 9_605 } }, want: { do: 'stay' } },
  ];
  for (const { name, given, want } of table) assert.deepEqual(decideHq({ ...base, ...given }, policy), want, name);
});

test('endpointOf splits host:port', () => {
  assert.deepEqual(endpointOf('198.51.100.3:51820'), { address: '198.51.100.3', port: 51820 });
  assert.deepEqual(endpointOf('hq-b.example.net:443'), { address: 'hq-b.example.net', port: 443 });
});

/** The world as the tick sees it: two HQs, one uplink, answers by who is powered. */
function world(clock: SimClock, opts: { endpoints?: string[] } = {}) {
  const active = { v: 'wlan0' as string | null };
  /** Traffic through the tunnel: the arbiter's tunnelRx (moving while HQ a or b, whichever the tunnel goes to, is on). */
  const traffic = { v: false };
  const probeEveryMs = { v: 50 };
  const powered = new Set(['198.51.100.2', '198.51.100.3']);
  const uplinkWorks = { v: true };
  const lastOk = { v: clock.now() as number | null };
  const did: string[] = [];
  const asks: Array<{ at: number; bind: string; target: HqEndpoint }> = [];
  let target = '198.51.100.2';
  const status = (): Record<string, UplinkStatus> => ({
    wlan0: { name: 'wlan0', slot: 1, kind: 'wifi', phase: 'ready', carrier: true, lease: { address: '192.168.10.100', prefix: 24, router: '192.168.10.1' } as UplinkStatus['lease'], ready: true, rttMs: 2, lastOkAt: lastOk.v, misses: 0, ap: null, addressed: true },
  });
  const peer: TunnelPeer = { publicKey: 'HQ', allowedIps: ['10.99.0.1/32'], endpoint: '198.51.100.2:51820', keepalive: 15 };
  const hq = startHqFailover({
    endpoints: opts.endpoints ?? ['198.51.100.2:51820', '198.51.100.3:51820'], probePort: 51821, failoverMs: 800, standbyProbeMs: 1000, peer,
    view: () => ({ active: active.v, status: status(), tunnelRx: { at: null, moving: traffic.v && powered.has(target) } }),
    ask(bind, t, signal) {
      asks.push({ at: clock.now(), bind, target: t });
      return new Promise((resolve, reject) => {
        // The other HQ answers in 3 ms when it is powered and our uplink works; else the ask times out.
        if (powered.has(t.address) && uplinkWorks.v) clock.set(() => resolve(3), 3);
        signal.addEventListener('abort', () => reject(signal.reason));
      });
    },
    async retargetSteer(ep) {
      did.push(`steer ${ep.address}:${ep.port}`);
    },
    retargetProbes(t) {
      target = t.address;
      did.push(`probes ${t.address}:${t.port}`);
    },
    peerConfigured: () => true,
    async removePeer(p) {
      did.push(`peer ${p.publicKey} removed`);
    },
    async setPeer(p) {
      did.push(`peer ${p.endpoint}`);
    },
    clock, log: { info: () => {}, warn: () => {} },
  });
  // The uplink's probes: every 50 ms while active (1 s as a standby), answered when their target is powered and the
  // uplink works.
  const probeEvery = () => {
    if (powered.has(target) && uplinkWorks.v) lastOk.v = clock.now();
    clock.set(probeEvery, probeEveryMs.v);
  };
  probeEvery();
  return { hq, powered, uplinkWorks, did, asks, active, probeEveryMs, traffic };
}

test('HQ a powered off: asked at failover_ms, moved to b with the answer (steering, probes, then the peer)', async () => {
  const clock = new SimClock();
  const w = world(clock);
  await clock.advance(5_000);
  assert.deepEqual([w.did, w.asks.length, w.hq.current()], [[], 0, 0], 'HQ a answers: nothing asked, nothing moved');
  assert.deepEqual(w.hq.otherProbe(), { address: '198.51.100.3', port: 51821 }, 'the arbiter\'s witness: HQ b\'s probe echo');
  const off = clock.now();
  w.powered.delete('198.51.100.2');
  await clock.advance(3_000);
  assert.deepEqual(w.did, ['steer 198.51.100.3:51820', 'probes 198.51.100.3:51821', 'peer HQ removed', 'peer 198.51.100.3:51820']);
  assert.equal(w.hq.current(), 1);
  assert.equal(w.hq.peer().endpoint, '198.51.100.3:51820');
  assert.deepEqual(w.hq.otherProbe(), { address: '198.51.100.2', port: 51821 }, 'on HQ b, the witness is HQ a');
  // Asked through the uplink's own address, HQ b's probe port; once: the answer moved it.
  assert.deepEqual(w.asks.map((a) => [a.bind, a.target]), [['192.168.10.100', { address: '198.51.100.3', port: 51821 }]]);
  // The ask came within a tick of failover_ms after the last answer (at most 50 ms before the power-off).
  const askedAfter = w.asks[0]!.at - off;
  assert.ok(askedAfter >= policy.failoverMs - 50 && askedAfter <= policy.failoverMs + 100, `asked ${askedAfter} ms after the power-off`);
  // HQ a back: the tunnel stays on b (which answers), no move back.
  w.powered.add('198.51.100.2');
  await clock.advance(5_000);
  assert.equal(w.did.length, 4);
  assert.equal(w.hq.current(), 1);
  w.hq.stop();
});

test('every path dead (both HQs silent to us): asked every askEveryMs, never moved; the path back moves nothing', async () => {
  const clock = new SimClock();
  const w = world(clock);
  await clock.advance(2_000);
  w.uplinkWorks.v = false;
  await clock.advance(3_000);
  assert.deepEqual(w.did, []);
  assert.equal(w.hq.current(), 0);
  // Asks: from failover_ms on, one per askEveryMs (each waits 500 ms for its answer): bounded, not one per tick.
  assert.ok(w.asks.length >= 3 && w.asks.length <= 5, `${w.asks.length} asks in 3 s`);
  w.uplinkWorks.v = true;
  await clock.advance(2_000);
  assert.deepEqual(w.did, []);
  w.hq.stop();
});

test('both HQs off, then b comes back: moved to b once it answers', async () => {
  const clock = new SimClock();
  const w = world(clock);
  await clock.advance(1_000);
  w.powered.clear();
  await clock.advance(4_000);
  assert.deepEqual(w.did, []);
  const back = clock.now();
  w.powered.add('198.51.100.3');
  await clock.advance(2_000);
  assert.equal(w.hq.current(), 1);
  // Asked again within askEveryMs (+ the ask's own wait) of b's return.
  const moveAsk = w.asks.at(-1)!;
  assert.ok(moveAsk.at - back <= policy.askEveryMs + 100, `asked ${moveAsk.at - back} ms after b came back`);
  w.hq.stop();
});

test('start-up: no active yet, the standbys probed once a second and answered: nothing asked; made active, nothing either', async () => {
  const clock = new SimClock();
  const w = world(clock);
  w.active.v = null;
  w.probeEveryMs.v = 1000;
  await clock.advance(10_000);
  assert.deepEqual([w.did, w.asks], [[], []]);
  w.active.v = 'wlan0';
  w.probeEveryMs.v = 50;
  await clock.advance(5_000);
  assert.deepEqual([w.did, w.asks], [[], []]);
  w.hq.stop();
});

test('start-up with HQ a dead: no active ever (no uplink gets ready), moved to b after failover_ms + 3 standby probes', async () => {
  const clock = new SimClock();
  const w = world(clock);
  w.active.v = null;
  w.probeEveryMs.v = 1000;
  w.powered.delete('198.51.100.2');
  await clock.advance(6_000);
  assert.equal(w.hq.current(), 1);
  assert.ok(w.asks[0]!.at >= 3800 && w.asks[0]!.at <= 3900, `asked at ${w.asks[0]!.at} ms`);
  w.hq.stop();
});

test('traffic flowing (the active probed only once a second, the tunnel\'s packets say HQ is there): nothing asked; HQ a off: moved', async () => {
  const clock = new SimClock();
  const w = world(clock);
  w.traffic.v = true;
  w.probeEveryMs.v = 1000;
  await clock.advance(10_000);
  assert.deepEqual([w.did, w.asks], [[], []]);
  const off = clock.now();
  w.powered.delete('198.51.100.2');
  await clock.advance(2_000);
  assert.equal(w.hq.current(), 1);
  assert.ok(w.asks[0]!.at - off <= 1000, `asked ${w.asks[0]!.at - off} ms after the power-off`);
  w.hq.stop();
});

test('one endpoint: nothing ticks, nothing is asked', async () => {
  const clock = new SimClock();
  const w = world(clock, { endpoints: ['198.51.100.2:51820'] });
  assert.equal(w.hq.otherProbe(), null);
  w.powered.clear();
  await clock.advance(10_000);
  assert.deepEqual([w.did, w.asks], [[], []]);
  w.hq.stop();
});
