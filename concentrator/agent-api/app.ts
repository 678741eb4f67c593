// The agents' API, reached only inside the tunnel: switch events, heartbeats, site profiles. A vehicle is identified by
// the request's source address (its tunnel address: WireGuard's cryptokey routing makes it unforgeable) and speaks only for itself.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../../shared/log.js';
import { parseWire } from '../../shared/wire/common.js';
import { heartbeatSchema, type HeartbeatReply } from '../../shared/wire/heartbeat.js';
import type { SiteSet } from '../../shared/wire/site-profile.js';
import { DURABLE_WAIT_MS, durableMarkSchema, eventBatchSchema, type DurableMark, type EventBatchAccepted, type EventBatchReply } from '../../shared/wire/switch-event.js';
import { realClock, type Clock } from '../../shared/clock.js';
import type { TimedEvent } from '../store/events/schema.js';
import type { IngestResult } from '../store/events/service.js';
import { clockOfBatch, eventTime, type VehicleClock } from '../store/events/time.js';
import type { HqMetrics } from '../metrics/hq.metrics.js';
import type { FleetState } from './fleet.js';
import { errorBody, installErrorHandling, type HttpErrorCode } from '../../shared/http/errors.js';
import { isStoreUnavailable } from '../store/sql.js';
import { driveChunkQuerySchema, DRIVE_CHUNK_LIMIT, type DriveChunkReply } from '../../shared/wire/drive-chunk.js';
import type { DriveRepository } from '../store/drives/repository.js';
import { receivePiece } from './drive.js';

export interface AgentApiOptions {
  /** The active vehicle whose tunnel address this is, or null. */
  identify: (address: string) => Promise<{ name: string } | null>;
  /** Stores a validated batch durably (group-committed); resolves once it is on disk. */
  ingest: (events: readonly TimedEvent[]) => Promise<IngestResult>;
  /**
   * Answering a batch before its commit, to an agent that asks (`Prefer: respond-async`), and telling it later how far
   * the log is durable (GroupCommit: ingest.ts). Absent: every batch is answered once stored, and GET
   * /v1/events/durable is 404.
   */
  durability?: Durability;
  fleet: FleetState;
  /** The site profile set agents fetch; absent: an empty set, version 0. */
  sites?: () => Promise<SiteSet>;
  sitesVersion?: () => Promise<number>;
  metrics?: HqMetrics;
  logger?: Logger;
  /** Where the vehicles' drives are kept (POST /v1/drive); absent: the route answers 404. */
  drives?: Pick<DriveRepository, 'append'>;
  /** Largest body accepted (bytes); default 4 MiB (a full batch of 1000 events with candidates fits). */
  bodyLimit?: number;
  /** HQ's clock: receive times, and the ingest's duration (realClock). */
  clock?: Clock;
}

/** What the agents' API needs of the group commit to answer before the commit (GroupCommit has it). */
export interface Durability {
  /** The batch queued with its ticket, or null: answer it once stored (the store failing, the queue long). */
  accept(events: readonly TimedEvent[]): { epoch: string; ticket: number; committed: Promise<IngestResult> } | null;
  mark(): DurableMark;
  /** The mark once it covers `want` or its epoch is another, or as it is when `signal` aborts. */
  untilDurable(want: DurableMark, signal: AbortSignal): Promise<DurableMark>;
}

declare module 'fastify' {
  interface FastifyRequest {
    vehicle: string;
  }
}

/** Socket addresses as IPv4 text: a dual-stack socket reports ::ffff:10.99.0.2. */
export function normalizeAddress(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

export function buildAgentApi(o: AgentApiOptions): FastifyInstance {
  const app = o.logger
    ? Fastify({ loggerInstance: o.logger as unknown as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), bodyLimit: o.bodyLimit ?? 4 << 20 })
    : Fastify({ logger: false, bodyLimit: o.bodyLimit ?? 4 << 20 });
  const sitesVersion = async (): Promise<number> => (o.sitesVersion ? o.sitesVersion() : o.sites ? (await o.sites()).version : 0);
  const clock = o.clock ?? realClock;

  const fail = (code: HttpErrorCode, message: string, field?: string) => {
    o.metrics?.rejected.inc({ code });
    return errorBody(code, message, field);
  };

  app.decorateRequest('vehicle', '');
  // Identity first, before the body is read: anything not from an active vehicle's tunnel address is refused.
  app.addHook('onRequest', async (req, reply) => {
    const addr = normalizeAddress(req.socket.remoteAddress);
    const v = await o.identify(addr);
    if (!v) return reply.code(403).send(fail('NOT_A_VEHICLE', `${addr || 'this address'} is not the tunnel address of a registered vehicle`));
    req.vehicle = v.name;
  });

  installErrorHandling(app, { log: app.log, surface: 'agent API', onError: (code) => o.metrics?.rejected.inc({ code }), unavailable: isStoreUnavailable });

  app.post('/v1/events', async (req, reply) => {
    const started = clock.now();
    const receivedAt = clock.wallNow();
    const p = parseWire(eventBatchSchema, req.body);
    if (!p.ok) return reply.code(400).send(fail('INVALID', p.message, p.field));
    const events = p.value.events;
    const other = events.findIndex((e) => e.vehicle !== req.vehicle);
    if (other >= 0) {
      return reply.code(403).send(fail('WRONG_VEHICLE', `"${events[other]!.vehicle}" is not the sending vehicle (${req.vehicle})`, `events[${other}].vehicle`));
    }
    // The vehicle's clock: as this batch says it was when sent, else as its last heartbeat said (an older agent).
    const live = o.fleet.get(req.vehicle);
    const vclock: VehicleClock | null = p.value.sent ? clockOfBatch(p.value.sent, receivedAt) : live ? { offsetMs: live.clockOffsetMs } : null;
    const timed = events.map((e) => ({ ...e, time: eventTime(e, vclock, receivedAt) }));
    const stored = (r: IngestResult) => {
      o.metrics?.stored(r.inserted, r.duplicates);
      o.metrics?.ingestSeconds.observe((clock.now() - started) / 1000);
    };
    // Asked for (RFC 7240) and HQ able: answered now, 202, not yet durable; the agent keeps the events until a durable
    // mark covers the ticket. A commit that fails is logged here: the agent learns it from the epoch (ingest.ts).
    const a = o.durability && /\brespond-async\b/i.test(String(req.headers.prefer ?? '')) ? o.durability.accept(timed) : null;
    if (a) {
      a.committed.then(stored, (err: Error) => req.log.warn({ event: 'ingest.commit_failed', vehicle: req.vehicle, ticket: a.ticket, err: err.message }, 'a batch answered 202 was not committed: its agent ships it again'));
      const body: EventBatchAccepted = { accepted: events.map((e) => e.id), epoch: a.epoch, ticket: a.ticket, durable: o.durability!.mark() };
      return reply.code(202).send(body);
    }
    const r = await o.ingest(timed);
    stored(r);
    const body: EventBatchReply = { stored: events.map((e) => e.id), inserted: r.inserted.length, duplicates: r.duplicates, ...(o.durability ? { durable: o.durability.mark() } : {}) };
    return body;
  });

  if (o.durability) {
    const durability = o.durability;
    /** How far the log is durable: waits up to DURABLE_WAIT_MS for the mark asked for (or another epoch), then answers it as it is. */
    app.get('/v1/events/durable', async (req, reply) => {
      const q = parseWire(durableMarkSchema, req.query);
      if (!q.ok) return reply.code(400).send(fail('INVALID', q.message, q.field));
      const gone = new AbortController();
      const timer = clock.set(() => gone.abort(), DURABLE_WAIT_MS);
      reply.raw.once('close', () => gone.abort()); // the agent went away
      try {
        return await durability.untilDurable(q.value, gone.signal);
      } finally {
        clock.clear(timer);
      }
    });
  }

  app.post('/v1/heartbeat', async (req, reply) => {
    const p = parseWire(heartbeatSchema, req.body);
    if (!p.ok) return reply.code(400).send(fail('INVALID', p.message, p.field));
    if (p.value.vehicle !== req.vehicle) {
      return reply.code(403).send(fail('WRONG_VEHICLE', `"${p.value.vehicle}" is not the sending vehicle (${req.vehicle})`, 'vehicle'));
    }
    o.fleet.heartbeat(p.value);
    o.metrics?.heartbeats.inc();
    // The durable mark rides along: an agent waiting for one learns it here without asking (GET /v1/events/durable).
    const body: HeartbeatReply = { sites_version: await sitesVersion(), mono: true, health: true, ...(o.durability ? { durable: o.durability.mark() } : {}) };
    return body;
  });

  if (o.drives) {
    const drives = o.drives;
    // A drive piece is brotli, not JSON: read as bytes (this route only), bounded like any body.
    app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: DRIVE_CHUNK_LIMIT }, (_req, body, done) => done(null, body));
    app.post('/v1/drive', async (req, reply) => {
      const q = parseWire(driveChunkQuerySchema, req.query);
      if (!q.ok) return reply.code(400).send(fail('INVALID', q.message, q.field));
      if (!Buffer.isBuffer(req.body)) return reply.code(415).send(fail('UNSUPPORTED_MEDIA_TYPE', 'a drive piece is application/octet-stream (brotli)'));
      // A bad piece throws an InputError: the error table answers 400 INVALID naming it.
      const r = await receivePiece(drives, req.vehicle, q.value, req.body, clock.wallNow());
      const body: DriveChunkReply = { segment: q.value.segment, have: r.have };
      if (r.kind === 'gap') return reply.code(409).send({ ...fail('DRIVE_GAP', `HQ holds ${r.have} bytes of ${q.value.segment}: send from there`), ...body });
      return body;
    });
  }

  /** The profile set; with ?version=N equal to the current version, 304 and no body. */
  app.get<{ Querystring: { version?: string } }>('/v1/sites', async (req, reply) => {
    const have = req.query.version;
    if (have !== undefined && Number(have) === (await sitesVersion())) return reply.code(304).send();
    return o.sites ? o.sites() : { version: 0, sites: [] };
  });

  return app;
}
