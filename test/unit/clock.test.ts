// The one clock (shared/clock.ts): a wall step moves neither monotonic time nor timers; timers fire in order, once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realClock, SimClock } from '../../shared/clock.js';

test('SimClock: a wall step (NTP, forward or back) moves wallNow only; timers keep their monotonic due times', async () => {
  const c = new SimClock({ now: 100, wall: Date.UTC(2023, 0, 1) });
  const fired: Array<[string, number, number]> = [];
  c.set(() => fired.push(['a', c.now(), c.wallNow()]), 1000);
  const b = c.set(() => fired.push(['b', c.now(), c.wallNow()]), 500);
  c.set(() => fired.push(['c', c.now(), c.wallNow()]), 2000);
  c.clear(b);
  await c.advance(400);
  c.stepWall(Date.UTC(2026, 0, 1) - Date.UTC(2023, 0, 1));
  assert.equal(c.now(), 500);
  assert.deepEqual(c.delays(), [600, 1600]);
  await c.advance(600);
  c.stepWall(-60_000);
  c.advanceSync(1000);
  assert.deepEqual(fired, [
    ['a', 1100, Date.UTC(2026, 0, 1) + 1000],
    ['c', 2100, Date.UTC(2026, 0, 1) + 2000 - 60_000],
  ]);
  assert.equal(c.armed, 0);
});

test('realClock: wallNow is Date.now (it follows NTP steps), now is monotonic, timers are unref\'d', async () => {
  const before = Date.now();
  const w = realClock.wallNow();
  assert.ok(w >= before && w <= Date.now());
  const a = realClock.now();
  const h = realClock.set(() => {}, 60_000) as NodeJS.Timeout;
  assert.equal(h.hasRef(), false, 'a pending wait never keeps the process up');
  realClock.clear(h);
  assert.ok(realClock.now() >= a);
  assert.match(realClock.timeline, /^[0-9a-f-]{36}$/);
});

test('SimClock: takeDue hands out due timers one at a time, soonest first and in arming order among equals; moveTo never goes back', () => {
  const c = new SimClock({ now: 0, wall: 0 });
  const fired: string[] = [];
  c.setTimeout(() => fired.push('b@20'), 20);
  c.setTimeout(() => fired.push('a@10'), 10);
  c.setTimeout(() => fired.push('c@20'), 20);
  c.setTimeout(() => fired.push('late@50'), 50);
  const times: number[] = [];
  for (let fn = c.takeDue(30); fn; fn = c.takeDue(30)) {
    times.push(c.now());
    fn();
  }
  assert.deepEqual(fired, ['a@10', 'b@20', 'c@20']);
  assert.deepEqual(times, [10, 20, 20], 'the clock stands at each timer\'s time while it runs');
  c.moveTo(30);
  assert.equal(c.now(), 30);
  c.moveTo(25);
  assert.equal(c.now(), 30, 'never back');
  assert.deepEqual(c.delays(), [20]);
  assert.equal(c.wallNow(), 30, 'wall 0 at now 0: the replay\'s segment clock');
});
