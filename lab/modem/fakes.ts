// Test double for the AT engine: a byte port scripted by the test (its clock is shared/clock.ts's SimClock).
import type { AtPort } from '../../agent/drivers/modem/at.engine.js';

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
