// Helpers of the lab tests: scenario paths, the agent's switch log lines, what the lab left behind.
import { fileURLToPath } from 'node:url';
import { run } from '../../shared/exec.js';

export const scenarioPath = (name: string) => fileURLToPath(new URL(`../../../test/lab/scenarios/${name}`, import.meta.url));

/** The agent's `switch` log lines (JSON), as the switch log will ship them. */
export function switchLines(agentLog: string[]): Array<Record<string, unknown> & { reason: string; to: string; from: string | null; why?: { rule: string; text: string; site: string | null; policy: Record<string, unknown> | null; candidates: Array<Record<string, unknown> & { ap?: { ssid: string; bssid: string } | null }> }; site?: string | null }> {
  return agentLog.flatMap((l) => {
    try {
      const v = JSON.parse(l) as Record<string, unknown>;
      return v.event === 'switch' ? [v as never] : [];
    } catch {
      return [];
    }
  });
}

/** This process's lab namespaces still there (every test must tear its lab down, even when it fails). */
export async function labLeftovers(): Promise<string[]> {
  return (await run(['ip', 'netns', 'list'], { allowFail: true })).stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => new RegExp(`^rl${process.pid}[a-z]-`).test(n));
}

/**
 * Packets lost from `fromMs` (scenario clock) on, both directions. On a loaded box the lab may lose the first few
 * hundred ms of a run's traffic, before any fault (seen on main too, 2026-12): that loss is not the restart's.
 */
export function lostFrom(report: { traffic: { pps: number }; directions?: unknown }, fromMs: number): number {
  const spacing = 1000 / report.traffic.pps;
  let n = 0;
  for (const d of (report.directions ?? []) as Array<{ lost_runs: Array<[number, number, number]> }>) {
    for (const [first, count] of d.lost_runs) n += Math.max(0, Math.min(count, first + count - Math.ceil(fromMs / spacing)));
  }
  return n;
}
