// The slow watchdog beyond the concentrator: hosts pinged through the tunnel and DNS resolved through the active
// uplink, every few tens of seconds; after N failed rounds in a row it raises an alarm and the arbiter acts on it.
//
// waiting ──(interval)──▶ checking ──(round done or timed out)──▶ waiting
// The concentrator's own probes (seconds → ms) catch a dead path; this catches what they cannot: a tunnel that
// passes the probes but not traffic to HQ's hosts, and a carrier handing out bogus DNS servers (the field notes' NCM
// case, cured by reconnecting: a fresh address brings fresh servers).
import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import type { WatchdogDriver } from '../drivers/watchdog/watchdog.driver.js';

export interface WatchdogConfig {
  /** Hosts beyond the concentrator, pinged through the tunnel; the check fails when none answers. */
  hosts: string[];
  /** A name to resolve with these servers through the active uplink's own path. */
  dns: { name: string; servers: string[] } | null;
  intervalMs: number;
  timeoutMs: number;
  /** Failed rounds in a row before an alarm. */
  failures: number;
  /** The tunnel's interface (hosts are pinged out of it). */
  tunnelIf: string;
}

export interface RoundResult {
  hosts: Array<{ host: string; rttMs: number | null }>;
  /** null: no DNS check configured, or no active uplink to send it from. */
  dns: { ok: boolean; detail: string } | null;
}

export type WatchdogCheck = 'tunnel' | 'dns';
export interface WatchdogCounts {
  tunnel: number;
  dns: number;
}
export interface WatchdogAlarm {
  check: WatchdogCheck;
  why: string;
}

/** One round judged (pure): failures in a row per check, and an alarm when a check reaches `failures` (then its count restarts). */
export function judgeRound(counts: WatchdogCounts, r: RoundResult, failures: number): { counts: WatchdogCounts; alarms: WatchdogAlarm[] } {
  const alarms: WatchdogAlarm[] = [];
  const next = { ...counts };
  if (r.hosts.length > 0) {
    const answered = r.hosts.filter((h) => h.rttMs !== null);
    next.tunnel = answered.length === 0 ? counts.tunnel + 1 : 0;
    if (next.tunnel >= failures) {
      alarms.push({ check: 'tunnel', why: `no answer through the tunnel from ${r.hosts.map((h) => h.host).join(', ')} for ${next.tunnel} rounds` });
      next.tunnel = 0;
    }
  }
  if (r.dns) {
    next.dns = r.dns.ok ? 0 : counts.dns + 1;
    if (next.dns >= failures) {
      alarms.push({ check: 'dns', why: `DNS failing for ${next.dns} rounds: ${r.dns.detail}` });
      next.dns = 0;
    }
  }
  return { counts: next, alarms };
}

export type WatchdogEvent = { type: 'watchdog.path'; uplink: string | null; address: string | null };

interface Ctx {
  cfg: WatchdogConfig;
  counts: WatchdogCounts;
  uplink: string | null;
  address: string | null;
}

export function createWatchdogMachine(driver: WatchdogDriver) {
  return setup({
    types: { context: {} as Ctx, events: {} as WatchdogEvent, input: {} as WatchdogConfig },
    actors: {
      round: fromPromise<RoundResult, { cfg: WatchdogConfig; address: string | null }>(async ({ input, signal }) => {
        const { cfg, address } = input;
        const hosts = Promise.all(cfg.hosts.map(async (host) => ({ host, rttMs: await driver.pingHost(host, cfg.tunnelIf, cfg.timeoutMs, signal).catch(() => null) })));
        const dns = cfg.dns && address
          ? driver.resolve(cfg.dns.name, cfg.dns.servers, address, cfg.timeoutMs, signal).then(
            (a) => (a.length > 0 ? { ok: true, detail: `${cfg.dns!.name} is ${a[0]}` } : { ok: false, detail: `${cfg.dns!.name}: no address` }),
            (err: NodeJS.ErrnoException) => ({ ok: false, detail: `${cfg.dns!.name} via ${cfg.dns!.servers.join(', ')}: ${err.code ?? err.message}` }),
          )
          : Promise.resolve(null);
        return { hosts: await hosts, dns: await dns };
      }),
    },
    delays: {
      interval: ({ context }) => context.cfg.intervalMs,
      roundTimeout: ({ context }) => context.cfg.timeoutMs + 1000,
    },
  }).createMachine({
    id: 'watchdog',
    context: ({ input }) => ({ cfg: input, counts: { tunnel: 0, dns: 0 }, uplink: null, address: null }),
    on: {
      'watchdog.path': { actions: assign({ uplink: ({ event }) => event.uplink, address: ({ event }) => event.address }) },
    },
    initial: 'waiting',
    states: {
      waiting: { after: { interval: 'checking' } },
      checking: {
        invoke: {
          src: 'round',
          input: ({ context }) => ({ cfg: context.cfg, address: context.address }),
          onDone: {
            target: 'waiting',
            actions: enqueueActions(({ context, event, enqueue }) => {
              const judged = judgeRound(context.counts, event.output, context.cfg.failures);
              enqueue.assign({ counts: judged.counts });
              enqueue.sendParent({ type: 'watchdog.round', uplink: context.uplink, result: event.output, alarms: judged.alarms });
            }),
          },
          onError: 'waiting',
        },
        // A round that hangs (a stuck ping) is abandoned: leaving the state aborts it.
        after: { roundTimeout: 'waiting' },
      },
    },
  });
}

/** What the watchdog tells its parent after every round. */
export interface WatchdogRoundEvent {
  type: 'watchdog.round';
  /** The active uplink when the round ran. */
  uplink: string | null;
  result: RoundResult;
  alarms: WatchdogAlarm[];
}
