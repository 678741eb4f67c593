// One uplink's lifecycle: carrier, address (DHCP), its own routing, and probes of the concentrator through its own path.
// The machine reports a status to its parent (the arbiter) on every change; it never decides which uplink is active.
import { assign, fromCallback, fromPromise, sendParent, setup } from 'xstate';
import type { DhcpDriver, DhcpEvent, Lease } from '../drivers/dhcp/udhcpc.js';
import type { RoutingDriver, UplinkSlot } from '../drivers/routing/uplink.routing.js';

export type UplinkPhase = 'down' | 'addressing' | 'configuring' | 'probing' | 'ready';

/** What the arbiter knows of an uplink: a plain, serializable snapshot. */
export interface UplinkStatus {
  name: string;
  slot: number;
  kind: 'wifi' | 'lte' | 'ethernet';
  phase: UplinkPhase;
  carrier: boolean;
  lease: Lease | null;
  /** Addressed, routed, and the last probe through its own path answered. */
  ready: boolean;
  rttMs: number | null;
  lastOkAt: number | null;
  /** Consecutive probes without an answer. */
  misses: number;
}

export interface UplinkInput extends UplinkSlot {
  kind: UplinkStatus['kind'];
  probeIntervalMs: number;
  probeTimeoutMs: number;
  /** Misses after which a ready uplink is no longer ready. */
  maxMisses: number;
}

export interface UplinkDeps {
  dhcp: DhcpDriver;
  routing: RoutingDriver;
  /** One probe from `address` through the uplink's own path; resolves with the RTT (ms). */
  probe: (address: string, signal: AbortSignal) => Promise<number>;
  now: () => number;
}

export type UplinkEvent =
  | { type: 'link.carrier'; up: boolean }
  | DhcpEvent;

interface Ctx extends UplinkInput {
  carrier: boolean;
  lease: Lease | null;
  applied: Lease | null;
  ready: boolean;
  rttMs: number | null;
  lastOkAt: number | null;
  misses: number;
}

export function statusOf(ctx: Ctx, phase: UplinkPhase): UplinkStatus {
  return {
    name: ctx.name, slot: ctx.slot, kind: ctx.kind, phase, carrier: ctx.carrier, lease: ctx.lease,
    ready: ctx.ready, rttMs: ctx.rttMs, lastOkAt: ctx.lastOkAt, misses: ctx.misses,
  };
}

export function createUplinkMachine(deps: UplinkDeps) {
  return setup({
    types: {
      context: {} as Ctx,
      events: {} as UplinkEvent,
      input: {} as UplinkInput,
    },
    actors: {
      dhcp: fromCallback<DhcpEvent, { ifname: string }>(({ sendBack, input }) => {
        const ac = new AbortController();
        deps.dhcp.run(input.ifname, (ev) => sendBack(ev), ac.signal).catch(() => sendBack({ type: 'dhcp.lost', why: 'client failed' }));
        return () => ac.abort();
      }),
      configure: fromPromise<void, { slot: UplinkSlot; lease: Lease; previous: Lease | null }>(async ({ input }) => {
        await deps.routing.apply(input.slot, input.lease, input.previous ?? undefined);
      }),
      probe: fromPromise<number, { address: string }>(({ input, signal }) => deps.probe(input.address, signal)),
    },
    delays: {
      probeInterval: ({ context }) => context.probeIntervalMs,
      probeTimeout: ({ context }) => context.probeTimeoutMs,
      retry: 1000,
    },
    actions: {
      report: sendParent(({ context }, params: { phase: UplinkPhase }) => ({ type: 'uplink.status' as const, status: statusOf(context, params.phase) })),
    },
    guards: {
      carrierUp: ({ event }) => event.type === 'link.carrier' && event.up,
      carrierDown: ({ event }) => event.type === 'link.carrier' && !event.up,
      tooManyMisses: ({ context }) => context.misses >= context.maxMisses,
    },
  }).createMachine({
    id: 'uplink',
    context: ({ input }) => ({
      ...input, carrier: false, lease: null, applied: null, ready: false, rttMs: null, lastOkAt: null, misses: 0,
    }),
    initial: 'down',
    states: {
      down: {
        entry: [assign({ ready: false, carrier: false }), { type: 'report', params: { phase: 'down' } }],
        on: { 'link.carrier': { guard: 'carrierUp', target: 'up', actions: assign({ carrier: true }) } },
      },
      up: {
        invoke: { src: 'dhcp', input: ({ context }) => ({ ifname: context.name }) },
        on: {
          'link.carrier': { guard: 'carrierDown', target: 'down' },
          'dhcp.bound': { target: '.configuring', actions: assign({ lease: ({ event }) => event.lease }) },
          'dhcp.lost': { target: '.addressing', actions: assign({ lease: null, ready: false }) },
        },
        initial: 'addressing',
        states: {
          addressing: { entry: { type: 'report', params: { phase: 'addressing' } } },
          configuring: {
            entry: { type: 'report', params: { phase: 'configuring' } },
            invoke: {
              src: 'configure',
              input: ({ context }) => ({ slot: context, lease: context.lease!, previous: context.applied }),
              onDone: { target: 'probing', actions: assign({ applied: ({ context }) => context.lease }) },
              onError: { target: 'configureFailed' },
            },
          },
          configureFailed: { after: { retry: 'configuring' } },
          probing: {
            invoke: {
              src: 'probe',
              input: ({ context }) => ({ address: context.lease!.address }),
              onDone: {
                target: 'ready',
                actions: assign({ ready: true, misses: 0, rttMs: ({ event }) => event.output, lastOkAt: () => deps.now() }),
              },
              onError: { target: 'missed' },
            },
            after: { probeTimeout: 'missed' },
          },
          missed: {
            entry: assign({ misses: ({ context }) => context.misses + 1 }),
            always: [
              { guard: 'tooManyMisses', target: 'waiting', actions: [assign({ ready: false }), { type: 'report', params: { phase: 'probing' } }] },
              { target: 'waiting' },
            ],
          },
          ready: {
            entry: { type: 'report', params: { phase: 'ready' } },
            after: { probeInterval: 'probing' },
          },
          waiting: {
            after: { probeInterval: 'probing' },
          },
        },
      },
    },
  });
}
