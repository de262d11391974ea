// `vaat serve`: the dedupe service over HTTP (Fastify, JSON schemas for the
// requests). Ingest is queued (BullMQ on Redis) for the workers; match is
// answered here, from this node's in-memory HNSW index over the shared
// PostgreSQL store, kept current by LISTEN/NOTIFY. Writes need the bearer
// token (compared in constant time); reads are open unless configured
// otherwise. Dump paths must resolve inside the configured roots. While the
// database or Redis is down, requests that need them get 503 and succeed
// again once it is back.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Queue, Job } from 'bullmq';
import { PgStore, isUnavailable } from '../similarity/postgres.js';
import { Engine } from '../similarity/engine.js';
import { StoreError, storageFailure } from '../similarity/store.js';
import { signatureFromConsole } from '../../features/signature.js';
import { showIssue, labelSignature, mergeIssues, splitIssue } from '../similarity/issues.js';
import { buildSimilarityReport } from '../report/similarity.js';
import { htmlPage } from '../report/html/page.js';
import { INGEST_QUEUE, DEAD_QUEUE, JOB_OPTIONS, redisConnection, type IngestJob } from './worker.js';
import { insideRoots } from './paths.js';
import { decodeVector, MAX_CANDIDATES, MAX_VECTOR_CHARS } from './candidates.js';

export interface ServiceOptions {
  pg: string;
  redis: string;
  port?: number;
  host?: string;
  /** Bearer token for writes (and reads when protectReads). */
  token: string;
  protectReads?: boolean;
  roots: string[];
  notice?: (line: string) => void;
}

// A match answers while the client waits, so its body is bounded tighter than a queued log;
// but a pasted report with its context runs past 64 KiB (the largest syzbot dev report is 64 KiB + 1 byte).
const MATCH_LIMIT = 1 << 20;
const LOG_LIMIT = 4 << 20;

class Unavailable extends Error {}

/** Latency histogram and counters in Prometheus text format. */
class Metrics {
  private readonly counters = new Map<string, number>();
  private readonly buckets = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
  private readonly hist = new Map<string, { counts: number[]; sum: number; n: number }>();
  inc(name: string, labels: Record<string, string> = {}, by = 1): void {
    const k = `${name}${fmtLabels(labels)}`;
    this.counters.set(k, (this.counters.get(k) ?? 0) + by);
  }
  observe(route: string, seconds: number): void {
    const h = this.hist.get(route) ?? { counts: this.buckets.map(() => 0), sum: 0, n: 0 };
    this.buckets.forEach((b, i) => {
      if (seconds <= b) h.counts[i]!++;
    });
    h.sum += seconds;
    h.n++;
    this.hist.set(route, h);
  }
  render(gauges: Array<[string, string, number]>): string {
    const out: string[] = [];
    const names = new Set([...this.counters.keys()].map((k) => k.replace(/\{.*$/, '')));
    for (const n of names) {
      out.push(`# TYPE ${n} counter`);
      for (const [k, v] of this.counters) if (k.replace(/\{.*$/, '') === n) out.push(`${k} ${v}`);
    }
    out.push('# TYPE vaat_http_request_duration_seconds histogram');
    for (const [route, h] of this.hist) {
      this.buckets.forEach((b, i) => out.push(`vaat_http_request_duration_seconds_bucket${fmtLabels({ route, le: String(b) })} ${h.counts[i]}`));
      out.push(`vaat_http_request_duration_seconds_bucket${fmtLabels({ route, le: '+Inf' })} ${h.n}`);
      out.push(`vaat_http_request_duration_seconds_sum${fmtLabels({ route })} ${h.sum}`);
      out.push(`vaat_http_request_duration_seconds_count${fmtLabels({ route })} ${h.n}`);
    }
    for (const [name, labels, v] of gauges) out.push(`${name}${labels} ${v}`);
    return out.join('\n') + '\n';
  }
}

function fmtLabels(l: Record<string, string>): string {
  const e = Object.entries(l);
  return e.length ? `{${e.map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',')}}` : '';
}

function tokenOk(expected: Buffer, header: string | undefined): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  const got = crypto.createHash('sha256').update(m ? m[1]! : '\0no token').digest();
  // Equal-length digests: timingSafeEqual compares in constant time whatever was sent.
  return crypto.timingSafeEqual(got, expected) && !!m;
}

export interface RunningService {
  app: FastifyInstance;
  url: string;
  engine: Engine;
  close(): Promise<void>;
}

export async function startService(o: ServiceOptions): Promise<RunningService> {
  if (!o.token || o.token.length < 16) throw new Error('a token of at least 16 characters is required (--token-file)');
  const notice = o.notice ?? (() => {});
  const expected = crypto.createHash('sha256').update(o.token).digest();
  const roots = o.roots.map((r) => fs.realpathSync(r));
  const store = await PgStore.open(o.pg, { notice });
  const engine = await Engine.open(store, { notice });
  // Catch up when other nodes commit (LISTEN/NOTIFY).
  const unlisten = await store.listen((id) => engine.syncSoon(id), { changes: true });
  // Fail fast while Redis is away (503), rather than queue requests in memory.
  const conn = { ...redisConnection(o.redis), enableOfflineQueue: false };
  const queue = new Queue<IngestJob>(INGEST_QUEUE, { connection: conn, defaultJobOptions: JOB_OPTIONS });
  const dead = new Queue(DEAD_QUEUE, { connection: conn });
  queue.on('error', () => {});
  dead.on('error', () => {});
  const metrics = new Metrics();
  const app = Fastify({ bodyLimit: LOG_LIMIT, logger: false, ajv: { customOptions: { allowUnionTypes: true } } });
  app.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: LOG_LIMIT }, (_req, body, done) => done(null, body));

  const auth = (write: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (!write && !o.protectReads) return;
    if (!tokenOk(expected, req.headers.authorization)) {
      metrics.inc('vaat_http_refused_total', { reason: 'token' });
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'a valid bearer token is required' });
    }
  };
  const redisCall = async <T>(f: () => Promise<T>): Promise<T> => {
    // The timer is cleared once Redis answers: left to fire, each request's made an error (with its
    // stack) 3 s later for nothing — 0.2 % of the service's CPU in a profile of a console ingest.
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([f(), new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Unavailable('Redis does not answer')), 3000)))]);
    } catch (e) {
      if (e instanceof Unavailable) throw e;
      const m = (e as Error).message ?? '';
      if (/Stream isn't writeable|ECONNREFUSED|Connection is closed|enableOfflineQueue|ECONNRESET/i.test(m)) throw new Unavailable(`Redis: ${m.split('\n')[0]}`);
      // Redis up but refusing writes: its append-only file cannot be written (MISCONF: disk full,
      // with appendfsync everysec; with always it exits) or its memory is at maxmemory under
      // noeviction (OOM). It takes them again by itself once it can: a 503 to retry, not a 500.
      if (/^(MISCONF|OOM) /.test(m)) throw new Unavailable(`Redis cannot take writes: ${m.split('\n')[0].replace(/ script: [0-9a-f]+.*$/, '')}`);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  };

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    metrics.inc('vaat_http_requests_total', { route, status: String(reply.statusCode) });
    metrics.observe(route, reply.elapsedTime / 1000);
  });
  // Every answer that is not a success has one shape, {error}: an unknown route too (Fastify's own
  // 404 body is {message, error, statusCode}).
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` }));
  // What the client can only retry later: Redis or PostgreSQL away, or the database's disk full (or
  // read-only, or failing) — a 503, never a 400 that blames the request or a 500.
  const retryLater = (e: unknown) => e instanceof Unavailable || isUnavailable(e) || storageFailure(e) !== null;
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown; code?: string }, _req, reply) => {
    if (retryLater(err)) {
      const full = storageFailure(err);
      return reply.code(503).header('retry-after', '2').send({ error: `unavailable: ${full !== null ? `the store cannot take writes: ${full}` : err.message.split('\n')[0]}` });
    }
    if (err.validation || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || (err.statusCode && err.statusCode < 500)) return reply.code(err.statusCode ?? 400).send({ error: err.message.split('\n')[0] });
    if (err instanceof StoreError) return reply.code(/\bno (issue|signature)\b|not found/i.test(err.message) ? 404 : 400).send({ error: err.message.split('\n')[0] });
    notice(`internal error: ${err.message.split('\n')[0]}`);
    return reply.code(500).send({ error: 'internal error' });
  });

  app.get('/healthz', async (_req, reply) => {
    const pgOk = await store.ping().then(() => true, () => false);
    const redisOk = await redisCall(() => queue.getJobCounts('wait')).then(() => true, () => false);
    return reply.code(pgOk && redisOk ? 200 : 503).send({ postgres: pgOk, redis: redisOk, signatures: engine.indexSize });
  });

  app.get('/metrics', async (_req, reply) => {
    const cc = store.candidateCounts();
    const gauges: Array<[string, string, number]> = [
      ['vaat_index_signatures', '', engine.indexSize],
      // Where a match's candidates came from (candidate-cache.ts): this node's memory, or a read of PostgreSQL.
      ['vaat_match_candidates_total', fmtLabels({ from: 'memory' }), cc.remembered],
      ['vaat_match_candidates_total', fmtLabels({ from: 'store' }), cc.read],
    ];
    try {
      const c = await redisCall(() => queue.getJobCounts('wait', 'active', 'delayed', 'failed', 'completed'));
      for (const [k, v] of Object.entries(c)) gauges.push(['vaat_queue_jobs', fmtLabels({ state: k }), v]);
      gauges.push(['vaat_dead_letter_jobs', '', await redisCall(() => dead.count())]);
    } catch {
      gauges.push(['vaat_queue_up', '', 0]);
    }
    return reply.type('text/plain; version=0.0.4').send(metrics.render(gauges));
  });

  app.post('/v1/ingest', {
    preHandler: auth(true),
    schema: { body: { oneOf: [{ type: 'object', required: ['path'], properties: { path: { type: 'string', minLength: 1, maxLength: 4096 } }, additionalProperties: false }, { type: 'object', required: ['text'], properties: { text: { type: 'string', minLength: 1 }, name: { type: 'string', maxLength: 255 } }, additionalProperties: false }, { type: 'string', minLength: 1 }] } },
  }, async (req, reply) => {
    let data: IngestJob;
    const b = req.body as { path?: string; text?: string; name?: string } | string;
    if (typeof b === 'string') data = { kind: 'log', name: String((req.query as { name?: string }).name ?? 'upload.log').slice(0, 255), text: b };
    else if (b.path !== undefined) {
      const c = insideRoots(roots, b.path);
      if (!c.ok) {
        metrics.inc('vaat_http_refused_total', { reason: 'path' });
        return reply.code(403).send({ error: `dump path refused: ${c.reason}` });
      }
      data = { kind: 'dump', path: b.path };
    } else data = { kind: 'log', name: b.name ?? 'upload.log', text: b.text! };
    const job = await redisCall(() => queue.add('ingest', data));
    metrics.inc('vaat_jobs_submitted_total', { kind: data.kind });
    return reply.code(202).send({ job: job.id });
  });

  app.get('/v1/jobs/:id', { preHandler: auth(false), schema: { params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9A-Za-z:_-]{1,64}$' } } } } }, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    // The state first, then the job: a job read while active and its state read after it completed
    // said "completed" with no result and no attempt made (a client polling for the end took that).
    // Read in this order, a completed state is always followed by the completed job's fields.
    const state = await redisCall(() => queue.getJobState(id));
    const job = state === 'unknown' ? null : await redisCall(() => Job.fromId(queue, id));
    if (!job) return reply.code(404).send({ error: `no job ${id}` });
    return { id: job.id, state, progress: state === 'completed' ? 100 : job.progress, attempts: job.attemptsMade, result: job.returnvalue ?? null, error: job.failedReason ?? null };
  });

  app.post('/v1/match', {
    preHandler: auth(false), bodyLimit: MATCH_LIMIT,
    schema: { body: { oneOf: [{ type: 'object', required: ['text'], properties: { text: { type: 'string', minLength: 1 }, k: { type: 'integer', minimum: 1, maximum: 50 } }, additionalProperties: false }, { type: 'string', minLength: 1 }] } },
  }, async (req) => {
    const b = req.body as { text: string; k?: number } | string;
    const text = typeof b === 'string' ? b : b.text;
    const sig = signatureFromConsole(text, 'request.log');
    const m = await engine.match(sig, { k: typeof b === 'string' ? 5 : b.k ?? 5 });
    metrics.inc('vaat_match_decisions_total', { decision: m.decision.verdict });
    return m;
  });

  // A worker's search, answered from this node's index (candidates.ts; `vaat worker --candidates`):
  // workers then keep no index of their own. The token is needed whatever protectReads says: the
  // fleet's own nodes ask this, and a search is CPU a stranger should not spend.
  app.post('/v1/candidates', {
    preHandler: auth(true),
    schema: {
      body: { type: 'object', required: ['vector', 'k'], properties: { vector: { type: 'string', minLength: 4, maxLength: MAX_VECTOR_CHARS, pattern: '^[A-Za-z0-9+/]+={0,2}$' }, k: { type: 'integer', minimum: 1, maximum: MAX_CANDIDATES } }, additionalProperties: false },
      // A schema for the answer: Fastify serializes it with a compiled function instead of JSON.stringify.
      response: { 200: { type: 'object', required: ['seq', 'store', 'candidates'], properties: { seq: { type: 'integer' }, store: { type: ['string', 'null'] }, candidates: { type: 'array', items: { type: 'object', required: ['id', 'similarity'], properties: { id: { type: 'integer' }, similarity: { type: 'number' } } } } } }, 400: { type: 'object', properties: { error: { type: 'string' } } } },
    },
  }, async (req, reply) => {
    const b = req.body as { vector: string; k: number };
    const v = decodeVector(b.vector);
    if (typeof v === 'string') return reply.code(400).send({ error: v });
    if (v.length !== engine.dimension) return reply.code(400).send({ error: `a vector of ${v.length} dimensions, the index has ${engine.dimension}` });
    metrics.inc('vaat_candidate_searches_total');
    return engine.nearestHere(v, b.k);
  });

  // What a person asked that cannot be done (no such issue, merge into itself) is theirs to fix: 4xx, not 500.
  const asked = <T>(f: () => Promise<T>) => async (req: FastifyRequest, reply: FastifyReply) => {
    void req;
    try {
      return await f.call(null);
    } catch (e) {
      if (retryLater(e)) throw e;
      const m = (e as Error).message.split('\n')[0]!;
      return reply.code(/\bno (issue|signature)\b|not found|unknown/i.test(m) ? 404 : 400).send({ error: m });
    }
  };
  const idParam = { params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]{1,15}$' } } } };
  app.get('/v1/issues', { preHandler: auth(false) }, async () => (await store.issues()).filter((i) => i.status !== 'merged').map((i) => ({ id: i.id, title: i.title, status: i.status, size: i.size, pending: i.pending, human: i.human, firstSeen: i.firstSeen, lastSeen: i.lastSeen, kernels: i.kernels, links: i.links })));
  const id = (req: FastifyRequest) => Number((req.params as { id: string }).id);
  app.get('/v1/issues/:id', { preHandler: auth(false), schema: idParam }, (req, reply) => asked(() => showIssue(store, id(req), true))(req, reply));
  app.post('/v1/issues/:id/label', { preHandler: auth(true), schema: { ...idParam, body: { type: 'object', required: ['signature'], properties: { signature: { type: ['string', 'integer'] } }, additionalProperties: false } } },
    (req, reply) => asked(async () => ({ done: await labelSignature(store, String((req.body as { signature: string | number }).signature), id(req)) }))(req, reply));
  app.post('/v1/issues/:id/merge', { preHandler: auth(true), schema: { ...idParam, body: { type: 'object', required: ['from'], properties: { from: { type: 'integer', minimum: 1 } }, additionalProperties: false } } },
    (req, reply) => asked(async () => ({ done: await mergeIssues(store, id(req), (req.body as { from: number }).from) }))(req, reply));
  app.post('/v1/issues/:id/split', { preHandler: auth(true), schema: { ...idParam, body: { type: 'object', required: ['signatures'], properties: { signatures: { type: 'array', minItems: 1, maxItems: 10000, items: { type: ['string', 'integer'] } } }, additionalProperties: false } } },
    (req, reply) => asked(async () => ({ done: await splitIssue(store, id(req), (req.body as { signatures: Array<string | number> }).signatures.map(String)) }))(req, reply));
  app.get('/v1/report', { preHandler: auth(false) }, async (_req, reply) => {
    const threshold = (await store.config<number>('clusterThreshold')) ?? 0.6;
    const r = await buildSimilarityReport(engine, { source: 'vaat serve', threshold, k: 10 });
    return reply.type('text/html; charset=utf-8').send(htmlPage('similarity', `vaat similarity report: ${r.overview.signatures} signatures`, r));
  });

  const address = await app.listen({ port: o.port ?? 8080, host: o.host ?? '127.0.0.1' });
  return {
    app, url: address, engine,
    async close() {
      await app.close();
      await unlisten();
      await queue.close().catch(() => {});
      await dead.close().catch(() => {});
      await engine.close().catch(() => store.close());
    },
  };
}
