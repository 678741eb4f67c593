// How Node runs the agent: the flags its systemd unit passes (deploy/systemd/roamlink-agent.service, NODE_OPTIONS) and
// the lab passes too, so the lab measures the agent as a vehicle runs it. A unit test holds the two in step.

/** V8's young generation defaults to 16 MB semi-spaces, grown as allocation goes on: for a daemon that allocates in
 *  small steady trickles that is ~30 MB of RSS for nothing. 1 MB semi-spaces keep scavenges short and frequent. */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/** Extra Node flags for the lab's agent only, from ROAMLINK_LAB_AGENT_NODE_ARGS (space-separated), e.g.
 *  `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the agent in a scenario. */
export function labAgentNodeArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.ROAMLINK_LAB_AGENT_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}
