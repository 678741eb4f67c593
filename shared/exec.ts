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

/**
 * A command started before it is needed, waiting for its standard input. give() hands it the input and resolves as
 * run() would (throws CommandError on a non-zero exit, unless allowFail); the fork, the exec and the program's own
 * start-up were paid while nothing waited on them. For a program that acts only once its input has ended (`nft -f -`
 * commits at the end of the script), so one left unused changes nothing when cancelled.
 */
export interface Started {
  give(input: string, opts?: { signal?: AbortSignal; allowFail?: boolean }): Promise<RunResult>;
  /** Still waiting: neither given its input nor exited (a spare that died is of no use). */
  ready(): boolean;
  /** Ends it unused (killed). */
  cancel(): void;
}

export type Starter = (argv: readonly string[], opts?: { netns?: string }) => Started;

export const start: Starter = (argv, opts = {}) => {
  const full = withNetns(opts.netns, argv);
  const [file, ...args] = full;
  const child = execa(file!, args, { reject: false, stdin: 'pipe', env: { LC_ALL: 'C' }, stripFinalNewline: false, cleanup: true });
  let exited = false;
  let given = false;
  const result = child.then((r) => {
    exited = true;
    return r;
  });
  child.stdin?.on('error', () => {}); // a write racing its exit: seen as its exit code
  return {
    ready: () => !exited && !given,
    async give(input, o = {}) {
      if (given) throw new Error(`${full.join(' ')}: already given its input`);
      given = true;
      const onAbort = () => child.kill();
      if (o.signal?.aborted) onAbort();
      else o.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        child.stdin?.end(input);
        const r = await result;
        if (o.signal?.aborted) throw new CommandError(full, undefined, 'canceled', '');
        const out: RunResult = { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1 };
        if (out.exitCode !== 0 && !o.allowFail) throw new CommandError(full, r.exitCode, out.stderr, out.stdout);
        return out;
      } finally {
        o.signal?.removeEventListener('abort', onAbort);
      }
    },
    cancel() {
      given = true;
      if (!exited) child.kill();
    },
  };
};
