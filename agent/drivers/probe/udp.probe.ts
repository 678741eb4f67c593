// Reachability probe of the concentrator through one uplink's own path: a UDP echo sent from that uplink's address.
import { realClock } from '../../../shared/clock.js';
import { createSocket, type Socket } from 'node:dgram';

/** Probe datagrams start with this; the concentrator echoes them unchanged. */
export const PROBE_MAGIC = 0x524c5031; // "RLP1"
export const PROBE_SIZE = 24;

/**
 * Byte 12 of a probe: its flags (the rest of the probe is zero). WITNESS asks "are you there?" of an HQ that may not
 * carry HQ's LAN (VRRP's backup): its echo answers it whatever its gate says (concentrator/probe.responder.ts), because
 * the answer says only that the path to it works, never that the tunnel should go there (2026-12, issue 14: with two
 * HQs the other HQ's answer through the active uplink tells the far end's silence from the active's). An echo older
 * than the flag answers it as any probe (only while it holds the gateway): weaker evidence, never wrong.
 */
export const PROBE_WITNESS = 0x01;

export function encodeProbe(id: number, seq: number, flags = 0): Buffer {
  const b = Buffer.alloc(PROBE_SIZE);
  b.writeUInt32BE(PROBE_MAGIC, 0);
  b.writeUInt32BE(id >>> 0, 4);
  b.writeUInt32BE(seq >>> 0, 8);
  b.writeUInt8(flags & 0xff, 12);
  return b;
}

/** A well-formed probe that asks as a witness (PROBE_WITNESS). */
export function isWitnessAsk(b: Buffer): boolean {
  return decodeProbe(b) !== null && (b.readUInt8(12) & PROBE_WITNESS) !== 0;
}

export function decodeProbe(b: Buffer): { id: number; seq: number } | null {
  if (b.length !== PROBE_SIZE || b.readUInt32BE(0) !== PROBE_MAGIC) return null;
  return { id: b.readUInt32BE(4), seq: b.readUInt32BE(8) };
}

export interface Prober {
  /** One round trip; resolves with the RTT in ms, rejects when the signal aborts first (the caller's timeout). */
  probe(signal: AbortSignal): Promise<number>;
  close(): void;
}

let nextId = (process.pid * 7919) >>> 0;

/** A prober bound to a source address (the policy rule `from ADDR` routes it out of that uplink); `flags` go in each
 *  probe (PROBE_WITNESS). */
export async function createUdpProber(bindAddress: string, target: { address: string; port: number }, flags = 0): Promise<Prober> {
  const sock: Socket = createSocket({ type: 'udp4' });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: bindAddress, port: 0 }, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  const id = nextId++ >>> 0;
  let seq = 0;
  const waiting = new Map<number, (t: number) => void>();
  sock.on('message', (msg) => {
    const p = decodeProbe(msg);
    if (!p || p.id !== id) return;
    waiting.get(p.seq)?.(realClock.now());
  });
  sock.on('error', () => { /* send errors surface as timeouts */ });
  return {
    probe(signal) {
      const s = ++seq >>> 0;
      const t0 = realClock.now();
      return new Promise<number>((resolve, reject) => {
        const done = () => {
          waiting.delete(s);
          signal.removeEventListener('abort', onAbort);
        };
        const onAbort = () => {
          done();
          reject(new Error('probe timed out'));
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort);
        waiting.set(s, (t) => {
          done();
          resolve(t - t0);
        });
        sock.send(encodeProbe(id, s, flags), target.port, target.address, (err) => {
          if (err) {
            done();
            reject(err);
          }
        });
      });
    },
    close() {
      waiting.clear();
      sock.close();
    },
  };
}

/** One probe of `target` from `bindAddress` on a socket of its own, closed after (an HQ asked once: agent/start/hq.start.ts). */
export async function probeOnce(bindAddress: string, target: { address: string; port: number }, signal: AbortSignal, flags = 0): Promise<number> {
  const prober = await createUdpProber(bindAddress, target, flags);
  try {
    return await prober.probe(signal);
  } finally {
    prober.close();
  }
}
