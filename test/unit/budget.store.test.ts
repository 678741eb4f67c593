// The LTE probe budget's usage on disk: a round trip, writes spaced and atomic, a new day starting from zero, and a
// corrupt, unreadable or future-dated file taken as none with a warning (never a crash).
import { SimClock } from '../../shared/clock.js';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { budgetPath, fileBudgetStore, type BudgetStoreOptions } from '../../agent/budget/store.js';
import { budgetStatus, dayStart, DEFAULT_BUDGET, recordProbe, type BudgetUsage } from '../../agent/policy/budget.js';

const NOON = Date.UTC(2026, 10, 21, 12, 0, 0);
const DAY = 86_400_000;

function dir(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'rlt-budget-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A store on a simulated clock whose pending write fires when the test moves time. */
function rig(path: string, opts: BudgetStoreOptions = {}) {
  const warnings: string[] = [];
  const clock = new SimClock();
  const store = fileBudgetStore(path, { clock, warn: (m) => void warnings.push(m), ...opts });
  const advance = (ms: number) => clock.advanceSync(ms);
  return { store, warnings, advance, pending: () => clock.armed };
}

const usage = (bytes: number, lastProbeAt: number | null = NOON - 1000, day = dayStart(NOON)): BudgetUsage => ({ day_start: day, bytes, last_probe_at: lastProbeAt });

test('round trip: what was recorded is what the next start loads, in one small JSON file with no temp file left', (t) => {
  const path = budgetPath(dir(t), 'wwan0');
  assert.match(path, /lte-budget-wwan0\.json$/);
  const a = rig(path);
  assert.equal(a.store.load(NOON), null, 'no file: nothing spent');
  assert.deepEqual(a.warnings, [], 'a missing file is no warning');
  a.store.record(usage(4200));
  const b = rig(path);
  assert.deepEqual(b.store.load(NOON), usage(4200));
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { version: 1, day_start: dayStart(NOON), bytes: 4200, last_probe_at: NOON - 1000 });
  assert.deepEqual(readdirSync(join(path, '..')), ['lte-budget-wwan0.json']);
  assert.deepEqual([...a.warnings, ...b.warnings], []);
});

test('writes are spaced: the first at once, then at most one per minIntervalMs with the newest usage; flush writes what is pending', (t) => {
  const path = budgetPath(dir(t), 'wwan0');
  const r = rig(path, { minIntervalMs: 5000 });
  const onDisk = () => (JSON.parse(readFileSync(path, 'utf8')) as { bytes: number }).bytes;
  r.store.record(usage(200));
  assert.equal(onDisk(), 200, 'the first write at once');
  r.advance(2000);
  r.store.record(usage(400));
  r.advance(2000);
  r.store.record(usage(600));
  assert.equal(onDisk(), 200, 'not before 5 s');
  assert.equal(r.pending(), 1, 'one write pending, not one per record');
  r.advance(1000);
  assert.equal(onDisk(), 600, 'at 5 s, the newest usage');
  r.advance(1000);
  r.store.record(usage(800));
  assert.equal(onDisk(), 600);
  r.store.flush();
  assert.equal(onDisk(), 800, 'flush (at stop) writes at once');
  assert.equal(r.pending(), 0, 'and cancels the pending write');
  r.store.flush();
  assert.equal(onDisk(), 800, 'flush twice: nothing more');
});

test('a new day starts from zero (the last probe time is kept for the pace); the same day carries on', (t) => {
  const path = budgetPath(dir(t), 'wwan0');
  rig(path).store.record(usage(4_999_800, NOON - 1000));
  // Same day, an hour later: the spend stands, and the budget is all but gone.
  const sameDay = rig(path).store.load(NOON + 3_600_000)!;
  assert.equal(sameDay.bytes, 4_999_800);
  assert.equal(budgetStatus(sameDay, NOON + 3_600_000).remaining_bytes, 200);
  // Past midnight UTC: a fresh day.
  const tomorrow = NOON + DAY / 2 + 60_000;
  assert.deepEqual(rig(path).store.load(tomorrow), { day_start: dayStart(tomorrow), bytes: 0, last_probe_at: NOON - 1000 });
  // Days that start at 02:00 UTC (day_offset_ms): 00:30 UTC next day is still the same budget day.
  const offset = { ...DEFAULT_BUDGET, day_offset_ms: 2 * 3_600_000 };
  const p2 = budgetPath(dir(t), 'wwan1');
  rig(p2, { budget: offset }).store.record({ day_start: dayStart(NOON, offset), bytes: 1000, last_probe_at: NOON });
  assert.equal(rig(p2, { budget: offset }).store.load(NOON + DAY / 2 + 30 * 60_000)!.bytes, 1000);
  assert.equal(rig(p2, { budget: offset }).store.load(NOON + DAY / 2 + 2.5 * 3_600_000)!.bytes, 0);
});

test('a corrupt, invalid, unreadable or future-dated file: a warning naming the file and the problem, and the day from zero', (t) => {
  const d = dir(t);
  const cases: Array<{ name: string; write: (path: string) => void; want: RegExp }> = [
    { name: 'truncated JSON', write: (p) => writeFileSync(p, '{"version":1,"day_start":17'), want: /not JSON/ },
    { name: 'empty file', write: (p) => writeFileSync(p, ''), want: /not JSON/ },
    { name: 'negative bytes', write: (p) => writeFileSync(p, JSON.stringify({ version: 1, day_start: dayStart(NOON), bytes: -5, last_probe_at: null })), want: /bytes: / },
    { name: 'a string for bytes', write: (p) => writeFileSync(p, JSON.stringify({ version: 1, day_start: dayStart(NOON), bytes: '5000', last_probe_at: null })), want: /bytes: / },
    { name: 'another version', write: (p) => writeFileSync(p, JSON.stringify({ version: 2, day_start: dayStart(NOON), bytes: 5, last_probe_at: null })), want: /version: / },
    { name: 'not an object', write: (p) => writeFileSync(p, '[]'), want: /not an LTE budget usage/ },
    { name: 'a directory in its place', write: (p) => mkdirSync(p), want: /cannot read .*EISDIR/ },
    { name: 'from the future', write: (p) => writeFileSync(p, JSON.stringify({ version: 1, day_start: dayStart(NOON + DAY), bytes: 5, last_probe_at: NOON + DAY })), want: /dated after now/ },
  ];
  for (const [i, c] of cases.entries()) {
    const path = budgetPath(d, `wwan${i}`);
    c.write(path);
    const r = rig(path);
    assert.equal(r.store.load(NOON), null, c.name);
    assert.equal(r.warnings.length, 1, `${c.name}: ${JSON.stringify(r.warnings)}`);
    assert.match(r.warnings[0]!, c.want, c.name);
    assert.ok(r.warnings[0]!.includes(path), `${c.name}: names the file`);
    assert.match(r.warnings[0]!, /starting the day from zero/, c.name);
    if (c.name === 'a directory in its place') continue;
    // The next write replaces the bad file.
    r.store.record(usage(200));
    assert.deepEqual(rig(path).store.load(NOON), usage(200), `${c.name}: replaced`);
  }
});

test('a write that fails is one warning (not one per probe), never a throw; the next good write says so', (t) => {
  const d = dir(t);
  const sub = join(d, 'state');
  mkdirSync(sub);
  const path = budgetPath(sub, 'wwan0');
  const r = rig(path, { minIntervalMs: 0 });
  // A state_dir that is a file: nothing can be written under it, not even by root.
  rmSync(sub, { recursive: true });
  writeFileSync(sub, 'not a directory');
  for (let i = 1; i <= 5; i++) assert.doesNotThrow(() => r.store.record(usage(i * 200)));
  assert.equal(r.warnings.length, 1, JSON.stringify(r.warnings));
  assert.match(r.warnings[0]!, /cannot write the LTE budget's usage \((ENOTDIR|EEXIST)\)/);
  rmSync(sub);
  r.store.record(usage(1200));
  assert.equal(r.warnings.length, 2);
  assert.match(r.warnings[1]!, /written again/);
  assert.equal(rig(path).store.load(NOON)!.bytes, 1200);
  assert.ok(existsSync(path));
});

test('the store follows recordProbe: usage spent, saved, loaded, spent on', (t) => {
  const path = budgetPath(dir(t), 'wwan0');
  let u: BudgetUsage | null = null;
  const a = rig(path, { minIntervalMs: 0 });
  for (let i = 0; i < 3; i++) {
    u = recordProbe(u, DEFAULT_BUDGET.probe_bytes, NOON + i * 4000);
    a.store.record(u);
  }
  const loaded = rig(path).store.load(NOON + 10_000);
  assert.deepEqual(loaded, { day_start: dayStart(NOON), bytes: 600, last_probe_at: NOON + 8000 });
  assert.equal(recordProbe(loaded, 200, NOON + 12_000).bytes, 800);
});
