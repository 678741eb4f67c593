// The tunnel keeper on a simulated clock: when it forces a new handshake, and what it reports as up and down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, SimulatedClock } from 'xstate';
import { createTunnelMachine } from '../../agent/machines/tunnel.machine.js';

const INPUT = { intervalMs: 1000, timeoutMs: 500, misses: 3 };
const flush = () => new Promise<void>((r) => setImmediate(r));

/** The keeper with a tunnel that answers (after 5 ms) or not, and an active path that answers or not. */
function keeper(world = { tunnel: false, path: false }) {
  const clock = new SimulatedClock();
  const rehandshakes: number[] = [];
  const changes: Array<[number, boolean]> = [];
  const actor = createActor(createTunnelMachine({
    probe: (signal) => new Promise((resolve, reject) => {
      if (world.tunnel) { const id = clock.setTimeout(() => resolve(5), 5); signal.addEventListener('abort', () => clock.clearTimeout(id)); }
      signal.addEventListener('abort', () => reject(new Error('aborted')));
    }),
    pathOk: () => world.path,
    rehandshake: async () => void rehandshakes.push(now),
    onChange: (up) => void changes.push([now, up]),
  }), { input: INPUT, clock });
  let now = 0;
  /** Moves the clock in 5 ms steps, letting the promises settle between. */
  const run = async (ms: number) => {
    for (const end = now + ms; now < end;) { now += 5; clock.increment(5); await flush(); }
  };
  actor.start();
  return { world, rehandshakes, changes, run, stop: () => actor.stop() };
}

test('tunnel keeper: the silence of start-up, before the active path answers, is not held against the first handshake', async () => {
  const k = keeper();
  await k.run(10_000); // no active path yet: 7 probes missed
  assert.deepEqual(k.rehandshakes, []);
  k.world.path = true; // the initial switch: the path answers, the handshake is under way
  await k.run(1600); // one more miss while it is (the probe at 10.5 s)
  k.world.tunnel = true;
  await k.run(3000);
  assert.deepEqual(k.rehandshakes, [], 'one late probe after the initial switch is no lost session');
  assert.deepEqual(k.changes.map(([, up]) => up), [true]);
  k.stop();
});

test('tunnel keeper: three probes missed in a row over a live path force one new handshake, then three more for the next', async () => {
  const k = keeper({ tunnel: true, path: true });
  await k.run(2000);
  assert.deepEqual(k.changes, [[5, true]]);
  k.world.tunnel = false; // the concentrator restarted and lost our session
  const lostAt = 2000;
  await k.run(9000);
  // Probes every 1.5 s (1 s apart, 0.5 s each to time out): the third miss forces it, the next three the next.
  assert.equal(k.rehandshakes.length, 2, `${k.rehandshakes}`);
  assert.ok(k.rehandshakes[0]! - lostAt <= 3 * 1500, `${k.rehandshakes}`);
  assert.ok(k.rehandshakes[1]! - k.rehandshakes[0]! >= 3 * 1000, `${k.rehandshakes}`);
  // Down once, at the third miss: not once per miss after it.
  assert.deepEqual(k.changes.map(([, up]) => up), [true, false]);
  assert.equal(k.changes[1]![0], k.rehandshakes[0]);
  k.world.tunnel = true;
  await k.run(2000);
  assert.deepEqual(k.changes.map(([, up]) => up), [true, false, true]);
  k.stop();
});

test('tunnel keeper: misses over a path that does not answer start the count again', async () => {
  const k = keeper({ tunnel: true, path: true });
  await k.run(1000);
  k.world.tunnel = false;
  await k.run(3200); // two misses over the live path
  k.world.path = false; // now the active's own path fails too: a blackhole, the arbiter's to judge
  await k.run(1500);
  k.world.path = true; // back: two more misses are not yet three in a row over a live path
  await k.run(3000);
  assert.deepEqual(k.rehandshakes, []);
  await k.run(1500);
  assert.equal(k.rehandshakes.length, 1);
  k.stop();
});
