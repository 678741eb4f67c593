// The arbiter: owns which uplink carries the tunnel and runs the make-before-break switch sequence.
//
// steady ──(decision)──▶ switching.steering ─▶ confirming ─▶ draining ─▶ steady
// Steering moves WireGuard's outer packets to the new uplink (already addressed and probed through its own path);
// confirming waits for the first reply through the tunnel on the new path; draining leaves the old uplink
// untouched while packets in flight arrive.
import { assign, emit, enqueueActions, fromCallback, fromPromise, setup, type AnyStateMachine } from 'xstate';
import type { UplinkInput, UplinkStatus } from './uplink.machine.js';
import { pickAfterLoss, type SwitchReason } from './arbiter.decide.js';

export interface SwitchRecord {
  id: string;
  from: string | null;
  to: string;
  reason: SwitchReason;
  /** Wall-clock ms (same clock as the lab's meters). */
  decided_at: number;
  steered_at: number;
  confirmed_at: number | null;
  /** Decision to first reply on the new path. */
  ms_to_first_packet: number | null;
  candidates: Array<Pick<UplinkStatus, 'name' | 'phase' | 'ready' | 'rttMs' | 'misses' | 'carrier'>>;
}

export interface ArbiterDeps {
  /** Steers the tunnel's outer packets onto this uplink. */
  steer: (to: UplinkStatus, signal: AbortSignal) => Promise<void>;
  /** Housekeeping once the new path carries the tunnel (off the critical path). */
  afterSwitch: (to: UplinkStatus, signal: AbortSignal) => Promise<void>;
  /** One probe through the tunnel; resolves with the RTT. */
  tunnelProbe: (signal: AbortSignal) => Promise<number>;
  /** Carrier changes of every link, until the signal aborts. */
  watchLinks: (onChange: (ifname: string, up: boolean) => void, signal: AbortSignal) => Promise<void>;
  wallNow: () => number;
  newId: () => string;
}

export interface ArbiterInput {
  uplinks: string[];
  initial?: string;
  /** After the first uplink is ready, how long to wait for the others before choosing where to start. */
  settleMs: number;
  drainMs: number;
  confirmTimeoutMs: number;
  confirmRetryMs: number;
  /** After a failed steering, how long before the arbiter decides on its own again (default 1000). */
  steerRetryMs?: number;
}

export type ArbiterEvent =
  | { type: 'uplink.status'; status: UplinkStatus }
  | { type: 'link.changed'; ifname: string; up: boolean }
  | { type: 'operator.switch'; to: string };

export type ArbiterEmitted =
  | { type: 'switch.done'; record: SwitchRecord }
  | { type: 'switch.refused'; to: string; why: string };

interface Pending {
  from: string | null;
  to: string;
  reason: SwitchReason;
  decidedAt: number;
  steeredAt: number | null;
  candidates: SwitchRecord['candidates'];
}

interface Ctx extends ArbiterInput {
  status: Record<string, UplinkStatus>;
  active: string | null;
  pending: Pending | null;
  /** A steering just failed: no decision of the arbiter's own until steerRetry has passed (operators may still switch). */
  coolingDown: boolean;
}

function candidates(status: Record<string, UplinkStatus>): SwitchRecord['candidates'] {
  return Object.values(status).map(({ name, phase, ready, rttMs, misses, carrier }) => ({ name, phase, ready, rttMs, misses, carrier }));
}

export function createArbiterMachine(deps: ArbiterDeps, uplinkMachine: AnyStateMachine, uplinkInputs: UplinkInput[]) {
  const begin = (ctx: Ctx, to: string, reason: SwitchReason): Pending => ({
    from: ctx.active, to, reason, decidedAt: deps.wallNow(), steeredAt: null, candidates: candidates(ctx.status),
  });

  return setup({
    types: {
      context: {} as Ctx,
      events: {} as ArbiterEvent,
      input: {} as ArbiterInput,
      emitted: {} as ArbiterEmitted,
    },
    actors: {
      uplink: uplinkMachine,
      links: fromCallback(({ sendBack }) => {
        const ac = new AbortController();
        deps.watchLinks((ifname, up) => sendBack({ type: 'link.changed', ifname, up }), ac.signal).catch(() => {});
        return () => ac.abort();
      }),
      steer: fromPromise<void, { to: UplinkStatus }>(({ input, signal }) => deps.steer(input.to, signal)),
      settle: fromPromise<void, { to: UplinkStatus }>(({ input, signal }) => deps.afterSwitch(input.to, signal)),
      tunnelProbe: fromPromise<number, void>(({ signal }) => deps.tunnelProbe(signal)),
    },
    guards: {
      anyReady: ({ context }) => Object.values(context.status).some((u) => u.ready),
      allReady: ({ context }) => context.uplinks.every((n) => context.status[n]?.ready),
    },
    delays: {
      settle: ({ context }) => context.settleMs,
      drain: ({ context }) => context.drainMs,
      confirmTimeout: ({ context }) => context.confirmTimeoutMs,
      confirmRetry: ({ context }) => context.confirmRetryMs,
      steerRetry: ({ context }) => context.steerRetryMs ?? 1000,
    },
    actions: {
      record: assign({ status: ({ context, event }) => (event.type === 'uplink.status' ? { ...context.status, [event.status.name]: event.status } : context.status) }),
      beginInitial: assign({
        pending: ({ context }) => {
          const preferred = context.initial && context.status[context.initial]?.ready ? context.initial : null;
          return begin(context, preferred ?? pickAfterLoss(Object.values(context.status), null)!, 'initial');
        },
      }),
      finish: enqueueActions(({ context, event, enqueue }) => {
        const p = context.pending!;
        const confirmed = event.type.startsWith('xstate.done.actor') ? deps.wallNow() : null;
        const record: SwitchRecord = {
          id: deps.newId(), from: p.from, to: p.to, reason: p.reason,
          decided_at: p.decidedAt, steered_at: p.steeredAt ?? p.decidedAt, confirmed_at: confirmed,
          ms_to_first_packet: confirmed === null ? null : Math.round((confirmed - p.decidedAt) * 100) / 100,
          candidates: p.candidates,
        };
        enqueue.emit({ type: 'switch.done', record });
      }),
    },
  }).createMachine({
    id: 'arbiter',
    context: ({ input }) => ({ ...input, status: {}, active: null, pending: null, coolingDown: false }),
    invoke: [
      { src: 'links' },
      ...uplinkInputs.map((u) => ({ id: u.name, src: 'uplink' as const, input: u })),
    ],
    on: {
      'uplink.status': { actions: 'record' },
      'link.changed': {
        actions: enqueueActions(({ event, context, enqueue }) => {
          if (event.type === 'link.changed' && context.uplinks.includes(event.ifname)) {
            enqueue.sendTo(event.ifname, { type: 'link.carrier', up: event.up });
          }
        }),
      },
    },
    initial: 'starting',
    states: {
      starting: {
        on: {
          'uplink.status': { actions: 'record' },
          'operator.switch': { actions: emit(({ event }) => ({ type: 'switch.refused' as const, to: event.to, why: 'no uplink is ready yet' })) },
        },
        always: { guard: 'anyReady', target: 'settling' },
      },
      // The first ready uplink starts a short wait, so a slower Wi-Fi is not beaten to the start by LTE.
      settling: {
        on: {
          'uplink.status': { actions: 'record' },
          'operator.switch': { actions: emit(({ event }) => ({ type: 'switch.refused' as const, to: event.to, why: 'no uplink is ready yet' })) },
        },
        always: { guard: 'allReady', target: 'switching', actions: 'beginInitial' },
        // The uplink that started the wait may be gone by now: with nothing ready, wait for the next one.
        after: { settle: [{ guard: 'anyReady', target: 'switching', actions: 'beginInitial' }, { target: 'starting' }] },
      },
      steady: {
        // A steering that keeps failing is retried once per steerRetry, not in a loop (each try runs nft).
        after: { steerRetry: { guard: ({ context }) => context.coolingDown, actions: assign({ coolingDown: false }) } },
        always: [
          {
            // No uplink carries the tunnel (the initial steering failed): start as soon as one is ready.
            guard: ({ context }) => !context.coolingDown && !context.active && pickAfterLoss(Object.values(context.status), null) !== null,
            target: 'switching',
            actions: 'beginInitial',
          },
          {
            guard: ({ context }) => {
              if (!context.active || context.coolingDown) return false;
              const s = context.status[context.active];
              return (!s || !s.ready) && pickAfterLoss(Object.values(context.status), context.active) !== null;
            },
            target: 'switching',
            actions: assign({
              pending: ({ context }) => {
                const s = context.status[context.active!];
                return begin(context, pickAfterLoss(Object.values(context.status), context.active)!, s && !s.carrier ? 'carrier' : 'failed');
              },
            }),
          },
        ],
        on: {
          'operator.switch': [
            {
              guard: ({ context, event }) => event.to === context.active,
              actions: emit(({ event }) => ({ type: 'switch.refused' as const, to: event.to, why: `${event.to} is already active` })),
            },
            {
              guard: ({ context, event }) => context.status[event.to]?.ready === true,
              target: 'switching',
              actions: assign({ pending: ({ context, event }) => begin(context, event.to, 'operator') }),
            },
            {
              actions: emit(({ context, event }) => ({
                type: 'switch.refused' as const, to: event.to,
                why: context.status[event.to] ? `${event.to} is not ready (${context.status[event.to]!.phase})` : `no uplink named ${event.to}`,
              })),
            },
          ],
        },
      },
      switching: {
        on: {
          'operator.switch': { actions: emit(({ event }) => ({ type: 'switch.refused' as const, to: event.to, why: 'a switch is under way' })) },
        },
        initial: 'steering',
        states: {
          steering: {
            invoke: {
              src: 'steer',
              input: ({ context }) => ({ to: context.status[context.pending!.to]! }),
              onDone: {
                target: 'confirming',
                actions: assign({
                  active: ({ context }) => context.pending!.to,
                  pending: ({ context }) => ({ ...context.pending!, steeredAt: deps.wallNow() }),
                  coolingDown: false,
                }),
              },
              onError: {
                target: '#arbiter.steady',
                actions: [
                  emit(({ context, event }) => ({ type: 'switch.refused' as const, to: context.pending!.to, why: `steering failed: ${String(event.error)}` })),
                  assign({ pending: null, coolingDown: true }),
                ],
              },
            },
          },
          confirming: {
            initial: 'asking',
            after: { confirmTimeout: { target: 'draining', actions: 'finish' } },
            states: {
              asking: {
                invoke: {
                  src: 'tunnelProbe',
                  onDone: { target: '#arbiter.switching.draining', actions: 'finish' },
                },
                after: { confirmRetry: { target: 'asking', reenter: true } },
              },
            },
          },
          draining: {
            invoke: { src: 'settle', input: ({ context }) => ({ to: context.status[context.active!]! }) },
            after: { drain: { target: '#arbiter.steady', actions: assign({ pending: null }) } },
          },
        },
      },
    },
  });
}
