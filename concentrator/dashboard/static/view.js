// roamlink dashboard: pure view helpers (no DOM, no fetch), so node's tests can import them as they are.

const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe inside HTML (element content and quoted attributes). */
export function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago"; "never" for null. */
export function ago(iso, now = Date.now()) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function dbm(v) {
  return typeof v === 'number' ? `${Math.round(v)} dBm` : '—';
}

/** Bytes as MB with one decimal ("—" when unknown). */
export function megabytes(b) {
  return typeof b === 'number' ? `${(b / 1e6).toFixed(1)} MB` : '—';
}

/** The vehicle computer's health in a few words: temperature and the state_dir disk's free share ("—": no sample). */
export function hostText(h) {
  if (!h) return '—';
  const parts = [];
  if (typeof h.cpu_temp_c === 'number') parts.push(`${h.cpu_temp_c.toFixed(1)} °C`);
  if (typeof h.disk_free_bytes === 'number' && h.disk_total_bytes) parts.push(`disk ${Math.round((h.disk_free_bytes / h.disk_total_bytes) * 100)} % free`);
  if (typeof h.load1 === 'number') parts.push(`load ${h.load1.toFixed(2)}`);
  return parts.join(', ') || '—';
}

export function ms(v) {
  return typeof v === 'number' ? `${Math.round(v * 10) / 10} ms` : '—';
}

const PALETTE = ['#2457c5', '#d9730d', '#1a7f37', '#8250df', '#b42318', '#0e7490', '#9a6700'];

/** A stable colour per uplink name. */
export function uplinkColor(name) {
  let h = 0;
  for (const c of String(name)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

/**
 * Which uplink carried the tunnel when, between fromMs and toMs, from switches sorted oldest first:
 * [{ uplink, start, end }] (uplink null before the first known switch).
 */
export function timelineSegments(switches, fromMs, toMs) {
  const sorted = [...switches].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const segs = [];
  let cur = null;
  let start = fromMs;
  for (const s of sorted) {
    const t = Date.parse(s.at);
    if (t <= fromMs) {
      cur = s.to;
      continue;
    }
    if (t > toMs) break;
    if (cur === null && segs.length === 0 && s.from && s.from !== '-') cur = s.from;
    if (t > start) segs.push({ uplink: cur, start, end: t });
    cur = s.to;
    start = t;
  }
  if (toMs > start) segs.push({ uplink: cur, start, end: toMs });
  return segs;
}

/** Heartbeat samples ({t, active, u: [[name, signal, rtt, loss]]}) to { uplink: [[t, signal]] }, nulls left out. */
export function signalSeries(history) {
  const out = {};
  for (const s of history) {
    for (const [name, signal] of s.u) {
      if (typeof signal !== 'number') continue;
      (out[name] ??= []).push([s.t, signal]);
    }
  }
  return out;
}

export function scale(v, d0, d1, r0, r1) {
  if (d1 === d0) return (r0 + r1) / 2;
  return r0 + ((v - d0) / (d1 - d0)) * (r1 - r0);
}

/** SVG polyline points for [[x, y]] in the given domains, drawn in a w x h box (y grows downwards). */
export function polyline(points, [x0, x1], [y0, y1], w, h) {
  return points.map(([x, y]) => `${scale(x, x0, x1, 0, w).toFixed(1)},${scale(y, y0, y1, h, 0).toFixed(1)}`).join(' ');
}

/** One line per changed field: "profile.hold_ms: 3000 → 2000". */
export function diffLines(diff) {
  const show = (v) => (v === null || v === undefined ? '(default)' : Array.isArray(v) ? v.join(', ') || '(none)' : String(v));
  return Object.entries(diff).map(([k, { from, to }]) => `${k}: ${show(from)} → ${show(to)}`);
}

/**
 * The profile form's values to a PATCH body: an empty field means the default (null), numbers where the default is
 * a number; lists split on commas. `before` is the stored profile, so only changes are sent.
 */
export function profilePatch(values, defaults, before) {
  const profile = {};
  for (const [k, raw] of Object.entries(values)) {
    const text = String(raw).trim();
    const want = text === '' ? null : typeof defaults[k] === 'number' && /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
    const had = before[k] ?? null;
    if (want !== had) profile[k] = want;
  }
  return profile;
}

export function splitList(text) {
  return String(text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The thresholds to try (POST /v1/sites/:name/simulate's `set`): the edited fields, a cleared one as its default. */
export function simulationSet(values, defaults, before) {
  const patch = profilePatch(values, defaults, before);
  return Object.fromEntries(Object.entries(patch).map(([k, v]) => [k, v === null ? defaults[k] : v]));
}

/** The comparison's rows: [label, current, proposed] for the whole fleet that drove at the site. */
export function simulationRows(sim) {
  const t = sim.total;
  const sec = (n) => `${(n / 1000).toFixed(1)} s`;
  return [
    ['switches', t.current.switches, t.proposed.switches],
    ['back-and-forth within 30 s', t.current.ping_pong, t.proposed.ping_pong],
    ['time on LTE', sec(t.current.lte_ms), sec(t.proposed.lte_ms)],
    ['MB on LTE (est.)', t.current.lte_mb, t.proposed.lte_mb],
    ['time on a weak Wi-Fi', sec(t.current.below_ms), sec(t.proposed.below_ms)],
    ['predicted failover outage', `${t.current.outage_ms} ms`, `${t.proposed.outage_ms} ms`],
  ].map(([label, a, b]) => [label, String(a), String(b)]);
}

/** The fleet table's sortable columns: each a value to compare (null sorts last either way). */
export const FLEET_SORT = {
  name: (r) => r.name,
  state: (r) => (r.online ? 0 : 1),
  active: (r) => r.active,
  signal: (r) => r.signal,
  site: (r) => r.site ?? r.home_site,
  last_switch: (r) => (r.last_switch ? Date.parse(r.last_switch.at) : null),
  lte_today: (r) => r.lte_bytes_today,
  heard: (r) => (r.last_heartbeat_at ? Date.parse(r.last_heartbeat_at) : null),
};

/** Rows sorted by a FLEET_SORT key ('asc' or 'desc'), then by name; unknown values last. Pure: a new array. */
export function sortFleet(rows, key, dir = 'asc') {
  const get = FLEET_SORT[key] ?? FLEET_SORT.name;
  const sign = dir === 'desc' ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = get(a);
    const y = get(b);
    if (x === y || (x == null && y == null)) return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    if (x == null) return 1;
    if (y == null) return -1;
    return (x < y ? -1 : 1) * sign;
  });
}

/** Whether a row matches the search: every word found in its name, state, uplink, site or last switch. */
export function matchFleet(row, query) {
  const words = String(query ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return true;
  const ls = row.last_switch;
  const text = [row.name, row.online ? 'online' : 'offline', row.active, row.site, row.home_site, row.tunnel_address, ls?.reason, ls?.to].filter(Boolean).join(' ').toLowerCase();
  return words.every((w) => text.includes(w));
}

/** A fleet push (server-sent event) applied to the rows by name: the whole table, or the changed rows and names gone. */
export function applyFleetPush(rows, push) {
  const next = push.full ? new Map() : new Map(rows);
  for (const r of push.vehicles) next.set(r.name, r);
  for (const n of push.removed ?? []) next.delete(n);
  return next;
}

/** Server-sent events from a text stream, as chunks arrive: feed(chunk) returns the complete events [{event, data}]. */
export function sseParser() {
  let buf = '';
  return (chunk) => {
    buf += chunk;
    const out = [];
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length) out.push({ event, data: data.join('\n') });
    }
    return out;
  };
}
