// The one command runner: argv arrays only, LC_ALL=C, optional network namespace, failures carry argv and output.
import { execa } from 'execa';

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
    readonly stdout: string,
  ) {
    super(`command failed (exit ${exitCode ?? 'signal'}): ${argv.join(' ')}${stderr ? `: ${stderr.trim()}` : ''}`);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  /** Run inside this network namespace (`ip netns exec NS …`). */
  netns?: string;
  /** Standard input for the command (never logged: it may carry keys). */
  input?: string;
  /** Kills the command when aborted. */
  signal?: AbortSignal;
  /** Do not throw on a non-zero exit; return the result instead. */
  allowFail?: boolean;
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** A runner is how drivers reach the OS; tests hand drivers a model of the OS instead. */
export type Runner = (argv: readonly string[], opts?: RunOptions) => Promise<RunResult>;

export function withNetns(netns: string | undefined, argv: readonly string[]): string[] {
  return netns ? ['ip', 'netns', 'exec', netns, ...argv] : [...argv];
}

export const run: Runner = async (argv, opts = {}) => {
  const full = withNetns(opts.netns, argv);
  const [file, ...args] = full;
  const r = await execa(file!, args, {
    reject: false,
    input: opts.input,
    cancelSignal: opts.signal,
    timeout: opts.timeoutMs,
    env: { LC_ALL: 'C' },
    stripFinalNewline: false,
  });
  const result: RunResult = {
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    exitCode: r.exitCode ?? -1,
  };
  if (r.isCanceled) throw new CommandError(full, undefined, 'canceled', '');
  if (result.exitCode !== 0 && !opts.allowFail) {
    throw new CommandError(full, r.exitCode, result.stderr, result.stdout);
  }
  return result;
};
