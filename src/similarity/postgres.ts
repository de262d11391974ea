// The shared store: PostgreSQL (`pg`), behind the same Store interface as
// the embedded SQLite store, for a fleet of workers and query nodes.
//
// - The write lock is a transaction holding a PostgreSQL advisory lock:
//   `exclusive(f)` runs f on one connection inside BEGIN … COMMIT after
//   pg_advisory_xact_lock, and every store call f makes goes to that
//   connection (AsyncLocalStorage), so a decision (signature, membership,
//   decision record) commits together or not at all — a worker killed in the
//   middle leaves nothing behind.
// - Uniqueness by dump hash is the database's (UNIQUE), so a job run twice
//   stores once.
// - Signature ids come from a sequence and are only taken under the write
//   lock, so they grow in commit order: a node catches up by reading ids
//   above the last it saw. Each commit NOTIFYs `vaat_signatures` with the new
//   id; query nodes LISTEN and catch up at once (and every few seconds
//   regardless, in case a notification was missed while reconnecting).
// - Changes to memberships, issues, config and signature rows are announced
//   on `vaat_changes` by triggers (migration 3): a query node remembers its
//   matches' candidates and forgets what a notice names (candidate-cache.ts).
// - The HNSW index lives in each node's memory, built from the database at
//   start; `location` is the node's local directory for the index file
//   (a cache: rebuilt when missing or stale).
// - Schema changes are numbered migrations in `vaat_schema`, applied under an
//   advisory lock so that nodes starting together migrate once.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import type { Signature } from '../../features/signature.js';
import { rarityNames, type SignatureView } from './view.js';
import { SIG_COLS, SIG_COLS_S, toStored, toMembership, vectorBytes, bytesVector, type SigRow, type MemberRow, countIssueNames } from './rows.js';
import {
  StoreError, type DecisionKind, type DecisionRecord, type NameCounts, type IssueNames, type Issue, type IssueStatus, type IssueSummary,
  type Membership, type NewSignature, type Store, type StoreMeta, type StoredSignature, type CandidateRows, type DecidedWrite, type DecidedResult,
} from './store.js';
import { CandidateCache, CHANGES_CHANNEL, joinRows } from './candidate-cache.js';

/**
 * Store.candidates in one statement: the config row always comes (a match on an empty index that
 * reads the store still reaches it, so a node cut off from it answers 503), then one row per
 * candidate found.
 */
const CANDIDATES_SQL = `
  SELECT g.cfg, s.id AS sid, ${SIG_COLS_S},
         m.signature_id, m.issue_id, m.decided_by, m.score, m.decided_at, m.pending, i.title AS issue_title, i.status AS issue_status
  FROM (SELECT (SELECT value FROM config WHERE key = $2) AS cfg) g
  LEFT JOIN (signatures s LEFT JOIN memberships m ON m.signature_id = s.id LEFT JOIN issues i ON i.id = m.issue_id)
    ON s.id = ANY($1::bigint[])`;

// int8 (bigint) columns as numbers: ids and counts stay far below 2^53.
pg.types.setTypeParser(20, (v: string) => Number(v));

const statementNames = new Map<string, string>();
/**
 * A statement with parameters as a named (prepared) one: each pool connection parses and plans
 * it once, then only binds and runs it. Unnamed, PostgreSQL parsed and planned every statement
 * of every ingest (console-log ingest through the fleet, 2026-12-06: PostgreSQL spent 4 ms of
 * CPU per log, 3 ms once named). Every text given here is one of the store's own, fixed statements
 * (interpolations are column lists, not values), so the names stay few.
 */
function prepared(text: string, values: unknown[]): pg.QueryConfig {
  if (!values.length) return { text };
  let name = statementNames.get(text);
  if (!name) {
    name = `vaat_${crypto.createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    statementNames.set(text, name);
  }
  return { name, text, values };
}

const WRITE_LOCK = 0x7661_6174; // "vaat"
const MIGRATE_LOCK = 0x7661_6175;

interface PgMigration {
  version: number;
  what: string;
  sql: string;
}

/** Every schema change, in order. Never edit one that has shipped: add the next. */
export const PG_MIGRATIONS: PgMigration[] = [
  {
    version: 1,
    what: 'signatures (with views), known issues, memberships (pending), decisions, frame counts, config — the SQLite schema 3 in PostgreSQL',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE signatures (
        id BIGSERIAL PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        hash_kind TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('vmcore', 'console')),
        path TEXT,
        name TEXT NOT NULL,
        bytes BIGINT NOT NULL,
        release TEXT,
        title TEXT,
        crash_kind TEXT,
        document TEXT NOT NULL,
        view TEXT NOT NULL,
        log_text BYTEA,
        vector BYTEA NOT NULL,
        vector_version INTEGER NOT NULL,
        rules_version TEXT NOT NULL,
        ingested_at TEXT NOT NULL
      );
      CREATE TABLE issues (
        id BIGSERIAL PRIMARY KEY,
        title TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open',
        notes TEXT NOT NULL DEFAULT '',
        merged_into BIGINT REFERENCES issues(id),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE issue_links (issue_id BIGINT NOT NULL REFERENCES issues(id), kind TEXT NOT NULL, url TEXT NOT NULL, added BIGSERIAL, PRIMARY KEY (issue_id, url));
      CREATE TABLE memberships (
        signature_id BIGINT PRIMARY KEY REFERENCES signatures(id),
        issue_id BIGINT NOT NULL REFERENCES issues(id),
        decided_by TEXT NOT NULL CHECK (decided_by IN ('auto', 'human')),
        score DOUBLE PRECISION,
        decided_at TEXT NOT NULL,
        pending BOOLEAN NOT NULL DEFAULT false
      );
      CREATE INDEX memberships_issue ON memberships(issue_id);
      CREATE TABLE decisions (
        id BIGSERIAL PRIMARY KEY,
        signature_id BIGINT,
        input TEXT NOT NULL,
        decision TEXT NOT NULL,
        issue_id BIGINT,
        score DOUBLE PRECISION,
        at TEXT NOT NULL
      );
      CREATE TABLE frame_df (frame TEXT PRIMARY KEY, df BIGINT NOT NULL);
    `,
  },
  {
    version: 2,
    what: 'names counted per known issue, not per signature (scorer version 8): issue_names replaces frame_df (filled by Engine.open the first time)',
    sql: `
      CREATE TABLE issue_names (issue_id BIGINT NOT NULL, name TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (issue_id, name));
      CREATE TABLE name_df (name TEXT PRIMARY KEY, issues BIGINT NOT NULL);
      DROP TABLE frame_df;
      DELETE FROM meta WHERE key = 'frame_docs';
    `,
  },
  {
    version: 3,
    what: 'changes to memberships, issues, config and signature rows announced on vaat_changes, so that query nodes can remember their candidates (candidate-cache.ts)',
    // One function for the four triggers: its first argument says what changed, its second names
    // the row's key column (to_jsonb: one function whatever the table's columns). Signature rows
    // change only when reindexed, many at once: one notice per statement, and nodes forget them all.
    sql: `
      CREATE FUNCTION vaat_announce_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_LEVEL = 'STATEMENT' THEN
          PERFORM pg_notify('vaat_changes', TG_ARGV[0]);
        ELSIF TG_OP = 'DELETE' THEN
          PERFORM pg_notify('vaat_changes', TG_ARGV[0] || (to_jsonb(OLD) ->> TG_ARGV[1]));
        ELSE
          PERFORM pg_notify('vaat_changes', TG_ARGV[0] || (to_jsonb(NEW) ->> TG_ARGV[1]));
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER memberships_announce AFTER INSERT OR UPDATE OR DELETE ON memberships FOR EACH ROW EXECUTE FUNCTION vaat_announce_change('m', 'signature_id');
      CREATE TRIGGER issues_announce AFTER UPDATE OR DELETE ON issues FOR EACH ROW EXECUTE FUNCTION vaat_announce_change('i', 'id');
      CREATE TRIGGER config_announce AFTER INSERT OR UPDATE OR DELETE ON config FOR EACH ROW EXECUTE FUNCTION vaat_announce_change('c', 'key');
      CREATE TRIGGER signatures_announce AFTER UPDATE OR DELETE ON signatures FOR EACH STATEMENT EXECUTE FUNCTION vaat_announce_change('s');
    `,
  },
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version;

const now = () => new Date().toISOString();
/** An error that means the database cannot be reached right now (restarting, down, refusing connections). */
export function isUnavailable(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  const code = err?.code ?? '';
  return ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', '57P01', '57P02', '57P03', '53300'].includes(code) || code.startsWith('08') ||
    /Connection terminated|connection is closed|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(err?.message ?? '');
}

export interface PgOptions {
  /**
   * Local directory for this node's index file; default a directory named by the database URL
   * under $VAAT_INDEX_DIR (a node's cache location, e.g. set in its systemd unit), else under the
   * system's temp dir.
   */
  indexDir?: string;
  notice?: (line: string) => void;
  /** Pool size (default 10). */
  max?: number;
}

type Q = pg.Pool | pg.PoolClient;

export class PgStore implements Store {
  private readonly tx = new AsyncLocalStorage<pg.PoolClient>();
  private listener: pg.Client | null = null;
  /** The highest signature id a notification announced since this node listens (see listen). */
  private notified = 0;
  /** Match candidates remembered between matches while this node listens (candidate-cache.ts). */
  private readonly cache = new CandidateCache();
  /** Stops listening (listen's answer), for close. */
  private unlisten: (() => Promise<void>) | null = null;

  private constructor(readonly location: string, readonly pool: pg.Pool, private readonly url: string) {}

  static async open(url: string, opts: PgOptions = {}): Promise<PgStore> {
    // Idle connections stay open (node-postgres closes them after 10 s by default). A pool that shrank
    // after a burst opens new connections on the request path when the next burst comes, and a fresh
    // backend pays its fork, its catalog caches and the planning of every named statement in that
    // request: query nodes' matches stalled for 50–330 ms, 10 s after every burst (bench/fleet.mjs,
    // 2026-12-06). The pool is bounded (`max`), so keeping them costs at most that many backends.
    const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 0 });
    // A connection dropped while idle (the server restarted) is an event on the pool, not a crash.
    pool.on('error', () => {});
    const dir = opts.indexDir ?? path.join(process.env.VAAT_INDEX_DIR || os.tmpdir(), `vaat-pg-index-${crypto.createHash('sha256').update(url.replace(/:[^:@/]*@/, '@')).digest('hex').slice(0, 12)}`);
    fs.mkdirSync(dir, { recursive: true });
    const store = new PgStore(dir, pool, url);
    try {
      await store.migrate(opts.notice);
    } catch (e) {
      await pool.end().catch(() => {});
      if (e instanceof StoreError) throw e;
      throw new StoreError(`PostgreSQL ${redact(url)}: ${(e as Error).message}`);
    }
    return store;
  }

  private async migrate(notice?: (l: string) => void): Promise<void> {
    const { c, release } = await this.checkout();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS vaat_schema (version INTEGER NOT NULL)');
      const r = await c.query<{ version: number }>('SELECT version FROM vaat_schema');
      const v = r.rows[0]?.version ?? 0;
      if (v > PG_SCHEMA_VERSION) throw new StoreError(`PostgreSQL ${redact(this.url)}: written by a newer vaat (store schema ${v}; this vaat knows up to ${PG_SCHEMA_VERSION}): upgrade vaat to use it`);
      if (v === 0) {
        const t = await c.query<{ n: number }>("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('signatures', 'issues')");
        if (t.rows[0]!.n > 0) throw new StoreError(`PostgreSQL ${redact(this.url)}: not a vaat store (tables named signatures/issues exist without a vaat schema version)`);
      }
      for (const m of PG_MIGRATIONS) if (m.version > v) await c.query(m.sql);
      if (v < PG_SCHEMA_VERSION) {
        await c.query('DELETE FROM vaat_schema');
        await c.query('INSERT INTO vaat_schema (version) VALUES ($1)', [PG_SCHEMA_VERSION]);
        if (v === 0) await c.query("INSERT INTO meta (key, value) VALUES ('created_at', $1)", [now()]);
      }
      await c.query('COMMIT');
      if (v > 0 && v < PG_SCHEMA_VERSION) notice?.(`PostgreSQL store schema migrated from ${v} to ${PG_SCHEMA_VERSION}`);
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      release();
    }
  }

  /** The connection of the current write transaction, else the pool. */
  private get q(): Q {
    return this.tx.getStore() ?? this.pool;
  }

  private async one<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T | undefined> {
    return (await this.q.query<T>(prepared(sql, params))).rows[0];
  }

  private async all<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.q.query<T>(prepared(sql, params))).rows;
  }

  private async exec(sql: string, params: unknown[]): Promise<void> {
    await this.q.query(prepared(sql, params));
  }

  async meta(): Promise<StoreMeta> {
    const rows = await this.all<{ key: string; value: string }>('SELECT key, value FROM meta');
    const m = new Map(rows.map((r) => [r.key, r.value]));
    const v = await this.one<{ version: number }>('SELECT version FROM vaat_schema');
    return {
      schemaVersion: v?.version ?? 0,
      vectorVersion: m.has('vector_version') ? Number(m.get('vector_version')) : null,
      rulesVersion: m.get('rules_version') ?? null,
      dimension: m.has('dimension') ? Number(m.get('dimension')) : null,
      createdAt: m.get('created_at') ?? null,
      namesCounted: m.has('names_counted'),
    };
  }

  private async setMeta(key: string, value: string): Promise<void> {
    await this.q.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  async setVersions(v: { vectorVersion: number; rulesVersion: string; dimension: number }): Promise<void> {
    await this.setMeta('vector_version', String(v.vectorVersion));
    await this.setMeta('rules_version', v.rulesVersion);
    await this.setMeta('dimension', String(v.dimension));
  }

  async config<T>(key: string): Promise<T | null> {
    const r = await this.one<{ value: string }>('SELECT value FROM config WHERE key = $1', [key]);
    return r ? (JSON.parse(r.value) as T) : null;
  }

  async setConfig(key: string, value: unknown): Promise<void> {
    await this.q.query('INSERT INTO config (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, JSON.stringify(value)]);
  }

  /**
   * A pooled connection held for a transaction. While it is checked out, the pool no longer listens
   * for its errors: a connection that drops then (the database stopped between two statements)
   * emits an 'error' nobody handles, and that ends the process — a worker died so when PostgreSQL
   * restarted. The error is kept instead (the next statement fails with it), and the connection is
   * discarded, not put back, when released.
   */
  private async checkout(): Promise<{ c: pg.PoolClient; release: () => void }> {
    const c = await this.pool.connect();
    let broken: Error | null = null;
    const onError = (e: Error) => {
      broken = e;
    };
    c.on('error', onError);
    return {
      c,
      release: () => {
        c.off('error', onError);
        c.release(broken ?? undefined);
      },
    };
  }

  async exclusive<T>(f: () => Promise<T>): Promise<T> {
    if (this.tx.getStore()) return f();
    const { c, release } = await this.checkout();
    try {
      // One round trip: a decision is taken under this lock, and every round trip under it is serial.
      await c.query(`BEGIN; SELECT pg_advisory_xact_lock(${WRITE_LOCK})`);
      const r = await this.tx.run(c, f);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      release();
    }
  }

  async findByHash(hash: string): Promise<StoredSignature | null> {
    const r = await this.one<SigRow>(`SELECT ${SIG_COLS} FROM signatures WHERE hash = $1`, [hash]);
    return r ? toStored(r) : null;
  }

  async findByHashPrefix(prefix: string, limit: number): Promise<StoredSignature[]> {
    if (!/^[0-9a-f]+$/.test(prefix)) return [];
    return (await this.all<SigRow>(`SELECT ${SIG_COLS} FROM signatures WHERE hash >= $1 AND hash < $2 ORDER BY id LIMIT $3`, [prefix, prefix + 'g', limit])).map(toStored);
  }

  async storeDecided(s: NewSignature, d: DecidedWrite): Promise<DecidedResult> {
    // Ids are taken under the write lock only: they grow in commit order (catch-up reads id > seq).
    return this.exclusive(async () => {
      // One statement for the row, the issue opened or joined, what setMembership writes for a new
      // signature (no old membership to release) and the decision record: each part runs only when
      // the row was new, and the notice goes out with it (delivered when the transaction commits:
      // query nodes catch up at once).
      const t = now();
      const r = await this.one<{ id: number; issue_id: number | null; title: string | null; added: string[] | null; n: unknown }>(
        `WITH s AS (
           INSERT INTO signatures (hash, hash_kind, kind, path, name, bytes, release, title, crash_kind, document, view, log_text, vector, vector_version, rules_version, ingested_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (hash) DO NOTHING RETURNING id),
         opened AS (INSERT INTO issues (title, created_at, updated_at) SELECT $17, $16, $16 FROM s WHERE $17::text IS NOT NULL RETURNING id, title),
         iss AS (SELECT id, title FROM opened UNION ALL SELECT i.id, i.title FROM issues i WHERE $17::text IS NULL AND i.id = $18::bigint AND EXISTS (SELECT 1 FROM s)),
         m AS (INSERT INTO memberships (signature_id, issue_id, decided_by, score, decided_at, pending) SELECT s.id, iss.id, 'auto', $19, $16, $20 FROM s, iss),
         add AS (INSERT INTO issue_names (issue_id, name, n) SELECT iss.id, x, 1 FROM iss, unnest($21::text[]) AS x WHERE NOT $20
           ON CONFLICT (issue_id, name) DO UPDATE SET n = issue_names.n + 1 RETURNING name, n),
         df AS (INSERT INTO name_df (name, issues) SELECT name, 1 FROM add WHERE n = 1 ON CONFLICT (name) DO UPDATE SET issues = name_df.issues + 1),
         dec AS (INSERT INTO decisions (signature_id, input, decision, issue_id, score, at) SELECT s.id, $22, $23, iss.id, $24, $25 FROM s, iss)
         SELECT s.id, iss.id AS issue_id, iss.title, ARRAY(SELECT name FROM add WHERE n = 1) AS added, pg_notify('vaat_signatures', s.id::text) AS n
         FROM s LEFT JOIN iss ON true`,
        [s.hash, s.hashKind, s.kind, s.path, s.name, s.bytes, s.release, s.title, s.crashKind, JSON.stringify(s.document), JSON.stringify(s.view),
          s.logText === null ? null : zlib.deflateRawSync(Buffer.from(s.logText, 'latin1')), vectorBytes(s.vector), s.vectorVersion, s.rulesVersion, t,
          d.open, d.issueId, d.memberScore, d.pending, [...new Set(d.names)], d.input, d.decision, d.score, d.at],
      );
      if (!r) return { inserted: false, id: (await this.one<{ id: number }>('SELECT id FROM signatures WHERE hash = $1', [s.hash]))!.id };
      // The issue to join is gone (a person merged or removed it meanwhile): nothing of this is committed.
      if (r.issue_id === null) throw new StoreError(`issue ${d.issueId} does not exist`);
      return { inserted: true, id: r.id, seq: r.id, issueId: r.issue_id, issueTitle: r.title!, added: r.added ?? [] };
    });
  }

  async signature(id: number): Promise<StoredSignature | null> {
    const r = await this.one<SigRow>(`SELECT ${SIG_COLS} FROM signatures WHERE id = $1`, [id]);
    return r ? toStored(r) : null;
  }

  async signaturesById(ids: number[]): Promise<Map<number, StoredSignature>> {
    if (!ids.length) return new Map();
    const rows = await this.all<SigRow>(`SELECT ${SIG_COLS} FROM signatures WHERE id = ANY($1::bigint[])`, [[...new Set(ids)]]);
    return new Map(rows.map((r) => [Number(r.id), toStored(r)]));
  }

  async document(id: number): Promise<Signature | null> {
    const r = await this.one<{ document: string }>('SELECT document FROM signatures WHERE id = $1', [id]);
    return r ? (JSON.parse(r.document) as Signature) : null;
  }

  async logText(id: number): Promise<string | null> {
    const r = await this.one<{ log_text: Buffer | null }>('SELECT log_text FROM signatures WHERE id = $1', [id]);
    return r?.log_text ? zlib.inflateRawSync(r.log_text).toString('latin1') : null;
  }

  async views(ids: number[]): Promise<Map<number, SignatureView>> {
    const out = new Map<number, SignatureView>();
    if (!ids.length) return out;
    for (const r of await this.all<{ id: number; view: string }>('SELECT id, view FROM signatures WHERE id = ANY($1::bigint[])', [ids])) out.set(r.id, JSON.parse(r.view) as SignatureView);
    return out;
  }

  async vectorsAfter(after: number, limit: number): Promise<Array<{ id: number; seq: number; vector: Float32Array }>> {
    const rows = await this.all<{ id: number; vector: Buffer }>('SELECT id, vector FROM signatures WHERE id > $1 ORDER BY id LIMIT $2', [after, limit]);
    return rows.map((r) => ({ id: r.id, seq: r.id, vector: bytesVector(r.vector) }));
  }

  async maxSeq(): Promise<number> {
    return (await this.one<{ m: number }>('SELECT coalesce(max(id), 0)::bigint AS m FROM signatures'))!.m;
  }

  async count(): Promise<number> {
    return (await this.one<{ n: number }>('SELECT count(*)::bigint AS n FROM signatures'))!.n;
  }

  async signaturesPage(afterId: number, limit: number): Promise<StoredSignature[]> {
    return (await this.all<SigRow>(`SELECT ${SIG_COLS} FROM signatures WHERE id > $1 ORDER BY id LIMIT $2`, [afterId, limit])).map(toStored);
  }

  async updateDerived(id: number, d: { document: Signature; view: SignatureView; vector: Float32Array; vectorVersion: number; rulesVersion: string; title: string | null; crashKind: string | null }): Promise<void> {
    await this.q.query('UPDATE signatures SET document = $1, view = $2, vector = $3, vector_version = $4, rules_version = $5, title = $6, crash_kind = $7 WHERE id = $8',
      [JSON.stringify(d.document), JSON.stringify(d.view), vectorBytes(d.vector), d.vectorVersion, d.rulesVersion, d.title, d.crashKind, id]);
  }

  async nameCounts(names?: string[]): Promise<NameCounts> {
    // One round trip: the issues opened (first row, name NULL) and the names' issue counts.
    const rows = await this.all<{ name: string | null; df: number }>(
      `SELECT NULL AS name, coalesce(max(id), 0)::int AS df FROM issues
       UNION ALL SELECT name, issues::int FROM name_df WHERE issues > 0 ${names ? 'AND name = ANY($1::text[])' : ''}`,
      names ? [names] : []);
    const df = new Map<string, number>();
    let issues = 0;
    for (const r of rows) if (r.name === null) issues = r.df; else df.set(r.name, r.df);
    return { issues, df };
  }

  async rebuildNameCounts(entries: AsyncIterable<IssueNames> | Iterable<IssueNames>): Promise<void> {
    const counts = await countIssueNames(entries);
    const rows: Array<[number, string, number]> = [];
    for (const [issue, names] of counts) for (const [name, n] of names) rows.push([issue, name, n]);
    await this.exclusive(async () => {
      await this.q.query('DELETE FROM issue_names');
      await this.q.query('DELETE FROM name_df');
      for (let i = 0; i < rows.length; i += 5000) {
        const part = rows.slice(i, i + 5000);
        await this.q.query('INSERT INTO issue_names (issue_id, name, n) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])', [part.map((r) => r[0]), part.map((r) => r[1]), part.map((r) => r[2])]);
      }
      await this.q.query('INSERT INTO name_df (name, issues) SELECT name, count(*) FROM issue_names GROUP BY name');
      await this.setMeta('names_counted', '1');
    });
  }

  async createIssue(title: string): Promise<Issue> {
    const t = now();
    const r = (await this.one<{ id: number; title: string; status: IssueStatus; notes: string; merged_into: number | null; created_at: string; updated_at: string }>(
      'INSERT INTO issues (title, created_at, updated_at) VALUES ($1, $2, $2) RETURNING *', [title, t]))!;
    return { id: r.id, title: r.title, status: r.status, notes: r.notes, mergedInto: r.merged_into, createdAt: r.created_at, updatedAt: r.updated_at, links: [] };
  }


  async issue(id: number): Promise<Issue | null> {
    return (await this.issuesById([id])).get(id) ?? null;
  }

  async issuesById(ids: number[]): Promise<Map<number, Issue>> {
    if (!ids.length) return new Map();
    const rows = await this.all<{ id: number; title: string; status: IssueStatus; notes: string; merged_into: number | null; created_at: string; updated_at: string; links: Array<{ kind: string; url: string }> | null }>(`
      SELECT i.*, (SELECT json_agg(json_build_object('kind', l.kind, 'url', l.url) ORDER BY l.added) FROM issue_links l WHERE l.issue_id = i.id) AS links
      FROM issues i WHERE i.id = ANY($1::bigint[])`, [[...new Set(ids)]]);
    return new Map(rows.map((r) => [Number(r.id), { id: r.id, title: r.title, status: r.status, notes: r.notes, mergedInto: r.merged_into, createdAt: r.created_at, updatedAt: r.updated_at, links: r.links ?? [] }]));
  }

  async issues(opts: { status?: IssueStatus[] } = {}): Promise<IssueSummary[]> {
    const rows = await this.all<{ id: number; title: string; status: IssueStatus; notes: string; merged_into: number | null; created_at: string; updated_at: string; size: number; first_seen: string | null; last_seen: string | null; kernels: string | null; human: number; pending: number }>(`
      SELECT i.*, count(m.signature_id)::bigint AS size, min(s.ingested_at) AS first_seen, max(s.ingested_at) AS last_seen,
             string_agg(DISTINCT s.release, ',') AS kernels, (count(*) FILTER (WHERE m.decided_by = 'human'))::bigint AS human,
             (count(*) FILTER (WHERE m.pending))::bigint AS pending
      FROM issues i LEFT JOIN memberships m ON m.issue_id = i.id LEFT JOIN signatures s ON s.id = m.signature_id
      ${opts.status ? 'WHERE i.status = ANY($1::text[])' : ''}
      GROUP BY i.id ORDER BY i.id`, opts.status ? [opts.status] : []);
    const links = new Map<number, Array<{ kind: string; url: string }>>();
    for (const l of await this.all<{ issue_id: number; kind: string; url: string }>('SELECT issue_id, kind, url FROM issue_links ORDER BY added')) {
      if (!links.has(l.issue_id)) links.set(l.issue_id, []);
      links.get(l.issue_id)!.push({ kind: l.kind, url: l.url });
    }
    return rows.map((r) => ({
      id: r.id, title: r.title, status: r.status, notes: r.notes, mergedInto: r.merged_into, createdAt: r.created_at, updatedAt: r.updated_at,
      links: links.get(r.id) ?? [], size: r.size, firstSeen: r.first_seen, lastSeen: r.last_seen,
      kernels: r.kernels ? r.kernels.split(',').sort() : [], human: r.human, pending: r.pending,
    }));
  }

  async updateIssue(id: number, patch: Partial<Pick<Issue, 'title' | 'status' | 'notes' | 'mergedInto'>>): Promise<void> {
    const cols: Array<[string, unknown]> = [];
    if (patch.title !== undefined) cols.push(['title', patch.title]);
    if (patch.status !== undefined) cols.push(['status', patch.status]);
    if (patch.notes !== undefined) cols.push(['notes', patch.notes]);
    if (patch.mergedInto !== undefined) cols.push(['merged_into', patch.mergedInto]);
    if (!cols.length) return;
    await this.q.query(`UPDATE issues SET ${cols.map(([k], i) => `${k} = $${i + 1}`).join(', ')}, updated_at = $${cols.length + 1} WHERE id = $${cols.length + 2}`, [...cols.map(([, v]) => v), now(), id]);
  }

  async addLink(id: number, kind: string, url: string): Promise<void> {
    await this.exec('INSERT INTO issue_links (issue_id, kind, url) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [id, kind, url]);
  }

  async membership(signatureId: number): Promise<Membership | null> {
    const r = await this.one<MemberRow>('SELECT signature_id, issue_id, decided_by, score, decided_at, pending FROM memberships WHERE signature_id = $1', [signatureId]);
    return r ? toMembership(r) : null;
  }

  async memberships(signatureIds: number[]): Promise<Map<number, Membership>> {
    const out = new Map<number, Membership>();
    if (!signatureIds.length) return out;
    for (const r of await this.all<MemberRow>('SELECT signature_id, issue_id, decided_by, score, decided_at, pending FROM memberships WHERE signature_id = ANY($1::bigint[])', [signatureIds])) out.set(r.signature_id, toMembership(r));
    return out;
  }

  async candidates(signatureIds: number[], configKey: string): Promise<CandidateRows> {
    const ids = [...new Set(signatureIds)];
    // Inside a write transaction the rows must be the transaction's own: read, never remembered.
    const inTx = this.tx.getStore() !== undefined;
    const need = inTx ? { ids, config: true } : this.cache.missing(ids, configKey);
    const needed = new Set(need.ids);
    const known = this.cache.remembered(inTx ? [] : ids.filter((id) => !needed.has(id)), configKey);
    if (!need.ids.length && !need.config) {
      this.cache.counts.remembered++;
      return joinRows(known.rows, null, known.config ?? null);
    }
    this.cache.counts.read++;
    const epoch = this.cache.epoch;
    const { rows, config } = await this.readCandidates(need.ids, configKey);
    this.cache.reached();
    if (!inTx) this.cache.fill(epoch, need.ids, configKey, config, rows);
    return joinRows(known.rows, rows, config);
  }

  /** How many matches' candidates came from memory alone, and how many read the store. */
  candidateCounts(): { remembered: number; read: number } {
    return { ...this.cache.counts };
  }

  private async readCandidates(signatureIds: number[], configKey: string): Promise<{ rows: CandidateRows; config: string | null }> {
    // A named (prepared) statement: planning this join cost more than running it (0.26 of 0.39 ms
    // with 50 ids at 100 k signatures); prepared, the whole read takes 0.56-0.61 ms, about what the
    // four separate reads it replaces took one after another.
    const rows = (await this.q.query<SigRow & MemberRow & { cfg: string | null; issue_title: string | null; issue_status: IssueStatus | null; sid: number | null }>(
      { name: 'vaat_candidates', text: CANDIDATES_SQL, values: [signatureIds, configKey] })).rows;
    const signatures = new Map<number, StoredSignature>();
    // The config value stays as read (joinRows parses it, once per answer).
    const config = rows[0]?.cfg ?? null;
    const out: CandidateRows = { members: new Map(), issues: new Map(), signatures, config: null };
    for (const r of rows) {
      if (r.sid === null) continue;
      signatures.set(r.sid, toStored({ ...r, id: r.sid }));
      if (r.signature_id === null) continue;
      out.members.set(r.signature_id, toMembership(r));
      if (r.issue_title !== null) out.issues.set(r.issue_id, { id: r.issue_id, title: r.issue_title, status: r.issue_status! });
    }
    return { rows: out, config };
  }

  async members(issueId: number): Promise<Array<Membership & { signature: StoredSignature }>> {
    const rows = await this.all<SigRow & MemberRow>(`SELECT m.signature_id, m.issue_id, m.decided_by, m.score, m.decided_at, m.pending, ${SIG_COLS_S}
      FROM memberships m JOIN signatures s ON s.id = m.signature_id WHERE m.issue_id = $1 ORDER BY s.id`, [issueId]);
    return rows.map((r) => ({ ...toMembership(r), signature: toStored(r) }));
  }

  async setMembership(signatureId: number, issueId: number, decidedBy: 'auto' | 'human', score: number | null, pending = false, names?: string[]): Promise<string[]> {
    const ns = names ?? (await this.namesOf(signatureId));
    // One statement (an ingest's round trips are serial under the write lock): the membership, the
    // old issue's counts released and the new one's taken (rows.ts countMoves, in SQL: every part
    // sees the tables as they were), and the issues-per-name totals moved by the net change (one
    // row updated once: a name can leave one issue and enter another in the same move). A count
    // that falls to 0 stays as a row of 0. storeDecided counts a new signature's names in the same
    // way (its statement's add/df parts: the case with no old membership); the two change together.
    const rows = await this.all<{ name: string }>(
      `WITH old AS (SELECT issue_id, pending FROM memberships WHERE signature_id = $1),
       m AS (INSERT INTO memberships (signature_id, issue_id, decided_by, score, decided_at, pending) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (signature_id) DO UPDATE SET issue_id = excluded.issue_id, decided_by = excluded.decided_by, score = excluded.score, decided_at = excluded.decided_at, pending = excluded.pending),
       rel AS (UPDATE issue_names SET n = issue_names.n - 1 FROM old
         WHERE issue_names.issue_id = old.issue_id AND NOT old.pending AND NOT (old.issue_id = $2 AND NOT $6) AND issue_names.name = ANY($7::text[])
         RETURNING issue_names.name, issue_names.n),
       add AS (INSERT INTO issue_names (issue_id, name, n) SELECT $2, x, 1 FROM unnest($7::text[]) AS x
         WHERE NOT $6 AND NOT EXISTS (SELECT 1 FROM old WHERE old.issue_id = $2 AND NOT old.pending)
         ON CONFLICT (issue_id, name) DO UPDATE SET n = issue_names.n + 1 RETURNING name, n),
       delta AS (SELECT name, sum(d) AS d FROM (SELECT name, 1 AS d FROM add WHERE n = 1 UNION ALL SELECT name, -1 FROM rel WHERE n = 0) x GROUP BY name HAVING sum(d) <> 0),
       df AS (INSERT INTO name_df (name, issues) SELECT name, d FROM delta ON CONFLICT (name) DO UPDATE SET issues = name_df.issues + excluded.issues)
       SELECT name FROM add WHERE n = 1`,
      [signatureId, issueId, decidedBy, score, now(), pending, [...new Set(ns)]]);
    return rows.map((r) => r.name);
  }

  async removeMembership(signatureId: number): Promise<void> {
    const ns = await this.namesOf(signatureId);
    await this.exec(`WITH old AS (DELETE FROM memberships WHERE signature_id = $1 RETURNING issue_id, pending),
      rel AS (UPDATE issue_names SET n = issue_names.n - 1 FROM old WHERE issue_names.issue_id = old.issue_id AND NOT old.pending AND issue_names.name = ANY($2::text[])
        RETURNING issue_names.name, issue_names.n)
      UPDATE name_df SET issues = name_df.issues - 1 FROM rel WHERE name_df.name = rel.name AND rel.n = 0`, [signatureId, ns]);
  }

  private async namesOf(signatureId: number): Promise<string[]> {
    const r = await this.one<{ view: string | null }>('SELECT view FROM signatures WHERE id = $1', [signatureId]);
    return r?.view ? rarityNames(JSON.parse(r.view) as SignatureView) : [];
  }

  async recordDecision(d: DecisionRecord): Promise<void> {
    await this.exec('INSERT INTO decisions (signature_id, input, decision, issue_id, score, at) VALUES ($1, $2, $3, $4, $5, $6)', [d.signatureId, d.input, d.decision, d.issueId, d.score, d.at]);
  }

  async decisions(opts: { decision?: DecisionKind; limit?: number } = {}): Promise<DecisionRecord[]> {
    const rows = await this.all<{ signature_id: number | null; input: string; decision: DecisionKind; issue_id: number | null; score: number | null; at: string }>(
      `SELECT signature_id, input, decision, issue_id, score, at FROM decisions ${opts.decision ? 'WHERE decision = $2' : ''} ORDER BY id DESC LIMIT $1`,
      opts.decision ? [opts.limit ?? 1_000_000, opts.decision] : [opts.limit ?? 1_000_000]);
    return rows.map((r) => ({ signatureId: r.signature_id, input: r.input, decision: r.decision, issueId: r.issue_id, score: r.score, at: r.at }));
  }

  /**
   * Call `f` when other nodes commit signatures (LISTEN vaat_signatures; with the id announced),
   * once connected and every `everyMs` regardless (no id). Reconnects after the server restarts.
   * `changes`: listen for changes too (vaat_changes), so that this node's matches remember their
   * candidates (a query node; a worker, which does not match, need not hear of them).
   */
  async listen(f: (announced?: number) => void, opts: { everyMs?: number; changes?: boolean } = {}): Promise<() => Promise<void>> {
    const everyMs = opts.everyMs ?? 2000;
    let stopped = false;
    const connect = async (): Promise<void> => {
      if (stopped) return;
      const c = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000 });
      c.on('notification', (m) => {
        if (m.channel === CHANGES_CHANNEL) {
          this.cache.notice(m.payload ?? '');
          return;
        }
        const id = Number(m.payload);
        if (id > this.notified) this.notified = id;
        f(id);
      });
      let lost = false;
      const lose = () => {
        if (lost) return;
        lost = true;
        if (this.listener === c) this.listener = null;
        this.cache.setListening(false);
        c.end().catch(() => {});
        if (!stopped) setTimeout(() => void connect().catch(() => {}), 1000);
      };
      c.on('error', lose);
      c.on('end', lose);
      try {
        await c.connect();
        await c.query(opts.changes ? `LISTEN vaat_signatures; LISTEN ${CHANGES_CHANNEL}` : 'LISTEN vaat_signatures');
        if (lost) return;
        if (stopped) {
          await c.end().catch(() => {});
          return;
        }
        this.listener = c;
        if (opts.changes) this.cache.setListening(true);
        f();
      } catch {
        lose();
      }
    };
    await connect();
    const timer = setInterval(f, everyMs);
    timer.unref();
    return (this.unlisten = async () => {
      stopped = true;
      clearInterval(timer);
      this.cache.setListening(false);
      await this.listener?.end().catch(() => {});
      this.listener = null;
    });
  }

  /**
   * While this node listens, every signature committed after it started listening was announced
   * to it — a notice arrives some time after its commit, so this is a hint: false says nothing
   * newer than `seq` was announced yet. Not listening: true (ask the database).
   */
  mayHaveAfter(seq: number): boolean {
    return this.listener === null || this.notified > seq;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.unlisten?.();
    await this.pool.end().catch(() => {});
  }
}

/** A database URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}
