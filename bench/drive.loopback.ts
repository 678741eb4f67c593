// bench: HQ's agents' API and drives store over loopback, as the agent's DriveShipper ships to it, counting every byte
// on the TCP connection both ways and the tunnel's per-packet overhead around them (bench/agent, bench/drive-day).
import type { Socket } from 'node:net';
import { buildAgentApi } from '../concentrator/agent-api/app.js';
import { FleetState } from '../concentrator/agent-api/fleet.js';
import { openDrivesDb } from '../concentrator/store/drives/db.js';
import { SqliteDriveStore } from '../concentrator/store/drives/service.js';
import { createAgentApiClient } from '../agent/ship/client.js';
import type { DriveSendOutcome } from '../agent/ship/drive.shipper.js';

/** Bytes each tunnel packet adds around a TCP segment of the agents' API: WireGuard's data header and tag (32), outer
 *  UDP (8) and IPv4 (20), inner IPv4 (20) and TCP with timestamps (32). */
export const TUNNEL_PACKET_BYTES = 112;
export const TUNNEL_MSS = 1368;

export interface ShippedBytes {
  pieces: number;
  /** brotli bodies */
  body: number;
  /** bytes on the TCP connection both ways (bodies, HTTP headers) */
  wire: number;
  /** tunnel packets' overhead: the request's and the reply's segments, plus two bare ACKs, per piece */
  tunnel: number;
  /** each piece: where in its file it starts (0: it holds the file's header), its body, wire and tunnel bytes */
  each: Array<{ offset: number; body: number; wire: number; tunnel: number }>;
}

export interface LoopbackHq {
  /** DriveShipperDeps.send: posts the piece with the agent's own client, counting it. */
  send: (segment: string, offset: number, body: Buffer, signal: AbortSignal) => Promise<DriveSendOutcome>;
  /** What was shipped so far; reset() starts the count again. */
  shipped(): ShippedBytes;
  reset(): void;
  store: SqliteDriveStore;
  close(): Promise<void>;
}

export async function startLoopbackHq(vehicle: string): Promise<LoopbackHq> {
  const store = new SqliteDriveStore(openDrivesDb(':memory:')!);
  const app = buildAgentApi({ identify: async () => ({ name: vehicle }), ingest: async () => ({ inserted: [], duplicates: 0 }), fleet: new FleetState({ offlineAfterMs: 15_000 }), drives: store });
  const sockets: Socket[] = [];
  app.server.on('connection', (s: Socket) => sockets.push(s));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const client = createAgentApiClient({ baseUrl: `http://127.0.0.1:${port}` });
  const onWire = () => sockets.reduce((n, s) => n + s.bytesRead + s.bytesWritten, 0);
  let n: ShippedBytes = { pieces: 0, body: 0, wire: 0, tunnel: 0, each: [] };
  return {
    store,
    async send(segment, offset, b, signal) {
      const before = onWire();
      const r = await client.postDrive(segment, offset, b, signal);
      const bytes = onWire() - before;
      const tunnel = (Math.ceil(bytes / TUNNEL_MSS) + 2) * TUNNEL_PACKET_BYTES;
      n.pieces++;
      n.body += b.length;
      n.wire += bytes;
      n.tunnel += tunnel;
      n.each.push({ offset, body: b.length, wire: bytes, tunnel });
      return r;
    },
    shipped: () => ({ ...n, each: [...n.each] }),
    reset: () => {
      n = { pieces: 0, body: 0, wire: 0, tunnel: 0, each: [] };
    },
    async close() {
      client.close();
      await app.close();
      await store.close();
    },
  };
}
