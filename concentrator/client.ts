// Talking to a running concentrator over its control socket (the CLI asks it to reconcile after a registry change).
import { request } from 'node:http';

export interface ControlReply {
  status: number;
  body: unknown;
}

/** One request to the admin API on `socketPath`; null when no daemon listens there (no socket, or refused). */
export function controlRequest(socketPath: string, method: 'GET' | 'POST', path: string, timeoutMs = 30_000): Promise<ControlReply | null> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from the concentrator on ${socketPath} within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(null);
      else reject(err);
    });
    req.end();
  });
}
