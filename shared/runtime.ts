// How Node runs the agent: the flags its systemd unit passes (deploy/systemd/roamlink-agent.service, ROAMLINK_NODE_FLAGS) and
// the lab passes too, so the lab measures the agent as a vehicle runs it. A unit test holds the two in step.

/**
 * - `--max-semi-space-size=1`: V8's young generation defaults to 16 MB semi-spaces, grown as allocation goes on; for a
 *   daemon that allocates in small steady trickles that is ~15-30 MB of RSS for nothing. 1 MB semi-spaces keep
 *   scavenges short and frequent.
 * - `--lite-mode`: no optimizing compiler (Ignition and Sparkplug only) and lazily allocated feedback: ~15 MB less RSS
 *   (bench/agent), for an agent whose work is waiting on timers, sockets and child processes, not computing.
 * - `--single-threaded-gc`: no GC helper threads. With a young generation this small, handing each scavenge to
 *   helper threads and waking them costs more than the work (bench/agent: ~0.4% of a core, 2.4% -> 1.9%).
 * None of them is allowed in NODE_OPTIONS in every Node 20, so the unit passes them through the installed wrapper
 * (ROAMLINK_NODE_FLAGS, /usr/bin/roamlink of the package, deploy/install.sh's).
 *
 * Kept on Node 24.22.3 (2026-12-03, `BENCH_AGENT_FLAGS=compare BENCH_AGENT_MS=30000 npm run bench:agent`, medians of 5
 * runs for the first two rows and 2 for the third, alternating, the lab box at load 10-12): Node's defaults 2.27 % of a
 * core, 131 MB RSS; these three 2.63 %, 89 MB (ratios 1.16, 0.68); without --lite-mode 1.92 %, 115 MB (0.85, 0.88).
 * On Node 24 lite mode costs CPU (on Node 20 it saved some): 0.7 % of a core for 26 MB. Kept for memory, the tighter
 * budget on a vehicle's box (goal 80 MB): neither set meets both goals (80 MB, 2 %) on Node 24 here.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--lite-mode', '--max-semi-space-size=1', '--single-threaded-gc'];

/** Extra Node flags for the lab's agent only, from ROAMLINK_LAB_AGENT_NODE_ARGS (space-separated), e.g.
 *  `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the agent in a scenario. */
export function labAgentNodeArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.ROAMLINK_LAB_AGENT_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}
