// Which HQ the tunnel goes to (issue 14): the current one while it answers on some path; another once the current has
// been silent on every path for `failoverMs` and the other answers through a working uplink (pure; hq.start.ts drives it).
//
// The far end silent on every path is not a reason to move the active uplink (arbiter.decide.ts); with two HQs it is
// the question "is it HQ, or is it us?", answered by asking the other HQ: an answer means our uplinks work and our HQ
// does not, so the tunnel moves there. No answer (every path dead, or both HQs) moves nothing and asks again later.

export interface HqFacts {
  /** Monotonic ms. */
  now: number;
  /** How many HQ endpoints the agent knows (1: nothing to decide). */
  count: number;
  /** The endpoint the tunnel goes to, and since when (mono ms: a move gives the new HQ a full `failoverMs`). */
  current: number;
  since: number;
  /** The current HQ's last answer on any path (a probe reply), mono ms; null: none yet. */
  heardAt: number | null;
  /** An uplink with an address to ask through (the active first); null: none, so no HQ can be told from our paths. */
  via: string | null;
  /** The tunnel is steered onto an uplink (probed every few tens of ms: its silence means something within failoverMs);
   *  false: start-up or every uplink lost, the uplinks probed only at the standby pace. */
  hasActive: boolean;
  /** Since when the paths are as they are (the active uplink became active; without one, the first uplink got an
   *  address); null: no uplink has an address. Silence before it says nothing of the HQ. */
  pathsSince: number | null;
  /** The last ask of another HQ: which, sent when, answered when (null: no answer, or still waiting). */
  asked: { hq: number; at: number; answeredAt: number | null } | null;
}

export interface HqFailoverPolicy {
  /** Silence of the current HQ on every path that starts asking the other. */
  failoverMs: number;
  /** The same without an active uplink (standbys probed at their pace, ~1 s): longer. */
  noActiveFailoverMs: number;
  /** Between two asks while the silence lasts. */
  askEveryMs: number;
}

export type HqAction =
  | { do: 'stay' }
  /** Probe HQ `hq`'s probe port once through uplink `via`. */
  | { do: 'ask'; hq: number; via: string }
  /** Move the tunnel (peer endpoint, steering, probes) to HQ `to`. */
  | { do: 'move'; to: number };

const STAY: HqAction = { do: 'stay' };

/** The next HQ after `from`, skipping the current one. */
function nextOther(from: number, current: number, count: number): number {
  let n = (from + 1) % count;
  if (n === current) n = (n + 1) % count;
  return n;
}

export function decideHq(f: HqFacts, p: HqFailoverPolicy): HqAction {
  if (f.count < 2 || f.pathsSince === null) return STAY;
  // Silent since the last answer, or since the move to it (a fresh HQ is not judged on the old one's silence), or since
  // the paths became what they are (an uplink just addressed, or just made active, has had no time to hear it).
  const silentSince = Math.max(f.heardAt ?? -Infinity, f.since, f.pathsSince);
  if (f.now - silentSince < (f.hasActive ? p.failoverMs : p.noActiveFailoverMs)) return STAY;
  // Only an ask sent during this silence counts: an answer from before it says nothing of now.
  const a = f.asked && f.asked.at >= silentSince && f.asked.hq !== f.current ? f.asked : null;
  if (a?.answeredAt != null) return { do: 'move', to: a.hq };
  if (!f.via) return STAY;
  if (a && f.now - a.at < p.askEveryMs) return STAY;
  return { do: 'ask', hq: a ? nextOther(a.hq, f.current, f.count) : nextOther(f.current, f.current, f.count), via: f.via };
}
