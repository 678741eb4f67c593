// The probe echo's gate (issue 14): with vrrp_address, the agents are answered only while this machine holds it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { NetworkInterfaceInfo } from 'node:os';
import { holdsAddress, probeGate } from '../../concentrator/probe.gate.js';
import { startProbeResponder } from '../../concentrator/probe.responder.js';
import { encodeProbe, decodeProbe, isWitnessAsk, PROBE_WITNESS } from '../../agent/drivers/probe/udp.probe.js';

const v4 = (address: string): NetworkInterfaceInfo => ({ address, family: 'IPv4', netmask: '255.255.255.0', mac: '02:00:00:00:00:01', internal: false, cidr: `${address}/24` });
const v6 = (address: string): NetworkInterfaceInfo => ({ address, family: 'IPv6', netmask: 'ffff:ffff:ffff:ffff::', mac: '02:00:00:00:00:01', internal: false, cidr: `${address}/64`, scopeid: 0 });
const MASTER = { lo: [v4('127.0.0.1')], lan0: [v4('10.0.0.2'), v4('10.0.0.1')], wan0: [v4('198.51.100.2'), v6('fe80::1')] };
const BACKUP = { lo: [v4('127.0.0.1')], lan0: [v4('10.0.0.3')], wan0: [v4('198.51.100.3')] };

test('holdsAddress: the address on any interface, IPv4 only', () => {
  const table: Array<{ name: string; ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>; address: string; want: boolean }> = [
    { name: 'master holds the VIP on lan0', ifaces: MASTER, address: '10.0.0.1', want: true },
    { name: 'backup does not', ifaces: BACKUP, address: '10.0.0.1', want: false },
    { name: 'a prefix of it is not it', ifaces: { lan0: [v4('10.0.0.10')] }, address: '10.0.0.1', want: false },
    { name: 'no interfaces', ifaces: {}, address: '10.0.0.1', want: false },
  ];
  for (const { name, ifaces, address, want } of table) assert.equal(holdsAddress(ifaces, address), want, name);
});

test('probeGate: without vrrp_address every probe is answered; with it, only while held, loopback always', () => {
  const table: Array<{ name: string; holding?: string; ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>; source: string; want: boolean }> = [
    { name: 'one HQ: a vehicle', ifaces: BACKUP, source: '198.51.100.11', want: true },
    { name: 'master: a vehicle', holding: '10.0.0.1', ifaces: MASTER, source: '198.51.100.11', want: true },
    { name: 'master: in-tunnel', holding: '10.0.0.1', ifaces: MASTER, source: '10.99.0.2', want: true },
    { name: 'backup: a vehicle', holding: '10.0.0.1', ifaces: BACKUP, source: '198.51.100.11', want: false },
    { name: 'backup: its own readiness check', holding: '10.0.0.1', ifaces: BACKUP, source: '127.0.0.1', want: true },
  ];
  for (const { name, holding, ifaces, source, want } of table) assert.equal(probeGate({ holding, read: () => ifaces })(source), want, name);
});

test('probeGate: one look at the interfaces per cacheMs, then a change is seen', () => {
  let now = 0;
  let looks = 0;
  let ifaces: NodeJS.Dict<NetworkInterfaceInfo[]> = BACKUP;
  const answers = probeGate({ holding: '10.0.0.1', read: () => (looks++, ifaces), now: () => now, cacheMs: 50 });
  assert.equal(answers('198.51.100.11'), false);
  ifaces = MASTER; // keepalived made this machine master
  now = 49;
  assert.equal(answers('198.51.100.11'), false, 'within the cache period');
  assert.equal(looks, 1);
  now = 50;
  assert.equal(answers('198.51.100.11'), true);
  assert.equal(looks, 2);
});

test('startProbeResponder: a probe the gate refuses gets no echo; the gate sees the source address', async () => {
  let open = false;
  const sources: string[] = [];
  const server = await startProbeResponder(0, '127.0.0.1', (source) => (sources.push(source), open));
  const port = server.address().port;
  const client = createSocket('udp4');
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  const echoed = (seq: number, ms: number) => new Promise<boolean>((resolve) => {
    const t = setTimeout(() => { client.off('message', on); resolve(false); }, ms);
    const on = (m: Buffer) => { if (decodeProbe(m)?.seq === seq) { clearTimeout(t); client.off('message', on); resolve(true); } };
    client.on('message', on);
    client.send(encodeProbe(7, seq), port, '127.0.0.1');
  });
  try {
    assert.equal(await echoed(1, 300), false);
    open = true;
    assert.equal(await echoed(2, 2000), true);
    assert.deepEqual(sources, ['127.0.0.1', '127.0.0.1']);
  } finally {
    client.close();
    server.close();
  }
});

test('startProbeResponder: a witness ask (PROBE_WITNESS) is echoed whatever the gate says, a plain probe only when it opens', async () => {
  const server = await startProbeResponder(0, '127.0.0.1', () => false); // VRRP's backup: the gate shut
  const port = server.address().port;
  const client = createSocket('udp4');
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  const echoed = (seq: number, flags: number, ms: number) => new Promise<Buffer | null>((resolve) => {
    const t = setTimeout(() => { client.off('message', on); resolve(null); }, ms);
    const on = (m: Buffer) => { if (decodeProbe(m)?.seq === seq) { clearTimeout(t); client.off('message', on); resolve(m); } };
    client.on('message', on);
    client.send(encodeProbe(7, seq, flags), port, '127.0.0.1');
  });
  try {
    assert.equal(await echoed(1, 0, 300), null, 'a plain probe: no echo from the backup');
    const back = await echoed(2, PROBE_WITNESS, 2000);
    assert.ok(back, 'the witness ask: echoed');
    assert.deepEqual([back.length, isWitnessAsk(back), decodeProbe(back)], [24, true, { id: 7, seq: 2 }], 'the same bytes back (no amplification)');
    assert.equal(isWitnessAsk(encodeProbe(7, 3)), false);
    assert.equal(isWitnessAsk(Buffer.alloc(24, 1)), false, 'not a probe at all');
  } finally {
    client.close();
    server.close();
  }
});
