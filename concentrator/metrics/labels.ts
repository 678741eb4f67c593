// Label values HQ's /metrics may show, bounded whatever the vehicles send: known reasons, and the first uplink names
// seen (capped); anything else is counted under "other".
import { REASONS } from '../../shared/reasons.js';

/** Switch reasons kept as labels: shared/reasons.ts's list (the wire schema refuses others; rows stored before it read as "other"). */
export const KNOWN_REASONS: readonly string[] = REASONS;

/** The label every value past the bound is counted under. */
export const OTHER = 'other';

/** Distinct uplink names HQ's metrics keep as labels (a fleet names its uplinks alike: wlan0, wlan1, wwan0, eth0…). */
export const MAX_UPLINK_LABELS = 32;

export function reasonLabel(reason: string): string {
  return KNOWN_REASONS.includes(reason) ? reason : OTHER;
}

/** First come, first kept, up to `cap` values; later new values read as OTHER. Pure but for its own set. */
export class BoundedLabels {
  private readonly seen = new Set<string>();
  constructor(private readonly cap: number) {}

  label(value: string): string {
    if (this.seen.has(value)) return value;
    if (value === OTHER || this.seen.size >= this.cap) return OTHER;
    this.seen.add(value);
    return value;
  }

  get size(): number {
    return this.seen.size;
  }
}
