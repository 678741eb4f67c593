// The agent's composition root: wires the real drivers into the machines, brings the tunnel up, serves the control socket.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createActor } from 'xstate';
import type { AgentConfig } from '../shared/config/agent.js';
import { InputError } from '../shared/errors.js';
import { Ip } from '../shared/ip.js';
import type { Logger } from '../shared/log.js';
import { assertWgKey, createWg } from '../shared/wg.js';
import { buildControlApp } from './control.js';
import { startModem } from './modem.js';
import type { RadioDriver } from './drivers/radio.js';
import { openRadio } from './drivers/wpa/open.js';
import { createUdhcpcDriver } from './drivers/dhcp/udhcpc.js';
import { createLinkMonitor } from './drivers/links/link.monitor.js';
import { createSteerDriver } from './drivers/nft/steer.js';
import { createUdpProber, type Prober } from './drivers/probe/udp.probe.js';
import { createRoutingDriver, uplinkMark } from './drivers/routing/uplink.routing.js';
import { createArbiterMachine, type SwitchRecord } from './machines/arbiter.machine.js';
import { createUplinkMachine, type UplinkInput } from './machines/uplink.machine.js';

export interface RunningAgent {
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

/** Refuses a private key file others can read, then reads it (the key itself is never logged). */
export async function readPrivateKey(path: string, field: string): Promise<string> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new InputError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code}`, field);
  }
  if (st.mode & 0o077) throw new InputError(`${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`, field);
  const key = (await readFile(path, 'utf8')).trim();
  return assertWgKey(key, field, false);
}

async function sysctl(path: string, value: string): Promise<void> {
  await writeFile(`/proc/sys/net/ipv4/${path}`, value).catch(() => {});
}

export async function runAgent(cfg: AgentConfig, log: Logger): Promise<RunningAgent> {
  const privateKey = await readPrivateKey(cfg.wireguard.private_key_file, 'wireguard.private_key_file');
  const ip = new Ip();
  const wg = createWg();
  const wgIf = cfg.wireguard.interface;
  const wgMark = cfg.wireguard.fwmark;
  const [epHost, epPort] = cfg.concentrator.endpoint.split(':') as [string, string];
  const endpoint = { address: epHost, port: Number(epPort) };
  const steer = createSteerDriver();
  const routing = createRoutingDriver(ip, wgMark);
  const slots = cfg.uplinks.map((u, i) => ({ ...u, slot: i + 1 }));
  const slotOf = new Map(slots.map((s) => [s.name, s]));

  // Forwarding for the LAN; no reverse-path filter: replies arrive on whichever uplink carries the tunnel.
  await sysctl('ip_forward', '1');
  await sysctl('conf/all/rp_filter', '0');
  for (const u of cfg.uplinks) await sysctl(`conf/${u.name}/rp_filter`, '0');

  // Steering table first (no target yet), then the tunnel.
  await steer.init({ wgMark, endpoint, target: null });
  await routing.init();
  const created = await wg.createInterface(wgIf, { implementation: cfg.wireguard.implementation });
  log.info({ event: 'tunnel.interface', interface: wgIf, implementation: created.implementation }, 'tunnel interface ready');
  await wg.setPrivateKey(wgIf, privateKey);
  if (cfg.wireguard.listen_port) await wg.setListenPort(wgIf, cfg.wireguard.listen_port);
  await wg.setFwmark(wgIf, wgMark);
  const peer = {
    publicKey: cfg.concentrator.public_key,
    allowedIps: [`${cfg.concentrator.tunnel_address}/32`, ...cfg.concentrator.routes],
    endpoint: cfg.concentrator.endpoint,
    keepalive: cfg.wireguard.keepalive,
  };
  let peerConfigured = false;
  await ip.addrReplace(wgIf, `${cfg.wireguard.address}/32`);
  await ip.setUp(wgIf);
  for (const dst of [`${cfg.concentrator.tunnel_address}/32`, ...cfg.concentrator.routes]) {
    await ip.routeReplace({ dst, dev: wgIf, src: cfg.wireguard.address });
  }

  // Radios: one wpa_supplicant control interface each.
  const radios = new Map<string, RadioDriver>();
  for (const u of cfg.uplinks) {
    if (u.kind !== 'wifi') continue;
    radios.set(u.name, await openRadio(u.name, u.ctrl_path ?? `/run/wpa_supplicant/${u.name}`));
  }

  // In-tunnel prober: its replies prove the concentrator reached us on the path we steered to.
  let tunnelProber: Prober | null = null;
  const tunnelTarget = { address: cfg.concentrator.tunnel_address, port: cfg.concentrator.probe_port };
  const probeTarget = { address: endpoint.address, port: cfg.concentrator.probe_port };

  const uplinkMachine = createUplinkMachine({
    dhcp: createUdhcpcDriver(cfg.run_dir),
    routing,
    now: () => performance.now(),
    radio: (ifname) => radios.get(ifname) ?? null,
    async probe(address, signal) {
      const p = await createUdpProber(address, probeTarget);
      try {
        return await p.probe(signal);
      } finally {
        p.close();
      }
    },
  });
  const linkMonitor = createLinkMonitor();
  const arbiterMachine = createArbiterMachine(
    {
      async steer(to, signal) {
        const lease = to.lease;
        if (!lease) throw new Error(`${to.name} has no address`);
        const slot = slotOf.get(to.name)!;
        await steer.steer({ wgMark, endpoint, target: { mark: uplinkMark(wgMark, slot), address: lease.address } }, signal);
        // The peer is configured once a path exists: WireGuard sends its first handshake at once, and a handshake
        // sent with no route is retried only after 5 s.
        if (!peerConfigured) {
          await routing.setTunnelDefault(slot, lease);
          await wg.setPeer(wgIf, peer);
          peerConfigured = true;
        }
      },
      async afterSwitch(to) {
        if (to.lease) await routing.setTunnelDefault(slotOf.get(to.name)!, to.lease);
      },
      async tunnelProbe(signal) {
        tunnelProber ??= await createUdpProber(cfg.wireguard.address, tunnelTarget);
        return tunnelProber.probe(signal);
      },
      watchLinks: (onChange, signal) => linkMonitor.watch((s) => onChange(s.ifname, s.carrier), signal),
      wallNow: () => performance.timeOrigin + performance.now(),
      newId: () => randomUUID(),
    },
    uplinkMachine,
    slots.map((s): UplinkInput => ({
      name: s.name, slot: s.slot, kind: s.kind,
      probeIntervalMs: cfg.timing.probe_interval_ms, probeTimeoutMs: cfg.timing.probe_timeout_ms, maxMisses: 3,
      connectList: cfg.connect_list, scanIntervalMs: cfg.timing.scan_interval_ms,
    })),
  );
  const arbiter = createActor(arbiterMachine, {
    input: {
      uplinks: slots.map((s) => s.name), initial: cfg.initial_uplink,
      settleMs: 1500, drainMs: cfg.timing.drain_ms, confirmTimeoutMs: cfg.timing.confirm_timeout_ms, confirmRetryMs: 50,
    },
  });

  arbiter.on('switch.done', ({ record }) => logSwitch(log, cfg.vehicle, record));
  arbiter.on('switch.refused', ({ to, why }) => log.warn({ event: 'switch.refused', to, why }, `switch to ${to} refused: ${why}`));
  let lastPhase = new Map<string, string>();
  arbiter.subscribe((snap) => {
    for (const s of Object.values(snap.context.status)) {
      if (lastPhase.get(s.name) !== s.phase) {
        lastPhase.set(s.name, s.phase);
        log.info({ event: 'uplink.phase', uplink: s.name, phase: s.phase, address: s.lease?.address ?? null, rtt_ms: s.rttMs }, `${s.name} ${s.phase}`);
      }
    }
  });
  arbiter.start();

  // The modem: bearer and signal for the LTE uplink, SMS and balance on the side.
  const modem = cfg.modem ? await startModem(cfg, log, arbiter) : null;

  const app = buildControlApp({ arbiter, log, modem: () => modem?.status() ?? null });
  await mkdir(dirname(cfg.control_socket), { recursive: true });
  await rm(cfg.control_socket, { force: true });
  await app.listen({ path: cfg.control_socket });
  log.info({ event: 'agent.started', vehicle: cfg.vehicle, control_socket: cfg.control_socket }, 'agent started');

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopping = false;
  return {
    done,
    async stop() {
      if (stopping) return done;
      stopping = true;
      await app.close().catch(() => {});
      modem?.stop();
      const leases = arbiter.getSnapshot().context.status;
      arbiter.stop();
      tunnelProber?.close();
      for (const r of radios.values()) await r.close().catch(() => {});
      await steer.remove();
      await wg.deleteInterface(wgIf).catch((err) => log.warn({ err: String(err) }, 'could not delete the tunnel interface'));
      for (const s of slots) await routing.clear(s, leases[s.name]?.lease ?? undefined);
      await rm(cfg.control_socket, { force: true });
      log.info({ event: 'agent.stopped' }, 'agent stopped');
      lastPhase = new Map();
      resolveDone();
    },
  };
}

function logSwitch(log: Logger, vehicle: string, r: SwitchRecord): void {
  log.info({ event: 'switch', vehicle, ...r }, `switch ${r.from ?? '-'} -> ${r.to} (${r.reason}) in ${r.ms_to_first_packet ?? 'unconfirmed'} ms`);
}
