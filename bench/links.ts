// bench/links: the link emulator's accuracy, asked against measured: delay (median), jitter, loss and rate, each
// setting run RUNS times over one emulated link (lab/link/testbed.ts), medians of the runs; the ideal link (the relay in
// the path, nothing asked) is the baseline: its delay is the emulator's own.
import { IDEAL_LINK, REALISTIC_LINK, describeLink, type LinkParams } from '../shared/link.js';
import { FRAME_BYTES, LinkTestbed, type Measured } from '../lab/link/testbed.js';
import { median } from './baselines.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const PPS = 1000;

interface Row {
  name: string;
  asked: LinkParams;
  /** Offered load, packets/s (above the rate for the rate rows). */
  pps: number;
}

const ROWS: Row[] = [
  { name: 'ideal (baseline)', asked: IDEAL_LINK, pps: PPS },
  { name: 'Wi-Fi realistic', asked: REALISTIC_LINK.wifi, pps: PPS },
  { name: 'LTE realistic', asked: REALISTIC_LINK.lte, pps: PPS },
  { name: 'LTE poor', asked: { delay_ms: 60, jitter_ms: 15, loss: 0.05, rate_mbit: null }, pps: PPS },
  { name: 'delay 10 ms only', asked: { ...IDEAL_LINK, delay_ms: 10 }, pps: PPS },
  { name: 'loss 10 % only', asked: { ...IDEAL_LINK, loss: 0.1 }, pps: PPS },
  // Offered 2,000 × 142-byte frames/s = 2.27 Mbit/s, over the rate.
  { name: 'rate 1 Mbit/s', asked: { ...IDEAL_LINK, rate_mbit: 1 }, pps: 2000 },
  { name: 'rate 0.5 Mbit/s', asked: { ...IDEAL_LINK, rate_mbit: 0.5 }, pps: 2000 },
];

const offeredMbit = (row: Row) => (row.pps * FRAME_BYTES * 8) / 1e6;
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

async function main(): Promise<void> {
  const tb = new LinkTestbed();
  const stop = () => void tb.down().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const out: Array<{ row: Row; runs: Measured[] }> = [];
  try {
    await tb.up();
    for (const row of ROWS) {
      const runs: Measured[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await tb.measure(row.asked, row.pps, SECONDS * 1000));
      out.push({ row, runs });
      process.stderr.write(`links: ${row.name} done\n`);
    }
  } finally {
    await tb.down();
  }
  const base = median(out[0]!.runs.map((m) => m.delay.p50));
  console.log(`bench/links: ${RUNS} runs of ${SECONDS} s per setting, one direction, meter datagrams of ${FRAME_BYTES} bytes on the wire; medians of the runs`);
  console.log(`the ideal link's median delay (the relay's own, plus the two meters' clock offset, which is up to ~0.5 ms either way): ${f(base, 3)} ms\n`);
  const rows = [['setting', 'asked', 'delay p50', 'ratio', 'jitter', 'ratio', 'loss', 'ratio', 'rate Mbit/s', 'ratio', 'p99 / max ms']];
  for (const { row, runs } of out) {
    const m = (g: (x: Measured) => number) => median(runs.map(g));
    const a = row.asked;
    const p50 = m((x) => x.delay.p50);
    const jit = m((x) => x.delay.jitter);
    const loss = m((x) => x.loss);
    const rate = m((x) => x.rate_mbit);
    const ratio = (got: number, want: number) => (want > 0 ? f(got / want, 3) : '-');
    rows.push([
      row.name, describeLink(a),
      `${f(p50)}`, ratio(p50, a.delay_ms),
      `${f(jit)}`, ratio(jit, a.jitter_ms),
      pct(loss), ratio(loss, a.loss),
      // The rate shows only where the offered load exceeds it; below it, what got through is the load itself.
      ...(a.rate_mbit === null ? ['-', '-'] : offeredMbit(row) > a.rate_mbit ? [f(rate, 3), ratio(rate, a.rate_mbit)] : [`(offered ${f(offeredMbit(row))})`, '-']),
      `${f(m((x) => x.delay.p99), 1)} / ${f(m((x) => x.delay.max), 1)}`,
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) console.log(r.map((v, c) => (c < 2 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  '));
  console.log(JSON.stringify({ bench: 'links', runs: RUNS, seconds: SECONDS, rows: out.map(({ row, runs }) => ({ name: row.name, asked: row.asked, pps: row.pps, runs })) }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
