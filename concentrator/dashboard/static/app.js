// roamlink dashboard: hash-routed pages (fleet, vehicle, sites, site) over the admin JSON API, with the bearer token
// kept in sessionStorage (this tab only). No framework, no build step.
import { ago, applyFleetPush, dbm, hostText, matchFleet, megabytes, diffLines, esc, ms, polyline, profilePatch, signalSeries, simulationRows, simulationSet, sortFleet, splitList, sseParser, timelineSegments, uplinkColor } from './view.js';
import { REASONS } from './reasons.js';

const $ = (sel, root = document) => root.querySelector(sel);
const page = () => $('#page');
const store = window.sessionStorage;
let generation = 0;
/** The page's fleet stream (aborted when the page changes). */
let streamAbort = null;

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

/**
 * The fleet pushed by HQ (GET /v1/fleet-stream, server-sent events read with fetch so the token goes in the
 * Authorization header): calls onPush for each push until the page changes; reconnects after a drop.
 */
function streamFleet(gen, onPush) {
  const abort = new AbortController();
  streamAbort = abort;
  const run = async () => {
    while (gen === generation && !abort.signal.aborted) {
      try {
        const token = store.getItem('roamlink.token');
        const res = await fetch('/v1/fleet-stream', { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
        if (res.status === 401) return showLogin('That token was refused.');
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        const feed = sseParser();
        status('live');
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const e of feed(value)) if (e.event === 'fleet' && gen === generation) onPush(JSON.parse(e.data));
        }
      } catch (err) {
        if (abort.signal.aborted) return;
        status(`live updates interrupted (${err.message}); reconnecting`);
      }
      await new Promise((r) => setTimeout(r, 3000));
    }
  };
  void run();
}

const FLEET_COLUMNS = [
  ['name', 'Vehicle'], ['state', 'State'], ['active', 'Active uplink'], ['signal', 'Signal'], ['site', 'Site'],
  ['last_switch', 'Last switch'], ['lte_today', 'LTE today'], [null, 'Host'], ['heard', 'Heard'],
];
/** The fleet table's sort and search, kept across pushes and visits. */
const fleetView = { rows: new Map(), online: 0, sort: 'name', dir: 'asc', query: '' };

function fleetRowHtml(v, now) {
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
}

/** Redraws the table body and summary from fleetView (the search box and headers stay as they are). */
function drawFleet() {
  const body = $('#fleet tbody');
  if (!body) return;
  const all = [...fleetView.rows.values()];
  const shown = sortFleet(all.filter((r) => matchFleet(r, fleetView.query)), fleetView.sort, fleetView.dir);
  const now = Date.now();
  body.innerHTML = shown.map((v) => fleetRowHtml(v, now)).join('') || `<tr><td colspan="9" class="muted">${all.length ? 'no vehicle matches' : 'no vehicles registered'}</td></tr>`;
  $('#fleet-summary').textContent = `${fleetView.online} of ${all.length} online${shown.length !== all.length ? `, ${shown.length} shown` : ''}`;
  for (const th of document.querySelectorAll('#fleet th[data-sort]')) {
    th.setAttribute('aria-sort', th.dataset.sort === fleetView.sort ? (fleetView.dir === 'asc' ? 'ascending' : 'descending') : 'none');
  }
}

async function fleetPage(gen) {
  page().innerHTML = `<h1>Fleet</h1>
    <p class="toolbar"><input id="fleet-search" type="search" placeholder="Search: name, site, uplink, state…" value="${esc(fleetView.query)}" aria-label="Search the fleet">
      <button type="button" id="log-csv">Switch log (CSV, 7 days)</button> <a href="#/lte">LTE per day</a> <a href="#/vehicles">Add or revoke vehicles</a></p>
    <p id="fleet-summary"></p>
    <table id="fleet"><thead><tr>${FLEET_COLUMNS.map(([k, label]) => (k ? `<th data-sort="${k}" tabindex="0">${label}</th>` : `<th>${label}</th>`)).join('')}</tr></thead>
    <tbody></tbody></table>`;
  $('#fleet-search').addEventListener('input', (ev) => {
    fleetView.query = ev.target.value;
    drawFleet();
  });
  const sortBy = (th) => {
    const k = th.dataset.sort;
    fleetView.dir = fleetView.sort === k && fleetView.dir === 'asc' ? 'desc' : 'asc';
    fleetView.sort = k;
    drawFleet();
  };
  for (const th of document.querySelectorAll('#fleet th[data-sort]')) {
    th.addEventListener('click', () => sortBy(th));
    th.addEventListener('keydown', (ev) => ev.key === 'Enter' && sortBy(th));
  }
  $('#log-csv').addEventListener('click', () => downloadCsv('/v1/log.csv?since=7d', 'roamlink-switch-log.csv'));
  // The first push is the whole fleet; until it comes, the last one seen.
  drawFleet();
  streamFleet(gen, (push) => {
    fleetView.rows = applyFleetPush(fleetView.rows, push);
    fleetView.online = push.online;
    drawFleet();
    status(`live, updated ${new Date().toLocaleTimeString()}`);
  });
}

/** Fetches a CSV with the token (a plain link could not send it) and hands it to the browser as a download. */
async function downloadCsv(path, filename) {
  try {
    const token = store.getItem('roamlink.token');
    const res = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
    if (res.status === 401) return showLogin('That token was refused.');
    if (!res.ok) throw new Error((await res.json().catch(() => null))?.error?.message ?? `HTTP ${res.status}`);
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    status(`CSV: ${err.message}`);
  }
}

async function ltePage(gen) {
  const data = await api('GET', '/v1/lte-days?days=7');
  if (gen !== generation) return;
  const rows = data.vehicles
    .map((v) => `<tr data-vehicle="${esc(v.name)}"><td><a href="#/vehicle/${encodeURIComponent(v.name)}">${esc(v.name)}</a></td>${v.bytes.map((b, i) => `<td data-day="${esc(data.days[i])}">${esc(megabytes(b))}</td>`).join('')}<td class="total">${esc(megabytes(v.bytes.reduce((a, b) => a + (b ?? 0), 0)))}</td></tr>`)
    .join('');
  page().innerHTML = `<h1>LTE data per vehicle per day</h1>
    <p class="muted">UTC days, from the heartbeats' interface counters (rx + tx of LTE uplinks); — where HQ did not hear the vehicle that day.</p>
    <table id="lte-days"><thead><tr><th>Vehicle</th>${data.days.map((d) => `<th>${esc(d.slice(5))}</th>`).join('')}<th>7 days</th></tr></thead>
    <tbody>${rows || `<tr><td colspan="${data.days.length + 2}" class="muted">no vehicles registered</td></tr>`}</tbody></table>`;
}

async function vehiclesPage(gen) {
  const data = await api('GET', '/v1/audit/vehicles?limit=50');
  if (gen !== generation) return;
  const audit = data.audit
    .map((a) => `<tr data-action="${esc(a.action)}"><td>${esc(a.at)}</td><td class="who">${esc(a.who)}</td><td class="action">${esc(a.action)}</td><td class="vehicle">${esc(a.vehicle ?? '—')}</td><td class="muted">${esc(a.detail)}</td></tr>`)
    .join('');
  page().innerHTML = `<h1>Add or revoke vehicles</h1>
    <h2>Add a vehicle</h2>
    <form id="vehicle-add" class="profile">
      <label for="v-name">Name</label><input id="v-name" name="name" required><span class="hint">a-z 0-9 - _ .</span>
      <label for="v-subnet">LAN subnet</label><input id="v-subnet" name="subnet"><span class="hint">empty: the next free /24</span>
      <label for="v-site">Home site</label><input id="v-site" name="site"><span></span>
      <label for="v-public_key">Public key</label><input id="v-public_key" name="public_key"><span class="hint">made on the vehicle; empty: an enrollment code instead</span>
      <span></span><button type="submit">Add</button><span></span>
    </form>
    <p id="vehicle-add-error" class="error" role="alert"></p>
    <div id="vehicle-add-result"></div>
    <p class="muted">To revoke a vehicle, open it from the fleet.</p>
    <h2>Audit</h2>
    <table id="vehicle-audit"><thead><tr><th>At</th><th>Who</th><th>What</th><th>Vehicle</th><th>Detail</th></tr></thead><tbody>${audit || '<tr><td colspan="5" class="muted">nothing yet</td></tr>'}</tbody></table>`;
  $('#vehicle-add').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('#vehicle-add-error').textContent = '';
    for (const el of document.querySelectorAll('#vehicle-add input.invalid')) el.classList.remove('invalid');
    const f = new FormData(ev.target);
    const body = {};
    for (const k of ['name', 'subnet', 'site', 'public_key']) if (String(f.get(k) ?? '').trim()) body[k] = String(f.get(k)).trim();
    try {
      const r = await api('POST', '/v1/vehicles', body);
      await route();
      const box = $('#vehicle-add-result');
      if (r.enrollment) {
        const e = r.enrollment;
        box.innerHTML = `<p>Enrollment code for <strong>${esc(e.name)}</strong>, valid until ${esc(e.expires_at)}, once. It is a secret: give it to the vehicle's installer only; it is not shown again.</p>
          <pre id="enroll-code">${esc(e.code)}</pre>
          <p>On the vehicle: <code id="enroll-command">roamlink enroll ${esc(e.code)} --hq ${esc(e.hq ?? 'HQ-ADDRESS:PORT')}${e.pin ? ` --pin ${esc(e.pin)}` : ''}</code></p>`;
      } else {
        box.innerHTML = `<p id="vehicle-added">Vehicle <strong>${esc(r.vehicle.name)}</strong> added: tunnel address ${esc(r.vehicle.tunnel_address)}, subnet ${esc(r.vehicle.subnet)}.</p>`;
      }
    } catch (err) {
      if (err instanceof Unauthorized) return showLogin(err.message);
      const input = document.getElementById(`v-${err.field}`);
      if (input) input.classList.add('invalid');
      $('#vehicle-add-error').textContent = err.field ? `${err.field}: ${err.message}` : err.message;
    }
  });
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

/** A vehicle's page: its live part redrawn when HQ pushes a change of it; CSV and revoke below, drawn once. */
async function vehiclePage(gen, name) {
  page().innerHTML = `<div id="vehicle-live"></div>
    <h2>Switch log</h2>
    <p><button type="button" id="vehicle-csv">Download this vehicle's switch log (CSV, 30 days)</button></p>
    <h2>Revoke</h2>
    <form id="vehicle-revoke" class="profile">
      <label for="r-confirm">Type its name</label><input id="r-confirm" name="confirm" autocomplete="off"><span class="hint">its peer and route go at once; its key can never be used again</span>
      <span></span><button type="submit" class="danger">Revoke ${esc(name)}</button><span></span>
    </form>
    <p id="vehicle-revoke-error" class="error" role="alert"></p>`;
  $('#vehicle-csv').addEventListener('click', () => downloadCsv(`/v1/log.csv?vehicle=${encodeURIComponent(name)}&since=30d`, `roamlink-${name}-switch-log.csv`));
  $('#vehicle-revoke').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if ($('#r-confirm').value.trim() !== name) {
      $('#vehicle-revoke-error').textContent = `confirm: type ${name} to revoke it`;
      return;
    }
    try {
      await api('POST', `/v1/vehicles/${encodeURIComponent(name)}/revoke`, {});
      location.hash = '#/vehicles';
    } catch (err) {
      if (err instanceof Unauthorized) return showLogin(err.message);
      $('#vehicle-revoke-error').textContent = err.field ? `${err.field}: ${err.message}` : err.message;
    }
  });
  await drawVehicle(gen, name);
  let pending = null;
  streamFleet(gen, (push) => {
    if (!push.full && !push.vehicles.some((r) => r.name === name) && !(push.removed ?? []).includes(name)) return;
    if (pending) return; // one redraw at a time, at most one a second
    pending = setTimeout(() => {
      drawVehicle(gen, name)
        .then(() => status(`live, updated ${new Date().toLocaleTimeString()}`))
        .catch((err) => (err instanceof Unauthorized ? showLogin(err.message) : status(err.message)))
        .finally(() => (pending = null));
    }, 1000);
  });
}

async function drawVehicle(gen, name) {
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
  const lteRows = (v.lte_days ?? []).slice(-7).reverse().map((d) => `<tr data-day="${esc(d.day)}"><td>${esc(d.day)}</td><td class="bytes">${esc(megabytes(d.bytes))}</td></tr>`).join('');
  const live = $('#vehicle-live');
  if (!live) return;
  live.innerHTML = `<h1 id="vehicle-name">${esc(v.name)} <span class="badge ${v.online ? 'online' : 'offline'}">${v.online ? 'online' : 'offline'}</span></h1>
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
    ${signalSvg(v.history ?? [])}
    <h2>LTE data per day</h2>
    <table id="vehicle-lte"><thead><tr><th>Day (UTC)</th><th>LTE</th></tr></thead><tbody>${lteRows || '<tr><td colspan="2" class="muted">none heard</td></tr>'}</tbody></table>`;
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
  { re: /^#?\/?$/, nav: 'fleet', render: (gen) => fleetPage(gen) },
  { re: /^#\/vehicle\/(.+)$/, nav: 'fleet', render: (gen, m) => vehiclePage(gen, decodeURIComponent(m[1])) },
  { re: /^#\/lte$/, nav: 'lte', render: (gen) => ltePage(gen) },
  { re: /^#\/vehicles$/, nav: 'vehicles', render: (gen) => vehiclesPage(gen) },
  { re: /^#\/sites$/, nav: 'sites', render: (gen) => sitesPage(gen) },
  { re: /^#\/site\/(.+)$/, nav: 'sites', render: (gen, m) => sitePage(gen, decodeURIComponent(m[1])) },
];

async function route() {
  const gen = ++generation;
  streamAbort?.abort();
  streamAbort = null;
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
}

$('#login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  store.setItem('roamlink.token', $('#token').value.trim());
  store.removeItem('roamlink.operator');
  $('#token').value = '';
  void route();
});
$('#logout').addEventListener('click', () => {
  streamAbort?.abort();
  store.removeItem('roamlink.token');
  store.removeItem('roamlink.operator');
  void route();
});
window.addEventListener('hashchange', () => void route());
void route();
