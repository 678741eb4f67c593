// The modem's lifecycle: device, SIM, registration, data bearer, signal; recovery ladder when the bearer fails.
//
// absent ─▶ opening ─▶ sim ─▶ registering ─▶ connecting ─▶ online ─(bearer lost)─▶ recovering ─▶ registering
// (connecting looks first: a bearer already up, left by the previous agent process, is adopted without a dial)
//   ▲                   └▶ locked (a PIN problem: no retry, to spare the SIM)        │
//   └──────────────── modem.gone from any state (unplugged, reset) ◀───────────────────┘
// online ─(modem.redial)─▶ redialing (release the bearer, wait until it is down) ─▶ connecting: the watchdog's cure for
// a carrier's bogus DNS servers (a fresh bearer brings a fresh address and fresh servers).
// The driver lives in the factory's closure, not in the context (which stays plain data). All waits are named delays.
import { assign, fromCallback, fromPromise, setup } from 'xstate';
import type { Logger } from '../../shared/log.js';
import type { BearerConfig, ModemDriver, ModemEvent, ModemSignal, RegistrationStatus, UnlockResult } from '../drivers/modem/modem.driver.js';
import { initialLadder, nextRecovery, recordAttempt, recordSuccess, executeRecoveryStep, type LadderState, type RecoveryStep } from '../drivers/modem/modem.recovery.js';

export type ModemPhase = 'absent' | 'opening' | 'sim' | 'locked' | 'registering' | 'connecting' | 'online' | 'redialing' | 'recovering';

export interface ModemStatus {
  phase: ModemPhase;
  registration: Pick<RegistrationStatus, 'registered' | 'state' | 'rat'> | null;
  signal: ModemSignal | null;
  /** RSRP (LTE) or RSSI (older RATs), dBm: what the arbiter compares. */
  signalDbm: number | null;
  bearer: boolean;
  simProblem: UnlockResult | null;
  lastError: string | null;
}

export interface ModemDeps {
  open: (signal: AbortSignal) => Promise<ModemDriver>;
  /** The SIM PIN (from pin_file), or undefined: read when needed, never kept in the context. */
  pin: () => Promise<string | undefined>;
  bearer: BearerConfig;
  log: Logger;
  now: () => number;
  /** Every status change (the agent forwards the signal to the LTE uplink and shows the rest). */
  onStatus: (s: ModemStatus) => void;
  /** Housekeeping while registered (SMS inbox, alerts, balance); one pass each call. */
  services?: (driver: ModemDriver, signal: AbortSignal) => Promise<void>;
}

export interface ModemTiming {
  reopenMs: number;
  registerPollMs: number;
  bearerPollMs: number;
  bearerTimeoutMs: number;
  signalPollMs: number;
  servicesMs: number;
}

/** signalPollMs: 5 s, as often as ModemManager's signal refresh at its quickest. The modems that can (Huawei ^HCSQ,
 *  Quectel +QIND) also report a change on their own, and the policy never compares LTE's signal: it is for the why and
 *  the operator. Each poll is an AT round trip the agent pays for in CPU. */
export const DEFAULT_MODEM_TIMING: ModemTiming = {
  reopenMs: 2000, registerPollMs: 1000, bearerPollMs: 500, bearerTimeoutMs: 30_000, signalPollMs: 5000, servicesMs: 30_000,
};

/** modem.redial: drop the data bearer and dial it again (a fresh bearer: a fresh address and DNS servers). Only online. */
export type ModemMachineEvent = ModemEvent | { type: 'modem.services' } | { type: 'modem.redial'; why: string };
type Ev = ModemMachineEvent;

interface Ctx extends ModemStatus {
  timing: ModemTiming;
  ladder: LadderState;
  waitMs: number;
  step: RecoveryStep | null;
}

const UNLOCKED: ReadonlySet<UnlockResult> = new Set(['ready', 'unlocked']);

export function signalDbm(s: ModemSignal): number | null {
  return s.rsrpDbm ?? s.rscpDbm ?? s.rssiDbm ?? null;
}

/**
 * A new reading over the last. A bare RSSI (^RSSI, +QIND "csq": no access technology) refreshes the RSSI of a full
 * reading of the same cell (^HCSQ, AT+CESQ) rather than replacing it: Huawei sends both on every change, and the
 * uplink's signal would otherwise flip between RSRP and RSSI (tens of dB apart) at each pair.
 */
export function mergeSignal(prev: ModemSignal | null, next: ModemSignal): ModemSignal {
  if (next.rat !== 'unknown' || !prev || prev.rat === 'unknown' || prev.rat === 'none') return next;
  return { ...prev, rssiDbm: next.rssiDbm, ...(next.csq !== undefined ? { csq: next.csq } : {}) };
}

function mergedSignal(prev: ModemSignal | null, next: ModemSignal): { signal: ModemSignal; signalDbm: number | null } {
  const signal = mergeSignal(prev, next);
  return { signal, signalDbm: signalDbm(signal) };
}

export function createModemMachine(deps: ModemDeps) {
  let driver: ModemDriver | null = null;
  const d = () => {
    if (!driver || driver.gone) throw new Error('modem gone');
    return driver;
  };
  const closeDriver = () => {
    const old = driver;
    driver = null;
    void old?.close().catch(() => {});
  };

  return setup({
    types: { context: {} as Ctx, events: {} as Ev, input: {} as Partial<ModemTiming> },
    actors: {
      open: fromPromise<void, void>(async ({ signal }) => {
        closeDriver();
        driver = await deps.open(signal);
      }),
      events: fromCallback<Ev, void>(({ sendBack }) => driver?.onEvent((ev) => sendBack(ev))),
      sim: fromPromise<UnlockResult, void>(async ({ signal }) => {
        const sim = await d().simStatus(signal);
        if (sim.state === 'ready') return 'ready';
        return d().unlock(await deps.pin(), signal);
      }),
      registration: fromPromise<RegistrationStatus, void>(({ signal }) => d().registration(signal)),
      connect: fromPromise<void, void>(({ signal }) => d().connect(deps.bearer, signal)),
      disconnect: fromPromise<void, void>(({ signal }) => d().disconnect(signal)),
      bearerStatus: fromPromise<boolean, void>(async ({ signal }) => (await d().bearerStatus(signal)).connected),
      signal: fromPromise<ModemSignal, void>(({ signal }) => d().signal(signal)),
      recover: fromPromise<void, { ladder: LadderState; now: number }>(async ({ input, signal }) => {
        const decision = nextRecovery(input.ladder, input.now);
        if (decision.action === 'step') await executeRecoveryStep(d(), decision, { bearer: deps.bearer, signal, log: deps.log });
      }),
      services: fromPromise<void, void>(async ({ signal }) => {
        if (deps.services) await deps.services(d(), signal);
      }),
    },
    delays: {
      reopen: ({ context }) => context.timing.reopenMs,
      registerPoll: ({ context }) => context.timing.registerPollMs,
      bearerPoll: ({ context }) => context.timing.bearerPollMs,
      bearerTimeout: ({ context }) => context.timing.bearerTimeoutMs,
      signalPoll: ({ context }) => context.timing.signalPollMs,
      services: ({ context }) => context.timing.servicesMs,
      ladderWait: ({ context }) => context.waitMs,
    },
    actions: {
      report: ({ context }, params: { phase: ModemPhase }) => {
        const { timing, ladder, waitMs, step, ...status } = context;
        void timing; void ladder; void waitMs; void step;
        deps.onStatus({ ...status, phase: params.phase });
      },
      logPhase: ({ context }, params: { phase: ModemPhase }) => {
        deps.log.info({ event: 'modem.phase', phase: params.phase, last_error: context.lastError }, `modem ${params.phase}`);
      },
      dropDriver: () => closeDriver(),
    },
  }).createMachine({
    id: 'modem',
    context: ({ input }) => ({
      timing: { ...DEFAULT_MODEM_TIMING, ...input }, ladder: initialLadder, waitMs: 0, step: null,
      phase: 'absent', registration: null, signal: null, signalDbm: null, bearer: false, simProblem: null, lastError: null,
    }),
    initial: 'opening',
    on: {
      'modem.gone': { target: '.absent', actions: assign({ lastError: ({ event }) => `device gone${event.reason ? `: ${event.reason}` : ''}` }) },
      // Online handles it; anywhere else there is no bearer to redial (or one is being made already).
      'modem.redial': {
        actions: ({ event }) => deps.log.info({ event: 'modem.redial', why: event.why, redialing: false }, `modem: redial asked (${event.why}) while not online: ignored`),
      },
    },
    states: {
      absent: {
        entry: ['dropDriver', assign({ bearer: false, registration: null, signal: null, signalDbm: null }), { type: 'report', params: { phase: 'absent' } }, { type: 'logPhase', params: { phase: 'absent' } }],
        after: { reopen: 'opening' },
      },
      opening: {
        invoke: {
          src: 'open',
          onDone: 'present',
          onError: { target: 'absent', actions: assign({ lastError: ({ event }) => String((event.error as Error)?.message ?? event.error) }) },
        },
      },
      // Everything below has a live driver whose events (URCs, gone) reach the machine.
      present: {
        invoke: { src: 'events' },
        on: {
          'modem.bearer': [
            { guard: ({ event }) => !event.connected, target: '.recovering', actions: assign({ bearer: false }) },
          ],
        },
        initial: 'sim',
        states: {
          sim: {
            entry: { type: 'report', params: { phase: 'sim' } },
            invoke: {
              src: 'sim',
              onDone: [
                { guard: ({ event }) => UNLOCKED.has(event.output), target: 'registering', actions: assign({ simProblem: null }) },
                { target: 'locked', actions: assign({ simProblem: ({ event }) => event.output }) },
              ],
              onError: { target: '#modem.absent', actions: assign({ lastError: ({ event }) => String((event.error as Error)?.message ?? event.error) }) },
            },
          },
          // A PIN problem is not retried: a second wrong PIN costs the SIM a retry. An operator fixes the PIN file
          // and restarts the agent (or replugs the modem).
          locked: {
            entry: [{ type: 'report', params: { phase: 'locked' } }, ({ context }) => deps.log.error({ event: 'modem.sim', problem: context.simProblem }, `SIM not usable: ${context.simProblem}`)],
          },
          registering: {
            entry: { type: 'report', params: { phase: 'registering' } },
            initial: 'asking',
            states: {
              asking: {
                invoke: {
                  src: 'registration',
                  onDone: [
                    {
                      guard: ({ event }) => event.output.registered,
                      target: '#modem.present.connecting',
                      actions: assign({ registration: ({ event }) => ({ registered: true, state: event.output.state, rat: event.output.rat }) }),
                    },
                    { target: 'waiting', actions: assign({ registration: ({ event }) => ({ registered: false, state: event.output.state, rat: event.output.rat }) }) },
                  ],
                  onError: 'waiting',
                },
              },
              waiting: { after: { registerPoll: 'asking' } },
            },
          },
          connecting: {
            entry: { type: 'report', params: { phase: 'connecting' } },
            after: { bearerTimeout: { target: 'recovering', actions: assign({ lastError: 'bearer did not come up' }) } },
            on: { 'modem.bearer': { guard: ({ event }) => event.connected, target: 'online' } },
            // A bearer already up (an agent restart: the bearer outlives the process) is adopted, not dialed again: a
            // dial would cost the LTE uplink its address and the tunnel's standby its path.
            initial: 'looking',
            states: {
              looking: {
                invoke: {
                  src: 'bearerStatus',
                  onDone: [
                    {
                      guard: ({ event }) => event.output,
                      target: '#modem.present.online',
                      actions: () => deps.log.info({ event: 'modem.adopted' }, 'modem: the data bearer is up already: adopted, not dialed'),
                    },
                    { target: 'dialing' },
                  ],
                  onError: 'dialing',
                },
              },
              dialing: {
                invoke: { src: 'connect', onDone: 'checking', onError: 'checking' },
              },
              checking: {
                invoke: {
                  src: 'bearerStatus',
                  onDone: [{ guard: ({ event }) => event.output, target: '#modem.present.online' }, { target: 'waiting' }],
                  onError: 'waiting',
                },
              },
              waiting: { after: { bearerPoll: 'checking' } },
            },
          },
          online: {
            entry: [assign({ bearer: true, ladder: ({ context }) => recordSuccess(context.ladder), lastError: null }), { type: 'report', params: { phase: 'online' } }, { type: 'logPhase', params: { phase: 'online' } }],
            on: {
              'modem.signal': { actions: [assign(({ context, event }) => mergedSignal(context.signal, event.signal)), { type: 'report', params: { phase: 'online' } }] },
              'modem.redial': {
                target: 'redialing',
                actions: ({ event }) => deps.log.warn({ event: 'modem.redial', why: event.why, redialing: true }, `modem: redialing the data bearer (${event.why})`),
              },
            },
            type: 'parallel',
            states: {
              signal: {
                initial: 'reading',
                states: {
                  reading: {
                    invoke: {
                      src: 'signal',
                      onDone: { target: 'waiting', actions: [assign(({ context, event }) => mergedSignal(context.signal, event.output)), { type: 'report', params: { phase: 'online' } }] },
                      onError: 'waiting',
                    },
                  },
                  waiting: { after: { signalPoll: 'reading' } },
                },
              },
              services: {
                initial: 'running',
                states: {
                  running: { invoke: { src: 'services', onDone: 'waiting', onError: 'waiting' } },
                  waiting: { after: { services: 'running' }, on: { 'modem.sms': 'running' } },
                },
              },
            },
          },
          // Asked to: release the bearer, wait until the modem says it is down, then dial again (connecting). The
          // bearer going down is expected here, not a loss to recover from; one that will not go down is.
          redialing: {
            entry: [assign({ bearer: false }), { type: 'report', params: { phase: 'redialing' } }],
            on: { 'modem.bearer': { guard: ({ event }) => !event.connected, actions: [] } },
            after: { bearerTimeout: { target: 'recovering', actions: assign({ lastError: 'bearer not released for a redial' }) } },
            initial: 'releasing',
            states: {
              releasing: { invoke: { src: 'disconnect', onDone: 'checking', onError: 'checking' } },
              checking: {
                invoke: {
                  src: 'bearerStatus',
                  onDone: [{ guard: ({ event }) => !event.output, target: '#modem.present.connecting' }, { target: 'waiting' }],
                  onError: 'waiting',
                },
              },
              waiting: { after: { bearerPoll: 'checking' } },
            },
          },
          recovering: {
            entry: [assign({ bearer: false }), { type: 'report', params: { phase: 'recovering' } }, { type: 'logPhase', params: { phase: 'recovering' } }],
            initial: 'deciding',
            states: {
              deciding: {
                always: [
                  {
                    guard: ({ context }) => nextRecovery(context.ladder, deps.now()).action === 'wait',
                    target: 'waiting',
                    actions: assign({
                      waitMs: ({ context }) => {
                        const dcs = nextRecovery(context.ladder, deps.now());
                        return dcs.action === 'wait' ? Math.max(0, dcs.until - deps.now()) : 0;
                      },
                    }),
                  },
                  {
                    target: 'stepping',
                    actions: assign({
                      step: ({ context }) => {
                        const dcs = nextRecovery(context.ladder, deps.now());
                        return dcs.action === 'step' ? dcs.step : null;
                      },
                    }),
                  },
                ],
              },
              waiting: { after: { ladderWait: 'deciding' } },
              stepping: {
                exit: assign({ ladder: ({ context }) => (context.step ? recordAttempt(context.ladder, context.step, deps.now()) : context.ladder), step: null }),
                invoke: {
                  src: 'recover',
                  input: ({ context }) => ({ ladder: context.ladder, now: deps.now() }),
                  onDone: '#modem.present.registering',
                  onError: 'deciding',
                },
              },
            },
          },
        },
      },
    },
  });
}
