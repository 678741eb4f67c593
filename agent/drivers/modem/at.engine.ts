// The AT engine: one command at a time over a byte port, per-command timeouts, replies told apart from URCs.
import { realClock, type Timer } from '../../../shared/clock.js';
import type { Logger } from '../../../shared/log.js';
import { isRegistrationUrc, regDomainOf } from './at.parse.js';

/** The engine's per-command timeout is its only timer: shared/clock.ts's Timer (a SimClock in tests). */
export type Clock = Timer;

/** A byte stream to the modem (a serial port in production, a fake in tests). */
export interface AtPort {
  write(data: string): void;
  onData(listener: (chunk: Buffer) => void): void;
  /** Called once when the port goes away (closed, unplugged, I/O error). */
  onClose(listener: (err?: Error) => void): void;
  close(): Promise<void>;
}

export type AtErrorKind = 'error' | 'cme' | 'cms' | 'no-carrier' | 'busy' | 'timeout' | 'closed' | 'aborted';

export class AtError extends Error {
  constructor(
    readonly kind: AtErrorKind,
    /** The command without its arguments when they are secret, e.g. `AT+CPIN=…`. */
    readonly command: string,
    readonly final?: string,
    /** The +CME/+CMS error code when numeric. */
    readonly code?: number,
    readonly lines: readonly string[] = [],
  ) {
    super(`${command}: ${final ?? kind}`);
    this.name = 'AtError';
  }
}

export interface AtReply {
  /** Information lines of the reply, in order, without echo and without unsolicited lines. */
  lines: string[];
  final: string;
}

export interface SendOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Written after the modem's "> " prompt, followed by Ctrl-Z (AT+CMGS). */
  payload?: string;
  /**
   * The command carries a secret: it is logged and reported by name only (`AT+CPIN=…`). Commands the engine knows
   * to carry one (SECRET_COMMANDS) are treated so whether or not this is set.
   */
  sensitive?: boolean;
  /** Secret values (a PIN, a password): scrubbed from every log line, error and reply line built from this command. */
  secrets?: readonly string[];
}

/** Commands whose arguments hold a PIN or a password, whichever path sends them. */
export const SECRET_COMMANDS: ReadonlySet<string> = new Set(['+CPIN', '+CPIN2', '+CPWD', '+CLCK', '+CGAUTH', '^NDISDUP', '^AUTHDATA', '+QICSGP', '$QCPDPP']);

export const REDACTED = '…';

/** How a command is shown, and the values scrubbed from everything built from it (longest first). */
export interface Redaction {
  display: string;
  secrets: string[];
}

/**
 * The one place a command's secrets are worked out: a command marked sensitive or named in SECRET_COMMANDS (with
 * arguments) is shown as `AT+NAME=…`, and its quoted arguments, and unquoted ones of 4 characters or more, join the
 * caller's `secrets` as values scrubbed from every line built from it.
 */
export function redactionOf(command: string, opts: Pick<SendOptions, 'sensitive' | 'secrets'> = {}): Redaction {
  const eq = command.indexOf('=');
  const secretCmd = !!opts.sensitive || (eq > 0 && SECRET_COMMANDS.has(commandName(command)));
  const values = [...(opts.secrets ?? [])];
  if (secretCmd && eq > 0) {
    const args = command.slice(eq + 1);
    for (const m of args.matchAll(/"([^"]*)"/g)) values.push(m[1]!);
    for (const a of args.replace(/"[^"]*"/g, '').split(',')) if (a.trim().length >= 4) values.push(a.trim());
  }
  const secrets = [...new Set(values.filter((v) => v.length > 0))].sort((a, b) => b.length - a.length);
  const display = secretCmd ? (eq > 0 ? `${command.slice(0, eq)}=${REDACTED}` : command) : command;
  return { display: scrub(display, secrets), secrets };
}

/** The text with every occurrence of each secret replaced by `…`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

export interface Urc {
  line: string;
  /** The second line of two-line URCs (+CMT, +CDS: the PDU). */
  next?: string;
}

export interface AtEngineOptions {
  clock?: Clock;
  /** Per-command timeout when the caller gives none. */
  defaultTimeoutMs?: number;
  /**
   * After a timeout, how long a late final result is waited for before the next command is written, so
   * that it is not taken for the next command's reply.
   */
  lateReplyGraceMs?: number;
  log?: Logger;
}

/** Final result codes that end a command. */
export function classifyFinal(line: string): { ok: boolean; kind?: AtErrorKind; code?: number } | undefined {
  const u = line.trim().toUpperCase();
  if (u === 'OK' || u === 'CONNECT' || u.startsWith('CONNECT ')) return { ok: true };
  if (u === 'ERROR' || u === 'COMMAND NOT SUPPORT' || u === 'TOO MANY PARAMETERS') return { ok: false, kind: 'error' };
  const cme = /^\+CME ERROR:\s*(.*)$/.exec(u);
  if (cme) return { ok: false, kind: 'cme', code: /^\d+$/.test(cme[1]!) ? Number(cme[1]) : undefined };
  const cms = /^\+CMS ERROR:\s*(.*)$/.exec(u);
  if (cms) return { ok: false, kind: 'cms', code: /^\d+$/.test(cms[1]!) ? Number(cms[1]) : undefined };
  if (u === 'NO CARRIER' || u === 'NO DIALTONE' || u === 'NO ANSWER') return { ok: false, kind: 'no-carrier' };
  if (u === 'BUSY') return { ok: false, kind: 'busy' };
  return undefined;
}

/** Lines that are always unsolicited, whatever command is pending. */
const ALWAYS_URC = [
  '^RSSI:', '^MODE:', '+CMTI:', '+CMT:', '+CDS:', '+CDSI:', '^BOOT:', '^DSFLOWRPT:', '^SRVST:', '^STIN:',
  '+QIND:', '+CGEV:', '+CUSD:', '^CERSSI:', '^CEND:', '^ORIG:', '^CONF:', '^CONN:', '+QUSIM:', '^SYSSTART', '^RFSWITCH:',
  '+CIEV:', '^LTERSRP:', '^ACTIVEBAND:', '^EONS:', '+PACSP', '^ECCLIST:', '^NWTIME:', '+CTZV:', '+CTZE:', '+QNETDEVSTATUS:',
];
/** Exact lines that are unsolicited. */
const URC_WORDS = new Set(['RING', 'RDY', '^SYSSTART', '+PACSP0', '+PACSP1']);
/** Prefixes that are a reply when the pending command is theirs, else unsolicited. */
const SOMETIMES_URC = ['^HCSQ:', '+CPIN:', '+CFUN:', '^NDISSTAT:', '+QCSQ:', '^SIMST:', '+CREG:', '+CGREG:', '+CEREG:'];
const TWO_LINE_URC = ['+CMT:', '+CDS:'];

/** The name of a command as its reply lines are prefixed: "AT+CREG?" -> "+CREG", "AT^HCSQ?" -> "^HCSQ". */
export function commandName(cmd: string): string {
  const m = /^AT([+^$%*#][A-Z0-9_]+)/i.exec(cmd.trim());
  return m ? m[1]!.toUpperCase() : '';
}

/** Whether a line is unsolicited given the pending command (or none). */
export function isUnsolicited(line: string, pending: string | undefined): boolean {
  const u = line.toUpperCase();
  if (URC_WORDS.has(u)) return true;
  if (ALWAYS_URC.some((p) => u.startsWith(p))) return true;
  const sometimes = SOMETIMES_URC.find((p) => u.startsWith(p));
  if (sometimes) {
    if (!pending) return true;
    const name = commandName(pending);
    if (`${name}:` !== sometimes) return true;
    if (regDomainOf(line)) return isRegistrationUrc(line);
    return false;
  }
  return !pending;
}

/** Lines that cannot be anything a modem says: control characters, or mostly bytes outside printable ASCII. */
export function isGarbage(line: string): boolean {
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(line)) return true;
  let odd = 0;
  for (const ch of line) if (ch < ' ' || ch > '~') odd++;
  return odd > 0 && odd * 2 > line.length;
}

interface Pending {
  command: string;
  display: string;
  secrets: readonly string[];
  opts: SendOptions;
  resolve: (r: AtReply) => void;
  reject: (e: Error) => void;
  lines: string[];
  timer?: unknown;
  promptSent: boolean;
  onAbort?: () => void;
}

/**
 * Speaks AT over one port. `send()` queues a command; the reply is the information lines up to a final result
 * code. Unsolicited lines go to `onUrc` listeners, never into a reply; echo is dropped whether on or off;
 * garbage lines are dropped. After a timeout the engine waits `lateReplyGraceMs` for the late final result,
 * so the queue cannot slip by one reply. When the port closes, every pending command fails with `closed`.
 */
export class AtEngine {
  private readonly clock: Clock;
  private readonly defaultTimeoutMs: number;
  private readonly graceMs: number;
  private readonly log?: Logger;
  private readonly queue: Pending[] = [];
  private current?: Pending;
  /** A timed-out command whose late final result would still be swallowed. */
  private zombie?: { timer: unknown };
  private buf = '';
  private twoLine?: string;
  private readonly urcListeners = new Set<(u: Urc) => void>();
  private readonly closeListeners = new Set<(err?: Error) => void>();
  private readonly noiseListeners = new Set<(line: string) => void>();
  private isClosed = false;
  /** Counts of what was dropped, for status and tests. */
  readonly stats = { garbage: 0, stray: 0, timeouts: 0, late: 0 };

  constructor(private readonly port: AtPort, opts: AtEngineOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 5000;
    this.graceMs = opts.lateReplyGraceMs ?? 1000;
    this.log = opts.log;
    port.onData((chunk) => this.feed(chunk.toString('latin1')));
    port.onClose((err) => this.shutdown(err));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(command: string, opts: SendOptions = {}): Promise<AtReply> {
    const { display, secrets } = redactionOf(command, opts);
    if (this.isClosed) return Promise.reject(new AtError('closed', display));
    if (opts.signal?.aborted) return Promise.reject(new AtError('aborted', display));
    return new Promise<AtReply>((resolve, reject) => {
      const p: Pending = { command, display, secrets, opts, resolve, reject, lines: [], promptSent: false };
      if (opts.signal) {
        p.onAbort = () => this.abort(p);
        opts.signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.queue.push(p);
      this.pump();
    });
  }

  onUrc(listener: (u: Urc) => void): () => void {
    this.urcListeners.add(listener);
    return () => this.urcListeners.delete(listener);
  }

  onClose(listener: (err?: Error) => void): () => void {
    if (this.isClosed) queueMicrotask(() => listener());
    else this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Lines dropped as garbage or stray final results. */
  onNoise(listener: (line: string) => void): () => void {
    this.noiseListeners.add(listener);
    return () => this.noiseListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.shutdown();
    await this.port.close().catch(() => undefined);
  }

  private pump(): void {
    if (this.current || this.zombie || this.isClosed) return;
    const p = this.queue.shift();
    if (!p) return;
    this.current = p;
    this.liveSecrets = p.secrets;
    this.log?.debug({ at: p.display }, 'at send');
    p.timer = this.clock.set(() => this.timeout(p), p.opts.timeoutMs ?? this.defaultTimeoutMs);
    try {
      this.port.write(`${p.command}\r`);
    } catch (err) {
      this.shutdown(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** The error a command fails with: its final result and reply lines scrubbed of the command's secrets. */
  private fail(p: Pending, kind: AtErrorKind, final?: string, code?: number): AtError {
    const f = final === undefined ? undefined : scrub(final, p.secrets);
    return new AtError(kind, p.display, f, code, p.lines.map((l) => scrub(l, p.secrets)));
  }

  private settle(p: Pending, result: { reply?: AtReply; error?: Error }): void {
    if (p.timer !== undefined) this.clock.clear(p.timer);
    if (p.onAbort) p.opts.signal?.removeEventListener('abort', p.onAbort);
    if (this.current === p) this.current = undefined;
    if (result.error) p.reject(result.error);
    else p.resolve(result.reply!);
  }

  private timeout(p: Pending): void {
    if (this.current !== p) return;
    this.stats.timeouts++;
    this.cancelPrompt(p);
    this.log?.warn({ at: p.display, timeout_ms: p.opts.timeoutMs ?? this.defaultTimeoutMs }, 'at command timed out');
    this.startZombie();
    this.settle(p, { error: this.fail(p, 'timeout') });
    this.pump();
  }

  private abort(p: Pending): void {
    const i = this.queue.indexOf(p);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.settle(p, { error: new AtError('aborted', p.display) });
      return;
    }
    if (this.current === p) {
      this.cancelPrompt(p);
      this.startZombie();
      this.settle(p, { error: this.fail(p, 'aborted') });
      this.pump();
    }
  }

  /** A command waiting for its "> " prompt is given up: ESC takes the modem out of text entry. */
  private cancelPrompt(p: Pending): void {
    if (p.opts.payload === undefined || p.promptSent) return;
    try {
      this.port.write('\x1b');
    } catch {
      // The port is gone; shutdown follows.
    }
  }

  private startZombie(): void {
    const timer = this.clock.set(() => {
      if (this.zombie?.timer === timer) {
        this.zombie = undefined;
        this.pump();
      }
    }, this.graceMs);
    this.zombie = { timer };
  }

  private endZombie(): void {
    if (!this.zombie) return;
    this.clock.clear(this.zombie.timer);
    this.zombie = undefined;
  }

  private feed(text: string): void {
    this.buf += text;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line);
    }
    // The SMS prompt "> " comes without a line end.
    const p = this.current;
    if (p && p.opts.payload !== undefined && !p.promptSent && /^\s*>\s?$/.test(this.buf)) {
      this.buf = '';
      p.promptSent = true;
      try {
        this.port.write(`${p.opts.payload}\x1a`);
      } catch (err) {
        this.shutdown(err instanceof Error ? err : new Error(String(err)));
      }
    }
    if (this.buf.length > 64 * 1024) {
      this.noise(this.buf.slice(0, 80));
      this.buf = '';
    }
  }

  /** Secrets of the command pending or just timed out: a mangled echo or a late line may still carry them. */
  private liveSecrets: readonly string[] = [];

  private noise(line: string): void {
    const shown = scrub(line, this.liveSecrets);
    for (const l of this.noiseListeners) l(shown);
  }

  private urc(u: Urc): void {
    this.log?.debug({ urc: scrub(u.line.split(':')[0]!, this.liveSecrets) }, 'at urc');
    for (const l of this.urcListeners) {
      try {
        l(u);
      } catch (err) {
        this.log?.error({ err }, 'urc listener failed');
      }
    }
  }

  private line(raw: string): void {
    const line = raw.replace(/[\x00\xff\x1a]/g, '').trim();
    if (!line) return;
    if (this.twoLine !== undefined) {
      const first = this.twoLine;
      this.twoLine = undefined;
      this.urc({ line: first, next: line });
      return;
    }
    if (isGarbage(line)) {
      this.stats.garbage++;
      this.noise(line);
      return;
    }
    const p = this.current;
    if (p) {
      // Echo of the command, or of the SMS payload after the prompt.
      if (line.toUpperCase() === p.command.trim().toUpperCase()) return;
      if (p.promptSent && (line.startsWith('>') || line === p.opts.payload)) return;
    }
    const u = line.toUpperCase();
    if (TWO_LINE_URC.some((x) => u.startsWith(x))) {
      this.twoLine = line;
      return;
    }
    const final = classifyFinal(line);
    if (!p) {
      if (final) {
        if (this.zombie) {
          // The late final result of the command that timed out: swallow it and go on.
          this.stats.late++;
          this.endZombie();
          this.pump();
          return;
        }
        if (u === 'NO CARRIER') return this.urc({ line });
        this.stats.stray++;
        this.noise(line);
        return;
      }
      if (isKnownUrc(line)) return this.urc({ line });
      if (this.zombie) return; // an information line of the late reply
      if (looksLikeUrc(line)) return this.urc({ line });
      this.stats.stray++;
      this.noise(line);
      return;
    }
    if (isUnsolicited(line, p.command)) return this.urc({ line });
    if (final) {
      this.log?.debug({ at: p.display, final: scrub(line, p.secrets) }, 'at reply');
      if (final.ok) this.settle(p, { reply: { lines: p.lines, final: line } });
      else this.settle(p, { error: this.fail(p, final.kind!, line, final.code) });
      this.pump();
      return;
    }
    p.lines.push(line);
  }

  private shutdown(err?: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.endZombie();
    const all = [...(this.current ? [this.current] : []), ...this.queue.splice(0)];
    for (const p of all) this.settle(p, { error: this.fail(p, 'closed', err?.message) });
    this.current = undefined;
    for (const l of this.closeListeners) l(err);
    this.closeListeners.clear();
  }
}

function isKnownUrc(line: string): boolean {
  const u = line.toUpperCase();
  return URC_WORDS.has(u) || ALWAYS_URC.some((x) => u.startsWith(x)) || SOMETIMES_URC.some((x) => u.startsWith(x));
}

/** An unprompted line that has the shape of a URC ("+XXX: …", "^XXX: …" or a known word). */
function looksLikeUrc(line: string): boolean {
  return /^[+^][A-Z0-9]+:/i.test(line) || URC_WORDS.has(line.toUpperCase()) || line.toUpperCase() === 'NO CARRIER';
}
