// The vehicle's firewall against intruders (issue 12 item 2): a host on the AP's network and one behind the LTE carrier
// try ping, UDP and TCP to the camera and to the vehicle's LAN address, and inject packets with forged LAN and tunnel
// sources toward HQ's LAN: nothing arrives at the camera, at HQ or at the dispatcher, while the tunnel's own traffic
// (200 packets/s each way, camera <-> dispatcher) loses nothing. Counters: nftables in the camera's, HQ's and the
// dispatcher's namespaces (by source); ingress counters on the vehicle's uplinks prove the attacks reached it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../../shared/scenario.js';
import { runScenario } from '../../lab/runner.js';
import { INTRUDER, PLAN, type Topology } from '../../lab/topology.js';
import { run } from '../../shared/exec.js';
import { labLeftovers, scenarioPath } from './lab.helpers.js';

const SOURCES = [INTRUDER.ap, INTRUDER.lte, INTRUDER.spoofLan, INTRUDER.spoofTunnel];
const srcSet = `{ ${SOURCES.join(', ')} }`;

async function nft(ns: string, script: string): Promise<void> {
  await run(['nft', '-f', '-'], { netns: ns, input: script });
}

/** Packets counted by the named counters of table `ip watch` (or netdev `watch`) in a namespace. */
async function counters(ns: string, family: 'ip' | 'netdev'): Promise<number> {
  const j = JSON.parse((await run(['nft', '-j', 'list', 'table', family, 'watch'], { netns: ns })).stdout) as { nftables: Array<{ rule?: { expr: Array<{ counter?: { packets: number } }> } }> };
  return j.nftables.flatMap((o) => o.rule?.expr ?? []).reduce((n, e) => n + (e.counter?.packets ?? 0), 0);
}

async function addressIn(ns: string, prefix: string, dev?: string): Promise<string> {
  const j = JSON.parse((await run(['ip', '-j', '-4', 'addr', 'show', ...(dev ? ['dev', dev] : [])], { netns: ns })).stdout) as Array<{ ifname: string; addr_info: Array<{ local: string }> }>;
  const a = j.flatMap((l) => l.addr_info.map((i) => i.local)).find((x) => x.startsWith(prefix));
  if (!a) throw new Error(`no address ${prefix}* in ${ns}${dev ? ` on ${dev}` : ''}`);
  return a;
}

/**
 * One intruder's attacks, each bounded (ping 3 packets / 1 s wait, UDP 5 datagrams, TCP 1 s connect timeout). A
 * case is "answered" when anything came back: a ping reply, a TCP connection or a reset (refused).
 */
async function attack(ns: string, own: string, matrix: Array<{ name: string; answered: boolean }>): Promise<void> {
  let answered = false;
  const ping = async (to: string, from: string) => {
    if ((await run(['ping', '-n', '-q', '-c', '3', '-i', '0.2', '-W', '1', '-I', from, to], { netns: ns, allowFail: true, timeoutMs: 5000 })).exitCode === 0) answered = true;
  };
  const udp = (to: string, port: number, from: string) => run(['socat', '-u', 'OPEN:/dev/zero,readbytes=100', `UDP4-SENDTO:${to}:${port},bind=${from}`], { netns: ns, allowFail: true, timeoutMs: 3000 });
  const tcp = async (to: string, port: number, from: string) => {
    const r = await run(['socat', '-u', 'OPEN:/dev/null', `TCP4:${to}:${port},bind=${from},connect-timeout=1`], { netns: ns, allowFail: true, timeoutMs: 3000 });
    if (r.exitCode === 0 || /refused/i.test(r.stderr)) answered = true;
  };
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['ping camera', () => ping(PLAN.camera, own)],
    ['ping the vehicle LAN address', () => ping(PLAN.vehLanGw, own)],
    ['UDP to camera', async () => { for (let i = 0; i < 5; i++) await udp(PLAN.camera, 5004, own); }],
    ['TCP to camera (RTSP)', () => tcp(PLAN.camera, 554, own)],
    ['TCP to the vehicle LAN address (ssh)', () => tcp(PLAN.vehLanGw, 22, own)],
    ['ping dispatcher (uplink -> tunnel)', () => ping(PLAN.dispatcher, own)],
    ['UDP to dispatcher (uplink -> tunnel)', async () => { for (let i = 0; i < 5; i++) await udp(PLAN.dispatcher, 5004, own); }],
    ['forged LAN source -> dispatcher (injection into the tunnel)', async () => { await ping(PLAN.dispatcher, INTRUDER.spoofLan); for (let i = 0; i < 5; i++) await udp(PLAN.dispatcher, 5004, INTRUDER.spoofLan); await tcp(PLAN.dispatcher, 443, INTRUDER.spoofLan); }],
    ['forged LAN source -> camera', async () => { await ping(PLAN.camera, INTRUDER.spoofLan); await udp(PLAN.camera, 5004, INTRUDER.spoofLan); }],
    ['forged tunnel source -> camera', async () => { await ping(PLAN.camera, INTRUDER.spoofTunnel); for (let i = 0; i < 5; i++) await udp(PLAN.camera, 5004, INTRUDER.spoofTunnel); await tcp(PLAN.camera, 554, INTRUDER.spoofTunnel); }],
  ];
  for (const [name, f] of cases) {
    answered = false;
    await f();
    matrix.push({ name, answered });
  }
}

test('intruders on an AP and on the carrier reach nothing behind the vehicle; the tunnel traffic flows', { timeout: 90_000 }, async (t) => {
  const sc = await loadScenario(scenarioPath('intruders.yaml'));
  const seen: Record<string, number> = {};
  const matrix: Record<string, Array<{ name: string; answered: boolean }>> = { ap: [], lte: [] };
  let control: Record<string, boolean> = {};
  const report = await runScenario(sc, {
    during: async ({ topo }: { topo: Topology }) => {
      const apAddress = await addressIn(topo.ns.veh, '192.168.10.');
      const lteAddress = await addressIn(topo.ns.veh, '', PLAN.modem);
      const intr = await topo.addIntruders({ apAddress, lteAddress });
      // Counters by source: at the camera and the dispatcher (what they receive), at HQ (what leaves the tunnel).
      for (const ns of [topo.ns.cam, topo.ns.disp, topo.ns.hq]) {
        await nft(ns, `table ip watch {\n  chain pre { type filter hook prerouting priority -300; policy accept; ip saddr ${srcSet} counter; }\n}\n`);
      }
      // At the vehicle's uplinks, before its firewall: proof that the attacks reached it.
      const radio = (JSON.parse((await run(['ip', '-j', '-4', 'addr', 'show'], { netns: topo.ns.veh })).stdout) as Array<{ ifname: string; addr_info: Array<{ local: string }> }>)
        .find((l) => l.addr_info.some((a) => a.local === apAddress))!.ifname;
      await nft(topo.ns.veh, `table netdev watch {\n  chain ap { type filter hook ingress device "${radio}" priority -500; policy accept; ip saddr ${srcSet} counter; }\n  chain lte { type filter hook ingress device "${PLAN.modem}" priority -500; policy accept; ip saddr ${srcSet} counter; }\n}\n`);
      // Control: each intruder does reach the vehicle's own uplink address (the path works; only the inside is shut).
      const reach = async (ns: string, to: string) => (await run(['ping', '-n', '-q', '-c', '1', '-W', '2', to], { netns: ns, allowFail: true, timeoutMs: 5000 })).exitCode === 0;
      control = { ap: await reach(intr.ap, apAddress), lte: await reach(intr.lte, lteAddress) };
      await Promise.all([attack(intr.ap, INTRUDER.ap, matrix.ap!), attack(intr.lte, INTRUDER.lte, matrix.lte!)]);
      await new Promise((r) => setTimeout(r, 500));
      seen.camera = await counters(topo.ns.cam, 'ip');
      seen.dispatcher = await counters(topo.ns.disp, 'ip');
      seen.hq = await counters(topo.ns.hq, 'ip');
      seen.vehicleUplinks = await counters(topo.ns.veh, 'netdev');
    },
  });
  const detail = JSON.stringify({ seen, control, matrix, traffic: report.traffic, switches: report.switches }, null, 1);
  t.diagnostic(detail.replace(/\s+/g, ' '));
  assert.deepEqual(control, { ap: true, lte: true }, `each intruder reaches the vehicle's uplink address: ${detail}`);
  assert.equal(matrix.ap!.length, 10, detail);
  assert.equal(matrix.lte!.length, 10, detail);
  assert.deepEqual([...matrix.ap!, ...matrix.lte!].filter((c) => c.answered), [], `no attack got an answer: ${detail}`);
  assert.ok(seen.vehicleUplinks! >= 2 * 40, `the attacks reached the vehicle's uplinks: ${detail}`);
  assert.equal(seen.camera, 0, `nothing from an intruder or a forged source reached the camera: ${detail}`);
  assert.equal(seen.hq, 0, `nothing got into the tunnel: ${detail}`);
  assert.equal(seen.dispatcher, 0, `nothing reached HQ's LAN: ${detail}`);
  // The tunnel keeps flowing through the attacks. Not asserted at 0 lost: at a load of 9-13 on 2 cores (other builds
  // beside, 2026-12) this scenario lost 29 of 4,000 without the firewall and without intruders, and 99 with the firewall
  // and without intruders (max gaps 56 and 75 ms): the loss is the machine's, not the attacks'.
  assert.ok(report.traffic.lost <= report.traffic.sent * 0.05 && report.traffic.max_gap_ms < 300, `the tunnel's traffic flows through the attacks: ${detail}`);
  assert.equal(report.traffic.sent, 2 * sc.traffic.pps * (sc.duration / 1000), detail);
  assert.deepEqual(report.switches, [], detail);
  assert.deepEqual(await labLeftovers(), []);
});
