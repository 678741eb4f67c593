// Lab links: the scenario's `link` field (presets, settings, timelines, bad input naming the field) and the emulator's pure model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../shared/scenario.js';
import { IDEAL_LINK, REALISTIC_LINK, describeLink, linkAt, type LinkParams } from '../../shared/link.js';
import { LinkDirection, jitterPeriodMs } from '../../lab/link/link.model.js';
import { seeded } from '../../shared/rng.js';
import { labLinks } from '../../lab/runner.js';

const base = { name: 'x', duration: '30s', traffic: { pps: 10 } };
const ap = (link: unknown) => ({ ...base, aps: [{ ssid: 'a', signal: [[0, -50]], link }] });
const lte = (link: unknown) => ({ ...base, lte: { signal: [[0, -95]], link } });
const wifi = REALISTIC_LINK.wifi;
const cell = REALISTIC_LINK.lte;

test('link field: presets, settings merged over realistic, timelines merged step over step', () => {
  const cases: Array<{ name: string; given: Record<string, unknown>; where: 'ap' | 'lte'; want: Array<[number, LinkParams]> | undefined }> = [
    { name: 'absent: no emulator', given: { ...base, aps: [{ ssid: 'a', signal: [[0, -50]] }] }, where: 'ap', want: undefined },
    { name: 'realistic Wi-Fi', given: ap('realistic'), where: 'ap', want: [[0, wifi]] },
    { name: 'realistic LTE', given: lte('realistic'), where: 'lte', want: [[0, cell]] },
    { name: 'ideal', given: ap('ideal'), where: 'ap', want: [[0, IDEAL_LINK]] },
    { name: 'fields over realistic', given: lte({ loss: 0.05 }), where: 'lte', want: [[0, { ...cell, loss: 0.05 }]] },
    { name: 'fields over ideal', given: ap({ base: 'ideal', delay_ms: 10 }), where: 'ap', want: [[0, { ...IDEAL_LINK, delay_ms: 10 }]] },
    { name: 'rate null: unlimited', given: ap({ rate_mbit: null }), where: 'ap', want: [[0, { ...wifi, rate_mbit: null }]] },
    {
      name: 'timeline: each step over the one before, presets reset',
      given: lte([['0s', { delay_ms: 40 }], ['10s', { loss: 0.3 }], ['12s', { jitter_ms: 0 }], ['20s', 'realistic']]),
      where: 'lte',
      want: [[0, { ...cell, delay_ms: 40 }], [10_000, { ...cell, delay_ms: 40, loss: 0.3 }], [12_000, { ...cell, delay_ms: 40, loss: 0.3, jitter_ms: 0 }], [20_000, cell]],
    },
  ];
  for (const c of cases) {
    const s = parseScenario(c.given, 'inline');
    const got = c.where === 'ap' ? s.aps[0]!.link : s.lte!.link;
    assert.deepEqual(got, c.want, c.name);
    // A parsed scenario is itself a valid scenario, parsed to the same.
    assert.deepEqual(parseScenario(s, 'again'), s, `${c.name}: parsing is idempotent`);
  }
});

test('link field: bad input names the field and what was wrong', () => {
  const bad: Array<{ name: string; given: Record<string, unknown>; want: RegExp }> = [
    { name: 'loss as percent', given: ap({ loss: 5 }), want: /aps\[0\]\.link\.loss: must be from 0 to 1 \(a share: 0\.01 is 1 %\)/ },
    { name: 'negative delay', given: lte({ delay_ms: -3 }), want: /lte\.link\.delay_ms: must not be negative/ },
    { name: 'delay not a number', given: lte({ delay_ms: '30ms' }), want: /lte\.link\.delay_ms: expected a number of ms/ },
    { name: 'misspelt field', given: ap({ delay: 3 }), want: /aps\[0\]\.link: Unrecognized key: "delay"/ },
    { name: 'unknown preset', given: ap('lossy'), want: /aps\[0\]\.link: expected realistic or ideal/ },
    { name: 'rate zero', given: ap({ rate_mbit: 0 }), want: /aps\[0\]\.link\.rate_mbit: at least 0\.1/ },
    { name: 'times descend', given: lte([[5000, 'ideal'], [1000, 'realistic']]), want: /lte\.link\[1\]: times must ascend: 1000ms comes after 5000ms/ },
    { name: 'step not a pair', given: lte([['1s']]), want: /lte\.link\[0\]/ },
    { name: 'bad setting in a step', given: lte([[0, 'realistic'], ['2s', { jitter_ms: -1 }]]), want: /lte\.link\[1\]\[1\]\.jitter_ms: must not be negative/ },
    { name: 'step past the duration', given: lte([[0, 'realistic'], ['31s', 'ideal']]), want: /lte\.link\[1\]\[0\]: 31000ms is not within the duration \(30000ms\)/ },
    { name: 'empty timeline', given: ap([]), want: /aps\[0\]\.link: needs at least one \[time, link\] step/ },
  ];
  for (const { name, given, want } of bad) {
    assert.throws(() => parseScenario(given, 'inline'), (e: Error) => {
      assert.match(e.message, want, name);
      return true;
    }, name);
  }
});

test('linkAt: the last step at or before the time, the first before it starts', () => {
  const tl = [[1000, { ...IDEAL_LINK, delay_ms: 1 }], [5000, { ...IDEAL_LINK, delay_ms: 5 }]] as const;
  for (const [t, want] of [[0, 1], [999, 1], [1000, 1], [4999, 1], [5000, 5], [9e9, 5]] as const) assert.equal(linkAt(tl, t).delay_ms, want, `at ${t}`);
  assert.deepEqual(linkAt([], 0), IDEAL_LINK);
  assert.equal(describeLink(cell), '25±8 ms, 1 % loss, 20 Mbit/s');
  assert.equal(describeLink(IDEAL_LINK), '0 ms, 0 % loss, unlimited');
});

test('the lab emulates exactly the links the scenario gives, and names each', () => {
  const s = parseScenario({ ...base, aps: [{ ssid: 'a', signal: [[0, -50]] }, { ssid: 'b', signal: [[0, -50]], link: 'realistic' }], lte: { signal: [[0, -95]] } }, 'inline');
  assert.deepEqual(labLinks(s).map((l) => [l.name, l.serves, l.kind, l.timeline !== undefined]), [
    ['aps[0]', 'AP a', 'wifi', false],
    ['aps[1]', 'AP b', 'wifi', true],
    ['lte', 'LTE carrier', 'lte', false],
  ]);
});

/** Delays of `n` packets arriving every `everyMs`, null for a drop. */
function delays(p: LinkParams, n: number, everyMs: number, seed = 7): Array<number | null> {
  const d = new LinkDirection(seeded(seed));
  d.set(p);
  const out: Array<number | null> = [];
  for (let i = 0; i < n; i++) {
    const now = 1000 + i * everyMs;
    const due = d.admit(now);
    out.push(due === null ? null : due - now);
  }
  return out;
}
const quantile = (xs: number[], q: number) => Float64Array.from(xs).sort()[Math.floor(q * (xs.length - 1))]!;
const std = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
};

test('model: without jitter or loss every packet takes the delay; with loss 1 none passes', () => {
  assert.deepEqual(delays({ ...IDEAL_LINK, delay_ms: 12 }, 5, 1), [12, 12, 12, 12, 12]);
  assert.deepEqual(delays({ ...IDEAL_LINK }, 3, 1), [0, 0, 0]);
  assert.deepEqual(delays({ ...IDEAL_LINK, loss: 1 }, 3, 1), [null, null, null]);
});

test('model: over 100,000 packets the median delay, its deviation and the loss are what was asked', () => {
  const cases: LinkParams[] = [cell, { ...cell, delay_ms: 60, jitter_ms: 15, loss: 0.05 }, wifi];
  for (const p of cases) {
    const ds = delays(p, 100_000, 1);
    const passed = ds.filter((d): d is number => d !== null);
    const loss = 1 - passed.length / ds.length;
    assert.ok(Math.abs(loss - p.loss) < Math.max(0.1 * p.loss, 0.0005), `${describeLink(p)}: loss ${loss}`);
    assert.ok(Math.abs(quantile(passed, 0.5) - p.delay_ms) < 0.1 * p.jitter_ms + 0.05, `${describeLink(p)}: median ${quantile(passed, 0.5)}`);
    assert.ok(Math.abs(std(passed) - p.jitter_ms) < 0.1 * p.jitter_ms, `${describeLink(p)}: deviation ${std(passed)}`);
  }
});

test('model: packets keep their order, even when the delay drops at once', () => {
  const d = new LinkDirection(seeded(3));
  d.set({ ...cell, loss: 0, jitter_ms: 20 });
  let last = -Infinity;
  for (let i = 0; i < 50_000; i++) {
    if (i === 25_000) d.set({ ...IDEAL_LINK }); // 25 ms to 0 at once: the next packets wait for the ones before
    const due = d.admit(i * 0.5)!;
    assert.ok(due >= last, `packet ${i} would overtake: ${due} < ${last}`);
    last = due;
  }
  assert.equal(jitterPeriodMs(0), 10);
  assert.equal(jitterPeriodMs(8), 64);
});
