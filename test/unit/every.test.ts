// agent/machines/every.ts: repeating work on an actor's clock, and abort signals whose timers go away with the work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { SimulatedClock } from 'xstate';
import { boundedSignal, every } from '../../agent/machines/every.js';

/** Moves the simulated clock on a millisecond at a time (as the machine tests do). */
function advance(clock: SimulatedClock, ms: number): void {
  for (let i = 0; i < ms; i++) clock.increment(1);
}

test('every: runs at once, then every ms on the given clock; an async run is not overlapped; stop ends it', async () => {
  const clock = new SimulatedClock();
  const runs: number[] = [];
  const stop = every(clock, 50, () => void runs.push(clock.now()));
  advance(clock, 120);
  assert.deepEqual(runs, [0, 50, 100]);
  stop();
  advance(clock, 500);
  assert.equal(runs.length, 3, 'nothing after stop');

  const slow: number[] = [];
  let release!: () => void;
  const stop2 = every(clock, 50, () => {
    slow.push(clock.now());
    return new Promise<void>((r) => (release = r));
  });
  advance(clock, 200);
  assert.equal(slow.length, 1, 'the next run waits for the last to settle');
  release();
  await sleep(0);
  advance(clock, 50);
  assert.equal(slow.length, 2, 'then comes one interval later');
  stop2();
});

test('boundedSignal: aborts after ms, or with its parent; released, its timer is gone', async () => {
  const a = boundedSignal(20);
  await sleep(40);
  assert.equal(a.signal.aborted, true);
  assert.equal((a.signal.reason as DOMException).name, 'TimeoutError');

  const b = boundedSignal(20);
  b.release();
  await sleep(40);
  assert.equal(b.signal.aborted, false, 'released before its time: never aborts');

  const clock = new SimulatedClock();
  const e = boundedSignal(100, undefined, clock);
  advance(clock, 99);
  assert.equal(e.signal.aborted, false);
  advance(clock, 1);
  assert.equal(e.signal.aborted, true, 'on the given clock');

  const parent = new AbortController();
  const c = boundedSignal(10_000, parent.signal);
  parent.abort(new Error('stop'));
  assert.equal(c.signal.aborted, true);
  c.release();
  const d = boundedSignal(10_000, parent.signal);
  assert.equal(d.signal.aborted, true, 'a parent already aborted');
  d.release();
});
