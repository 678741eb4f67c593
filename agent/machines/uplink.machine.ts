// One uplink's lifecycle: carrier, address (DHCP), its own routing, and probes of the concentrator through its own path.
// The machine reports a status to its parent (the arbiter) on every change; it never decides which uplink is active.
import { assign, fromCallback, fromPromise, sendParent, setup } from 'xstate';
import type { DhcpDriver, DhcpEvent, Lease } from '../drivers/dhcp/udhcpc.js';
import type { RoutingDriver, UplinkSlot } from '../drivers/routing/uplink.routing.js';
import type { RadioDriver, RadioEvent, ScanEntry } from '../drivers/radio.js';
import { pickAp } from '../policy/connect-list.js';
import type { ConnectList } from '../../shared/config/connect-list.js';

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
  /** Wi-Fi: the AP the radio is associated with (or asked to be). */
  ap: { ssid: string; bssid: string; signal: number } | null;
}

export interface UplinkInput extends UplinkSlot {
  kind: UplinkStatus['kind'];
  probeIntervalMs: number;
  probeTimeoutMs: number;
  /** Misses after which a ready uplink is no longer ready. */
  maxMisses: number;
  /** Wi-Fi: the connect-list, and how often the radio rescans. */
  connectList: ConnectList;
  scanIntervalMs: number;
}

export interface UplinkDeps {
  dhcp: DhcpDriver;
  routing: RoutingDriver;
  /** One probe from `address` through the uplink's own path; resolves with the RTT (ms). */
  probe: (address: string, signal: AbortSignal) => Promise<number>;
  now: () => number;
  /** The radio of a Wi-Fi uplink, by interface name (none for LTE and Ethernet). */
  radio: (ifname: string) => RadioDriver | null;
}

export type UplinkEvent =
  | { type: 'link.carrier'; up: boolean }
  /** BSSIDs this radio must leave to others (the other radio's AP). */
  | { type: 'radio.exclude'; bssids: string[] }
  | RadioEvent
  | DhcpEvent;

interface Ctx extends UplinkInput {
  carrier: boolean;
  lease: Lease | null;
  applied: Lease | null;
  ready: boolean;
  rttMs: number | null;
  lastOkAt: number | null;
  misses: number;
  ap: UplinkStatus['ap'];
  scan: ScanEntry[];
  exclude: string[];
}

export function statusOf(ctx: Ctx, phase: UplinkPhase): UplinkStatus {
  return {
    name: ctx.name, slot: ctx.slot, kind: ctx.kind, phase, carrier: ctx.carrier, lease: ctx.lease,
    ready: ctx.ready, rttMs: ctx.rttMs, lastOkAt: ctx.lastOkAt, misses: ctx.misses, ap: ctx.ap,
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
      radioEvents: fromCallback<RadioEvent, { ifname: string }>(({ sendBack, input }) => {
        const radio = deps.radio(input.ifname);
        return radio ? radio.onEvent((ev) => sendBack(ev)) : undefined;
      }),
      scan: fromPromise<ScanEntry[], { ifname: string }>(({ input, signal }) => deps.radio(input.ifname)!.scan(signal)),
      connect: fromPromise<void, { ifname: string; ssid: string; bssid: string; psk?: string }>(({ input, signal }) =>
        deps.radio(input.ifname)!.connect({ ssid: input.ssid, bssid: input.bssid, psk: input.psk }, signal)),
      signalPoll: fromPromise<number | null, { ifname: string }>(({ input, signal }) => deps.radio(input.ifname)!.signalPoll(signal)),
    },
    delays: {
      probeInterval: ({ context }) => context.probeIntervalMs,
      probeTimeout: ({ context }) => context.probeTimeoutMs,
      retry: 1000,
      scanInterval: ({ context }) => context.scanIntervalMs,
      associateTimeout: 5000,
    },
    actions: {
      report: sendParent(({ context }, params: { phase: UplinkPhase }) => ({ type: 'uplink.status' as const, status: statusOf(context, params.phase) })),
    },
    guards: {
      carrierUp: ({ event }) => event.type === 'link.carrier' && event.up,
      carrierDown: ({ event }) => event.type === 'link.carrier' && !event.up,
      tooManyMisses: ({ context }) => context.misses >= context.maxMisses,
      isWifi: ({ context }) => context.kind === 'wifi' && deps.radio(context.name) !== null,
      shouldMove: ({ context }) => {
        const pick = pickAp({ scan: context.scan, list: context.connectList, exclude: context.exclude, current: context.ap?.bssid ?? null });
        return pick !== null && pick.ap.bssid !== context.ap?.bssid;
      },
    },
  }).createMachine({
    id: 'uplink',
    context: ({ input }) => ({
      ...input, carrier: false, lease: null, applied: null, ready: false, rttMs: null, lastOkAt: null, misses: 0,
      ap: null, scan: [], exclude: [],
    }),
    type: 'parallel',
    states: {
      // Wi-Fi: keep the radio on the best allowed AP (scan, pick, associate, rescan). Others: nothing to do.
      radio: {
        initial: 'start',
        states: {
          start: { always: [{ guard: 'isWifi', target: 'active' }, { target: 'none' }] },
          none: { type: 'final' },
          active: {
            invoke: { src: 'radioEvents', input: ({ context }) => ({ ifname: context.name }) },
            on: {
              'radio.disconnected': { target: '.scanning', actions: assign({ ap: null }) },
              'radio.exclude': { actions: assign({ exclude: ({ event }) => event.bssids }) },
            },
            initial: 'scanning',
            states: {
              scanning: {
                invoke: {
                  src: 'scan',
                  input: ({ context }) => ({ ifname: context.name }),
                  onDone: { target: 'choosing', actions: assign({ scan: ({ event }) => event.output }) },
                  onError: { target: 'idle' },
                },
              },
              choosing: {
                always: [
                  {
                    guard: 'shouldMove',
                    target: 'associating',
                    actions: assign({
                      ap: ({ context }) => {
                        const p = pickAp({ scan: context.scan, list: context.connectList, exclude: context.exclude, current: context.ap?.bssid ?? null })!;
                        return { ssid: p.ap.ssid, bssid: p.ap.bssid, signal: p.ap.signal };
                      },
                    }),
                  },
                  { target: 'idle' },
                ],
              },
              associating: {
                invoke: {
                  src: 'connect',
                  input: ({ context }) => {
                    const entry = context.connectList.find((e) => e.ssid === context.ap!.ssid || (e.ssid_prefix && context.ap!.ssid.startsWith(e.ssid_prefix)));
                    return { ifname: context.name, ssid: context.ap!.ssid, bssid: context.ap!.bssid, psk: entry?.psk };
                  },
                  onError: { target: 'idle', actions: assign({ ap: null }) },
                },
                on: { 'radio.connected': { target: 'idle' } },
                after: { associateTimeout: { target: 'idle', actions: assign({ ap: null }) } },
              },
              idle: {
                after: { scanInterval: 'scanning' },
              },
            },
          },
        },
      },
      link: {
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
      },
    },
  });
}
