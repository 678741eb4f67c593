// One HTTP request to a daemon's control socket (the agent's or the concentrator's): what the CLI, the lab and the tests
// use to talk to either. Unix sockets only; bounded in time.
import { request } from 'node:http';

export interface ControlReply {
  status: number;
  /** The answer as JSON, or its text when it is not JSON. */
  body: unknown;
}

/** The request on `socketPath`; null when no daemon listens there (no socket, or refused); throws on a timeout. */
export function controlRequest(socketPath: string, method: 'GET' | 'POST', path: string, o: { body?: unknown; timeoutMs?: number } = {}): Promise<ControlReply | null> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const data = o.body === undefined ? undefined : JSON.stringify(o.body);
    const req = request({ socketPath, method, path, timeout: timeoutMs, agent: false, headers: data ? { 'content-type': 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text || null;
        try {
          if (text) body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer on ${socketPath} within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(null);
      else reject(err);
    });
    if (data) req.write(data);
    req.end();
  });
}
