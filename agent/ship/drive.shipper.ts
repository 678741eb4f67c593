// Ships the drive files (state_dir/drives) to HQ inside the tunnel: each file from the byte HQ last acknowledged, in
// brotli pieces of whole lines; the cursor moves only on HQ's answer (`have`) and is kept on disk, so a restart or an
// outage resends what was not acknowledged and HQ keeps each byte once. On LTE it sends less often, within a daily
// allowance; past it, pieces wait for Wi-Fi (or the next day): nothing is dropped, only held.
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../shared/log.js';
import { DRIVE_CHUNK_MAX } from '../../shared/wire/drive-chunk.js';
import { compressBatch } from '../drive/size.js';
import type { Clock } from '../../shared/clock.js';

/** What one POST of a piece came to. */
export type DriveSendOutcome =
  /** HQ holds the file's first `have` bytes (this piece's part new to it included). */
  | { kind: 'ok'; have: number }
  /** The piece started past what HQ holds: send from `have`. */
  | { kind: 'gap'; have: number }
  /** HQ will never take this piece (400): it is set aside (it stays in the file on disk). */
  | { kind: 'refused'; message: string }
  /** 413: send less at a time. */
  | { kind: 'too-large' }
  | { kind: 'retry'; error: string };

/** HTTP request and reply bytes around each piece's body on the wire (headers, measured in bench/agent: about 330
 *  bytes) plus the tunnel's per-packet overhead (WireGuard, UDP, IP and inner TCP, about 110 bytes a packet, 4
 *  packets): what a piece costs on LTE beyond its body. */
export const PIECE_OVERHEAD_BYTES = 800;

export interface DriveShipPolicy {
  /** How often to ship off LTE (ms). */
  intervalMs: number;
  /** How often to ship on LTE (ms): fewer, larger pieces compress better and pay the overhead less often. */
  lteIntervalMs: number;
  /** Bytes a day (UTC) of drive shipped over LTE; past it, pieces wait for Wi-Fi or the next day. 0: never on LTE. */
  lteBytesPerDay: number;
}

export const DEFAULT_DRIVE_SHIP: DriveShipPolicy = { intervalMs: 60_000, lteIntervalMs: 600_000, lteBytesPerDay: 2_000_000 };

/** Whether to ship now (pure): `since` ms since the last shipping round; LTE bytes used today. */
export function driveShipDue(p: DriveShipPolicy, s: { onLte: boolean; sinceMs: number; lteUsedToday: number }): 'ship' | 'wait' | 'hold' {
  if (!s.onLte) return s.sinceMs >= p.intervalMs ? 'ship' : 'wait';
  if (s.lteUsedToday >= p.lteBytesPerDay) return 'hold';
  return s.sinceMs >= p.lteIntervalMs ? 'ship' : 'wait';
}

interface Cursor {
  files: Record<string, number>;
  lte: { day: string; bytes: number };
}

export interface DriveShipperDeps {
  /** The recorder's directory (state_dir/drives): drive-*.jsonl, and the cursor file shipped.json. */
  dir: string;
  send: (segment: string, offset: number, body: Buffer, signal: AbortSignal) => Promise<DriveSendOutcome>;
  /** Is the tunnel on LTE now? */
  onLte: () => boolean;
  /** Waits (timers), the interval (monotonic now) and the day the LTE allowance counts in (wallNow, UTC). */
  clock: Clock;
  policy?: Partial<DriveShipPolicy>;
  /** Raw bytes per piece (default DRIVE_CHUNK_MAX). */
  maxPiece?: number;
  /** How often it checks whether to ship (default 10 s, or intervalMs when shorter). */
  tickMs?: number;
  log?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Each piece acknowledged: its body's bytes and whether it went over LTE. */
  onShipped?: (bytes: number, lte: boolean) => void;
}

const DRIVE_FILE = /^drive-.*\.jsonl$/;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export class DriveShipper {
  private readonly policy: DriveShipPolicy;
  private readonly cursorPath: string;
  private cursor: Cursor;
  private readonly ac = new AbortController();
  private handle: unknown = null;
  private lastShip = -Infinity;
  private running: Promise<void> | null = null;
  private stopped = false;
  private held = false;
  private maxPiece: number;

  constructor(private readonly d: DriveShipperDeps) {
    this.policy = { ...DEFAULT_DRIVE_SHIP, ...d.policy };
    this.cursorPath = join(d.dir, 'shipped.json');
    this.maxPiece = d.maxPiece ?? DRIVE_CHUNK_MAX;
    mkdirSync(d.dir, { recursive: true, mode: 0o750 });
    this.cursor = this.load();
  }

  /** Bytes of each file HQ acknowledged (as kept on disk). */
  get acknowledged(): Readonly<Record<string, number>> {
    return this.cursor.files;
  }

  /** LTE bytes used today. */
  get lteUsedToday(): number {
    return this.cursor.lte.day === utcDay(this.d.clock.wallNow()) ? this.cursor.lte.bytes : 0;
  }

  /** Resolves once the round under way (if any) is over. */
  async idle(): Promise<void> {
    for (let r = this.running; r; r = this.running) await r.catch(() => {});
  }

  start(): void {
    this.schedule(0);
  }

  /** HQ answers again (a heartbeat got through): ship now if it is time. */
  kick(): void {
    if (this.stopped || this.running) return;
    this.d.clock.clear(this.handle);
    this.schedule(0);
  }

  /** Ships what is due now, whatever the interval (tests, and a stop for good). */
  async flush(): Promise<void> {
    await this.running;
    this.running = this.round(true);
    await this.running;
    this.running = null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.d.clock.clear(this.handle);
    this.ac.abort();
    await this.running?.catch(() => {});
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.handle = this.d.clock.set(() => {
      this.running = this.round(false).finally(() => {
        this.running = null;
        this.schedule(this.d.tickMs ?? Math.min(10_000, this.policy.intervalMs));
      });
    }, ms);
  }

  private load(): Cursor {
    try {
      const c = JSON.parse(readFileSync(this.cursorPath, 'utf8')) as Cursor;
      if (c && typeof c.files === 'object' && c.lte && typeof c.lte.bytes === 'number') return c;
    } catch {
      // none yet (or unreadable: every file is sent from its start; HQ drops what it holds already)
    }
    return { files: {}, lte: { day: '', bytes: 0 } };
  }

  private save(): void {
    const tmp = `${this.cursorPath}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.cursor), { mode: 0o640 });
    renameSync(tmp, this.cursorPath);
  }

  private files(): Array<{ name: string; size: number }> {
    try {
      return readdirSync(this.d.dir).filter((f) => DRIVE_FILE.test(f)).sort().map((name) => ({ name, size: statSync(join(this.d.dir, name)).size }));
    } catch {
      return [];
    }
  }

  /** The whole lines of `name` from `offset`, at most maxPiece bytes (at least one line when it is longer). */
  private async piece(name: string, offset: number, size: number): Promise<Buffer | null> {
    const fh = await open(join(this.d.dir, name), 'r');
    try {
      let len = Math.min(size - offset, this.maxPiece);
      for (;;) {
        const buf = Buffer.alloc(len);
        const { bytesRead } = await fh.read(buf, 0, len, offset);
        const got = buf.subarray(0, bytesRead);
        const end = got.lastIndexOf(0x0a);
        if (end >= 0) return got.subarray(0, end + 1);
        if (len >= size - offset) return null; // the last line is still being written
        len = Math.min(size - offset, len * 2);
      }
    } finally {
      await fh.close();
    }
  }

  private async round(force: boolean): Promise<void> {
    const onLte = this.d.onLte();
    const due = driveShipDue(this.policy, { onLte, sinceMs: this.d.clock.now() - this.lastShip, lteUsedToday: this.lteUsedToday });
    if (due === 'hold' && !this.held) {
      this.held = true;
      this.d.log?.info({ event: 'drive.held', lte_bytes_today: this.lteUsedToday }, 'drive shipping held: its LTE allowance for today is used; it resumes on Wi-Fi or tomorrow');
    }
    if (due !== 'ship' && !(force && due !== 'hold')) return;
    this.held = false;
    this.lastShip = this.d.clock.now();
    const files = this.files();
    // Files the recorder deleted (its size cap) are forgotten.
    const names = new Set(files.map((f) => f.name));
    for (const n of Object.keys(this.cursor.files)) if (!names.has(n)) delete this.cursor.files[n];
    let gaps = 0;
    for (const f of files) {
      for (;;) {
        if (this.stopped) return;
        const offset = this.cursor.files[f.name] ?? 0;
        if (offset >= f.size) break;
        if (onLte && this.lteUsedToday >= this.policy.lteBytesPerDay) return;
        const raw = await this.piece(f.name, offset, f.size);
        if (!raw) break;
        const body = compressBatch(raw.toString('utf8'));
        let out: DriveSendOutcome;
        try {
          out = await this.d.send(f.name, offset, body, this.ac.signal);
        } catch (err) {
          out = { kind: 'retry', error: (err as Error).message };
        }
        if (this.stopped) return;
        switch (out.kind) {
          case 'ok':
          case 'gap':
            if (out.kind === 'gap' && ++gaps > 3) {
              this.d.log?.warn({ event: 'drive.gap', file: f.name, have: out.have }, `HQ keeps asking for ${f.name} from byte ${out.have}; trying again later`);
              return;
            }
            this.cursor.files[f.name] = Math.min(out.have, f.size);
            if (out.kind === 'ok') {
              if (onLte) {
                const day = utcDay(this.d.clock.wallNow());
                if (this.cursor.lte.day !== day) this.cursor.lte = { day, bytes: 0 };
                this.cursor.lte.bytes += body.length + PIECE_OVERHEAD_BYTES;
              }
              this.d.onShipped?.(body.length, onLte);
            }
            this.save();
            continue;
          case 'too-large':
            if (this.maxPiece <= 4096) return;
            this.maxPiece = Math.floor(this.maxPiece / 2);
            continue;
          case 'refused':
            // Never taken as it is: set aside (the file keeps it), so the rest of the drive still ships.
            this.d.log?.error({ event: 'drive.refused', file: f.name, offset, bytes: raw.length, why: out.message }, `HQ refuses ${f.name} bytes ${offset}-${offset + raw.length}: ${out.message}; kept on disk, not shipped`);
            this.cursor.files[f.name] = offset + raw.length;
            this.save();
            continue;
          case 'retry':
            this.d.log?.warn({ event: 'drive.retry', file: f.name, err: out.error }, `drive not shipped (${out.error}); trying again later`);
            return;
        }
      }
    }
  }
}
