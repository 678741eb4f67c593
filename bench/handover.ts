// bench/handover: planned switches in the lab at 1000 packets/s each way; loss and decision-to-first-packet time,
// side by side with a break-before-make baseline (the old uplink's carrier cut first, as a single radio must) run
// in the same process.
import { parseScenario, type Scenario } from '../shared/scenario.js';
import { runScenario } from '../lab/runner.js';
import type { Report } from '../shared/report.js';

const SWITCHES = Number(process.env.BENCH_SWITCHES ?? 54);
const EVERY_MS = Number(process.env.BENCH_EVERY_MS ?? 600);
const ORDER = ['wlan1', 'wwan0', 'wlan0'];

function scenario(name: string, breakFirst: boolean): Scenario {
  const faults: unknown[] = [];
  const n = breakFirst ? Math.min(SWITCHES, 12) : SWITCHES;
  let prev = 'wlan0';
  for (let i = 0; i < n; i++) {
    const at = 1000 + i * (breakFirst ? 2500 : EVERY_MS);
    const to = ORDER[i % ORDER.length]!;
    if (breakFirst) faults.push({ at, kind: 'carrier-loss', uplink: prev, for: 1500 });
    else faults.push({ at, kind: 'switch', to });
    prev = to;
  }
  const duration = breakFirst ? 1000 + n * 2500 + 1500 : 1000 + n * EVERY_MS + 1000;
  return parseScenario({
    name, duration, traffic: { pps: 1000, direction: 'both' },
    aps: [
      { ssid: 'depot', bssid: '02:00:00:00:00:01', signal: [[0, -50]] },
      { ssid: 'street-7', bssid: '02:00:00:00:00:02', signal: [[0, -55]] },
    ],
    lte: { signal: [[0, -95]] },
    agent: { connect_list: [{ ssid: 'depot', min_signal: -80 }, { ssid: 'street-7', min_signal: -80 }], initial_uplink: 'wlan0' },
    faults,
  }, name);
}

const median = (xs: number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN);

interface Row { name: string; switches: number; lost: number; lostPerSwitch: number; medFirst: number; maxFirst: number; medGap: number; maxGap: number }

function row(name: string, r: Report): Row {
  const first = r.switches.map((s) => (s as { ms_to_first_packet?: number | null }).ms_to_first_packet).filter((x): x is number => typeof x === 'number');
  const gaps = r.switches.map((s) => s.gap_ms);
  return {
    name, switches: r.switches.length, lost: r.traffic.lost, lostPerSwitch: r.switches.length ? r.traffic.lost / r.switches.length : NaN,
    medFirst: median(first), maxFirst: max(first), medGap: median(gaps), maxGap: max(gaps),
  };
}

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bench/handover needs root (the lab)');
  console.log(`bench/handover: ${SWITCHES} planned switches every ${EVERY_MS} ms at 1000 packets/s each way, then the baseline`);
  const ours = row('roamlink make-before-break', await runScenario(scenario('bench-planned', false)));
  const base = row('baseline break-before-make', await runScenario(scenario('bench-break-first', true)));
  const rows = [ours, base];
  const header = ['run', 'switches', 'lost', 'lost/switch', 'median ms to 1st pkt', 'max ms to 1st pkt', 'median gap ms', 'max gap ms'];
  const cells = rows.map((r) => [r.name, String(r.switches), String(r.lost), fmt(r.lostPerSwitch, 2), fmt(r.medFirst), fmt(r.maxFirst), fmt(r.medGap), fmt(r.maxGap)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  for (const c of cells) console.log(line(c));
  const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(3)}x` : a === 0 ? '0 vs 0' : '-');
  console.log(`ratios (roamlink / baseline): lost per switch ${ratio(ours.lostPerSwitch, base.lostPerSwitch)}, median gap ${ratio(ours.medGap, base.medGap)}, max gap ${ratio(ours.maxGap, base.maxGap)}`);
  console.log(`goal: 0 lost (${ours.lost === 0 ? 'met' : 'NOT met'}), median and max decision-to-first-packet <= 50 ms (${ours.medFirst <= 50 && ours.maxFirst <= 50 ? 'met' : 'NOT met'})`);
  if (ours.switches < SWITCHES) console.log(`warning: only ${ours.switches} of ${SWITCHES} switches happened`);
}

await main();
