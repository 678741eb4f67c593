// Enrollment steps that need the app (run by deploy/enroll-vehicle.sh): `register` at HQ, `apply` on the vehicle.
//
//   node enroll.mjs register NAME --subnet CIDR --pubkey KEY --endpoint HOST:PORT [--site S] [--config HQ.yaml]
//     HQ: adds the vehicle with `roamlink vehicle add … --json` (or finds it, registered with the same key), then prints
//     one JSON line, the enrollment: everything the vehicle's config needs from HQ, no secret in it.
//   node enroll.mjs apply FILE|- [--config AGENT.yaml]
//     Vehicle: writes the enrollment into the agent config, comments kept, after checking that it names this vehicle's
//     own key; then `roamlink agent --check`. Exit 2 on bad input, like the CLI.
import { spawnSync } from 'node:child_process';
import { readFileSync, renameSync, statSync, writeFileSync, copyFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isScalar, isSeq, parse as parseYaml, parseDocument } from 'yaml';

const APP = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(APP, 'bin', 'roamlink');

class Bad extends Error {}
const bad = (msg) => {
  throw new Bad(msg);
};

function roamlink(args) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function wg(args, input) {
  const r = spawnSync('wg', args, { input, encoding: 'utf8' });
  if (r.error) bad(`cannot run wg (${r.error.code ?? r.error.message}): install wireguard-tools`);
  if (r.status !== 0) bad(`wg ${args.join(' ')}: ${(r.stderr ?? '').trim()}`);
  return r.stdout.trim();
}

function options(argv, known) {
  const pos = [];
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      pos.push(a);
      continue;
    }
    const [k, inline] = a.slice(2).split(/=(.*)/s, 2);
    if (!known.includes(k)) bad(`unknown option --${k}`);
    const v = inline ?? argv[++i];
    if (v === undefined) bad(`--${k} needs a value`);
    opts[k] = v;
  }
  return { pos, opts };
}

function register(argv) {
  const { pos, opts } = options(argv, ['subnet', 'pubkey', 'endpoint', 'site', 'config']);
  const [name] = pos;
  if (!name || pos.length > 1) bad('register: give one vehicle NAME');
  for (const k of ['subnet', 'pubkey', 'endpoint']) if (!opts[k]) bad(`register: --${k} is required`);
  if (!/^([0-9.]+|[a-zA-Z0-9.-]+):\d{1,5}$/.test(opts.endpoint)) bad(`--endpoint: "${opts.endpoint}" is not host:port (HQ's address as the vehicles reach it)`);
  const config = opts.config ?? '/etc/roamlink/hq.yaml';
  const cfgArgs = ['--config', config];

  // The vehicle already registered with this very key: enrolling again prints the same enrollment.
  let v;
  const shown = roamlink(['vehicle', 'show', name, '--json', ...cfgArgs]);
  if (shown.code === 0) {
    v = JSON.parse(shown.stdout);
    if (v.revoked_at) bad(`NAME: vehicle "${name}" is revoked; register it under a new name`);
    if (v.public_key !== opts.pubkey) bad(`NAME: vehicle "${name}" is registered with another key (${v.public_key}); revoke it first, or choose another name`);
    if (v.subnet !== opts.subnet) bad(`--subnet: vehicle "${name}" is registered with subnet ${v.subnet}`);
    process.stderr.write(`vehicle ${name} is already registered with this key\n`);
  } else {
    const args = ['vehicle', 'add', name, '--subnet', opts.subnet, '--pubkey', opts.pubkey, '--json', ...cfgArgs];
    if (opts.site) args.push('--site', opts.site);
    const added = roamlink(args);
    process.stderr.write(added.stderr);
    if (added.code !== 0) process.exit(added.code);
    v = JSON.parse(added.stdout);
  }
  const hq = hqFacts(config);
  const enrollment = {
    vehicle: v.name,
    public_key: v.public_key,
    site: v.site ?? null,
    wireguard: { address: v.tunnel_address },
    concentrator: { endpoint: opts.endpoint, public_key: hq.public_key, tunnel_address: hq.tunnel_address, probe_port: hq.probe_port, routes: hq.lan_subnets },
    lan: { subnet: v.subnet },
  };
  process.stdout.write(`${JSON.stringify(enrollment)}\n`);
}

/** What the vehicles need from HQ's config, through the app's own loader (the same checks as `roamlink hq --check`). */
function hqFacts(config) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { loadHqConfig, readPrivateKeyFile } = await import(${JSON.stringify(join(APP, 'dist/shared/config/hq.js'))});
    const { createWg } = await import(${JSON.stringify(join(APP, 'dist/shared/wg.js'))});
    const c = await loadHqConfig(${JSON.stringify(config)});
    const public_key = await createWg().pubKey(await readPrivateKeyFile(c.private_key_file));
    console.log(JSON.stringify({ public_key, tunnel_address: c.tunnel_address, probe_port: c.probe_port, lan_subnets: c.lan_subnets }));
  `], { encoding: 'utf8' });
  if (r.status !== 0) bad(`${config}: ${(r.stderr ?? '').trim().split('\n').pop()}`);
  return JSON.parse(r.stdout);
}

/** A value as YAML flow text: plain when that is unambiguous, else JSON-quoted. */
function render(value) {
  if (Array.isArray(value)) return `[${value.map(render).join(', ')}]`;
  if (typeof value === 'number') return String(value);
  return /^[A-Za-z0-9][A-Za-z0-9+/=._:-]*$/.test(value) && !/^(true|false|null|yes|no|on|off|~)$/i.test(value) ? value : JSON.stringify(value);
}

function apply(argv) {
  const { pos, opts } = options(argv, ['config']);
  const [from] = pos;
  if (!from || pos.length > 1) bad('apply: give the enrollment FILE (or - for standard input)');
  const config = opts.config ?? '/etc/roamlink/agent.yaml';
  let e;
  try {
    e = JSON.parse(readFileSync(from === '-' ? 0 : from, 'utf8'));
  } catch (err) {
    bad(`${from}: not an enrollment (${err.code ?? err.message})`);
  }
  for (const path of ['vehicle', 'public_key', 'wireguard.address', 'concentrator.endpoint', 'concentrator.public_key', 'concentrator.tunnel_address', 'lan.subnet']) {
    const v = path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), e);
    if (typeof v !== 'string' || !v) bad(`${from}: enrollment has no ${path}`);
  }
  let text;
  try {
    text = readFileSync(config, 'utf8');
  } catch (err) {
    bad(`--config: cannot read ${config}: ${err.code}`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length) bad(`${config}: not valid YAML: ${doc.errors[0].message.split('\n')[0]}`);

  // The registered key must be this vehicle's own: else the tunnel would never come up, silently.
  const keyFile = doc.getIn(['wireguard', 'private_key_file']);
  if (typeof keyFile !== 'string') bad(`${config}: wireguard.private_key_file is not set`);
  if (!existsSync(keyFile)) bad(`wireguard.private_key_file: ${keyFile} does not exist: run enroll-vehicle.sh key first`);
  const ours = wg(['pubkey'], readFileSync(keyFile, 'utf8'));
  if (ours !== e.public_key) bad(`public_key: HQ registered ${e.public_key}, but this vehicle's key (${keyFile}) is ${ours}`);
  if (!doc.hasIn(['lan', 'interface'])) bad(`${config}: lan.interface is not set; add the vehicle LAN's interface first`);

  // Values already there are replaced in the text itself, so the file keeps its layout and comments; new keys go
  // through the YAML document (re-printed whole).
  const edits = [];
  let structural = false;
  const put = (path, value) => {
    const node = doc.getIn(path, true);
    if (node && node.range && (isScalar(node) || isSeq(node))) {
      if (JSON.stringify(node.toJSON()) === JSON.stringify(value)) return;
      const [start, end] = node.range;
      const trail = /\s*$/.exec(text.slice(start, end))[0];
      let rendered = render(value);
      if (isSeq(node) && !node.flow) {
        const indent = ' '.repeat(start - text.lastIndexOf('\n', start - 1) - 1);
        rendered = value.map((v) => `- ${render(v)}`).join(`\n${indent}`);
      }
      edits.push({ start, end, text: rendered + trail });
    } else {
      structural = true;
    }
    doc.setIn(path, doc.createNode(value));
  };
  put(['vehicle'], e.vehicle);
  put(['wireguard', 'address'], e.wireguard.address);
  put(['concentrator', 'endpoint'], e.concentrator.endpoint);
  put(['concentrator', 'public_key'], e.concentrator.public_key);
  put(['concentrator', 'tunnel_address'], e.concentrator.tunnel_address);
  if (e.concentrator.probe_port !== undefined && (doc.hasIn(['concentrator', 'probe_port']) || e.concentrator.probe_port !== 51821)) {
    put(['concentrator', 'probe_port'], e.concentrator.probe_port);
  }
  if (Array.isArray(e.concentrator.routes) && e.concentrator.routes.length) put(['concentrator', 'routes'], e.concentrator.routes);
  put(['lan', 'subnet'], e.lan.subnet);
  let out = text;
  for (const ed of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, ed.start) + ed.text + out.slice(ed.end);
  if (structural || JSON.stringify(parseYaml(out)) !== JSON.stringify(doc.toJS())) out = doc.toString({ lineWidth: 0 });

  const mode = statSync(config).mode & 0o777;
  if (!existsSync(`${config}.pre-enroll`)) copyFileSync(config, `${config}.pre-enroll`);
  writeFileSync(`${config}.tmp`, out, { mode });
  renameSync(`${config}.tmp`, config);
  const check = roamlink(['agent', '--config', config, '--check']);
  process.stdout.write(check.stdout);
  process.stderr.write(check.stderr);
  if (check.code === 0) process.stderr.write(`enrolled as ${e.vehicle} (tunnel ${e.wireguard.address}, LAN ${e.lan.subnet}); start it: systemctl enable --now roamlink-agent\n`);
  process.exit(check.code);
}

try {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === 'register') register(rest);
  else if (cmd === 'apply') apply(rest);
  else bad('usage: enroll.mjs register NAME --subnet CIDR --pubkey KEY --endpoint HOST:PORT | apply FILE');
} catch (err) {
  if (!(err instanceof Bad)) throw err;
  process.stderr.write(`enroll: ${err.message}\n`);
  process.exit(2);
}
