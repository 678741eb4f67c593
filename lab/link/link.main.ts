// The link emulator's process: relays one lab link's frames between its two VXLAN ends, dropping, delaying and jittering them.
//
//   side A (vehicle) ── vxlan A ──udp──▶ bind:port-a ─┐ relay ┌─ bind:port-b ◀──udp── vxlan B ── side B (AP, carrier)
//                                   ◀── to:vxlan-port ┘       └ to:vxlan-port ──▶
//
// Both VXLAN ends live in one namespace (address `to`) with their default destination on the relay's ports; the
// relay swaps the VNI and hands each frame to the other end. Settings arrive on stdin, one JSON line each
// (`{"set": {delay_ms, jitter_ms, loss, rate_mbit}}`; `{"stats": true}` prints the counts as a JSON line). It exits
// when stdin closes (the lab is gone) or on SIGTERM. Every queue is bounded.
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { seeded } from '../../shared/rng.js';
import type { LinkParams } from '../../shared/link.js';
import { LinkDirection } from './link.model.js';

/** Frames waiting per direction before the link drops new ones (tail drop): 5 s at 4,000 packets/s. */
const QUEUE_MAX = 20_000;
/** A timer fires up to a ms late: frames due within this much of now leave with the ones now due. */
const EARLY_MS = 0.5;

const { values } = parseArgs({
  options: {
    'port-a': { type: 'string' },
    'port-b': { type: 'string' },
    'vni-a': { type: 'string' },
    'vni-b': { type: 'string' },
    'vxlan-port': { type: 'string', default: '4789' },
    seed: { type: 'string', default: '1' },
    bind: { type: 'string', default: '127.0.0.1' },
    to: { type: 'string', default: '127.0.0.1' },
  },
});
const num = (name: 'port-a' | 'port-b' | 'vni-a' | 'vni-b' | 'vxlan-port' | 'seed') => {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < 0) {
    process.stderr.write(`link: --${name} must be a whole number (got ${String(values[name])})\n`);
    process.exit(2);
  }
  return v;
};
const portA = num('port-a');
const portB = num('port-b');
const vniA = num('vni-a');
const vniB = num('vni-b');
const vxlanPort = num('vxlan-port');
const rand = seeded(num('seed'));

class Queue {
  private bufs: Buffer[] = [];
  private dues: number[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;
  overflow = 0;
  readonly dir = new LinkDirection(rand);

  constructor(
    private readonly out: dgram.Socket,
    private readonly vni: number,
  ) {}

  get length(): number {
    return this.bufs.length - this.head;
  }

  push(frame: Buffer): void {
    const now = performance.now();
    const due = this.dir.admit(now);
    if (due === null) return;
    if (this.length >= QUEUE_MAX) {
      this.overflow++;
      return;
    }
    frame.writeUIntBE(this.vni, 4, 3); // the VNI of the end it goes to
    if (this.length === 0 && due <= now + EARLY_MS) {
      this.send(frame);
      return;
    }
    this.bufs.push(frame);
    this.dues.push(due);
    if (this.length === 1) this.arm(now);
  }

  private send(frame: Buffer): void {
    this.out.send(frame, vxlanPort, values.to);
  }

  private arm(now: number): void {
    if (this.timer || this.length === 0) return;
    this.timer = setTimeout(() => this.flush(), Math.max(0, Math.floor(this.dues[this.head]! - now)));
  }

  private flush(): void {
    this.timer = null;
    const now = performance.now();
    while (this.head < this.bufs.length && this.dues[this.head]! <= now + EARLY_MS) {
      this.send(this.bufs[this.head]!);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.bufs.length) {
      this.bufs = this.bufs.slice(this.head);
      this.dues = this.dues.slice(this.head);
      this.head = 0;
    }
    this.arm(now);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

async function bound(port: number): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 21, sendBufferSize: 1 << 21 });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, values.bind, () => {
      s.off('error', reject);
      resolve();
    });
  });
  return s;
}

const sockA = await bound(portA);
const sockB = await bound(portB);
// up: from side A to side B (sent from B's socket, so each socket only ever sends one way).
const up = new Queue(sockB, vniB);
const down = new Queue(sockA, vniA);
sockA.on('message', (m) => up.push(m));
sockB.on('message', (m) => down.push(m));

function stop(): void {
  up.stop();
  down.stop();
  sockA.close();
  sockB.close();
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let msg: { set?: LinkParams; stats?: boolean };
  try {
    msg = JSON.parse(line);
  } catch {
    process.stderr.write(`link: not JSON: ${line.slice(0, 200)}\n`);
    return;
  }
  if (msg.set) {
    up.dir.set(msg.set);
    down.dir.set(msg.set);
  }
  if (msg.stats) {
    const c = (q: Queue) => ({ ...q.dir.counts, overflow: q.overflow, queued: q.length });
    process.stdout.write(`${JSON.stringify({ stats: { up: c(up), down: c(down) } })}\n`);
  }
});
lines.on('close', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stderr.write(`link: listening on ${values.bind}:${portA} and :${portB}\n`);
