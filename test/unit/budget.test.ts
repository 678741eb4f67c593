// LTE standby probe budget: pacing over the rest of the day, the daily cap, and the day rolling over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { budgetStatus, dayStart, mayProbeOutOfPace, recordProbe, DEFAULT_BUDGET, type BudgetUsage, type ProbeBudget } from '../../agent/policy/budget.js';

const DAY = 86_400_000;
const D0 = Date.UTC(2026, 10, 3); // a midnight UTC

test('budgetStatus: table', () => {
  const table: Array<{ name: string; usage: BudgetUsage | null; now: number; budget?: Partial<ProbeBudget>; want: Partial<ReturnType<typeof budgetStatus>> }> = [
    { name: 'fresh start: probe now, pace 5 MB / 200 B over the day', usage: null, now: D0, want: { may_probe: true, interval_ms: 3456, next_at: D0, remaining_bytes: 5_000_000 } },
    { name: 'half the day left, half the budget left: same pace', usage: { day_start: D0, bytes: 2_500_000, last_probe_at: D0 + DAY / 2 - 3456 }, now: D0 + DAY / 2, want: { may_probe: true, interval_ms: 3456 } },
    { name: 'too soon after the last probe', usage: { day_start: D0, bytes: 2_500_000, last_probe_at: D0 + DAY / 2 - 1000 }, now: D0 + DAY / 2, want: { may_probe: false, next_at: D0 + DAY / 2 + 2456 } },
    { name: 'budget spent early: slower for the rest of the day', usage: { day_start: D0, bytes: 4_000_000, last_probe_at: D0 }, now: D0 + DAY / 2, want: { may_probe: true, interval_ms: 8640 } },
    { name: 'plenty left late in the day: never under min_interval_ms', usage: { day_start: D0, bytes: 0, last_probe_at: null }, now: D0 + DAY - 60_000, want: { interval_ms: 2000 } },
    { name: 'spent: wait for the next day', usage: { day_start: D0, bytes: 4_999_900, last_probe_at: D0 + 5 }, now: D0 + 10 * 3_600_000, want: { may_probe: false, next_at: D0 + DAY, remaining_bytes: 100 } },
    { name: 'a new day resets the budget', usage: { day_start: D0, bytes: 5_000_000, last_probe_at: D0 + DAY - 1 }, now: D0 + DAY + 5000, want: { may_probe: true, remaining_bytes: 5_000_000, day_start: D0 + DAY } },
    { name: 'day offset: a day starting at 02:00 UTC', usage: { day_start: D0 - DAY + 7_200_000, bytes: 5_000_000, last_probe_at: D0 }, now: D0 + 3_600_000, budget: { day_offset_ms: 7_200_000 }, want: { may_probe: false, next_at: D0 + 7_200_000 } },
  ];
  for (const { name, usage, now, budget, want } of table) {
    const got = budgetStatus(usage, now, { ...DEFAULT_BUDGET, ...budget });
    for (const [k, v] of Object.entries(want)) assert.equal(got[k as keyof typeof got], v, `${name}: ${k}`);
  }
});

test('a day of probing as told stays within the budget and uses most of it', () => {
  let usage: BudgetUsage | null = null;
  let sent = 0;
  for (let t = D0 + 1234; t < D0 + DAY; ) {
    const s = budgetStatus(usage, t);
    if (s.may_probe) {
      usage = recordProbe(usage, 200, t);
      sent += 200;
    }
    t = Math.max(t + 1, s.next_at);
  }
  assert.ok(sent <= 5_000_000, `sent ${sent}`);
  assert.ok(sent >= 4_900_000, `sent only ${sent}`);
  assert.equal(dayStart(D0 + DAY - 1), D0);
  assert.equal(dayStart(D0 + DAY), D0 + DAY);
});

test('mayProbeOutOfPace: table (the far end asked about: out of the pace, never past the day\'s bytes, one ask per min_interval_ms)', () => {
  const table: Array<{ name: string; usage: BudgetUsage | null; now: number; lastAskAt?: number; want: boolean }> = [
    { name: 'nothing spent', usage: null, now: D0, want: true },
    { name: 'within the pace (3.5 s) but past min_interval_ms', usage: { day_start: D0, bytes: 1000, last_probe_at: D0 + 10_000 }, now: D0 + 12_000, want: true },
    // 2026-12-03, lab: LTE probed at its pace 337 ms before HQ lost power, the ask refused, a false blackhole switch.
    { name: 'a paced probe 337 ms before, no ask yet: asked', usage: { day_start: D0, bytes: 1000, last_probe_at: D0 + 10_000 }, now: D0 + 10_337, want: true },
    { name: 'an ask within min_interval_ms', usage: { day_start: D0, bytes: 1000, last_probe_at: D0 + 10_000 }, now: D0 + 11_999, lastAskAt: D0 + 10_000, want: false },
    { name: 'the last ask min_interval_ms ago', usage: { day_start: D0, bytes: 1000, last_probe_at: D0 + 10_000 }, now: D0 + 12_000, lastAskAt: D0 + 10_000, want: true },
    { name: 'one probe left today', usage: { day_start: D0, bytes: 4_999_800, last_probe_at: D0 }, now: D0 + 60_000, want: true },
    { name: 'less than a probe left today', usage: { day_start: D0, bytes: 4_999_900, last_probe_at: D0 }, now: D0 + 60_000, want: false },
    { name: 'spent yesterday: a new day', usage: { day_start: D0, bytes: 5_000_000, last_probe_at: D0 + DAY - 10_000 }, now: D0 + DAY, want: true },
  ];
  for (const { name, usage, now, lastAskAt, want } of table) assert.equal(mayProbeOutOfPace(usage, now, DEFAULT_BUDGET, lastAskAt ?? null), want, name);
});

test('a day of probing at the pace plus an out-of-pace probe every 5 s: the day\'s bytes are never exceeded', () => {
  let usage: BudgetUsage | null = null;
  let sent = 0;
  let extra = 0;
  for (let t = D0; t < D0 + DAY; t += 250) {
    if (budgetStatus(usage, t).may_probe || (t % 5000 === 0 && mayProbeOutOfPace(usage, t) && ++extra)) {
      usage = recordProbe(usage, 200, t);
      sent += 200;
    }
  }
  assert.ok(extra > 1000, `out-of-pace probes went (${extra})`);
  assert.ok(sent <= 5_000_000, `sent ${sent}`);
});
