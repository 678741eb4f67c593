// The agent's log lines of what the arbiter does: refusals, re-steering, the watchdog, and one line per change of an
// uplink's lifecycle phase or state (the names: standby, active, degraded, ...); the switch line itself.
import type { Actor, AnyStateMachine } from 'xstate';
import type { Logger } from '../../shared/log.js';
import type { WhyRecord } from '../../shared/wire/switch-event.js';
import { stateOf } from '../machines/arbiter.decide.js';
import { arbiterView, type ArbiterView, type SwitchRecord } from '../machines/arbiter.machine.js';
import type { WatchdogRoundEvent } from '../machines/watchdog.machine.js';

/** A watchdog round passes unless every host was silent or the DNS check failed (pure). */
export function watchdogOk(round: Pick<WatchdogRoundEvent, 'result'>): boolean {
  const failing = round.result.hosts.length > 0 && round.result.hosts.every((h) => h.rttMs === null);
  return !failing && round.result.dns?.ok !== false;
}

/** Each uplink's `phase/state` as the logs name it (pure): a line is logged when it changes. */
export function phaseKeys(v: ArbiterView, now: number): Map<string, { key: string; phase: string; state: string }> {
  const out = new Map<string, { key: string; phase: string; state: string }>();
  for (const s of Object.values(v.status)) {
    const state = stateOf(s, { active: v.active, holdDown: v.holdDown, policy: v.policy, now });
    out.set(s.name, { key: `${s.phase}/${state}`, phase: s.phase, state });
  }
  return out;
}

/** Subscribes the log lines to the arbiter; returns the unsubscribe. */
export function logArbiter(arbiter: Actor<AnyStateMachine>, log: Logger, now: () => number): () => void {
  const subs = [
    arbiter.on('switch.refused', ({ to, why }: { to: string; why: string }) => log.warn({ event: 'switch.refused', to, why }, `switch to ${to} refused: ${why}`)),
    arbiter.on('tunnel.resteered', (e: { uplink: string; from: string | null; to: string }) =>
      log.info({ event: 'tunnel.resteered', uplink: e.uplink, from: e.from, to: e.to }, `${e.uplink}'s address is now ${e.to}: tunnel re-steered (was ${e.from ?? 'none'})`)),
    arbiter.on('redundancy.changed', (e: { via: { name: string } | null; why: string }) =>
      log.info({ event: 'redundancy.changed', via: e.via?.name ?? null, why: e.why }, e.via ? `redundancy on: ${e.why}` : `redundancy off: ${e.why}`)),
    arbiter.on('watchdog.acted', (e: { uplink: string; action: string; why: string }) =>
      log.warn({ event: 'watchdog.acted', uplink: e.uplink, action: e.action, why: e.why }, `watchdog: ${e.action} ${e.uplink}: ${e.why}`)),
  ];
  // The first round's result, then every change (failures are warnings).
  let lastOk: boolean | null = null;
  subs.push(arbiter.on('watchdog.round', ({ round }: { round: WatchdogRoundEvent }) => {
    const ok = watchdogOk(round);
    if (ok !== lastOk) log[ok ? 'info' : 'warn']({ event: 'watchdog.round', ok, uplink: round.uplink, hosts: round.result.hosts, dns: round.result.dns }, ok ? 'watchdog: checks pass' : 'watchdog: a check failed');
    lastOk = ok;
  }));
  const last = new Map<string, string>();
  const phases = arbiter.subscribe(() => {
    const v = arbiterView(arbiter);
    for (const [name, p] of phaseKeys(v, now())) {
      if (last.get(name) === p.key) continue;
      last.set(name, p.key);
      const s = v.status[name]!;
      log.info({ event: 'uplink.phase', uplink: name, phase: p.phase, state: p.state, address: s.lease?.address ?? null, rtt_ms: s.rttMs, signal: s.signal, loss: s.probe.loss, ap: s.ap }, `${name} ${p.phase} (${p.state})`);
    }
  });
  return () => {
    subs.forEach((s) => s.unsubscribe());
    phases.unsubscribe();
  };
}

/** The switch log line: the record, with the why as it was journaled and shipped to HQ (the rule, the line for people,
 *  the site and thresholds, each candidate's signal, RTT, loss, phase and AP). */
export function logSwitch(log: Logger, vehicle: string, r: SwitchRecord, why: WhyRecord | null): void {
  const { why: _decision, policy: _policy, ...rest } = r;
  log.info({ event: 'switch', vehicle, ...rest, site: r.site ?? null, why }, `switch ${r.from ?? '-'} -> ${r.to} (${r.reason}: ${why?.text ?? ''}) in ${r.ms_to_first_packet ?? 'unconfirmed'} ms`);
}
