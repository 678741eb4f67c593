// `roamlink modem status` while the agent holds the port: the answer comes from the agent's control socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { openDriver, startEmulator } from '../../lab/modem/testing.js';

const ROAMLINK = fileURLToPath(new URL('../../../bin/roamlink', import.meta.url));

test('port held by the agent: modem status asks the agent; without an agent, the lock is the error', { timeout: 20_000 }, async (t) => {
  const emu = await startEmulator(t, { profile: 'huawei' });
  await openDriver(t, emu); // the "agent" holds the port
  const dir = mkdtempSync(join(tmpdir(), 'roamlink-modem-status-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sock = join(dir, 'agent.sock');

  const alone = await execa(process.execPath, [ROAMLINK, 'modem', 'status', '--device', emu.devicePath, '--socket', sock], { reject: false });
  assert.equal(alone.exitCode, 1);
  assert.match(alone.stderr, /lock/i);

  const server = createServer((req, res) => {
    if (req.url === '/v1/modem') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ phase: 'online', signalDbm: -97, bearer: true }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(sock, r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const viaAgent = await execa(process.execPath, [ROAMLINK, 'modem', 'status', '--device', emu.devicePath, '--socket', sock, '--json'], { reject: false });
  assert.equal(viaAgent.exitCode, 0, viaAgent.stderr);
  assert.deepEqual(JSON.parse(viaAgent.stdout), { source: 'agent', phase: 'online', signalDbm: -97, bearer: true });
});
