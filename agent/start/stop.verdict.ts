// Restart or stop for good (pure): what `roamlink agent down --unless-restarting` (the unit's ExecStopPost) decides from
// what systemd tells a stop command: the service's result and exit status, and the jobs queued for the unit.
//
// systemd runs ExecStopPost after every stop: `systemctl stop` (and disable --now, uninstall, shutdown), but also
// `systemctl restart`, an upgrade's try-restart, and a crash or a watchdog kill before Restart=always starts it again.
// Only the first kind removes the data plane; the others keep it for the next process to adopt.

export interface StopFacts {
  /** $SERVICE_RESULT: success, exit-code, signal, core-dump, watchdog, timeout, ... (undefined outside systemd). */
  serviceResult?: string;
  /** $EXIT_STATUS: the exit code or the signal name. */
  exitStatus?: string;
  /** `systemctl list-jobs --no-legend` output (one job a line: id, unit, type, state). */
  jobs: string;
  unit: string;
}

export type StopVerdict = { down: boolean; why: string };

/** Job types after which the unit runs again. */
const COMES_BACK = new Set(['restart', 'try-restart', 'reload-or-restart', 'reload-or-try-restart', 'start']);

export function stopVerdict(f: StopFacts): StopVerdict {
  const job = f.jobs.split('\n').map((l) => l.trim().split(/\s+/)).find((cols) => cols[1] === f.unit);
  if (job && COMES_BACK.has(job[2] ?? '')) return { down: false, why: `a ${job[2]} job is running: the next process adopts the data plane` };
  if (f.serviceResult && f.serviceResult !== 'success') {
    // Exit 2 is a bad config (RestartPreventExitStatus=2): it will not come back by itself.
    if (f.exitStatus === '2') return { down: true, why: 'exit 2 (a bad config): no restart follows' };
    return { down: false, why: `the agent ended with ${f.serviceResult} (${f.exitStatus ?? '?'}): Restart=always starts it again` };
  }
  return { down: true, why: job ? `a ${job[2]} job: a stop for good` : 'a stop for good' };
}
