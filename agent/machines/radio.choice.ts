// What a radio does after a scan (pure): stay on its AP, (pre-)associate with another, or leave a refused one.
import { allowedCandidates, judgeScan, pickAp, type Candidate } from '../policy/connect-list.js';
import type { ScanEntry } from '../drivers/radio.js';
import type { ConnectList } from '../../shared/config/connect-list.js';

/*
 * Roles (the arbiter assigns them):
 * - A standby radio (also one in hold-down) follows pickAp: the best allowed AP not excluded (the active radio's AP,
 *   APs in hold-down), moving off its current AP for an earlier connect-list entry or +5 dB within the same entry.
 *   It keeps an excluded AP when nothing else is allowed: a second association with the same AP still covers a radio
 *   failing.
 * - The ACTIVE radio carries the tunnel, and a move breaks its link, so it holds its AP. It moves only when
 *   (a) its AP is gone (wpa_supplicant reports the disconnection; then it scans and picks like any radio),
 *   (b) its AP is now refused by the connect-list (below its entry's min_signal, or no longer listed), or
 *   (c) an AP of an EARLIER connect-list entry is allowed, not excluded, and at least ACTIVE_HOP_MARGIN_DB stronger.
 *   Merely stronger APs of the same entry are left to the standby radio, which the arbiter switches to by signal
 *   (make-before-break) instead of a hop that breaks the tunnel's link.
 * - Any radio on an AP the connect-list refuses leaves it ("connect to nothing else") when nothing better is allowed.
 * An AP missing from one scan is not acted on: scans miss APs, and wpa_supplicant says when it really is gone.
 */

export const ACTIVE_HOP_MARGIN_DB = 10;

export type RadioRole = 'standby' | 'active' | 'hold-down';

export type RadioMove =
  | { action: 'stay'; why: string }
  | { action: 'associate'; pick: Candidate; why: string }
  | { action: 'disconnect'; why: string };

export interface RadioMoveInput {
  scan: readonly ScanEntry[];
  list: ConnectList;
  exclude: readonly string[];
  /** The BSSID the radio is associated with (or asked to be), null when none. */
  current: string | null;
  role: RadioRole;
}

export function radioMove(input: RadioMoveInput): RadioMove {
  const { scan, list, exclude, role } = input;
  const current = input.current?.toLowerCase() ?? null;
  const pick = pickAp({ scan, list, exclude, current });
  if (current === null) {
    return pick ? { action: 'associate', pick, why: `best allowed AP ${pick.ap.ssid} ${pick.ap.bssid} ${pick.ap.signal} dBm` } : { action: 'stay', why: 'no allowed AP' };
  }
  const verdict = judgeScan(scan, list).find((v) => v.ap.bssid.toLowerCase() === current);
  if (!verdict) return { action: 'stay', why: `${current} not in this scan` };
  if (verdict.verdict === 'too-weak' || verdict.verdict === 'not-listed') {
    const why = verdict.verdict === 'too-weak' ? `${current} ${verdict.ap.signal} dBm is below its entry's ${verdict.entry.min_signal} dBm` : `${current} is not in the connect-list`;
    if (pick && pick.ap.bssid.toLowerCase() !== current) return { action: 'associate', pick, why };
    return { action: 'disconnect', why };
  }
  if (verdict.verdict !== 'allowed') return { action: 'stay', why: 'current AP' };
  if (role === 'active') {
    const mine = verdict;
    const earlier = allowedCandidates(scan, list, exclude).find((c) => c.index < mine.index && c.ap.signal >= mine.ap.signal + ACTIVE_HOP_MARGIN_DB);
    if (earlier) {
      return { action: 'associate', pick: earlier, why: `${earlier.ap.ssid} ${earlier.ap.bssid} (entry ${earlier.index}) is ${earlier.ap.signal - mine.ap.signal} dB stronger than the active's ${current} (entry ${mine.index})` };
    }
    return { action: 'stay', why: 'active: holds its AP' };
  }
  if (pick && pick.ap.bssid.toLowerCase() !== current) {
    return { action: 'associate', pick, why: `${pick.ap.ssid} ${pick.ap.bssid} ${pick.ap.signal} dBm is preferred over ${current}` };
  }
  return { action: 'stay', why: pick ? 'current AP is the best allowed' : 'nothing else allowed' };
}
