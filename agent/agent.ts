// The agent's composition root: wires the real drivers into the machines, brings the tunnel up, serves the control socket.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { readSecretFile } from '../shared/secret-file.js';
import { dirname, join } from 'node:path';
import { createActor } from 'xstate';
import { realClock } from '../shared/clock.js';
import type { AgentConfig } from '../shared/config/agent.js';
import { InputError } from '../shared/errors.js';
import { Ip } from '../shared/ip.js';
import type { Logger } from '../shared/log.js';
import { assertWgKey, createWg } from '../shared/wg.js';
import { buildControlApp } from './control.js';
import { startFleetLink, type FleetLink } from './ship/fleet-link.js';
import { whyRecordOf } from './journal/record.js';
import type { WhyRecord } from '../shared/wire/switch-event.js';
import { startModem, type RunningModem } from './modem.js';
import { budgetPath, fileBudgetStore, type BudgetStore } from './budget/store.js';
import { createDriveRecorder, driveHeaderOf, sysfsBytes } from './drive/recorder.js';
import { createTunnelMachine } from './machines/tunnel.machine.js';
import type { RadioDriver } from './drivers/radio.js';
import { openRadio } from './drivers/wpa/open.js';
import { createUdhcpcDriver } from './drivers/dhcp/udhcpc.js';
import { createLinkMonitor } from './drivers/links/link.monitor.js';
import { createSteerDriver } from './drivers/nft/steer.js';
import { createFirewallDriver, type FirewallSpec } from './drivers/nft/firewall.js';
import { createUdpProber, type Prober } from './drivers/probe/udp.probe.js';
import { createRoutingDriver, uplinkMark } from './drivers/routing/uplink.routing.js';
import { createArbiterMachine, type SwitchRecord } from './machines/arbiter.machine.js';
import { stateOf } from './machines/arbiter.decide.js';
import { createUplinkMachine, type UplinkInput, type UplinkReport } from './machines/uplink.machine.js';
import { createWatchdogMachine } from './machines/watchdog.machine.js';
import { createProbePool } from './drivers/probe/probe.pool.js';
import { createSysfsCounters } from './drivers/tunnel/counters.js';
import { createWatchdogDriver } from './drivers/watchdog/watchdog.driver.js';
import { DEFAULT_BUDGET, type BudgetUsage } from './policy/budget.js';
import { policyWith } from './policy/policy.js';
import { desiredOf, downDataPlane, startTunnel, type TunnelDeps } from './start/tunnel.start.js';
import { settleLeftIntents } from './start/intents.start.js';
import { testHooks } from './start/test-hooks.js';

export interface RunningAgent {
  /**
   * `release` (SIGTERM: a restart, an upgrade): the daemon goes, the data plane (tunnel, steering, routes, leases,
   * associations, the modem's bearer) stays for the next process to adopt. `down`: a stop for good, removing it all.
   */
  stop(mode?: 'release' | 'down'): Promise<void>;
  readonly done: Promise<void>;
}

/** Refuses a private key file others can read, then reads it (the key itself is never logged). */
export async function readPrivateKey(path: string, field: string): Promise<string> {
  return assertWgKey(await readSecretFile(path, field), field, false);
}

/** The firewall's spec from the config: the LAN, the tunnel's addresses and routes, every uplink. */
export function firewallSpec(cfg: AgentConfig): FirewallSpec {
  return {
    lan: cfg.lan ? { interface: cfg.lan.interface, subnet: cfg.lan.subnet } : null,
    tunnel: { interface: cfg.wireguard.interface, address: cfg.wireguard.address, peer: cfg.concentrator.tunnel_address, routes: cfg.concentrator.routes },
    uplinks: cfg.uplinks.map((u) => u.name),
    lanToInternet: cfg.lan?.direct_internet ?? false,
  };
}

async function sysctl(path: string, value: string): Promise<void> {
  await writeFile(`/proc/sys/net/ipv4/${path}`, value).catch(() => {});
}

/** The drivers the tunnel's start and its stop for good use (also `roamlink agent down`, with no agent running). */
export function createTunnelDeps(cfg: AgentConfig, log: Logger, radio: (ifname: string) => RadioDriver | null = () => null): TunnelDeps {
  const ip = new Ip();
  // Under systemd (INVOCATION_ID is set for a unit's processes), wireguard-go runs in a scope of its own: a restart of
  // the agent's unit kills the unit's whole cgroup, and the tunnel must outlive the daemon (docs/operator-guide.md).
  const wg = createWg(undefined, { ownScope: !!process.env.INVOCATION_ID });
  return { ip, wg, steer: createSteerDriver(), routing: createRoutingDriver(ip, cfg.wireguard.fwmark), radio, log };
}

export async function runAgent(cfg: AgentConfig, log: Logger): Promise<RunningAgent> {
  // The one clock: monotonic for decisions and durations, the system's wall clock for stamps (shared/clock.ts says why).
  const clock = realClock;
  const privateKey = await readPrivateKey(cfg.wireguard.private_key_file, 'wireguard.private_key_file');
  const wgIf = cfg.wireguard.interface;
  const wgMark = cfg.wireguard.fwmark;
  const [epHost, epPort] = cfg.concentrator.endpoint.split(':') as [string, string];
  const endpoint = { address: epHost, port: Number(epPort) };
  const radios = new Map<string, RadioDriver>();
  const tunnelDeps = createTunnelDeps(cfg, log, (n) => radios.get(n) ?? null);
  const { ip, wg, steer, routing } = tunnelDeps;
  const slots = cfg.uplinks.map((u, i) => ({ ...u, slot: i + 1 }));
  const slotOf = new Map(slots.map((s) => [s.name, s]));

  // The firewall before forwarding is on: the LAN talks to the tunnel, nothing from an uplink gets in (firewall.ts).
  const firewall = createFirewallDriver();
  await firewall.apply(firewallSpec(cfg));
  // Forwarding for the LAN; no reverse-path filter: replies arrive on whichever uplink carries the tunnel.
  await sysctl('ip_forward', '1');
  await sysctl('conf/all/rp_filter', '0');
  for (const u of cfg.uplinks) await sysctl(`conf/${u.name}/rp_filter`, '0');

  await mkdir(cfg.run_dir, { recursive: true, mode: 0o750 });
  // Radios: one wpa_supplicant control interface each (opened first: adoption asks them where they are).
  for (const u of cfg.uplinks) {
    if (u.kind !== 'wifi') continue;
    radios.set(u.name, await openRadio(u.name, u.ctrl_path ?? `/run/wpa_supplicant/${u.name}`, undefined, log, cfg.run_dir));
  }

  // The tunnel: what a previous process left is adopted as it is (a restart loses no packet), the rest made.
  const { peer } = desiredOf(cfg);
  const adopted = await startTunnel(cfg, privateKey, tunnelDeps);
  let peerConfigured = adopted.peerConfigured;

  // In-tunnel prober: its replies prove the concentrator reached us on the path we steered to.
  let tunnelProber: Prober | null = null;
  const tunnelTarget = { address: cfg.concentrator.tunnel_address, port: cfg.concentrator.probe_port };
  const probeTarget = { address: endpoint.address, port: cfg.concentrator.probe_port };

  // The LTE probe budget: each LTE uplink's spend today, kept in state_dir so a restart does not start the day over.
  const budget = { ...DEFAULT_BUDGET, bytes_per_day: cfg.lte_budget.bytes_per_day, min_interval_ms: cfg.lte_budget.min_interval_ms };
  const budgetStores = new Map<string, BudgetStore>();
  const budgetUsage = new Map<string, BudgetUsage>();
  for (const u of cfg.uplinks) {
    if (u.kind !== 'lte') continue;
    const path = budgetPath(cfg.state_dir, u.name);
    const store = fileBudgetStore(path, { budget, clock, warn: (msg) => log.warn({ event: 'budget.store', uplink: u.name }, msg) });
    budgetStores.set(u.name, store);
    const usage = store.load(clock.wallNow());
    if (!usage) continue;
    budgetUsage.set(u.name, usage);
    log.info({ event: 'budget.loaded', uplink: u.name, bytes: usage.bytes, bytes_per_day: budget.bytes_per_day, day_start: new Date(usage.day_start).toISOString() },
      `${u.name}: ${usage.bytes} of today's ${budget.bytes_per_day} LTE probe bytes spent before this start (${path})`);
  }
  // The modem dials the bearer of the first LTE uplink (agent/modem.ts): the watchdog's re-addressing of it is a redial.
  const modemUplink = cfg.modem ? cfg.uplinks.find((u) => u.kind === 'lte')?.name ?? null : null;
  let modem: RunningModem | null = null;

  // Probes through each uplink's own path: one socket per uplink, bound to its current address.
  const probes = createProbePool(probeTarget);
  const uplinkMachine = createUplinkMachine({
    dhcp: createUdhcpcDriver(cfg.run_dir),
    routing,
    now: () => clock.now(),
    wallNow: () => clock.wallNow(),
    radio: (ifname) => radios.get(ifname) ?? null,
    probe: (ifname, address, signal) => probes.probe(ifname, address, signal),
    onBudget: (uplink, usage) => budgetStores.get(uplink)?.record(usage),
    redial: (uplink, why) => {
      if (!modem) {
        log.warn({ event: 'uplink.redial', uplink, why }, `${uplink}: a redial of the bearer was asked (${why}), but the modem has not started`);
        return;
      }
      log.info({ event: 'uplink.redial', uplink, why }, `${uplink}: re-addressed by redialing the modem's bearer (${why})`);
      modem.redial(why);
    },
  });
  const policy = policyWith(cfg.policy);
  const counters = createSysfsCounters(wgIf);
  const watchdog = cfg.watchdog && (cfg.watchdog.hosts.length > 0 || cfg.watchdog.dns)
    ? {
      hosts: cfg.watchdog.hosts, dns: cfg.watchdog.dns ?? null, intervalMs: cfg.watchdog.interval_ms, timeoutMs: cfg.watchdog.timeout_ms,
      failures: cfg.watchdog.failures, tunnelIf: wgIf,
    }
    : null;
  const linkMonitor = createLinkMonitor();
  const hooks = testHooks();
  // A switch's intent, journaled before its steering (fleetLink is up before the arbiter starts).
  let fleet: FleetLink | null = null;
  const journalIntent = (intent: SwitchRecord) => {
    try {
      fleet?.intend(intent);
    } catch (err) {
      log.error({ event: 'journal.failed', id: intent.id, err: String(err) }, `could not journal the intent of switch ${intent.id}`);
    }
  };
  const abandonIntent = (intent: SwitchRecord, why: string) => {
    try {
      fleet?.journal.abandon(intent.id, why);
    } catch (err) {
      log.error({ event: 'journal.failed', id: intent.id, err: String(err) }, `could not mark switch ${intent.id} abandoned`);
    }
  };
  const arbiterMachine = createArbiterMachine(
    {
      async steer(to, signal, intent) {
        const lease = to.lease;
        if (!lease) throw new Error(`${to.name} has no address`);
        const slot = slotOf.get(to.name)!;
        if (intent) journalIntent(intent);
        try {
          await steer.steer({ wgMark, endpoint, target: { mark: uplinkMark(wgMark, slot), address: lease.address } }, signal);
        } catch (err) {
          // nft failed (its script is one transaction): no switch. Aborted (the agent stopping), it may have taken
          // effect: the intent stays open for the next process to settle by what it finds.
          if (intent && !signal.aborted) abandonIntent(intent, `steering failed: ${String(err)}`);
          throw err;
        }
        if (intent?.operator && hooks.holdOperatorSteerMs) await delay(hooks.holdOperatorSteerMs, undefined, { signal });
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
      readCounters: () => counters.read(),
      now: () => clock.now(),
      wallNow: () => clock.wallNow(),
      newId: () => randomUUID(),
    },
    uplinkMachine,
    slots.map((s): UplinkInput => ({
      name: s.name, slot: s.slot, kind: s.kind,
      probeIntervalMs: policy.probe_interval_ms, probeTimeoutMs: policy.probe_timeout_ms, maxMisses: 3,
      connectList: cfg.connect_list, scanIntervalMs: policy.scan_interval_ms, minSignal: policy.min_signal,
      budget, budgetUsage: budgetUsage.get(s.name) ?? null, redial: s.name === modemUplink,
      adopted: adopted.uplinks[s.name] ?? null,
    })),
    watchdog ? createWatchdogMachine(createWatchdogDriver()) : undefined,
  );
  const arbiterInput = {
    uplinks: slots.map((s) => s.name), initial: cfg.initial_uplink,
    settleMs: 1500, drainMs: cfg.timing.drain_ms, confirmTimeoutMs: cfg.timing.confirm_timeout_ms, confirmRetryMs: 50,
    policy, counterIntervalMs: 50, watchdog,
    adopted: adopted.active ? { uplink: adopted.active, address: adopted.uplinks[adopted.active]!.lease!.address } : null,
  };
  // The drive: what the arbiter hears, recorded for replay (agent/drive/).
  const drive = createDriveRecorder({
    dir: join(cfg.state_dir, 'drives'), header: driveHeaderOf(cfg.vehicle, arbiterInput, slots),
    now: () => clock.now(), wallNow: () => clock.wallNow(), readBytes: sysfsBytes(wgIf),
    onError: (err) => log.warn({ event: 'drive.failed', err: String(err) }, `drive recording: ${String(err)}`),
  });
  const arbiter = createActor(arbiterMachine, { input: arbiterInput, inspect: drive.inspect });
  drive.attach(arbiter);

  // Fleet operations: every switch journaled (fsync'd) before it is logged or shipped; heartbeats; site profiles.
  // A site's profile (matched by the AP in use) replaces the config's thresholds, without a restart.
  let lastSite: string | null | undefined;
  let lastVersion: number | null | undefined;
  let linkReady: FleetLink | null = null;
  const applySite = (link: FleetLink) => {
    const c = arbiter.getSnapshot().context as { active: string | null; status: Record<string, { ap: { ssid: string; bssid: string } | null }> };
    // Where the vehicle is: the active uplink's AP, else any radio's (on LTE the vehicle is still at that site).
    const ap = (c.active ? c.status[c.active]?.ap : null) ?? Object.values(c.status).find((u) => u.ap)?.ap ?? null;
    const applied = link.profileFor(ap ? { ssid: ap.ssid, bssid: ap.bssid } : null);
    const next = applied.site ? applied.policy : policy;
    if (applied.site === lastSite && applied.version === lastVersion) return;
    lastVersion = applied.version;
    lastSite = applied.site;
    arbiter.send({ type: 'policy.set', policy: next, site: applied.site });
    log.info({ event: 'site.applied', site: applied.site, version: applied.version }, `thresholds of site ${applied.site ?? '(none: config)'}`);
  };
  const fleetLink: FleetLink = await startFleetLink({
    vehicle: cfg.vehicle,
    stateDir: cfg.state_dir,
    apiUrl: `http://${cfg.concentrator.tunnel_address}:${cfg.concentrator.api_port}`,
    localAddress: cfg.wireguard.address,
    snapshot: () => {
      const c = arbiter.getSnapshot().context;
      return { active: c.active, status: c.status };
    },
    modem: () => {
      const b = modem?.status()?.balance as { amount?: number; currency?: string; at?: number } | null | undefined;
      return b?.amount !== undefined
        ? { balance: b.amount, currency: b.currency ?? null, balance_at: b.at ? new Date(b.at).toISOString() : null, operator: null }
        : null;
    },
    // Called at start too (the last good set from disk), before startFleetLink has returned.
    onSites: () => {
      lastSite = undefined;
      if (linkReady) applySite(linkReady);
    },
    metricsListen: cfg.metrics_listen,
    ...(cfg.drive.ship ? { driveDir: join(cfg.state_dir, 'drives'), driveShip: { intervalMs: cfg.drive.interval_ms, lteIntervalMs: cfg.drive.lte_interval_ms, lteBytesPerDay: cfg.drive.lte_bytes_per_day } } : {}),
    log,
    clock,
  });
  linkReady = fleetLink;
  fleet = fleetLink;
  // A switch the last process steered and never confirmed is completed (or, never steered, abandoned) before any new one.
  settleLeftIntents(fleetLink, adopted.steered, cfg.vehicle, log);
  applySite(fleetLink);
  arbiter.on('switch.done', ({ record }) => {
    drive.switched(record);
    let why: WhyRecord | null = null;
    try {
      why = fleetLink.recordSwitch(record).why;
    } catch (err) {
      log.error({ event: 'journal.failed', id: record.id, err: String(err) }, `could not journal switch ${record.id}`);
      why = whyRecordOf(record, record.site ?? null);
    }
    logSwitch(log, cfg.vehicle, record, why);
    applySite(fleetLink);
  });
  arbiter.on('switch.refused', ({ to, why }) => log.warn({ event: 'switch.refused', to, why }, `switch to ${to} refused: ${why}`));
  arbiter.on('tunnel.resteered', (e) => log.info({ event: 'tunnel.resteered', uplink: e.uplink, from: e.from, to: e.to }, `${e.uplink}'s address is now ${e.to}: tunnel re-steered (was ${e.from ?? 'none'})`));
  arbiter.on('watchdog.acted', (e) => log.warn({ event: 'watchdog.acted', uplink: e.uplink, action: e.action, why: e.why }, `watchdog: ${e.action} ${e.uplink}: ${e.why}`));
  let watchdogOk: boolean | null = null;
  arbiter.on('watchdog.round', ({ round }) => {
    const failing = round.result.hosts.length > 0 && round.result.hosts.every((h) => h.rttMs === null);
    const ok = !failing && round.result.dns?.ok !== false;
    // The first round's result, then every change (failures are warnings).
    if (ok !== watchdogOk) log[ok ? 'info' : 'warn']({ event: 'watchdog.round', ok, uplink: round.uplink, hosts: round.result.hosts, dns: round.result.dns }, ok ? 'watchdog: checks pass' : 'watchdog: a check failed');
    watchdogOk = ok;
  });
  // One line per change of an uplink's lifecycle phase or state (the names: standby, active, degraded, ...).
  let lastPhase = new Map<string, string>();
  arbiter.subscribe((snap) => {
    const ctx = snap.context;
    for (const s of Object.values(ctx.status) as UplinkReport[]) {
      const state = stateOf(s, { active: ctx.active, holdDown: ctx.holdDown, policy: ctx.policy, now: clock.now() });
      const key = `${s.phase}/${state}`;
      if (lastPhase.get(s.name) !== key) {
        lastPhase.set(s.name, key);
        log.info({ event: 'uplink.phase', uplink: s.name, phase: s.phase, state, address: s.lease?.address ?? null, rtt_ms: s.rttMs, signal: s.signal, loss: s.probe.loss, ap: s.ap }, `${s.name} ${s.phase} (${state})`);
      }
    }
  });
  arbiter.start();

  // The modem: bearer and signal for the LTE uplink, SMS and balance on the side.
  modem = cfg.modem ? await startModem(cfg, log, arbiter, clock) : null;

  // The tunnel keeper: a silent tunnel over a path that answers means the concentrator lost our session.
  const tunnel = createActor(createTunnelMachine({
    async probe(signal) {
      tunnelProber ??= await createUdpProber(cfg.wireguard.address, tunnelTarget);
      return tunnelProber.probe(signal);
    },
    pathOk() {
      const c = arbiter.getSnapshot().context as { active: string | null; status: Record<string, { ready: boolean; misses: number }> };
      const a = c.active ? c.status[c.active] : undefined;
      return peerConfigured && !!a?.ready && a.misses === 0;
    },
    async rehandshake() {
      log.warn({ event: 'tunnel.rehandshake' }, 'tunnel silent over a live path: forcing a new handshake');
      await wg.removePeer(wgIf, peer.publicKey);
      await wg.setPeer(wgIf, peer);
    },
    onChange: (up, why) => log.info({ event: up ? 'tunnel.up' : 'tunnel.down', why }, `tunnel ${up ? 'up' : 'down'}: ${why}`),
  }), { input: { intervalMs: 1000, timeoutMs: 500, misses: 3 } });
  tunnel.start();

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
    async stop(mode = 'release') {
      if (stopping) return done;
      stopping = true;
      await app.close().catch(() => {});
      modem?.stop();
      tunnel.stop();
      const leases = arbiter.getSnapshot().context.status;
      arbiter.stop();
      await drive.close();
      for (const b of budgetStores.values()) b.flush();
      await fleetLink.stop();
      tunnelProber?.close();
      probes.close();
      counters.close();
      for (const r of radios.values()) await r.close().catch(() => {});
      if (mode === 'down') {
        for (const s of slots) await routing.clear(s, leases[s.name]?.lease ?? undefined);
        const did = await downDataPlane(cfg, tunnelDeps).catch((err) => [`could not remove all of it: ${String(err)}`]);
        log.info({ event: 'agent.down', did }, `data plane removed: ${did.join('; ') || 'nothing was there'}`);
      }
      await rm(cfg.control_socket, { force: true });
      log.info({ event: 'agent.stopped', mode }, mode === 'down' ? 'agent stopped; data plane removed' : 'agent stopped; the data plane stays for the next start (roamlink agent down removes it)');
      lastPhase = new Map();
      resolveDone();
    },
  };
}

/** The switch log line: the record, with the why as it was journaled and shipped to HQ (the rule, the line for people,
 *  the site and thresholds, each candidate's signal, RTT, loss, phase and AP). */
function logSwitch(log: Logger, vehicle: string, r: SwitchRecord, why: WhyRecord | null): void {
  const { why: _decision, policy: _policy, ...rest } = r;
  log.info({ event: 'switch', vehicle, ...rest, site: r.site ?? null, why }, `switch ${r.from ?? '-'} -> ${r.to} (${r.reason}: ${why?.text ?? ''}) in ${r.ms_to_first_packet ?? 'unconfirmed'} ms`);
}
