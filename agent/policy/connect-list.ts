// Connect-list matching (pure): which scanned APs a radio may join, by which entry, and which one to pre-associate with.
import type { ScanEntry } from '../drivers/radio.js';
import type { ConnectEntry, ConnectList } from '../../shared/config/connect-list.js';

/*
 * Rules (RouterOS connect-list semantics, see shared/config/connect-list.ts for the entry format):
 * - An entry's identity matches an AP when its ssid (or ssid_prefix), its bssid (or area prefix) if given, and its
 *   security all match.
 * - The FIRST entry whose identity matches decides. The AP is allowed when its signal is at least that entry's
 *   min_signal; otherwise it is refused, and later entries are not consulted (so a strict entry for one AP cannot be
 *   undone by a looser generic entry below it).
 * - An AP no entry matches is refused: the implicit last entry is "connect to nothing else".
 * - Excluded BSSIDs (the AP the other radio uses, APs in hold-down) are skipped before matching.
 */

export type ApSecurity = 'open' | 'psk' | 'other';

/** The security an AP advertises, from wpa_supplicant's flags text ("[WPA2-PSK-CCMP][ESS]", "[ESS]", "[WPA2-EAP-CCMP]"). */
export function securityOf(flags: string): ApSecurity {
  const groups = flags.match(/\[[^\]]*\]/g) ?? [];
  let protectedNet = false;
  for (const g of groups) {
    const body = g.slice(1, -1);
    if (!/^(WPA|WPA2|RSN|WEP|OSEN|OWE)/.test(body)) continue;
    protectedNet = true;
    // Key management is the part after the first dash, e.g. "PSK" in WPA2-PSK-CCMP or "PSK+SAE" in WPA2-PSK+SAE-CCMP.
    const km = body.split('-')[1] ?? '';
    if (km.split('+').includes('PSK')) return 'psk';
  }
  return protectedNet ? 'other' : 'open';
}

/** Whether an entry is about this AP (ssid, bssid/area, security), regardless of signal. */
export function identityMatches(e: ConnectEntry, ap: ScanEntry): boolean {
  if (e.ssid !== undefined && ap.ssid !== e.ssid) return false;
  if (e.ssid_prefix !== undefined && !ap.ssid.startsWith(e.ssid_prefix)) return false;
  const bssid = ap.bssid.toLowerCase();
  if (e.bssid !== undefined && bssid !== e.bssid) return false;
  if (e.area !== undefined && !bssid.startsWith(`${e.area}:`)) return false;
  return securityOf(ap.flags) === e.security;
}

/** An AP a radio may join and the entry that allows it (its index in the list, for the why and for ordering). */
export interface Candidate {
  ap: ScanEntry;
  entry: ConnectEntry;
  index: number;
}

export type ApVerdict =
  | { ap: ScanEntry; verdict: 'allowed'; entry: ConnectEntry; index: number }
  | { ap: ScanEntry; verdict: 'too-weak'; entry: ConnectEntry; index: number }
  | { ap: ScanEntry; verdict: 'excluded' }
  | { ap: ScanEntry; verdict: 'not-listed' };

/** Every scanned AP with its verdict, in scan order: the material for a why. */
export function judgeScan(scan: readonly ScanEntry[], list: ConnectList, excludeBssids: Iterable<string> = []): ApVerdict[] {
  const excluded = new Set([...excludeBssids].map((b) => b.toLowerCase()));
  return scan.map((ap): ApVerdict => {
    if (excluded.has(ap.bssid.toLowerCase())) return { ap, verdict: 'excluded' };
    const index = list.findIndex((e) => identityMatches(e, ap));
    if (index < 0) return { ap, verdict: 'not-listed' };
    const entry = list[index]!;
    return { ap, verdict: ap.signal >= entry.min_signal ? 'allowed' : 'too-weak', entry, index };
  });
}

/** Orders candidates: list order first (the operator's preference), then stronger signal, then BSSID (stable). */
export function compareCandidates(a: Candidate, b: Candidate): number {
  return a.index - b.index || b.ap.signal - a.ap.signal || (a.ap.bssid < b.ap.bssid ? -1 : a.ap.bssid > b.ap.bssid ? 1 : 0);
}

/** The allowed APs of a scan, best first (see compareCandidates), each with the entry that allowed it. */
export function allowedCandidates(scan: readonly ScanEntry[], list: ConnectList, excludeBssids: Iterable<string> = []): Candidate[] {
  const out: Candidate[] = [];
  for (const v of judgeScan(scan, list, excludeBssids)) {
    if (v.verdict === 'allowed') out.push({ ap: v.ap, entry: v.entry, index: v.index });
  }
  return out.sort(compareCandidates);
}

export interface PickInput {
  scan: readonly ScanEntry[];
  list: ConnectList;
  /** BSSIDs this radio must not take: the other radio's AP, APs in hold-down. */
  exclude?: Iterable<string>;
  /** The BSSID this radio is associated with now, if any. */
  current?: string | null;
  /** How much stronger (dB) an AP of the same entry must be to move this radio off its current AP. Default 5. */
  marginDb?: number;
}

export const DEFAULT_PICK_MARGIN_DB = 5;

/**
 * Which AP a radio should (pre-)associate with: the best allowed AP not excluded, in compareCandidates order
 * (list order, then signal). A radio already on an allowed AP stays there unless an AP of an earlier entry is
 * allowed, or an AP of the same entry is stronger by at least marginDb: re-associating costs the standby its
 * readiness, so it is not done for a dB or two. Returns null when nothing is allowed (then: disconnect).
 */
export function pickAp(input: PickInput): Candidate | null {
  const candidates = allowedCandidates(input.scan, input.list, input.exclude ?? []);
  const best = candidates[0];
  if (!best) return null;
  const current = input.current?.toLowerCase();
  const mine = current ? candidates.find((c) => c.ap.bssid.toLowerCase() === current) : undefined;
  if (!mine || mine === best) return best;
  const margin = input.marginDb ?? DEFAULT_PICK_MARGIN_DB;
  if (best.index < mine.index) return best;
  if (best.index === mine.index && best.ap.signal >= mine.ap.signal + margin) return best;
  return mine;
}
