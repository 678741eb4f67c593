// roamlink dashboard: hash-routed pages (fleet, vehicle, sites, site) over the admin JSON API, with the bearer token
// kept in sessionStorage (this tab only). No framework, no build step.
import { ago, dbm, hostText, megabytes, diffLines, esc, ms, polyline, profilePatch, signalSeries, simulationRows, simulationSet, splitList, timelineSegments, uplinkColor } from './view.js';
import { REASONS } from './reasons.js';

const $ = (sel, root = document) => root.querySelector(sel);
const page = () => $('#page');
const store = window.sessionStorage;
let generation = 0;
let refreshTimer = null;

class Unauthorized extends Error {}

async function api(method, path, body) {
  const token = store.getItem('roamlink.token');
  if (!token) throw new Unauthorized('no token');
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) throw new Unauthorized('the token was refused');
  const json = await res.json().catch(() => null);
  if (!res.ok) {
    const e = new Error(json?.error?.message ?? `HTTP ${res.status}`);
    e.field = json?.error?.field;
    e.code = json?.error?.code;
    throw e;
  }
  return json;
}

function showLogin(message = '') {
  $('#login').hidden = false;
  $('#logout').hidden = true;
  page().innerHTML = '';
  $('#login-error').textContent = message;
  $('#whoami').textContent = '';
  $('#token').focus();
}

function status(text) {
  $('#status').textContent = text;
}

// ---- pages -------------------------------------------------------------------------------------------------

async function fleetPage(gen) {
  const data = await api('GET', '/v1/fleet');
  if (gen !== generation) return;
  const now = Date.now();
  const rows = data.vehicles
    .map((v) => {
      const ls = v.last_switch;
      const last = ls ? `${esc(ls.from ?? '-')} → ${esc(ls.to)} (${esc(ls.reason)}), ${esc(ago(ls.at, now))}` : '<span class="muted">none</span>';
      return `<tr data-vehicle="${esc(v.name)}">
        <td><a href="#/vehicle/${encodeURIComponent(v.name)}">${esc(v.name)}</a></td>
        <td><span class="badge ${v.online ? 'online' : 'offline'}">${v.online ? 'online' : 'offline'}</span></td>
        <td class="active">${esc(v.active ?? '—')}</td>
        <td class="signal">${esc(dbm(v.signal))}</td>
        <td class="site">${esc(v.site ?? v.home_site ?? '—')}</td>
        <td class="last-switch">${last}</td>
        <td class="lte-today">${esc(megabytes(v.lte_bytes_today))}</td>
        <td class="host">${esc(hostText(v.health))}</td>
        <td class="heard muted">${esc(ago(v.last_heartbeat_at, now))}</td>
      </tr>`;
    })
    .join('');
  page().innerHTML = `<h1>Fleet</h1>
    <p id="fleet-summary">${data.online} of ${data.vehicles.length} online</p>
    <table id="fleet"><thead><tr><th>Vehicle</th><th>State</th><th>Active uplink</th><th>Signal</th><th>Site</th><th>Last switch</th><th>LTE today</th><th>Host</th><th>Heard</th></tr></thead>
    <tbody>${rows || '<tr><td colspan="9" class="muted">no vehicles registered</td></tr>'}</tbody></table>`;
}

function timelineSvg(switches, fromMs, toMs) {
  const W = 800;
  const H = 40;
  const segs = timelineSegments(switches, fromMs, toMs);
  const rects = segs
    .map((s) => {
      const x = ((s.start - fromMs) / (toMs - fromMs)) * W;
      const w = Math.max(0.5, ((s.end - s.start) / (toMs - fromMs)) * W);
      const fill = s.uplink ? uplinkColor(s.uplink) : '#dde1e8';
      return `<rect data-uplink="${esc(s.uplink ?? '')}" x="${x.toFixed(1)}" y="4" width="${w.toFixed(1)}" height="${H - 8}" fill="${fill}"><title>${esc(s.uplink ?? 'unknown')}: ${esc(new Date(s.start).toISOString())} – ${esc(new Date(s.end).toISOString())}</title></rect>`;
    })
    .join('');
  const ticks = switches
    .filter((s) => Date.parse(s.at) >= fromMs)
    .map((s) => `<line class="switch-mark" x1="${(((Date.parse(s.at) - fromMs) / (toMs - fromMs)) * W).toFixed(1)}" x2="${(((Date.parse(s.at) - fromMs) / (toMs - fromMs)) * W).toFixed(1)}" y1="0" y2="${H}" stroke="#1d2330" stroke-width="1"/>`)
    .join('');
  return `<svg id="timeline" class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="active uplink over time">${rects}${ticks}</svg>
    <p class="muted">${esc(new Date(fromMs).toISOString())} – ${esc(new Date(toMs).toISOString())}</p>`;
}

function signalSvg(history) {
  const W = 800;
  const H = 220;
  const series = signalSeries(history);
  const names = Object.keys(series).sort();
  if (!names.length) return '<svg id="signal-chart" class="chart" viewBox="0 0 800 40"><text x="10" y="24">no signal reported yet</text></svg>';
  const all = names.flatMap((n) => series[n]);
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(...all.map((p) => p[0]));
  const lo = Math.min(-100, ...all.map((p) => p[1]));
  const hi = Math.max(-40, ...all.map((p) => p[1]));
  const lines = names
    .map((n) => `<polyline data-uplink="${esc(n)}" fill="none" stroke="${uplinkColor(n)}" stroke-width="2" points="${polyline(series[n], [t0, t1], [lo, hi], W, H - 20)}"/>`)
    .join('');
  const grid = [-50, -60, -70, -80, -90, -100]
    .filter((y) => y >= lo && y <= hi)
    .map((y) => {
      const py = (H - 20 - ((y - lo) / (hi - lo)) * (H - 20)).toFixed(1);
      return `<line x1="0" x2="${W}" y1="${py}" y2="${py}" stroke="#eef0f4"/><text x="4" y="${py}">${y}</text>`;
    })
    .join('');
  return `<svg id="signal-chart" class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="signal per uplink (dBm)">${grid}${lines}</svg>`;
}

/** A switch's why as the decision saw it: its line, then every candidate (signal, RTT, loss, phase, AP) and the thresholds. */
/** The vehicle's clock against HQ's (from its last heartbeat): right within 5 s, else how far off, in red. */
function clockCell(offsetMs) {
  if (offsetMs == null) return '—';
  if (Math.abs(offsetMs) <= 5000) return 'right';
  const a = Math.abs(offsetMs);
  const size = a >= 86_400_000 ? `${(a / 86_400_000).toFixed(1)} d` : a >= 3_600_000 ? `${(a / 3_600_000).toFixed(1)} h` : a >= 60_000 ? `${(a / 60_000).toFixed(1)} min` : `${(a / 1000).toFixed(1)} s`;
  return `<span class="time-mark">${esc(size)} ${offsetMs > 0 ? 'behind' : 'ahead'}</span>`;
}

/** HQ's time for a switch, marked ~ when HQ corrected the vehicle's clock, ? when it could only estimate it. */
function timeCell(s) {
  const mark = s.time_quality === 'corrected' ? '~' : s.time_quality === 'estimated' ? '?' : '';
  if (!mark) return esc(s.at);
  const title = `${s.time_quality === 'corrected' ? 'corrected by HQ' : 'estimated by HQ (unreliable)'}: the vehicle's clock said ${s.vehicle_at}`;
  return `${esc(s.at)}<span class="time-mark" title="${esc(title)}">${mark}</span>`;
}

function whyCell(why) {
  if (!why) return '<span class="muted">—</span>';
  const cand = (why.candidates ?? [])
    .map((c) => `<li data-uplink="${esc(c.name)}">${esc(c.name)}${c.active ? ' (active)' : ''}: ${esc(dbm(c.signal))}, ${esc(ms(c.rtt_ms))}, loss ${c.loss === null ? '—' : `${Math.round(c.loss * 100)} %`}, ${esc(c.phase)}/${esc(c.state)}${c.ap ? `, ${esc(c.ap.ssid)} ${esc(c.ap.bssid)}` : ''}</li>`)
    .join('');
  const p = why.policy;
  const thresholds = p ? `<p class="muted">site ${esc(why.site ?? '—')}: switch_below ${esc(p.switch_below)} dBm, hysteresis ${esc(p.hysteresis_db)} dB, dead ${esc(p.dead_busy_ms)}/${esc(p.dead_idle_ms)} ms, loss_max ${esc(p.loss_max)}, lte ${esc(p.lte)}</p>` : '';
  return `<span class="why-text">${esc(why.text)}</span>${cand || thresholds ? `<details><summary>candidates</summary><ul>${cand}</ul>${thresholds}</details>` : ''}`;
}

/** The switch log's reasons (HQ's /reasons.js, from the one list in shared/reasons.ts): what each means, what to look at. */
function reasonsLegend() {
  const rows = Object.entries(REASONS).map(([k, r]) => `<tr data-reason="${esc(k)}"><td><code>${esc(k)}</code></td><td>${esc(r.means)}</td><td class="muted">${esc(r.look)}</td></tr>`).join('');
  return `<details id="reasons"><summary>Reasons</summary><table><thead><tr><th>Reason</th><th>Means</th><th>Look at</th></tr></thead><tbody>${rows}</tbody></table></details>`;
}

function legend(names) {
  return `<div class="legend">${names
    .map((n) => `<span data-uplink="${esc(n)}"><svg width="12" height="12"><rect width="12" height="12" fill="${uplinkColor(n)}"/></svg> ${esc(n)}</span>`)
    .join('')}</div>`;
}

async function vehiclePage(gen, name) {
  const [v, log] = await Promise.all([api('GET', `/v1/fleet/${encodeURIComponent(name)}`), api('GET', `/v1/log?vehicle=${encodeURIComponent(name)}&order=desc&limit=500`)]);
  if (gen !== generation) return;
  const now = Date.now();
  const switches = [...log.events].reverse();
  const fromMs = Math.min(now - 3_600_000, ...switches.slice(0, 1).map((s) => Date.parse(s.at)));
  const uplinks = [...new Set([...switches.flatMap((s) => [s.from, s.to]), ...(v.heartbeat?.uplinks ?? []).map((u) => u.name)].filter((u) => u && u !== '-'))].sort();
  const rows = log.events
    .map((s) => `<tr data-id="${esc(s.id)}"><td>${timeCell(s)}</td><td>${esc(s.from ?? '-')} → ${esc(s.to)}</td><td class="reason" title="${esc(REASONS[s.reason]?.means ?? '')}">${esc(s.reason)}</td><td>${esc(ms(s.ms_to_first_packet))}</td><td>${esc(s.site ?? '—')}</td><td class="why">${whyCell(s.why)}</td></tr>`)
    .join('');
  const hb = v.heartbeat;
  const uplinkRows = (hb?.uplinks ?? [])
    .map((u) => `<tr data-uplink="${esc(u.name)}"><td>${esc(u.name)}${u.name === hb.active ? ' <strong>(active)</strong>' : ''}</td><td>${esc(u.kind)}</td><td>${esc(u.state)}</td><td>${esc(dbm(u.signal))}</td><td>${esc(ms(u.rtt_ms))}</td><td>${u.loss === null ? '—' : `${Math.round(u.loss * 100)} %`}</td><td>${esc(u.ap ? `${u.ap.ssid} ${u.ap.bssid}` : '—')}</td></tr>`)
    .join('');
  page().innerHTML = `<h1 id="vehicle-name">${esc(v.name)} <span class="badge ${v.online ? 'online' : 'offline'}">${v.online ? 'online' : 'offline'}</span></h1>
    <dl class="facts" id="vehicle-facts">
      <dt>Tunnel address</dt><dd>${esc(v.tunnel_address)}</dd>
      <dt>Active uplink</dt><dd class="active">${esc(v.active ?? '—')}</dd>
      <dt>Signal</dt><dd>${esc(dbm(v.signal))}</dd>
      <dt>Site</dt><dd class="site">${esc(v.site ?? '—')}${v.home_site ? ` <span class="muted">(home ${esc(v.home_site)})</span>` : ''}</dd>
      <dt>Last heard</dt><dd>${esc(ago(v.last_heartbeat_at, now))}</dd>
      <dt>Journal backlog</dt><dd>${esc(v.journal_backlog ?? '—')}</dd>
      <dt>Clock</dt><dd class="clock">${clockCell(v.clock_offset_ms)}</dd>
      <dt>Balance</dt><dd>${hb?.modem?.balance != null ? `${esc(hb.modem.balance)} ${esc(hb.modem.currency ?? '')}` : '—'}</dd>
    </dl>
    <h2>Uplinks</h2>
    <table id="uplinks"><thead><tr><th>Uplink</th><th>Kind</th><th>State</th><th>Signal</th><th>RTT</th><th>Loss</th><th>AP</th></tr></thead><tbody>${uplinkRows || '<tr><td colspan="7" class="muted">no heartbeat yet</td></tr>'}</tbody></table>
    <h2>Switch timeline</h2>
    ${legend(uplinks)}
    ${timelineSvg(switches, fromMs, now)}
    <table id="switches"><thead><tr><th>At</th><th>Switch</th><th>Reason</th><th>To first packet</th><th>Site</th><th>Why</th></tr></thead><tbody>${rows || '<tr><td colspan="6" class="muted">no switches stored</td></tr>'}</tbody></table>
    ${reasonsLegend()}
    <h2>Signal</h2>
    ${signalSvg(v.history ?? [])}`;
}

async function sitesPage(gen) {
  const data = await api('GET', '/v1/sites');
  if (gen !== generation) return;
  const rows = data.sites
    .map((s) => {
      const match = [...s.match.ssid.map((x) => `ssid ${x}`), ...s.match.bssid.map((x) => `bssid ${x}`), ...s.match.area_prefix.map((x) => `prefix ${x}`)].join(', ') || '(default)';
      return `<tr data-site="${esc(s.name)}"><td><a href="#/site/${encodeURIComponent(s.name)}">${esc(s.name)}</a></td><td class="version">${s.version}</td><td>${esc(match)}</td><td>${esc(Object.keys(s.profile).join(', ') || 'defaults')}</td><td class="muted">${esc(s.updated_at)}</td></tr>`;
    })
    .join('');
  page().innerHTML = `<h1>Sites</h1>
    <p id="sites-version">Profile set version ${data.version}</p>
    <table id="sites"><thead><tr><th>Site</th><th>Version</th><th>Matched by</th><th>Overrides</th><th>Changed</th></tr></thead><tbody>${rows || '<tr><td colspan="5" class="muted">no sites yet</td></tr>'}</tbody></table>
    <h2>Add a site</h2>
    <form id="site-add" class="profile">
      <label for="a-name">Name</label><input id="a-name" name="name" required><span></span>
      <label for="a-ssid">SSIDs</label><input id="a-ssid" name="ssid"><span class="hint">comma-separated</span>
      <label for="a-bssid">BSSIDs</label><input id="a-bssid" name="bssid"><span class="hint">comma-separated</span>
      <label for="a-area_prefix">Area prefixes</label><input id="a-area_prefix" name="area_prefix"><span class="hint">SSID or BSSID starts with</span>
      <label for="a-description">Description</label><input id="a-description" name="description"><span></span>
      <span></span><button type="submit">Add site</button><span></span>
    </form>
    <p id="site-add-error" class="error" role="alert"></p>`;
  $('#site-add').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const body = {
      name: String(f.get('name')).trim(),
      description: String(f.get('description')).trim() || null,
      match: { ssid: splitList(f.get('ssid')), bssid: splitList(f.get('bssid')), area_prefix: splitList(f.get('area_prefix')) },
    };
    try {
      await api('POST', '/v1/sites', body);
      location.hash = `#/site/${encodeURIComponent(body.name)}`;
    } catch (err) {
      if (err instanceof Unauthorized) return showLogin(err.message);
      $('#site-add-error').textContent = err.field ? `${err.field}: ${err.message}` : err.message;
    }
  });
}

async function sitePage(gen, name) {
  const [{ site, effective }, meta, hist] = await Promise.all([
    api('GET', `/v1/sites/${encodeURIComponent(name)}`),
    api('GET', '/v1/site-profile'),
    api('GET', `/v1/sites/${encodeURIComponent(name)}/history`),
  ]);
  if (gen !== generation) return;
  const fieldRows = meta.fields
    .map((k) => {
      const own = site.profile[k];
      return `<label for="f-${k}">${esc(k)}</label><input id="f-${k}" name="${esc(k)}" data-profile="1" value="${esc(own ?? '')}" placeholder="${esc(meta.defaults[k])}"><span class="hint">${own === undefined ? `default ${esc(meta.defaults[k])}` : `effective ${esc(effective[k])}`}</span>`;
    })
    .join('');
  const history = hist.history
    .slice()
    .reverse()
    .map((a) => `<tr data-version="${a.version}"><td>${esc(a.at)}</td><td>v${a.version}</td><td>${esc(a.action)}</td><td class="who">${esc(a.who)}</td><td>${diffLines(a.diff).map(esc).join('<br>')}</td></tr>`)
    .join('');
  page().innerHTML = `<h1 id="site-title">Site ${esc(site.name)} <span class="muted" id="site-version">version ${site.version}</span></h1>
    <form id="site-edit" class="profile">
      <label for="f-description">description</label><input id="f-description" name="description" value="${esc(site.description ?? '')}"><span></span>
      <label for="f-ssid">match.ssid</label><input id="f-ssid" name="ssid" value="${esc(site.match.ssid.join(', '))}"><span class="hint">comma-separated</span>
      <label for="f-bssid">match.bssid</label><input id="f-bssid" name="bssid" value="${esc(site.match.bssid.join(', '))}"><span class="hint">comma-separated</span>
      <label for="f-area_prefix">match.area_prefix</label><input id="f-area_prefix" name="area_prefix" value="${esc(site.match.area_prefix.join(', '))}"><span class="hint">comma-separated</span>
      ${fieldRows}
      <span></span><button type="submit" id="site-save">Save</button><span></span>
    </form>
    <p id="site-edit-error" class="error" role="alert"></p>
    <p id="site-edit-result"></p>
    <h2>Before you save: the last 7 days' drives at this site</h2>
    <div id="site-simulation"><p class="muted">Change a threshold to see what it would have done on the drives HQ holds (nothing is saved until Save).</p></div>
    <h2>History</h2>
    <table id="site-history"><thead><tr><th>At</th><th>Version</th><th>Change</th><th>Who</th><th>What</th></tr></thead><tbody>${history}</tbody></table>`;
  // Editing a threshold replays the site's drives under it (POST .../simulate), beside the current ones; Save is apart.
  let simTimer = null;
  let simSeq = 0;
  const simulate = async () => {
    // The page may have moved on (saved and re-drawn, another page): this editor's comparison is then moot.
    if (gen !== generation || !$('#site-simulation')) return;
    const values = {};
    for (const el of document.querySelectorAll('#site-edit input[data-profile]')) values[el.name] = el.value;
    const set = simulationSet(values, meta.defaults, site.profile);
    const box = $('#site-simulation');
    if (!Object.keys(set).length) {
      box.innerHTML = '<p class="muted">No threshold changed.</p>';
      return;
    }
    const seq = ++simSeq;
    box.innerHTML = '<p class="muted" id="sim-running">Replaying the drives…</p>';
    try {
      const sim = await api('POST', `/v1/sites/${encodeURIComponent(name)}/simulate`, { set, since: '7d' });
      if (seq !== simSeq || gen !== generation || !box.isConnected) return;
      const changed = Object.entries(sim.changed).map(([k, v]) => `${k} ${v.from} → ${v.to}`).join(', ') || 'nothing';
      const rows = simulationRows(sim).map(([l, a, b]) => `<tr><td>${esc(l)}</td><td class="current">${esc(a)}</td><td class="proposed">${esc(b)}</td></tr>`).join('');
      const vehicles = sim.vehicles.map((v) => `${esc(v.vehicle)}: ${v.current.switches} → ${v.proposed.switches} switches`).join('; ');
      box.innerHTML = `<p>Tried: ${esc(changed)}, on ${sim.vehicles.length} vehicle(s) that drove here${vehicles ? ` (${vehicles})` : ''}.</p>
        <table id="sim-table"><thead><tr><th></th><th>current</th><th>proposed</th></tr></thead><tbody>${rows}</tbody></table>
        ${sim.warnings.map((w) => `<p class="error sim-warning">${esc(w)}</p>`).join('')}`;
    } catch (err) {
      if (seq !== simSeq || gen !== generation || !box.isConnected) return;
      if (err instanceof Unauthorized) return showLogin(err.message);
      box.innerHTML = `<p class="error" id="sim-error">${esc(err.field ? `${err.field}: ${err.message}` : err.message)}</p>`;
    }
  };
  $('#site-edit').addEventListener('input', (ev) => {
    if (!ev.target.matches?.('input[data-profile]')) return;
    clearTimeout(simTimer);
    simTimer = setTimeout(simulate, 400);
  });
  $('#site-edit').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearTimeout(simTimer);
    for (const el of document.querySelectorAll('#site-edit input.invalid')) el.classList.remove('invalid');
    $('#site-edit-error').textContent = '';
    const form = ev.target;
    const values = {};
    for (const el of form.querySelectorAll('input[data-profile]')) values[el.name] = el.value;
    const body = {
      description: form.description.value.trim() || null,
      match: { ssid: splitList(form.ssid.value), bssid: splitList(form.bssid.value), area_prefix: splitList(form.area_prefix.value) },
      profile: profilePatch(values, meta.defaults, site.profile),
    };
    try {
      const r = await api('PATCH', `/v1/sites/${encodeURIComponent(name)}`, body);
      await route();
      $('#site-edit-result').textContent = r.changed ? `Saved: version ${r.site.version}. Vehicles apply it within seconds.` : 'Nothing changed.';
    } catch (err) {
      if (err instanceof Unauthorized) return showLogin(err.message);
      const field = String(err.field ?? '');
      const input = document.getElementById(`f-${field.replace(/^(profile|match)\./, '').replace(/\[\d+\]$/, '')}`);
      if (input) input.classList.add('invalid');
      $('#site-edit-error').textContent = field ? `${field}: ${err.message}` : err.message;
    }
  });
}

// ---- routing -----------------------------------------------------------------------------------------------

const ROUTES = [
  { re: /^#?\/?$/, nav: 'fleet', render: (gen) => fleetPage(gen), live: true },
  { re: /^#\/vehicle\/(.+)$/, nav: 'fleet', render: (gen, m) => vehiclePage(gen, decodeURIComponent(m[1])), live: true },
  { re: /^#\/sites$/, nav: 'sites', render: (gen) => sitesPage(gen) },
  { re: /^#\/site\/(.+)$/, nav: 'sites', render: (gen, m) => sitePage(gen, decodeURIComponent(m[1])) },
];

async function route() {
  const gen = ++generation;
  clearInterval(refreshTimer);
  if (!store.getItem('roamlink.token')) return showLogin();
  $('#login').hidden = true;
  $('#logout').hidden = false;
  if (!store.getItem('roamlink.operator')) {
    // Who the token signs in as: the server says (the audit records that name, whatever a page might claim).
    try {
      store.setItem('roamlink.operator', (await api('GET', '/v1/whoami')).operator);
    } catch (err) {
      if (err instanceof Unauthorized) return showLogin('That token was refused.');
      throw err;
    }
  }
  $('#whoami').textContent = store.getItem('roamlink.operator') || '';
  const hash = location.hash || '#/';
  const r = ROUTES.find((x) => x.re.test(hash));
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === r?.nav);
  if (!r) {
    page().innerHTML = `<h1>Not found</h1><p>No page ${esc(hash)}. <a href="#/">The fleet</a>.</p>`;
    return;
  }
  const m = r.re.exec(hash);
  const draw = async () => {
    try {
      await r.render(gen, m);
      if (gen === generation) status(`updated ${new Date().toLocaleTimeString()}`);
    } catch (err) {
      if (err instanceof Unauthorized) return showLogin(err.message === 'no token' ? '' : 'That token was refused.');
      if (gen === generation) page().innerHTML = `<h1>Error</h1><p class="error" id="page-error">${esc(err.message)}</p>`;
    }
  };
  await draw();
  if (r.live && gen === generation) refreshTimer = setInterval(draw, 5000);
}

$('#login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  store.setItem('roamlink.token', $('#token').value.trim());
  store.removeItem('roamlink.operator');
  $('#token').value = '';
  void route();
});
$('#logout').addEventListener('click', () => {
  store.removeItem('roamlink.token');
  store.removeItem('roamlink.operator');
  void route();
});
window.addEventListener('hashchange', () => void route());
void route();
