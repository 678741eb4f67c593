// Makes HQ start the handshake with peers it has just added with a known endpoint: one small datagram to each
// vehicle's tunnel address, which WireGuard holds while it sends the vehicle a handshake initiation.
import { createSocket } from 'node:dgram';

/** The discard port: the vehicle has nothing there; the datagram only exists to make WireGuard initiate. */
export const POKE_PORT = 9;

/** Sends one byte to each address (inside the tunnel); resolves when all are handed to the kernel. Never throws. */
export async function pokePeers(addresses: readonly string[], port = POKE_PORT): Promise<number> {
  if (addresses.length === 0) return 0;
  const sock = createSocket('udp4');
  sock.on('error', () => { /* an unreachable peer is the vehicle's own handshake to make */ });
  let sent = 0;
  await Promise.all(addresses.map((a) => new Promise<void>((resolve) => sock.send(Buffer.from([0]), port, a, (err) => {
    if (!err) sent++;
    resolve();
  }))));
  sock.close();
  return sent;
}
