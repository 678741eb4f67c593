// Tunnel keeper: probes the concentrator through the tunnel; when the tunnel is silent while the active uplink's own
// path answers (the concentrator restarted and lost its sessions), it forces a fresh WireGuard handshake at once
// instead of waiting out WireGuard's own ~15 s (keepalive timeout + rekey timeout).
import { assign, fromPromise, setup } from 'xstate';

export interface TunnelDeps {
  /** One probe through the tunnel; rejects when the signal aborts first. */
  probe: (signal: AbortSignal) => Promise<number>;
  /** Whether the active uplink's own path to the concentrator answers (its last probe was fine). */
  pathOk: () => boolean;
  /** Drops the session and handshakes again (re-programs the peer). */
  rehandshake: (signal: AbortSignal) => Promise<void>;
  onChange: (up: boolean, why: string) => void;
}

export interface TunnelInput {
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive silent probes, with the path fine, that call for a new handshake. */
  misses: number;
}

interface Ctx extends TunnelInput {
  missed: number;
  up: boolean;
}

export function createTunnelMachine(deps: TunnelDeps) {
  return setup({
    types: { context: {} as Ctx, input: {} as TunnelInput },
    actors: {
      probe: fromPromise<number, void>(({ signal }) => deps.probe(signal)),
      rehandshake: fromPromise<void, void>(({ signal }) => deps.rehandshake(signal)),
    },
    delays: {
      interval: ({ context }) => context.intervalMs,
      timeout: ({ context }) => context.timeoutMs,
    },
    guards: {
      stuck: ({ context }) => context.missed >= context.misses && deps.pathOk(),
    },
  }).createMachine({
    id: 'tunnel',
    context: ({ input }) => ({ ...input, missed: 0, up: false }),
    initial: 'probing',
    states: {
      probing: {
        invoke: {
          src: 'probe',
          onDone: {
            target: 'waiting',
            actions: [
              ({ context }) => { if (!context.up) deps.onChange(true, 'tunnel answers'); },
              assign({ missed: 0, up: true }),
            ],
          },
          onError: 'missed',
        },
        after: { timeout: 'missed' },
      },
      missed: {
        entry: [
          assign({ missed: ({ context }) => context.missed + 1 }),
          ({ context }) => { if (context.up && context.missed + 1 >= context.misses) deps.onChange(false, `${context.misses} probes through the tunnel unanswered`); },
          assign({ up: ({ context }) => context.up && context.missed < context.misses }),
        ],
        always: [{ guard: 'stuck', target: 'rehandshaking' }, { target: 'waiting' }],
      },
      rehandshaking: {
        invoke: { src: 'rehandshake', onDone: 'backingOff', onError: 'backingOff' },
      },
      backingOff: {
        entry: assign({ missed: 0 }),
        // Another forced handshake needs `misses` fresh silent probes: at most one per misses × interval.
        after: { interval: 'probing' },
      },
      waiting: { after: { interval: 'probing' } },
    },
  });
}
