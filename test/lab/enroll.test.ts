// Enrollment by code in the lab (issue 15, item 7), over real WireGuard: HQ issues a code (`roamlink vehicle add`), the
// vehicle redeems it with `roamlink enroll` over the depot's Wi-Fi (its key made there, HQ pinned), and the agent,
// started on the config enroll wrote, brings its tunnel up through the lab: the camera and HQ's dispatcher reach each
// other. Meanwhile HQ's firewall (enroll_listen's port): open from firewall.enroll_from (AP 0's NAT address), closed
// from HQ's LAN and through the tunnel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadScenario } from '../../shared/scenario.js';
import { run } from '../../shared/exec.js';
import { ENROLL_PORT, runScenario } from '../../lab/runner.js';
import { PLAN } from '../../lab/topology.js';
import { publicKeyOf } from '../../shared/wg.keys.js';
import { makeCert } from '../unit/tls.fixture.js';
import { labLeftovers, scenarioPath, tcpFrom } from './lab.helpers.js';

const notRoot = process.getuid?.() !== 0 && 'needs root (network namespaces, WireGuard, nftables)';

test('a vehicle enrolled by code brings its tunnel up through the lab and reaches HQ\'s LAN; the enrollment port only from where configured', { skip: notRoot, timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rlt-enroll-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sc = await loadScenario(scenarioPath('enroll.yaml'));
  let seen: Record<string, unknown> = {};
  const report = await runScenario(sc, {
    enrollByCode: makeCert(dir, 'admin'),
    during: async ({ hq, topo, agent }) => {
      const cfg = parseYaml(readFileSync(agent.config, 'utf8')) as { vehicle: string; wireguard: { private_key_file: string; address: string }; concentrator: { endpoint: string; public_key: string; routes: string[] }; lan: { subnet: string } };
      const registry = JSON.parse((await hq(['vehicle', 'show', 'lab-car', '--json'])).stdout) as { public_key: string; tunnel_address: string; subnet: string };
      const hqPub = (await hq(['hq', 'pubkey'])).stdout.trim();
      seen = {
        // What enroll wrote is what HQ registered: the key made on the vehicle (0600), HQ's key, endpoint and routes.
        config: [cfg.vehicle, cfg.wireguard.address, cfg.lan.subnet, cfg.concentrator.endpoint, cfg.concentrator.routes],
        registered: ['lab-car', registry.tunnel_address, registry.subnet, `${PLAN.hqWan}:${PLAN.wgPort}`, [PLAN.hqLan]],
        keyMatches: publicKeyOf(readFileSync(cfg.wireguard.private_key_file, 'utf8').trim()) === registry.public_key,
        keyMode: (statSync(cfg.wireguard.private_key_file).mode & 0o777).toString(8),
        hqKeyMatches: cfg.concentrator.public_key === hqPub,
        // The port (enroll_listen 0.0.0.0:8444): from AP 0's network (enroll_from), not from HQ's LAN nor the tunnel.
        fromDepot: await tcpFrom(topo.ns.ap[0]!, PLAN.hqWan, ENROLL_PORT),
        fromHqLan: await tcpFrom(topo.ns.disp, PLAN.hqLanGw, ENROLL_PORT),
        throughTunnel: await tcpFrom(topo.ns.veh, '10.99.0.1', ENROLL_PORT),
        audit: (await hq(['vehicle', 'audit', 'lab-car', '--json'])).stdout.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { action: string }).action),
      };
      // Control: without HQ's table the same two tries connect (the listener is on 0.0.0.0), so the checks can fail.
      await run(['nft', 'delete', 'table', 'inet', 'roamlink_hq'], { netns: topo.ns.hq });
      seen.control = { fromHqLan: await tcpFrom(topo.ns.disp, PLAN.hqLanGw, ENROLL_PORT), throughTunnel: await tcpFrom(topo.ns.veh, '10.99.0.1', ENROLL_PORT) };
    },
  });
  const detail = JSON.stringify({ seen, expect: report.expect, traffic: report.traffic, switches: report.switches });
  assert.deepEqual(seen.config, seen.registered, detail);
  assert.deepEqual([seen.keyMatches, seen.keyMode, seen.hqKeyMatches], [true, '600', true], detail);
  assert.deepEqual([seen.fromDepot, seen.fromHqLan, seen.throughTunnel], ['open', 'timeout', 'timeout'], detail);
  assert.deepEqual(seen.control, { fromHqLan: 'open', throughTunnel: 'open' }, detail);
  assert.deepEqual(seen.audit, ['code', 'enrolled'], detail);
  // Through the tunnel both ways: the camera's packets reach the dispatcher on HQ's LAN, and back.
  const dirs = (report.directions ?? []) as Array<{ received: number; sent: number }>;
  assert.equal(dirs.length, 2, detail);
  for (const d of dirs) assert.ok(d.received >= 0.9 * d.sent && d.sent > 0, detail);
  assert.equal(report.ok, true, detail);
  process.stderr.write(`enroll: ${JSON.stringify(seen)}; traffic ${JSON.stringify(report.traffic)}\n`);
  assert.deepEqual(await labLeftovers(), []);
});
