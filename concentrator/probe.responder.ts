// The concentrator's side of the agents' reachability probes: echoes well-formed probe datagrams, ignores the rest.
import { createSocket, type Socket } from 'node:dgram';
import { decodeProbe, isWitnessAsk } from '../agent/drivers/probe/udp.probe.js';

/**
 * Listens on all addresses (outer probes arrive on the WAN, in-tunnel ones on the tunnel address); `answers(source)`
 * says whether a probe from that address gets its echo (concentrator/probe.gate.ts; default: all). A witness ask
 * (PROBE_WITNESS: "is the path to you working?") is answered whatever the gate says: it moves no tunnel.
 */
export async function startProbeResponder(port: number, address = '0.0.0.0', answers: (source: string) => boolean = () => true): Promise<Socket> {
  const sock = createSocket({ type: 'udp4' });
  sock.on('message', (msg, rinfo) => {
    // Same size back as came in: nothing to amplify.
    if (decodeProbe(msg) && (isWitnessAsk(msg) || answers(rinfo.address))) sock.send(msg, rinfo.port, rinfo.address);
  });
  sock.on('error', () => { /* a failed send is the prober's timeout */ });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ port, address }, () => resolve());
  });
  return sock;
}
