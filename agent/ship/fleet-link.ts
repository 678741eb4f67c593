// The agent's link to HQ's fleet operations, wired in one place: the switch journal, its shipper, heartbeats, the site
// profile sync and the /metrics listener. The agent's composition root starts it and hands it each switch.
import type { Server } from 'node:http';
import { realClock, type Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/log.js';
import type { Heartbeat } from '../../shared/wire/heartbeat.js';
import type { HostHealth } from '../../shared/wire/host-health.js';
import { matchSite, type ApInUse, type SiteSet } from '../../shared/wire/site-profile.js';
import { durableMarkSchema, type SwitchEvent } from '../../shared/wire/switch-event.js';
import type { SwitchRecord } from '../machines/arbiter.machine.js';
import type { UplinkStatus } from '../machines/uplink.machine.js';
import { settleIntents, type IntentVerdict } from '../adopt/intents.plan.js';
import { Journal, journalPath } from '../journal/journal.js';
import { switchEventFrom } from '../journal/record.js';
import { applyFor, type Applied } from '../sites/apply.js';
import { fileSiteStore, sitesPath } from '../sites/store.js';
import { SiteSync } from '../sites/sync.js';
import { createAgentApiClient } from './client.js';
import { readCounters } from './counters.js';
import { HeartbeatSender, heartbeatFrom } from './heartbeat.js';
import { AgentMetrics, serveMetrics } from './metrics.js';
import { Shipper } from './shipper.js';
import { DriveShipper, type DriveShipPolicy } from './drive.shipper.js';

export interface FleetLinkOptions {
  vehicle: string;
  /** Where journal.sqlite and sites.json live (the agent config's state_dir). */
  stateDir: string;
  /** The agents' API inside the tunnel, e.g. http://10.99.0.1:8080. */
  apiUrl: string;
  /** Our tunnel address: HQ knows us by it. */
  localAddress?: string;
  /** The arbiter's view: which uplink is active and each uplink's status. */
  snapshot: () => { active: string | null; status: Record<string, UplinkStatus> };
  /** LTE signal (RSRP, dBm) from the modem, by uplink name. */
  signalOf?: (uplink: string) => number | null | undefined;
  /** The modem's balance and operator, for the heartbeat. */
  modem?: () => Heartbeat['modem'];
  /** A new site profile set (from disk at start, then from HQ): re-apply profileFor(ap) to the arbiter. */
  onSites?: (set: SiteSet) => void;
  /** The latest host health sample (agent/ship/health.ts), carried in heartbeats to an HQ that takes it. */
  health?: () => HostHealth | null;
  heartbeatMs?: number;
  sitesPollMs?: number;
  /** The drive recorder's directory, shipped to HQ under `driveShip`; absent: drives stay on the vehicle. */
  driveDir?: string;
  driveShip?: Partial<DriveShipPolicy>;
  /** host:port for GET /metrics; absent: none. */
  metricsListen?: string;
  log: Logger;
  /** Waits, stamps and durations (realClock; a SimClock in tests). */
  clock?: Clock;
}

export interface FleetLink {
  /**
   * Journals a switch (on disk when this returns), then ships it and counts it. Call it first thing in the
   * switch handler, before the switch is logged: a switch anyone saw is a switch HQ will get.
   */
  recordSwitch(r: SwitchRecord): SwitchEvent;
  /**
   * Journals a switch about to be steered, with its why as decided (on disk when this returns); recordSwitch with the
   * same id completes it. Not shipped before then.
   */
  intend(r: SwitchRecord): void;
  /** A switch whose steering failed: its intent kept aside with why, never shipped. */
  abandon(id: string, why: string): void;
  /**
   * The intents a killed process left open, settled by where the found steering points (adopt/intents.plan.ts):
   * completed ones are shipped (once: same id), abandoned ones kept aside with why.
   */
  settleIntents(steeredTo: string | null): Array<IntentVerdict & { event: SwitchEvent }>;
  /** The thresholds for the AP in use (its site's profile over the defaults). */
  profileFor(ap: ApInUse | null): Applied;
  /** The site the vehicle is at now (from the active uplink's AP), or null. */
  site(): string | null;
  readonly metrics: AgentMetrics;
  readonly journal: Journal;
  /** HQ said (in a heartbeat's reply) that it takes the agent's clocks: events ship with `mono` and the batch's `sent`. */
  readonly hqTakesMono: boolean;
  readonly drives: DriveShipper | null;
  stop(): Promise<void>;
}

/** What the uplink reports beyond UplinkStatus's core, when the uplink machine has it (signal incl. LTE RSRP, probe loss). */
type Measured = UplinkStatus & { signal?: number | null; probe?: { loss?: number | null } };
const signalIn = (u: UplinkStatus | undefined) => (u as Measured | undefined)?.signal ?? u?.ap?.signal ?? null;
const lossIn = (u: UplinkStatus | undefined) => (u as Measured | undefined)?.probe?.loss ?? null;

/** The AP of the uplink carrying the tunnel, else of any associated radio. */
function apInUse(s: { active: string | null; status: Record<string, UplinkStatus> }, prefer?: string): ApInUse | null {
  const order = [prefer, s.active].filter((x): x is string => !!x);
  for (const n of order) {
    const ap = s.status[n]?.ap;
    if (ap) return { ssid: ap.ssid, bssid: ap.bssid };
  }
  return null;
}

export async function startFleetLink(o: FleetLinkOptions): Promise<FleetLink> {
  const clock = o.clock ?? realClock;
  const journal = Journal.open(journalPath(o.stateDir), clock, (s) =>
    o.log.warn({ event: 'journal.corrupt', file: s.path, moved_to: s.movedTo, err: s.why }, `${s.path} is not a journal SQLite can read (${s.why}): kept aside as ${s.movedTo}, a fresh journal started`));
  journal.prune(clock.wallNow() - 7 * 86_400_000);
  const client = createAgentApiClient({ baseUrl: o.apiUrl, localAddress: o.localAddress });
  const metrics = new AgentMetrics({ now: () => clock.now(), backlog: () => journal.backlog(), health: o.health, process: !!o.metricsListen });
  const log = o.log;
  let hqTakesMono = false;
  let hqTakesHealth = false;

  const shipper = new Shipper({
    journal,
    // The clock read as the batch goes: HQ relates each event's monotonic time to its own receive time. An HQ that has
    // not said it takes them gets neither (an older HQ refuses unknown fields).
    send: (events, signal) =>
      hqTakesMono
        ? client.postEvents(events, signal, { wall: new Date(clock.wallNow()).toISOString(), mono: { timeline: clock.timeline, ms: Math.round(clock.now() * 1000) / 1000 } })
        : client.postEvents(events.map(({ mono: _m, ...e }) => e), signal),
    durable: (want, signal) => client.durable(want, signal),
    timer: clock,
    log,
    onShipped: (n) => metrics.onShipped(n),
    onFailure: () => metrics.onShipFailure(),
  });

  const sites = new SiteSync({
    fetch: (version, signal) => client.getSites(version, signal),
    store: fileSiteStore(sitesPath(o.stateDir), (msg) => log.warn({ event: 'sites.file' }, msg)),
    timer: clock,
    intervalMs: o.sitesPollMs ?? 30_000,
    onChange: (set) => o.onSites?.(set),
    log,
  });
  const siteOf = (ap: ApInUse | null) => {
    const set = sites.current;
    return set ? (matchSite(set.sites, ap)?.name ?? null) : null;
  };

  let heartbeatFailing = 0; // heartbeats failed in a row
  const heartbeat = new HeartbeatSender({
    timer: clock,
    intervalMs: o.heartbeatMs ?? 5000,
    collect: () => {
      const s = o.snapshot();
      return heartbeatFrom({
        vehicle: o.vehicle, now: clock.wallNow(), active: s.active, site: siteOf(apInUse(s)),
        uplinks: Object.values(s.status).map((u) => ({ name: u.name, kind: u.kind, phase: u.phase, ready: u.ready, rttMs: u.rttMs, ap: u.ap })),
        signal: (n) => signalIn(s.status[n]) ?? o.signalOf?.(n), loss: (n) => lossIn(s.status[n]),
        counters: (n) => readCounters(n), modem: o.modem?.() ?? null,
        backlog: journal.backlog(), sitesVersion: sites.current?.version ?? null,
        ...(hqTakesHealth && o.health ? { health: o.health() } : {}),
      });
    },
    send: (hb, signal) => client.postHeartbeat(hb, signal),
    onReply: (r) => {
      if (heartbeatFailing) log.info({ event: 'heartbeat.resumed', after_failures: heartbeatFailing }, 'HQ answers heartbeats again');
      heartbeatFailing = 0;
      hqTakesMono = r.mono === true;
      hqTakesHealth = r.health === true;
      sites.hint(r.sites_version);
      const mark = durableMarkSchema.safeParse(r.durable);
      if (mark.success) shipper.observe(mark.data); // accepted batches it covers are shipped, without a GET
      if (journal.backlog() > 0) shipper.kick(); // HQ answers again: ship what waited, now
      drives?.kick();
    },
    // HQ did not answer the heartbeat as it should: ship anyway (the shipper retries on its own).
    // Said once when they start failing (and again every 60th), not every 5 s while HQ is out of reach.
    onError: (err) => {
      if (heartbeatFailing++ % 60 === 0) log.warn({ event: 'heartbeat.failed', failures: heartbeatFailing, err: err.message }, `heartbeat not answered (${err.message})`);
      if (journal.backlog() > 0 && shipper.state === 'idle') shipper.kick();
    },
  });

  const drives = o.driveDir
    ? new DriveShipper({
        dir: o.driveDir,
        send: (segment, offset, body, signal) => client.postDrive(segment, offset, body, signal),
        onLte: () => {
          const s = o.snapshot();
          return s.active !== null && s.status[s.active]?.kind === 'lte';
        },
        clock,
        policy: o.driveShip,
        log,
      })
    : null;

  let metricsServer: Server | null = null;
  if (o.metricsListen) metricsServer = await serveMetrics(o.metricsListen, () => metrics.render());

  // Whatever an earlier run left unshipped goes first.
  const left = journal.backlog();
  if (left) log.info({ event: 'journal.backlog', events: left }, `${left} switch events from before wait for HQ`);
  sites.start();
  // The first heartbeat's reply (or failure) starts shipping the backlog: by then the agent knows whether HQ takes its
  // clocks, so what waited ships with them.
  heartbeat.start();
  drives?.start();

  return {
    journal,
    metrics,
    get hqTakesMono() {
      return hqTakesMono;
    },
    drives,
    recordSwitch(r) {
      const s = o.snapshot();
      // What the decision saw is in the record; the site of the AP in use stands in only when the record has none.
      const event = switchEventFrom(r, { vehicle: o.vehicle, site: siteOf(apInUse(s, r.to)), timeline: clock.timeline });
      const { event: stored, invalid } = journal.append(event);
      if (invalid) log.error({ event: 'journal.invalid', id: r.id, field: invalid.field, err: invalid.message }, `switch ${r.id} kept in the journal but not shipped: ${invalid.field}: ${invalid.message}`);
      metrics.onSwitch(stored);
      shipper.kick();
      heartbeat.now();
      return stored;
    },
    intend(r) {
      const event = switchEventFrom(r, { vehicle: o.vehicle, site: siteOf(apInUse(o.snapshot(), r.to)) });
      journal.intend(event);
    },
    abandon(id, why) {
      journal.abandon(id, why);
    },
    settleIntents(steeredTo) {
      const open = journal.intents();
      const byId = new Map(open.map((e) => [e.id, e]));
      const verdicts = settleIntents(open, steeredTo).map((v) => ({ ...v, event: byId.get(v.id)! }));
      for (const v of verdicts) {
        if (v.do === 'complete' && journal.complete(v.id)) metrics.onSwitch(v.event);
        else if (v.do === 'abandon') journal.abandon(v.id, v.why);
      }
      if (verdicts.some((v) => v.do === 'complete')) shipper.kick();
      return verdicts;
    },
    profileFor: (ap) => applyFor(sites.current, ap),
    site: () => siteOf(apInUse(o.snapshot())),
    async stop() {
      await Promise.all([shipper.stop(), heartbeat.stop(), sites.stop(), drives?.stop()]);
      metricsServer?.close();
      metrics.close();
      client.close();
      journal.close();
    },
  };
}
