// Test doubles for the AT engine: a byte port scripted by the test and a clock whose time only moves when told.
import type { AtPort, Clock } from '../../agent/drivers/modem/at.engine.js';

export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 0) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Number of armed timers. */
  get pending(): number {
    return this.timers.size;
  }
  /** Moves time forward, firing due timers in order (timers armed meanwhile fire too if due). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}

/** A port whose far end is the test: it records what the engine writes and feeds it bytes. */
export class FakePort implements AtPort {
  readonly written: string[] = [];
  private dataListeners: Array<(b: Buffer) => void> = [];
  private closeListeners: Array<(err?: Error) => void> = [];
  closed = false;
  /** Called on every write; a test may answer from here. */
  onWrite?: (data: string) => void;

  write(data: string): void {
    if (this.closed) throw new Error('port is closed');
    this.written.push(data);
    this.onWrite?.(data);
  }
  onData(listener: (chunk: Buffer) => void): void {
    this.dataListeners.push(listener);
  }
  onClose(listener: (err?: Error) => void): void {
    this.closeListeners.push(listener);
  }
  async close(): Promise<void> {
    this.unplug();
  }
  /** Bytes from the modem. */
  feed(data: string | Buffer): void {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    for (const l of this.dataListeners) l(b);
  }
  /** The device goes away. */
  unplug(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closeListeners) l(err);
  }
}
