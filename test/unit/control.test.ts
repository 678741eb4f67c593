// shared/control.ts: one request to a daemon's control socket, the agent's or the concentrator's, over a real unix socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlRequest } from '../../shared/control.js';
import { agentRequest } from '../../cli/agent.js';

test('controlRequest: JSON and text answers with their status, the body sent as JSON; no daemon is null; a silent one is a timeout naming the socket', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rl-control-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'd.sock');
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.url === '/json') return void res.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify({ got: body, type: req.headers['content-type'] ?? null, method: req.method }));
      if (req.url === '/text') return void res.writeHead(200).end('plain');
      if (req.url === '/empty') return void res.writeHead(204).end();
      // /silent: never answers
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  t.after(() => { server.closeAllConnections(); server.close(); });

  assert.deepEqual(await controlRequest(socket, 'POST', '/json', { body: { to: 'wlan1' } }), { status: 409, body: { got: '{"to":"wlan1"}', type: 'application/json', method: 'POST' } });
  assert.deepEqual(await controlRequest(socket, 'GET', '/text'), { status: 200, body: 'plain' });
  assert.deepEqual(await controlRequest(socket, 'GET', '/empty'), { status: 204, body: null });
  await assert.rejects(controlRequest(socket, 'GET', '/silent', { timeoutMs: 100 }), new RegExp(`no answer on ${socket} within 100 ms`));

  assert.equal(await controlRequest(join(dir, 'none.sock'), 'GET', '/'), null, 'no socket');
  writeFileSync(join(dir, 'stale.sock'), '');
  assert.equal(await controlRequest(join(dir, 'stale.sock'), 'GET', '/').catch((e: NodeJS.ErrnoException) => e.code), null, 'a file nobody listens on: refused');
  await assert.rejects(agentRequest(join(dir, 'none.sock'), 'GET', '/v1/status'), /the agent is not running \(no control socket at .*none\.sock\)/);
});
