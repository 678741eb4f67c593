// Background processes the lab starts (dnsmasq, daemons, meters): tracked, their lines streamed, all stopped at teardown.
import { execa, type ResultPromise } from 'execa';
import { createInterface } from 'node:readline';
import { withNetns } from '../shared/exec.js';

export interface ProcOptions {
  netns?: string;
  env?: Record<string, string>;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Keep a pipe to the process's stdin (write()); closed when the lab's process ends, so the child can see it go. */
  stdin?: boolean;
}

export class Proc {
  readonly exited: Promise<number | null>;
  private readonly child: ResultPromise;
  private exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    argv: readonly string[],
    opts: ProcOptions = {},
  ) {
    const [file, ...args] = withNetns(opts.netns, argv);
    this.child = execa(file!, args, {
      reject: false,
      buffer: false,
      stdin: opts.stdin ? 'pipe' : 'ignore',
      env: { LC_ALL: 'C', ...opts.env },
      cleanup: true,
      forceKillAfterDelay: 2000,
    });
    // A write racing the child's exit must not throw in the lab (EPIPE).
    this.child.stdin?.on('error', () => {});
    for (const [stream, cb] of [[this.child.stdout, opts.onStdoutLine], [this.child.stderr, opts.onStderrLine]] as const) {
      if (!stream) continue;
      if (cb) createInterface({ input: stream }).on('line', cb);
      else stream.resume();
    }
    this.exited = this.child.then((r) => {
      this.exitCode = r.exitCode ?? null;
      return this.exitCode;
    });
  }

  /** Writes to the process's stdin (a process started with `stdin: true`); false when it is gone. */
  write(text: string): boolean {
    const s = this.child.stdin;
    if (!s || !this.running || s.destroyed) return false;
    s.write(text);
    return true;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Sends a signal (e.g. SIGHUP: a reload) and returns at once. */
  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** SIGKILL at once, no cleanup (a crash); resolves when the process is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export class ProcGroup {
  private readonly procs = new Set<Proc>();

  start(name: string, argv: readonly string[], opts: ProcOptions = {}): Proc {
    const p = new Proc(name, argv, opts);
    this.procs.add(p);
    void p.exited.then(() => this.procs.delete(p));
    return p;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.procs].map((p) => p.stop()));
  }
}
