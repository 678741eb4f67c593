// Logging: pino with secrets redacted by key name, so a private key, token or PIN never reaches a log line; under
// systemd each line carries its journald priority (`journalctl -p warning` filters), the JSON left as it is.
import { fstatSync } from 'node:fs';
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values are never logged, wherever they sit in a log object. */
export const SECRET_KEYS = ['private_key', 'privateKey', 'token', 'admin_token', 'pin', 'sim_pin', 'secret', 'psk', 'password'];

export interface LogOptions {
  name: string;
  level?: string;
  /** Time source, so tests can control timestamps. */
  time?: () => number;
  destination?: DestinationStream;
  /** Prefix each line with its syslog priority for journald (`<4>{"level":40,...}`). Default: when the destination is
   *  stderr and stderr is the journal's stream (stderrIsJournal). */
  journal?: boolean;
}

/**
 * The syslog priority of a pino level, as journald reads it from a line's `<N>` prefix (sd-daemon(3)): trace and debug
 * 7 (debug), info 6 (info), warn 4 (warning), error 3 (err), fatal 2 (crit). Nothing maps to notice (5): pino has no
 * level between info and warn.
 */
export function journalPriority(level: number): number {
  if (level >= 60) return 2;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

/** A pino line (`{"level":N,...}\n`) with its priority prefix; a line of another shape is left as it is. */
export function withJournalPrefix(line: string): string {
  const m = /^\{"level":(\d+)[,}]/.exec(line);
  return m ? `<${journalPriority(Number(m[1]))}>${line}` : line;
}

/**
 * Whether stderr is connected to journald: systemd sets JOURNAL_STREAM to the device and inode ("DEV:INO") of the
 * stream it gives a unit's stdout/stderr (systemd.exec(5)); a child whose stderr was redirected elsewhere inherits the
 * variable but not the stream, hence the comparison with fd 2's own.
 */
export function stderrIsJournal(env: NodeJS.ProcessEnv, stderr: { dev: bigint; ino: bigint } | null): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!m || !stderr) return false;
  return BigInt(m[1]!) === stderr.dev && BigInt(m[2]!) === stderr.ino;
}

function stderrStat(): { dev: bigint; ino: bigint } | null {
  try {
    return fstatSync(2, { bigint: true });
  } catch {
    return null;
  }
}

export function createLogger(opts: LogOptions): Logger {
  const paths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
  const journal = opts.journal ?? (opts.destination === undefined && stderrIsJournal(process.env, stderrStat()));
  return pino(
    {
      name: opts.name,
      level: opts.level ?? process.env.ROAMLINK_LOG_LEVEL ?? 'info',
      redact: { paths, censor: '[redacted]' },
      timestamp: opts.time ? () => `,"time":${opts.time!()}` : pino.stdTimeFunctions.epochTime,
      base: { pid: process.pid },
      ...(journal ? { hooks: { streamWrite: withJournalPrefix } } : {}),
    },
    opts.destination ?? pino.destination(2),
  );
}
