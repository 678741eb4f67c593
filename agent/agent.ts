// The agent's composition root: wires the real drivers into the machines in start order, one start module per concern
// (agent/start/), and stops them in reverse. It computes nothing itself.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createActor } from 'xstate';
import { realClock } from '../shared/clock.js';
import { loadAgentConfig, type AgentConfig } from '../shared/config/agent.js';
import type { ReloadOutcome } from '../shared/config/reload.plan.js';
import type { Logger } from '../shared/log.js';
import type { WhyRecord } from '../shared/wire/switch-event.js';
import { createDriveRecorder, driveHeaderOf, sysfsBytes } from './drive/recorder.js';
import { createUdhcpcDriver } from './drivers/dhcp/udhcpc.js';
import { createLinkMonitor } from './drivers/links/link.monitor.js';
import { createProbePool } from './drivers/probe/probe.pool.js';
import { PROBE_WITNESS, probeOnce } from './drivers/probe/udp.probe.js';
import { createSysfsCounters } from './drivers/tunnel/counters.js';
import { createWatchdogDriver } from './drivers/watchdog/watchdog.driver.js';
import { whyRecordOf } from './journal/record.js';
import { arbiterView, createArbiterMachine, runningTunnelOf } from './machines/arbiter.machine.js';
import { createUplinkMachine } from './machines/uplink.machine.js';
import { createWatchdogMachine } from './machines/watchdog.machine.js';
import { startModem, type RunningModem } from './modem.js';
import { policyWith } from './policy/policy.js';
import { configViewOf } from './reload/config.view.js';
import { createAgentReloader } from './reload/agent.reload.js';
import { startFleetLink, type FleetLink } from './ship/fleet-link.js';
import { arbiterInputOf, slotsOf, uplinkInputsOf } from './start/arbiter.inputs.js';
import { logArbiter, logSwitch } from './start/arbiter.log.js';
import { loadBudgets } from './start/budget.start.js';
import { serveControl } from './start/control.start.js';
import { prepareHost } from './start/host.start.js';
import { settleLeftIntents } from './start/intents.start.js';
import { createTunnelProbe, startTunnelKeeper } from './start/keeper.start.js';
import { openRadios } from './start/radios.start.js';
import { startHealth } from './start/health.start.js';
import { createSiteApplier } from './start/sites.start.js';
import { createSwitchSteer } from './start/switch.steer.js';
import { startHqFailover, type HqFailover } from './start/hq.start.js';
import { startCopyMeter } from './start/copy.meter.js';
import { REAL_CLOCK } from './machines/every.js';
import { testHooks } from './start/test-hooks.js';
import { createTunnelDeps, desiredOf, downDataPlane, readPrivateKey, startTunnel } from './start/tunnel.start.js';

export { createTunnelDeps, readPrivateKey } from './start/tunnel.start.js';
export { firewallSpec } from './start/host.start.js';

export interface RunningAgent {
  /** Re-reads the config file and puts what changed into effect, or refuses naming the field (SIGHUP). Never throws. */
  reload(source: string): Promise<ReloadOutcome>;
  /**
   * `release` (SIGTERM: a restart, an upgrade): the daemon goes, the data plane (tunnel, steering, routes, leases,
   * associations, the modem's bearer) stays for the next process to adopt. `down`: a stop for good, removing it all.
   */
  stop(mode?: 'release' | 'down'): Promise<void>;
  readonly done: Promise<void>;
}

export interface RunAgentOptions {
  /** The config file, read again by a reload (SIGHUP, `roamlink agent reload`, SMS RELOAD); none: a reload is refused. */
  configFile?: string;
}

export async function runAgent(cfg: AgentConfig, log: Logger, opts: RunAgentOptions = {}): Promise<RunningAgent> {
  // The one clock: monotonic for decisions and durations, the system's wall clock for stamps (shared/clock.ts says why).
  const clock = realClock;
  const privateKey = await readPrivateKey(cfg.wireguard.private_key_file, 'wireguard.private_key_file');
  const wgIf = cfg.wireguard.interface;
  const { want, peer } = desiredOf(cfg);
  const slots = slotsOf(cfg);
  const policy = policyWith(cfg.policy);

  await prepareHost(cfg);
  const radios = await openRadios(cfg, log);
  const tunnelDeps = createTunnelDeps(cfg, log, (n) => radios.get(n) ?? null);
  const { wg, routing } = tunnelDeps;
  // The tunnel: what a previous process left is adopted as it is (a restart loses no packet), the rest made.
  const adopted = await startTunnel(cfg, privateKey, tunnelDeps);
  const budgets = loadBudgets(cfg, log, clock);

  let modem: RunningModem | null = null;
  let fleet: FleetLink | null = null;
  let hq: HqFailover | null = null;
  const peerNow = () => hq?.peer() ?? peer;
  const probes = createProbePool({ address: want.endpoint.address, port: cfg.concentrator.probe_port });
  const tunnelProbe = createTunnelProbe(cfg);
  const counters = createSysfsCounters(wgIf);
  const linkMonitor = createLinkMonitor();
  const switchSteer = createSwitchSteer({
    steer: tunnelDeps.steer, routing, setPeer: () => wg.setPeer(wgIf, peerNow()), slots: new Map(slots.map((s) => [s.name, s])),
    wgMark: want.wgMark, endpoint: want.endpoint, peerConfigured: adopted.peerConfigured,
    journal: () => fleet, log, holdOperatorSteerMs: testHooks().holdOperatorSteerMs,
  });
  const uplinkMachine = createUplinkMachine({
    dhcp: createUdhcpcDriver(cfg.run_dir),
    routing,
    now: () => clock.now(),
    wallNow: () => clock.wallNow(),
    radio: (ifname) => radios.get(ifname) ?? null,
    probe: (ifname, address, signal) => probes.probe(ifname, address, signal),
    onBudget: (uplink, usage) => budgets.stores.get(uplink)?.record(usage),
    redial: (uplink, why) => {
      if (!modem) return log.warn({ event: 'uplink.redial', uplink, why }, `${uplink}: a redial of the bearer was asked (${why}), but the modem has not started`);
      log.info({ event: 'uplink.redial', uplink, why }, `${uplink}: re-addressed by redialing the modem's bearer (${why})`);
      modem.redial(why);
    },
  });
  const arbiterInput = arbiterInputOf(cfg, policy, adopted);
  const arbiterMachine = createArbiterMachine(
    {
      steer: (to, signal, intent) => switchSteer.steer(to, signal, intent),
      afterSwitch: (to) => switchSteer.afterSwitch(to),
      tunnelProbe: (signal) => tunnelProbe.probe(signal),
      watchLinks: (onChange, signal) => linkMonitor.watch((s) => onChange(s.ifname, s.carrier), signal),
      readCounters: () => counters.read(),
      now: () => clock.now(),
      wallNow: () => clock.wallNow(),
      newId: () => randomUUID(),
      // Two HQs: the other's probe echo asked through the active when it goes quiet (the far end's witness).
      ...(cfg.concentrator.endpoints.length > 1 ? {
        askOtherHq: async (bind: string, signal: AbortSignal) => {
          const target = hq?.otherProbe();
          if (!target) throw new Error('no other HQ yet');
          const hqText = `${target.address}:${target.port}`;
          try {
            const rtt = await probeOnce(bind, target, signal, PROBE_WITNESS);
            log.info({ event: 'hq.witness', from: bind, hq: hqText, answered: true, rtt_ms: Math.round(rtt * 10) / 10 }, `the other HQ (${hqText}) answers from ${bind} in ${Math.round(rtt)} ms: that path works`);
            return rtt;
          } catch (err) {
            log.info({ event: 'hq.witness', from: bind, hq: hqText, answered: false }, `the other HQ (${hqText}) did not answer from ${bind}`);
            throw err;
          }
        },
      } : {}),
    },
    uplinkMachine,
    uplinkInputsOf(cfg, policy, budgets.budget, budgets.usage, adopted),
    arbiterInput.watchdog ? createWatchdogMachine(createWatchdogDriver()) : undefined,
  );
  // The drive: what the arbiter hears, recorded for replay (agent/drive/).
  const drive = createDriveRecorder({
    dir: join(cfg.state_dir, 'drives'), header: driveHeaderOf(cfg.vehicle, arbiterInput, slots),
    clock, readBytes: sysfsBytes(wgIf), retentionMs: cfg.drive.retention_days * 86_400_000,
    // A day's new segment adopts the tunnel the arbiter runs on then (as a restarted agent adopts it).
    running: () => runningTunnelOf(view()),
    onError: (err) => log.warn({ event: 'drive.failed', err: String(err) }, `drive recording: ${String(err)}`),
  });
  const arbiter = createActor(arbiterMachine, { input: arbiterInput, inspect: drive.inspect });
  drive.attach(arbiter);
  const view = () => arbiterView(arbiter);

  // Fleet operations: every switch journaled (fsync'd) before it is logged or shipped; heartbeats; site profiles.
  const sites = createSiteApplier({ view, send: (e) => arbiter.send(e), policy, log });
  const health = startHealth(cfg, clock, log);
  const fleetLink: FleetLink = await startFleetLink({
    vehicle: cfg.vehicle,
    stateDir: cfg.state_dir,
    apiUrl: `http://${cfg.concentrator.tunnel_address}:${cfg.concentrator.api_port}`,
    localAddress: cfg.wireguard.address,
    snapshot: view,
    modem: () => modem?.heartbeat() ?? null,
    health: () => health?.latest() ?? null,
    // Called at start too (the last good set from disk), before startFleetLink has returned.
    onSites: () => {
      sites.reset();
      if (fleet) sites.apply(fleet);
    },
    metricsListen: cfg.metrics_listen,
    ...(cfg.drive.ship ? { driveDir: join(cfg.state_dir, 'drives'), driveShip: { intervalMs: cfg.drive.interval_ms, lteIntervalMs: cfg.drive.lte_interval_ms, lteBytesPerDay: cfg.drive.lte_bytes_per_day } } : {}),
    log,
    clock,
  });
  fleet = fleetLink;
  // A switch the last process steered and never confirmed is completed (or, never steered, abandoned) before any new one.
  settleLeftIntents(fleetLink, adopted.steered, cfg.vehicle, log);
  sites.apply(fleetLink);
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
    sites.apply(fleetLink);
  });
  // Redundancy: the copies steered with the tunnel's rule (the arbiter decides, the steering applies).
  // LTE's copies are spent from its lte_budget (read from their nft counter while LTE carries them).
  const copyMeter = startCopyMeter({
    read: () => tunnelDeps.steer.copyCounters(), spend: (uplink, bytes) => arbiter.send({ type: 'uplink.spent', uplink, bytes }),
    clock: REAL_CLOCK, log,
  });
  // A switch onto the copies' path: its steering replaces the rule, copies and all (switch.steer drops them then).
  arbiter.on('redundancy.changed', ({ via, bySwitch }) => {
    if (!bySwitch) void switchSteer.copy(via);
    copyMeter.via(via);
  });
  const unlog = logArbiter(arbiter, log, () => clock.now());
  arbiter.start();
  // Two HQs: the tunnel moves to the other when its HQ is silent on every path and the other answers.
  hq = startHqFailover({
    endpoints: cfg.concentrator.endpoints, probePort: cfg.concentrator.probe_port, peer, view, clock, log,
    failoverMs: cfg.concentrator.failover_ms, standbyProbeMs: policy.probe_interval_ms,
    ask: probeOnce,
    retargetSteer: (ep) => switchSteer.retarget(ep),
    retargetProbes: (target) => probes.retarget(target),
    peerConfigured: () => switchSteer.peerConfigured(),
    removePeer: (p) => wg.removePeer(wgIf, p.publicKey),
    setPeer: (p) => wg.setPeer(wgIf, p),
  });

  // A reload puts the new policy, connect-list, SMS settings and log level into effect in the running machines.
  const reloader = createAgentReloader({
    initial: cfg,
    load: () => (opts.configFile ? loadAgentConfig(opts.configFile) : Promise.reject(new Error('the agent was started without a config file'))),
    log,
    targets: {
      policy: (p) => sites.reloadPolicy(p, fleetLink),
      connectList: (list) => arbiter.send({ type: 'connect-list.set', list }),
      modem: (m) => modem?.reconfigure(m),
      logLevel(level) {
        log.level = level;
      },
    },
  });
  const reload = (source: string) => reloader.reload(source);

  // The modem: bearer and signal for the LTE uplink, SMS and balance on the side.
  modem = cfg.modem ? await startModem(cfg, log, arbiter, clock, () => reload('sms')) : null;
  const keeper = startTunnelKeeper({
    probe: (signal) => tunnelProbe.probe(signal), view, peerConfigured: () => switchSteer.peerConfigured(), log,
    async rehandshake() {
      await wg.removePeer(wgIf, peerNow().publicKey);
      await wg.setPeer(wgIf, peerNow());
    },
  });
  const control = await serveControl(cfg, arbiter, log, () => modem?.status() ?? null, {
    reload: () => reload('control'),
    config: () => configViewOf(reloader.running(), reloader.applied),
    health: () => health?.latest() ?? null,
  });
  log.info({ event: 'agent.started', vehicle: cfg.vehicle, control_socket: cfg.control_socket }, 'agent started');

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let stopping = false;
  return {
    done,
    reload,
    async stop(mode = 'release') {
      if (stopping) return done;
      stopping = true;
      await control.close();
      modem?.stop();
      keeper.stop();
      hq?.stop();
      const leases = view().status;
      copyMeter.stop();
      arbiter.stop();
      unlog();
      await drive.close();
      budgets.flush();
      await fleetLink.stop();
      await health?.stop();
      tunnelProbe.close();
      probes.close();
      counters.close();
      tunnelDeps.steer.close();
      for (const r of radios.values()) await r.close().catch(() => {});
      if (mode === 'down') {
        for (const s of slots) await routing.clear(s, leases[s.name]?.lease ?? undefined);
        const did = await downDataPlane(cfg, tunnelDeps).catch((err) => [`could not remove all of it: ${String(err)}`]);
        log.info({ event: 'agent.down', did }, `data plane removed: ${did.join('; ') || 'nothing was there'}`);
      }
      log.info({ event: 'agent.stopped', mode }, mode === 'down' ? 'agent stopped; data plane removed' : 'agent stopped; the data plane stays for the next start (roamlink agent down removes it)');
      resolveDone();
    },
  };
}
