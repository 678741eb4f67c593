// `roamlink lab run SCENARIO` and `roamlink demo`: scenarios in the network lab, a live switch log, a summary.
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { formatSummary } from '../shared/report.js';
import { loadScenario } from '../shared/scenario.js';
import type { LabEvent } from '../lab/runner.js';

export const DEMO_SCENARIO = fileURLToPath(new URL('../../lab/scenarios/demo.yaml', import.meta.url));

const t = (ms: number) => `${(ms / 1000).toFixed(3).padStart(8)}s`;

export function formatLabEvent(ev: LabEvent): string | null {
  switch (ev.type) {
    case 'phase':
      return `== ${ev.text}`;
    case 'switch':
      return `${t(ev.tMs)}  switch  ${(ev.from ?? '-').padEnd(6)} → ${ev.to.padEnd(6)} ${ev.reason.padEnd(10)} first reply on the new path ${ev.msToFirstPacket === null ? 'not seen' : `after ${ev.msToFirstPacket.toFixed(1)} ms`}${ev.why ? `\n${' '.repeat(19)}why: ${ev.why}` : ''}`;
    case 'fault':
      return `${t(ev.tMs)}  fault   ${ev.text}`;
    case 'uplink':
      return ev.tMs >= 0 ? `${t(ev.tMs)}  uplink  ${ev.uplink.padEnd(6)} ${ev.phase}${ev.address ? ` (${ev.address})` : ''}` : null;
  }
}

/** HQ's switch log as the concentrator stored it: one line per switch, with its why. */
export function formatHqLog(hqLog: ReadonlyArray<Record<string, unknown>>): string {
  const lines = [`HQ's switch log (${hqLog.length} ${hqLog.length === 1 ? 'entry' : 'entries'}, as the concentrator stored them)`];
  for (const h of hqLog) {
    // The stored why: its text (a string in older stores, an object with `text` once the record is whole).
    const why = typeof h.why === 'string' ? h.why : (h.why as { text?: string } | null | undefined)?.text;
    lines.push(`  ${String(h.vehicle ?? '-')}  ${String(h.from ?? '-')} → ${String(h.to)}  ${String(h.reason)}${why ? `: ${why}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

async function runFile(file: string, opts: { report?: string; quiet?: boolean; drive?: string; hqDrive?: string; hqLog?: boolean }): Promise<number> {
  const sc = await loadScenario(file);
  if (process.getuid?.() !== 0) throw new Error('the lab needs root (network namespaces, WireGuard)');
  const { runScenario } = await import('../lab/runner.js');
  const ac = new AbortController();
  const onSignal = () => {
    if (ac.signal.aborted) return;
    console.error('\ninterrupted: tearing the lab down');
    ac.abort(new Error('interrupted'));
  };
  // `on`, not `once`: execa's exit hook re-raises a signal that no other listener is left to handle, which would
  // kill this process before the lab is torn down.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const report = await runScenario(sc, {
      signal: ac.signal,
      ...(opts.drive ? { drive: opts.drive } : {}),
      ...(opts.hqDrive ? { hqDrive: opts.hqDrive } : {}),
      onEvent: (ev) => {
        if (opts.quiet) return;
        const line = formatLabEvent(ev);
        if (line) console.log(line);
      },
    });
    console.log(`\n${formatSummary(report)}`);
    if (opts.hqLog) console.log(formatHqLog(report.hq_log as Array<Record<string, unknown>>));
    if (opts.report) await writeFile(opts.report, `${JSON.stringify(report, null, 2)}\n`);
    return report.ok ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function registerLab(program: Command): void {
  const lab = program.command('lab').description('the network lab: scenarios with real WireGuard, NAT, DHCP and emulated radios');
  lab
    .command('run')
    .description('run a scenario; exit 0 when its expect holds, 1 when not, 2 on bad input')
    .argument('<scenario>', 'scenario file (YAML)')
    .option('--report <file>', 'write the report (JSON) here')
    .option('-q, --quiet', 'no live log, only the summary')
    .option('--drive <file>', "write the vehicle's recorded drive here (for roamlink replay)")
    .option('--hq-drive <file>', "write the vehicle's drive as HQ stored it (shipped inside the tunnel; roamlink drive export)")
    .action(async (file: string, opts: { report?: string; quiet?: boolean; drive?: string; hqDrive?: string }) => {
      process.exitCode = await runFile(file, opts);
    });

  program
    .command('demo')
    .description('a simulated drive in the lab: the switch log live, then a summary')
    .option('--report <file>', 'write the report (JSON) here')
    .action(async (opts: { report?: string }) => {
      process.exitCode = await runFile(DEMO_SCENARIO, { ...opts, hqLog: true });
    });
}
