// The agent's HTTP client of HQ's agents' API, inside the tunnel: http://<concentrator tunnel address>:<port>/v1/...
import { Agent, request } from 'node:http';
import type { HeartbeatInput, HeartbeatReply } from '../../shared/wire/heartbeat.js';
import { durableMarkSchema, type SentClock, type SwitchEvent } from '../../shared/wire/switch-event.js';
import type { DurableOutcome, SendOutcome } from './shipper.js';
import type { DriveSendOutcome } from './drive.shipper.js';

export interface AgentApiClientOptions {
  /** e.g. http://10.99.0.1:8080 */
  baseUrl: string;
  /** Our tunnel address: requests leave from it, which is how HQ knows us. */
  localAddress?: string;
  /** Per request (ms). */
  timeoutMs?: number;
}

export interface HttpReply {
  status: number;
  body: unknown;
}

export interface AgentApiClient {
  /** `sent`: the agent's clock as it sends (HQ learns the vehicle's clock offset from it). */
  postEvents(events: SwitchEvent[], signal: AbortSignal, sent?: SentClock): Promise<SendOutcome>;
  /** How far HQ's log is durable, once it covers `want` (HQ waits up to 2 s for it). */
  durable(want: { epoch: string; upto: number }, signal: AbortSignal): Promise<DurableOutcome>;
  postHeartbeat(hb: HeartbeatInput, signal: AbortSignal): Promise<HeartbeatReply>;
  /** A piece of a drive file (brotli of its bytes from `offset`). */
  postDrive(segment: string, offset: number, body: Buffer, signal: AbortSignal): Promise<DriveSendOutcome>;
  /** The profile set (unvalidated: the caller checks it), or 'unchanged' when HQ has `version` too. */
  getSites(version: number | null, signal: AbortSignal): Promise<unknown | 'unchanged'>;
  close(): void;
}

/** Classifies HQ's answer to POST /v1/events (pure). */
export function eventsOutcome(r: HttpReply): SendOutcome {
  const err = (r.body as { error?: { code?: string; message?: string; field?: string } } | null)?.error;
  // HQ's durable mark as it answered (HQs since 2026-12), in either answer: it settles earlier accepted batches without
  // a request of their own. An answer without one (an older HQ), or with one malformed, is taken without it.
  const mark = durableMarkSchema.safeParse((r.body as { durable?: unknown } | null)?.durable);
  const durable = mark.success ? { durable: mark.data } : {};
  if (r.status === 200) {
    const stored = (r.body as { stored?: unknown })?.stored;
    if (Array.isArray(stored) && stored.every((s) => typeof s === 'string')) return { kind: 'ok', stored, ...durable };
    return { kind: 'retry', error: 'HQ answered 200 without the stored ids' };
  }
  if (r.status === 202) {
    // Accepted, not yet durable (we asked with Prefer: respond-async): kept in the journal until a mark covers the ticket.
    const b = r.body as { accepted?: unknown; epoch?: unknown; ticket?: unknown } | null;
    const ticket = durableMarkSchema.safeParse({ epoch: b?.epoch, upto: b?.ticket });
    if (Array.isArray(b?.accepted) && b.accepted.every((s) => typeof s === 'string') && ticket.success && typeof b?.ticket === 'number') return { kind: 'accepted', accepted: b.accepted, ticket: ticket.data, ...durable };
    return { kind: 'retry', error: 'HQ answered 202 without the accepted ids and their ticket' };
  }
  if (r.status === 413) return { kind: 'too-large' };
  if (r.status === 400 && err?.code === 'INVALID') {
    const m = /^events\[(\d+)\]/.exec(err.field ?? '');
    return { kind: 'refused', index: m ? Number(m[1]) : null, message: `${err.field ?? '?'}: ${err.message ?? 'invalid'}` };
  }
  return { kind: 'retry', error: `HTTP ${r.status}${err ? ` ${err.code}: ${err.message}` : ''}` };
}

/** Classifies HQ's answer to GET /v1/events/durable (pure). */
export function durableOutcome(r: HttpReply): DurableOutcome {
  if (r.status === 200) {
    const m = durableMarkSchema.safeParse(r.body);
    return m.success ? { kind: 'mark', mark: m.data } : { kind: 'retry', error: 'HQ answered its durable mark without an epoch or upto' };
  }
  // This HQ does not know the route (an older one, after a downgrade or a failover): what it accepted is shipped again.
  if (r.status === 404) return { kind: 'mark', mark: null };
  const err = (r.body as { error?: { code?: string; message?: string } } | null)?.error;
  return { kind: 'retry', error: `HTTP ${r.status}${err ? ` ${err.code}: ${err.message}` : ''}` };
}

/** Classifies HQ's answer to POST /v1/drive (pure). */
export function driveOutcome(r: HttpReply): DriveSendOutcome {
  const b = r.body as { have?: unknown; error?: { code?: string; message?: string; field?: string } } | null;
  const have = typeof b?.have === 'number' && Number.isSafeInteger(b.have) && b.have >= 0 ? b.have : null;
  if (r.status === 200 && have !== null) return { kind: 'ok', have };
  if (r.status === 409 && b?.error?.code === 'DRIVE_GAP' && have !== null) return { kind: 'gap', have };
  if (r.status === 413) return { kind: 'too-large' };
  if (r.status === 400 && b?.error?.code === 'INVALID') return { kind: 'refused', message: `${b.error.field ?? '?'}: ${b.error.message ?? 'invalid'}` };
  return { kind: 'retry', error: `HTTP ${r.status}${b?.error ? ` ${b.error.code}: ${b.error.message}` : ''}` };
}

export function createAgentApiClient(o: AgentApiClientOptions): AgentApiClient {
  const base = new URL(o.baseUrl);
  // Keep-alive: the connection lives inside the tunnel, whose inner addresses never change across switches.
  const agent = new Agent({ keepAlive: true, maxSockets: 2, timeout: 60_000 });
  const timeoutMs = o.timeoutMs ?? 5000;

  const call = (method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal, extra: Record<string, string> = {}): Promise<HttpReply> =>
    new Promise((resolve, reject) => {
      const raw = Buffer.isBuffer(body);
      const payload = body === undefined ? undefined : raw ? body : Buffer.from(JSON.stringify(body));
      const req = request(
        {
          protocol: base.protocol, hostname: base.hostname, port: base.port || 80, method, path, agent,
          localAddress: o.localAddress, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
          headers: { ...extra, ...(payload ? { 'content-type': raw ? 'application/octet-stream' : 'application/json', 'content-length': payload.length } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = null;
            try {
              parsed = text ? JSON.parse(text) : null;
            } catch {
              parsed = text;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });

  return {
    async postEvents(events, signal, sent) {
      try {
        // HQ may answer before its commit (202); an older HQ ignores the header and answers once stored (200).
        return eventsOutcome(await call('POST', '/v1/events', sent ? { sent, events } : { events }, signal, { prefer: 'respond-async' }));
      } catch (err) {
        return { kind: 'retry', error: (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message };
      }
    },
    async durable(want, signal) {
      try {
        return durableOutcome(await call('GET', `/v1/events/durable?epoch=${encodeURIComponent(want.epoch)}&upto=${want.upto}`, undefined, signal));
      } catch (err) {
        return { kind: 'retry', error: (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message };
      }
    },
    async postDrive(segment, offset, body, signal) {
      try {
        return driveOutcome(await call('POST', `/v1/drive?segment=${encodeURIComponent(segment)}&offset=${offset}`, body, signal));
      } catch (err) {
        return { kind: 'retry', error: (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message };
      }
    },
    async postHeartbeat(hb, signal) {
      const r = await call('POST', '/v1/heartbeat', hb, signal);
      if (r.status !== 200) throw new Error(`heartbeat: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      return r.body as HeartbeatReply;
    },
    async getSites(version, signal) {
      const r = await call('GET', `/v1/sites${version === null ? '' : `?version=${version}`}`, undefined, signal);
      if (r.status === 304) return 'unchanged';
      if (r.status !== 200) throw new Error(`sites: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    close() {
      agent.destroy();
    },
  };
}
