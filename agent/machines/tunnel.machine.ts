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
  /** Consecutive silent probes, with the path fine, that call for a new handshake; as many in a row mark it down. */
  misses: number;
}

interface Ctx extends TunnelInput {
  /** Silent probes in a row (the tunnel is down at `misses`). */
  missed: number;
  /** Silent probes in a row each missed while the active's own path answered: only these prove the concentrator lost
   *  our session. A miss over a path that does not answer (or with no active, or no peer yet) starts it again, so the
   *  silence of start-up, before the first switch, is not counted against the first handshake (2026-12-04, lab under
   *  load: misses from before the tunnel existed forced a re-handshake one late probe after the initial switch, and
   *  the new handshake lost 23 packets up and 70 down). */
  stale: number;
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
      stuck: ({ context }) => context.stale >= context.misses,
    },
  }).createMachine({
    id: 'tunnel',
    context: ({ input }) => ({ ...input, missed: 0, stale: 0, up: false }),
    initial: 'probing',
    states: {
      probing: {
        invoke: {
          src: 'probe',
          onDone: {
            target: 'waiting',
            actions: [
              ({ context }) => { if (!context.up) deps.onChange(true, 'tunnel answers'); },
              assign({ missed: 0, stale: 0, up: true }),
            ],
          },
          onError: 'missed',
        },
        after: { timeout: 'missed' },
      },
      missed: {
        entry: [
          // Before the counts move: xstate v5 runs assign in order, so an action after it would see the new ones.
          ({ context }) => { if (context.up && context.missed + 1 === context.misses) deps.onChange(false, `${context.misses} probes through the tunnel unanswered`); },
          assign(({ context }) => {
            const missed = context.missed + 1;
            return { missed, stale: deps.pathOk() ? context.stale + 1 : 0, up: context.up && missed < context.misses };
          }),
        ],
        always: [{ guard: 'stuck', target: 'rehandshaking' }, { target: 'waiting' }],
      },
      rehandshaking: {
        invoke: { src: 'rehandshake', onDone: 'backingOff', onError: 'backingOff' },
      },
      backingOff: {
        entry: assign({ stale: 0 }),
        // Another forced handshake needs `misses` fresh silent probes: at most one per misses × interval.
        after: { interval: 'probing' },
      },
      waiting: { after: { interval: 'probing' } },
    },
  });
}
