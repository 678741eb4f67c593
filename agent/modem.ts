// Wires the modem into the agent: the modem machine with the AT driver, its signal to the LTE uplink, SMS and balance.
import { fileSmsGuardStore, smsGuardPath } from './sms/guard.store.js';
import { readSecretFile } from '../shared/secret-file.js';
import { createActor, type Actor, type AnyStateMachine } from 'xstate';
import type { Clock } from '../shared/clock.js';
import type { AgentConfig } from '../shared/config/agent.js';
import type { ModemConfig } from '../shared/config/modem.js';
import type { ReloadOutcome } from '../shared/config/reload.plan.js';
import type { Logger } from '../shared/log.js';
import type { Heartbeat } from '../shared/wire/heartbeat.js';
import { memoryPinGuard } from './drivers/modem/modem.driver.js';
import { openAtModem } from './drivers/modem/modem.at.js';
import { createModemMachine, type ModemStatus } from './machines/modem.machine.js';
import { createModemServices, readSmsSecret } from './modem.services.js';
import { arbiterView } from './machines/arbiter.machine.js';

export interface RunningModem {
  status(): (ModemStatus & { balance: unknown }) | null;
  /** The modem's part of a heartbeat to HQ: the last balance read (null: none yet). */
  heartbeat(): Heartbeat['modem'];
  /** Drop the data bearer and dial it again (only while online; the modem machine logs it either way). */
  redial(why: string): void;
  /** New SMS and balance settings (a config reload); the port, SIM and bearer settings need a restart. */
  reconfigure(modem: ModemConfig): void;
  stop(): void;
}

/** The heartbeat's modem part from the last balance read (pure): null until one has an amount. */
export function heartbeatModemOf(b: { amount?: number; currency?: string; at?: number } | null | undefined): Heartbeat['modem'] {
  return b?.amount !== undefined
    ? { balance: b.amount, currency: b.currency ?? null, balance_at: b.at ? new Date(b.at).toISOString() : null, operator: null }
    : null;
}

/** A secret file named in the config, checked like the private key (readSecretFile), or undefined when none is set. */
async function readOptional(path: string | undefined, field: string): Promise<string | undefined> {
  return path ? readSecretFile(path, field) : undefined;
}

/** `reload`: the agent's config reload (SMS RELOAD does what SIGHUP does). */
export async function startModem(cfg: AgentConfig, log: Logger, arbiter: Actor<AnyStateMachine>, clock: Clock, reload: () => Promise<ReloadOutcome>): Promise<RunningModem> {
  const m = cfg.modem!;
  // Every secret file is checked now, so a bad one stops the start like a bad private key (the PIN is read again when asked for).
  await readOptional(m.pin_file, 'modem.pin_file');
  await readSmsSecret(m.sms?.secret_file);
  const lte = cfg.uplinks.find((u) => u.kind === 'lte')?.name ?? null;
  const mlog = log.child({ component: 'modem' });
  // One guard for the life of the process: a PIN that failed once is never sent again.
  const pinGuard = memoryPinGuard();
  const ctx = () => arbiterView(arbiter);
  const switchTo = (to: string) =>
    new Promise<{ ok: boolean; message: string }>((resolve) => {
      const subs = [
        arbiter.on('switch.done', (e: { record: { to: string } }) => e.record.to === to && done({ ok: true, message: `switched to ${to}` })),
        arbiter.on('switch.refused', (e: { to: string; why: string }) => e.to === to && done({ ok: false, message: e.why })),
      ];
      const done = (r: { ok: boolean; message: string }) => {
        subs.forEach((s) => s.unsubscribe());
        resolve(r);
      };
      arbiter.send({ type: 'operator.switch', to });
    });
  let status: ModemStatus | null = null;
  const services = createModemServices({
    // Wall time: balance readings are stamped with it and shipped to HQ (balance_at).
    vehicle: cfg.vehicle, modem: m, log: mlog, now: () => clock.wallNow(),
    guard: fileSmsGuardStore(smsGuardPath(cfg.state_dir), (msg) => mlog.warn({ event: 'sms.guard' }, msg)),
    facts: () => {
      const c = ctx();
      const ups = Object.values(c.status);
      const active = c.active ? c.status[c.active] : undefined;
      return { activeUplink: c.active ?? undefined, activeKind: active?.kind, wifiUp: ups.some((u) => u.kind === 'wifi' && u.ready), tunnelUp: !!active?.ready };
    },
    handlers: {
      async status() {
        const c = ctx();
        return {
          vehicle: cfg.vehicle, active: c.active ?? undefined,
          uplinks: Object.values(c.status).map((u) => ({
            name: u.name, kind: u.kind, state: u.name === c.active ? 'active' : u.phase,
            signalDbm: u.kind === 'lte' ? status?.signalDbm ?? undefined : undefined, network: u.ap?.ssid,
          })),
          tunnel: { up: !!(c.active && c.status[c.active]?.ready), rttMs: c.active ? c.status[c.active]?.rttMs ?? undefined : undefined },
          balance: services.balance() ?? undefined,
        };
      },
      switchUplink: (uplink) => switchTo(uplink),
      callHome: async () => (lte ? switchTo(lte) : { ok: false, message: 'no LTE uplink configured' }),
      async reload() {
        const r = await reload();
        return { ok: r.ok, message: r.message };
      },
    },
  });
  const machine = createModemMachine({
    open: (signal) => openAtModem({ device: m.device, log: mlog, pinGuard, minPinRetries: m.min_pin_retries, signal }),
    pin: () => readOptional(m.pin_file, 'modem.pin_file'),
    bearer: { apn: m.apn, ipType: m.ip_type, user: m.user, auth: m.auth, password: await readOptional(m.password_file, 'modem.password_file') },
    log: mlog,
    // Monotonic: the recovery ladder's waits are durations (a wall clock stepped back a year must not stall them).
    now: () => clock.now(),
    services: (driver, signal) => services.pass(driver, signal),
    onStatus: (s) => {
      const before = status;
      status = s;
      if (s.phase !== before?.phase) mlog.info({ event: 'modem.status', phase: s.phase, registration: s.registration, signal_dbm: s.signalDbm, sim: s.simProblem }, `modem ${s.phase}`);
      if (lte && s.signalDbm !== null && s.signalDbm !== before?.signalDbm) {
        arbiter.getSnapshot().children[lte]?.send({ type: 'uplink.signal', dBm: s.signalDbm });
      }
    },
  });
  const actor = createActor(machine, { input: {} });
  actor.start();
  return {
    status: () => (status ? { ...status, balance: services.balance() } : null),
    heartbeat: () => heartbeatModemOf(services.balance()),
    redial: (why) => actor.send({ type: 'modem.redial', why }),
    reconfigure: (next) => services.reconfigure(next),
    stop: () => actor.stop(),
  };
}
