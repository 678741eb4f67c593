// Joins the stored parts of multi-part SMS (by sender, reference and part count) into whole messages.
import type { SmsEntry } from './at.parse.js';
import type { SmsMessage } from './modem.driver.js';

/** Whole messages from stored entries, in storage order of their first part; undecodable entries are left out. */
export function joinSmsParts(entries: readonly SmsEntry[]): SmsMessage[] {
  const out: Array<SmsMessage & { first: number }> = [];
  const groups = new Map<string, SmsEntry[]>();
  for (const e of entries) {
    if (e.error) continue;
    if (!e.concat || e.concat.total <= 1) {
      const m: SmsMessage & { first: number } = { first: e.index, ids: [e.index], from: e.address, text: e.text, complete: true, parts: 1, status: e.status };
      if (e.timestamp) m.timestamp = e.timestamp;
      out.push(m);
      continue;
    }
    const key = `${e.address}\u0000${e.concat.ref}\u0000${e.concat.total}`;
    const g = groups.get(key) ?? [];
    g.push(e);
    groups.set(key, g);
  }
  for (const g of groups.values()) {
    const total = g[0]!.concat!.total;
    // Keep one entry per part number (a duplicate delivery keeps the first); order by part number.
    const bySeq = new Map<number, SmsEntry>();
    for (const e of g) if (!bySeq.has(e.concat!.seq)) bySeq.set(e.concat!.seq, e);
    const parts = [...bySeq.values()].sort((a, b) => a.concat!.seq - b.concat!.seq);
    const firstPart = parts[0]!;
    const m: SmsMessage & { first: number } = {
      first: Math.min(...g.map((e) => e.index)),
      ids: g.map((e) => e.index).sort((a, b) => a - b),
      from: firstPart.address,
      text: parts.map((p) => p.text).join(''),
      complete: parts.length === total && parts.every((p, i) => p.concat!.seq === i + 1),
      parts: total,
      status: g.some((e) => e.status === 'unread') ? 'unread' : firstPart.status,
    };
    const ts = parts.find((p) => p.concat!.seq === 1)?.timestamp ?? firstPart.timestamp;
    if (ts) m.timestamp = ts;
    out.push(m);
  }
  return out.sort((a, b) => a.first - b.first).map(({ first: _first, ...m }) => m);
}
