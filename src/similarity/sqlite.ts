// The embedded store: one SQLite database (better-sqlite3, WAL) in the store
// directory. WAL lets readers go on while one process writes; writers wait
// for each other (busy timeout) rather than fail; a committed transaction
// survives the process being killed. Schema changes are numbered migrations
// (PRAGMA user_version); a database from a newer vaat is refused, one from
// an older vaat is migrated in a transaction.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import Database from 'better-sqlite3';
import type { Signature } from '../../features/signature.js';
import { viewOf, rarityNames, type SignatureView } from './view.js';
import { SIG_COLS, SIG_COLS_S, toStored, toMembership, vectorBytes, bytesVector, type SigRow, type MemberRow, countIssueNames, countMoves } from './rows.js';
import {
  StoreError, type DecisionKind, type DecisionRecord, type NameCounts, type IssueNames, type Issue, type IssueStatus, type IssueSummary,
  type Membership, type NewSignature, type Store, type StoreMeta, type StoredSignature, type CandidateRows, type DecidedWrite, type DecidedResult,
} from './store.js';

type Db = Database.Database;

interface Migration {
  version: number;
  what: string;
  up(db: Db): void;
}

/** Every schema change, in order. Never edit one that has shipped: add the next. */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    what: 'signatures, known issues, memberships, decisions, frame counts, config',
    up(db) {
      db.exec(`
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE signatures (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          hash TEXT NOT NULL UNIQUE,
          hash_kind TEXT NOT NULL,
          kind TEXT NOT NULL CHECK (kind IN ('vmcore', 'console')),
          path TEXT,
          name TEXT NOT NULL,
          bytes INTEGER NOT NULL,
          release TEXT,
          title TEXT,
          crash_kind TEXT,
          document TEXT NOT NULL,
          log_text BLOB,
          vector BLOB NOT NULL,
          vector_version INTEGER NOT NULL,
          rules_version TEXT NOT NULL,
          ingested_at TEXT NOT NULL
        );
        CREATE TABLE issues (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          title TEXT NOT NULL,
          status TEXT NOT NULL DEFAULT 'open',
          notes TEXT NOT NULL DEFAULT '',
          merged_into INTEGER REFERENCES issues(id),
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        );
        CREATE TABLE issue_links (issue_id INTEGER NOT NULL REFERENCES issues(id), kind TEXT NOT NULL, url TEXT NOT NULL, PRIMARY KEY (issue_id, url));
        CREATE TABLE memberships (
          signature_id INTEGER PRIMARY KEY REFERENCES signatures(id),
          issue_id INTEGER NOT NULL REFERENCES issues(id),
          decided_by TEXT NOT NULL CHECK (decided_by IN ('auto', 'human')),
          score REAL,
          decided_at TEXT NOT NULL
        );
        CREATE INDEX memberships_issue ON memberships(issue_id);
        CREATE TABLE decisions (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          signature_id INTEGER,
          input TEXT NOT NULL,
          decision TEXT NOT NULL,
          issue_id INTEGER,
          score REAL,
          at TEXT NOT NULL
        );
        CREATE TABLE frame_df (frame TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 2,
    what: 'the scoring view beside each document (re-ranking parses small views, not documents)',
    up(db) {
      db.exec('ALTER TABLE signatures ADD COLUMN view TEXT');
      const rows = db.prepare('SELECT id, document FROM signatures').all() as Array<{ id: number; document: string }>;
      const set = db.prepare('UPDATE signatures SET view = ? WHERE id = ?');
      for (const r of rows) set.run(JSON.stringify(viewOf(JSON.parse(r.document) as Signature)), r.id);
    },
  },
  {
    version: 3,
    what: 'pending memberships: an uncertain input waits in its closest issue for a person',
    up(db) {
      db.exec('ALTER TABLE memberships ADD COLUMN pending INTEGER NOT NULL DEFAULT 0');
    },
  },
  {
    version: 4,
    what: 'scoring views in a table of their own (a view read no longer walks the overflow pages of the row\'s document, console text and vector)',
    up(db) {
      // signatures.view was added last (version 2), so it sat after columns of several kilobytes:
      // reading it followed the row's overflow chain. The old column is left in place, unused and
      // NULL for new rows (dropping it would rewrite every row).
      db.exec(`CREATE TABLE signature_views (signature_id INTEGER PRIMARY KEY REFERENCES signatures(id), view TEXT NOT NULL);
               INSERT INTO signature_views (signature_id, view) SELECT id, view FROM signatures WHERE view IS NOT NULL;`);
    },
  },
  {
    version: 5,
    what: 'names counted per known issue, not per signature (scorer version 8): issue_names replaces frame_df',
    up(db) {
      // Filled by Engine.open the first time (meta names_counted absent): the names come from the views.
      db.exec(`CREATE TABLE issue_names (issue_id INTEGER NOT NULL, name TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (issue_id, name)) WITHOUT ROWID;
               CREATE TABLE name_df (name TEXT PRIMARY KEY, issues INTEGER NOT NULL) WITHOUT ROWID;
               DROP TABLE frame_df;
               DELETE FROM meta WHERE key = 'frame_docs';`);
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

const now = () => new Date().toISOString();

interface IssueRow {
  id: number;
  title: string;
  status: IssueStatus;
  notes: string;
  merged_into: number | null;
  created_at: string;
  updated_at: string;
}

export interface SqliteOptions {
  /** Milliseconds a writer waits for another writer before giving up. */
  busyTimeoutMs?: number;
  /** Apply migrations to an older database (default true); false refuses it. */
  migrate?: boolean;
  /** Called with a one-line notice (migrations applied). */
  notice?: (line: string) => void;
  /** Refuse a directory that holds no store yet instead of making one (commands that only read or correct). */
  mustExist?: boolean;
}

/** Open the store database `dir/store.db`, creating it unless `mustExist`. */
export function openSqliteStore(dir: string, opts: SqliteOptions = {}): SqliteStore {
  const file = path.join(dir, 'store.db');
  // A mistyped --store (or /etc) must not become a new empty store, nor leave a database file there.
  if (opts.mustExist && !fs.existsSync(file)) throw new StoreError(`no store in ${dir} (vaat ingest makes one; --store DIR or VAAT_STORE says where)`);
  fs.mkdirSync(dir, { recursive: true });
  const timeout = opts.busyTimeoutMs ?? 60_000;
  const db = openWal(file, timeout);
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  try {
    migrate(db, file, opts);
  } catch (e) {
    db.close();
    throw e;
  }
  return new SqliteStore(dir, db);
}

/** Why a directory cannot be written (a read-only filesystem, no permission), as a clause; '' when it can. */
function readOnlyDir(dir: string): string {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return '';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'EROFS' || code === 'EACCES' || code === 'EPERM' ? ` (${dir} cannot be written: ${code}; the store keeps its write-ahead log beside the database, also to be read)` : '';
  }
}

/**
 * Open the database in WAL mode. Switching a new database to WAL needs an exclusive lock, and
 * SQLite answers SQLITE_BUSY at once, without waiting in the busy handler, when two connections
 * holding a shared lock both ask for it (it would otherwise deadlock): two ingests started at once
 * on a new store. The loser closes and tries again until the busy timeout has passed.
 */
function openWal(file: string, timeoutMs: number): Db {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    let db: Db | undefined;
    try {
      db = new Database(file, { timeout: timeoutMs });
      db.pragma('journal_mode = WAL');
      return db;
    } catch (e) {
      db?.close();
      const code = (e as { code?: string }).code ?? '';
      if (!code.startsWith('SQLITE_BUSY') || Date.now() >= deadline) {
        // SQLite's own words name no cause when the directory cannot be written: a write-ahead-log
        // database needs its -wal and -shm files beside it, also to be read.
        throw new StoreError(`${file}: cannot open the store database: ${(e as Error).message}${readOnlyDir(path.dirname(file))}`);
      }
      // 5–40 ms, more as attempts go on, jittered so two losers do not meet again.
      const ms = Math.min(40, 5 * (attempt + 1)) * (0.5 + Math.random());
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    }
  }
}

function migrate(db: Db, file: string, opts: SqliteOptions): void {
  const seen = db.pragma('user_version', { simple: true }) as number;
  if (seen > SCHEMA_VERSION) {
    throw new StoreError(`${file}: written by a newer vaat (store schema ${seen}; this vaat knows up to ${SCHEMA_VERSION}): upgrade vaat to use it`);
  }
  if (seen === SCHEMA_VERSION) return;
  // BEGIN IMMEDIATE: two processes opening a new or old store at once migrate it once. What the
  // store is is judged again inside: the version read above may be older than another process's
  // migration committed since, and a new store's tables would then look foreign.
  const run = db.transaction(() => {
    const v = db.pragma('user_version', { simple: true }) as number;
    if (v === SCHEMA_VERSION) return v;
    if (v === 0) {
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
      if (tables.n > 0) throw new StoreError(`${file}: not a vaat store (a SQLite database with other tables and no vaat schema version)`);
    } else if (opts.migrate === false) {
      throw new StoreError(`${file}: store schema ${v} is older than this vaat's ${SCHEMA_VERSION}; open it without --no-migrate to migrate it`);
    }
    for (const m of MIGRATIONS) {
      if (m.version <= v) continue;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }
    if (v === 0) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('created_at', now());
    return v;
  });
  const from = run.immediate();
  if (from > 0 && from < SCHEMA_VERSION) opts.notice?.(`${file}: store schema migrated from ${from} to ${SCHEMA_VERSION}`);
}

/** How many memberships the store keeps in memory (SqliteStore.memberships): about 150 bytes each. */
const MEMBERSHIP_CACHE = 200_000;

export class SqliteStore implements Store {
  private readonly stmts: Record<string, Database.Statement>;
  private depth = 0;
  /**
   * Memberships read before, by signature id (null: none), valid while no other connection has
   * committed: SQLite's data_version moves on every commit of another connection (another
   * process's ingest or `vaat issue label`), and then the whole cache goes. This connection's own
   * writes drop their ids; ids written in the open transaction are read through, not cached, so a
   * ROLLBACK leaves nothing behind. Every ingest reads the memberships of its 50 candidates twice;
   * from SQLite that was 13 % of an ingest's CPU (20 k signatures).
   */
  private readonly memberCache = new Map<number, Membership | null>();
  private memberCacheVersion = -1;
  private readonly txWritten = new Set<number>();

  constructor(readonly location: string, readonly db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.stmts = {
      findByHash: p(`SELECT ${SIG_COLS} FROM signatures WHERE hash = ?`),
      insert: p(`INSERT INTO signatures (hash, hash_kind, kind, path, name, bytes, release, title, crash_kind, document, log_text, vector, vector_version, rules_version, ingested_at)
                 VALUES (@hash, @hashKind, @kind, @path, @name, @bytes, @release, @title, @crashKind, @document, @logText, @vector, @vectorVersion, @rulesVersion, @at)
                 ON CONFLICT(hash) DO NOTHING`),
      sig: p(`SELECT ${SIG_COLS} FROM signatures WHERE id = ?`),
      doc: p('SELECT document FROM signatures WHERE id = ?'),
      log: p('SELECT log_text FROM signatures WHERE id = ?'),
      after: p('SELECT id, vector FROM signatures WHERE id > ? ORDER BY id LIMIT ?'),
      maxSeq: p('SELECT coalesce(max(id), 0) AS m FROM signatures'),
      count: p('SELECT count(*) AS n FROM signatures'),
      page: p(`SELECT ${SIG_COLS} FROM signatures WHERE id > ? ORDER BY id LIMIT ?`),
      derived: p('UPDATE signatures SET document = ?, vector = ?, vector_version = ?, rules_version = ?, title = ?, crash_kind = ? WHERE id = ?'),
      viewSet: p('INSERT OR REPLACE INTO signature_views (signature_id, view) VALUES (?, ?)'),
      nameInc: p('INSERT INTO issue_names (issue_id, name, n) VALUES (?, ?, 1) ON CONFLICT(issue_id, name) DO UPDATE SET n = n + 1 RETURNING n'),
      nameDec: p('UPDATE issue_names SET n = n - 1 WHERE issue_id = ? AND name = ?'),
      nameGone: p('DELETE FROM issue_names WHERE issue_id = ? AND name = ? AND n <= 0'),
      dfMove: p('INSERT INTO name_df (name, issues) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET issues = issues + excluded.issues'),
      dfAll: p('SELECT name, issues AS df FROM name_df WHERE issues > 0'),
      dfOf: p('SELECT name, issues AS df FROM name_df WHERE issues > 0 AND name IN (SELECT value FROM json_each(?))'),
      issuesMax: p('SELECT coalesce(max(id), 0) AS m FROM issues'),
      viewOne: p('SELECT view FROM signature_views WHERE signature_id = ?'),
      metaGet: p('SELECT value FROM meta WHERE key = ?'),
      metaSet: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      cfgGet: p('SELECT value FROM config WHERE key = ?'),
      cfgSet: p('INSERT INTO config (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      issueNew: p('INSERT INTO issues (title, created_at, updated_at) VALUES (?, ?, ?)'),
      issue: p('SELECT * FROM issues WHERE id = ?'),
      links: p('SELECT kind, url FROM issue_links WHERE issue_id = ? ORDER BY rowid'),
      linkAdd: p('INSERT OR IGNORE INTO issue_links (issue_id, kind, url) VALUES (?, ?, ?)'),
      member: p('SELECT signature_id, issue_id, decided_by, score, decided_at, pending FROM memberships WHERE signature_id = ?'),
      memberSet: p(`INSERT INTO memberships (signature_id, issue_id, decided_by, score, decided_at, pending) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(signature_id) DO UPDATE SET issue_id = excluded.issue_id, decided_by = excluded.decided_by, score = excluded.score, decided_at = excluded.decided_at, pending = excluded.pending`),
      memberDel: p('DELETE FROM memberships WHERE signature_id = ?'),
      members: p(`SELECT m.signature_id, m.issue_id, m.decided_by, m.score, m.decided_at, m.pending, ${SIG_COLS_S}
                  FROM memberships m JOIN signatures s ON s.id = m.signature_id WHERE m.issue_id = ? ORDER BY s.id`),
      // A list of ids as one JSON parameter: one prepared statement whatever the list's length.
      viewsOf: p('SELECT signature_id AS id, view FROM signature_views WHERE signature_id IN (SELECT value FROM json_each(?))'),
      membersOf: p('SELECT signature_id, issue_id, decided_by, score, decided_at, pending FROM memberships WHERE signature_id IN (SELECT value FROM json_each(?))'),
      decide: p('INSERT INTO decisions (signature_id, input, decision, issue_id, score, at) VALUES (?, ?, ?, ?, ?, ?)'),
      dataVersion: p('PRAGMA data_version').pluck(),
    };
  }

  /** The membership cache, emptied when another connection committed since it was last checked. */
  private members_(): Map<number, Membership | null> {
    const v = this.stmts.dataVersion!.get() as number;
    if (v !== this.memberCacheVersion) {
      this.memberCache.clear();
      this.memberCacheVersion = v;
    }
    return this.memberCache;
  }

  /** This connection is about to write the membership of `signatureId`. */
  private memberWritten(signatureId: number): void {
    this.memberCache.delete(signatureId);
    if (this.db.inTransaction) this.txWritten.add(signatureId);
  }

  /** A membership write: in the open transaction, else in one of its own, after which no id is "written in the open transaction". */
  private membershipWrite<T>(run: () => T): T {
    if (this.db.inTransaction) return run();
    try {
      return this.db.transaction(run)();
    } finally {
      this.txWritten.clear();
    }
  }

  private cacheMember(id: number, m: Membership | null): void {
    if (this.db.inTransaction && this.txWritten.has(id)) return;
    this.memberCache.set(id, m);
    if (this.memberCache.size > MEMBERSHIP_CACHE) this.memberCache.delete(this.memberCache.keys().next().value!);
  }

  async meta(): Promise<StoreMeta> {
    const get = (k: string) => (this.stmts.metaGet!.get(k) as { value: string } | undefined)?.value ?? null;
    const dim = get('dimension');
    const vv = get('vector_version');
    return {
      schemaVersion: this.db.pragma('user_version', { simple: true }) as number,
      vectorVersion: vv === null ? null : Number(vv),
      rulesVersion: get('rules_version'),
      dimension: dim === null ? null : Number(dim),
      createdAt: get('created_at'),
      namesCounted: get('names_counted') !== null,
    };
  }

  async setVersions(v: { vectorVersion: number; rulesVersion: string; dimension: number }): Promise<void> {
    this.db.transaction(() => {
      this.stmts.metaSet!.run('vector_version', String(v.vectorVersion));
      this.stmts.metaSet!.run('rules_version', v.rulesVersion);
      this.stmts.metaSet!.run('dimension', String(v.dimension));
    })();
  }

  async config<T>(key: string): Promise<T | null> {
    const r = this.stmts.cfgGet!.get(key) as { value: string } | undefined;
    return r ? (JSON.parse(r.value) as T) : null;
  }

  async setConfig(key: string, value: unknown): Promise<void> {
    this.stmts.cfgSet!.run(key, JSON.stringify(value));
  }

  async exclusive<T>(f: () => Promise<T>): Promise<T> {
    // better-sqlite3 transactions cannot span awaits; the embedded store's work inside is
    // synchronous, so BEGIN IMMEDIATE … COMMIT around it holds the write lock throughout.
    if (this.depth > 0) return f();
    this.db.exec('BEGIN IMMEDIATE');
    this.depth++;
    try {
      const r = await f();
      this.db.exec('COMMIT');
      return r;
    } catch (e) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw e;
    } finally {
      this.depth--;
      this.txWritten.clear();
    }
  }

  async findByHash(hash: string): Promise<StoredSignature | null> {
    const r = this.stmts.findByHash!.get(hash) as SigRow | undefined;
    return r ? toStored(r) : null;
  }

  async findByHashPrefix(prefix: string, limit: number): Promise<StoredSignature[]> {
    if (!/^[0-9a-f]+$/.test(prefix)) return [];
    return (this.db.prepare(`SELECT ${SIG_COLS} FROM signatures WHERE hash >= ? AND hash < ? ORDER BY id LIMIT ?`).all(prefix, prefix + 'g', limit) as SigRow[]).map(toStored);
  }

  private insertSignature(s: NewSignature): { id: number; seq: number; inserted: boolean } {
    const run = () => {
      const r = this.stmts.insert!.run({
        hash: s.hash, hashKind: s.hashKind, kind: s.kind, path: s.path, name: s.name, bytes: s.bytes, release: s.release,
        title: s.title, crashKind: s.crashKind, document: JSON.stringify(s.document),
        logText: s.logText === null ? null : zlib.deflateRawSync(Buffer.from(s.logText, 'latin1')),
        vector: vectorBytes(s.vector), vectorVersion: s.vectorVersion, rulesVersion: s.rulesVersion, at: now(),
      });
      if (r.changes === 0) {
        const old = this.stmts.findByHash!.get(s.hash) as SigRow;
        return { id: old.id, seq: old.id, inserted: false };
      }
      const id = Number(r.lastInsertRowid);
      this.stmts.viewSet!.run(id, JSON.stringify(s.view));
      return { id, seq: id, inserted: true };
    };
    return this.db.inTransaction ? run() : this.db.transaction(run)();
  }

  async storeDecided(s: NewSignature, d: DecidedWrite): Promise<DecidedResult> {
    // In process every write is cheap: the parts, in one transaction.
    return this.exclusive(async () => {
      const ins = this.insertSignature(s);
      if (!ins.inserted) return { inserted: false, id: ins.id };
      const issue = d.open !== null ? await this.createIssue(d.open) : await this.issue(d.issueId!);
      if (!issue) throw new StoreError(`issue ${d.issueId} does not exist`);
      const added = await this.setMembership(ins.id, issue.id, 'auto', d.memberScore, d.pending, d.names);
      await this.recordDecision({ signatureId: ins.id, input: d.input, decision: d.decision, issueId: issue.id, score: d.score, at: d.at });
      return { inserted: true, id: ins.id, seq: ins.seq, issueId: issue.id, issueTitle: issue.title, added };
    });
  }

  async signature(id: number): Promise<StoredSignature | null> {
    const r = this.stmts.sig!.get(id) as SigRow | undefined;
    return r ? toStored(r) : null;
  }

  async signaturesById(ids: number[]): Promise<Map<number, StoredSignature>> {
    const out = new Map<number, StoredSignature>();
    for (const id of new Set(ids)) {
      const r = await this.signature(id);
      if (r) out.set(id, r);
    }
    return out;
  }

  async document(id: number): Promise<Signature | null> {
    const r = this.stmts.doc!.get(id) as { document: string } | undefined;
    return r ? (JSON.parse(r.document) as Signature) : null;
  }

  async logText(id: number): Promise<string | null> {
    const r = this.stmts.log!.get(id) as { log_text: Buffer | null } | undefined;
    return r?.log_text ? zlib.inflateRawSync(r.log_text).toString('latin1') : null;
  }

  async views(ids: number[]): Promise<Map<number, SignatureView>> {
    const out = new Map<number, SignatureView>();
    if (!ids.length) return out;
    for (const r of this.stmts.viewsOf!.iterate(JSON.stringify(ids)) as Iterable<{ id: number; view: string }>) out.set(r.id, JSON.parse(r.view) as SignatureView);
    return out;
  }

  async vectorsAfter(after: number, limit: number): Promise<Array<{ id: number; seq: number; vector: Float32Array }>> {
    const rows = this.stmts.after!.all(after, limit) as Array<{ id: number; vector: Buffer }>;
    return rows.map((r) => ({ id: r.id, seq: r.id, vector: bytesVector(r.vector) }));
  }

  async maxSeq(): Promise<number> {
    return (this.stmts.maxSeq!.get() as { m: number }).m;
  }

  async count(): Promise<number> {
    return (this.stmts.count!.get() as { n: number }).n;
  }

  async signaturesPage(afterId: number, limit: number): Promise<StoredSignature[]> {
    return (this.stmts.page!.all(afterId, limit) as SigRow[]).map(toStored);
  }

  async updateDerived(id: number, d: { document: Signature; view: SignatureView; vector: Float32Array; vectorVersion: number; rulesVersion: string; title: string | null; crashKind: string | null }): Promise<void> {
    this.db.transaction(() => {
      this.stmts.derived!.run(JSON.stringify(d.document), vectorBytes(d.vector), d.vectorVersion, d.rulesVersion, d.title, d.crashKind, id);
      this.stmts.viewSet!.run(id, JSON.stringify(d.view));
    })();
  }

  async nameCounts(names?: string[]): Promise<NameCounts> {
    const df = new Map<string, number>();
    const rows = (names ? this.stmts.dfOf!.iterate(JSON.stringify(names)) : this.stmts.dfAll!.iterate()) as Iterable<{ name: string; df: number }>;
    for (const r of rows) df.set(r.name, r.df);
    return { issues: (this.stmts.issuesMax!.get() as { m: number }).m, df };
  }

  async rebuildNameCounts(entries: AsyncIterable<IssueNames> | Iterable<IssueNames>): Promise<void> {
    const counts = await countIssueNames(entries);
    this.db.transaction(() => {
      this.db.exec('DELETE FROM issue_names; DELETE FROM name_df');
      const ins = this.db.prepare('INSERT INTO issue_names (issue_id, name, n) VALUES (?, ?, ?)');
      for (const [issue, names] of counts) for (const [name, n] of names) ins.run(issue, name, n);
      this.db.exec('INSERT INTO name_df (name, issues) SELECT name, count(*) FROM issue_names GROUP BY name');
      this.stmts.metaSet!.run('names_counted', '1');
    })();
  }

  async createIssue(title: string): Promise<Issue> {
    const t = now();
    const r = this.stmts.issueNew!.run(title, t, t);
    return (await this.issue(Number(r.lastInsertRowid)))!;
  }

  async issue(id: number): Promise<Issue | null> {
    const r = this.stmts.issue!.get(id) as IssueRow | undefined;
    if (!r) return null;
    return {
      id: r.id, title: r.title, status: r.status, notes: r.notes, mergedInto: r.merged_into, createdAt: r.created_at, updatedAt: r.updated_at,
      links: this.stmts.links!.all(id) as Array<{ kind: string; url: string }>,
    };
  }

  async issuesById(ids: number[]): Promise<Map<number, Issue>> {
    const out = new Map<number, Issue>();
    for (const id of new Set(ids)) {
      const r = await this.issue(id);
      if (r) out.set(id, r);
    }
    return out;
  }

  async issues(opts: { status?: IssueStatus[] } = {}): Promise<IssueSummary[]> {
    const rows = this.db.prepare(`
      SELECT i.*, count(m.signature_id) AS size, min(s.ingested_at) AS first_seen, max(s.ingested_at) AS last_seen,
             group_concat(DISTINCT s.release) AS kernels, sum(m.decided_by = 'human') AS human, sum(m.pending) AS pending
      FROM issues i LEFT JOIN memberships m ON m.issue_id = i.id LEFT JOIN signatures s ON s.id = m.signature_id
      ${opts.status ? `WHERE i.status IN (${opts.status.map(() => '?').join(',')})` : ''}
      GROUP BY i.id ORDER BY i.id`).all(...(opts.status ?? [])) as Array<IssueRow & { size: number; first_seen: string | null; last_seen: string | null; kernels: string | null; human: number | null; pending: number | null }>;
    return rows.map((r) => ({
      id: r.id, title: r.title, status: r.status, notes: r.notes, mergedInto: r.merged_into, createdAt: r.created_at, updatedAt: r.updated_at,
      links: this.stmts.links!.all(r.id) as Array<{ kind: string; url: string }>,
      size: r.size, firstSeen: r.first_seen, lastSeen: r.last_seen, kernels: r.kernels ? r.kernels.split(',').sort() : [], human: r.human ?? 0, pending: r.pending ?? 0,
    }));
  }

  async updateIssue(id: number, patch: Partial<Pick<Issue, 'title' | 'status' | 'notes' | 'mergedInto'>>): Promise<void> {
    const cols: Record<string, unknown> = {};
    if (patch.title !== undefined) cols.title = patch.title;
    if (patch.status !== undefined) cols.status = patch.status;
    if (patch.notes !== undefined) cols.notes = patch.notes;
    if (patch.mergedInto !== undefined) cols.merged_into = patch.mergedInto;
    const keys = Object.keys(cols);
    if (!keys.length) return;
    this.db.prepare(`UPDATE issues SET ${keys.map((k) => `${k} = @${k}`).join(', ')}, updated_at = @t WHERE id = @id`).run({ ...cols, t: now(), id });
  }

  async addLink(id: number, kind: string, url: string): Promise<void> {
    this.stmts.linkAdd!.run(id, kind, url);
  }

  async membership(signatureId: number): Promise<Membership | null> {
    const r = this.stmts.member!.get(signatureId) as MemberRow | undefined;
    return r ? toMembership(r) : null;
  }

  async memberships(signatureIds: number[]): Promise<Map<number, Membership>> {
    const out = new Map<number, Membership>();
    if (!signatureIds.length) return out;
    const cache = this.members_();
    const read: number[] = [];
    for (const id of signatureIds) {
      const m = cache.get(id);
      if (m === undefined) read.push(id);
      else if (m) out.set(id, m);
    }
    if (!read.length) return out;
    const found = new Map<number, Membership>();
    // Frozen: the same objects go to every caller while cached.
    for (const r of this.stmts.membersOf!.iterate(JSON.stringify(read)) as Iterable<MemberRow>) found.set(r.signature_id, Object.freeze(toMembership(r)));
    for (const id of read) {
      const m = found.get(id) ?? null;
      this.cacheMember(id, m);
      if (m) out.set(id, m);
    }
    return out;
  }

  async candidates(signatureIds: number[], configKey: string): Promise<CandidateRows> {
    // In process every read is cheap: the parts, not one statement.
    const members = await this.memberships(signatureIds);
    const issues = new Map<number, Pick<Issue, 'id' | 'title' | 'status'>>();
    for (const [id, i] of await this.issuesById([...members.values()].map((m) => m.issueId))) issues.set(id, { id, title: i.title, status: i.status });
    // Not the signatures: a row's later columns (ingested_at) sit behind its document's overflow
    // pages, 0.27 ms a row at 100 k signatures; 50 of them made a match 13 ms slower.
    return { members, issues, signatures: null, config: await this.config(configKey) };
  }

  async members(issueId: number): Promise<Array<Membership & { signature: StoredSignature }>> {
    const rows = this.stmts.members!.all(issueId) as Array<SigRow & MemberRow>;
    return rows.map((r) => ({ ...toMembership(r), signature: toStored(r) }));
  }

  async setMembership(signatureId: number, issueId: number, decidedBy: 'auto' | 'human', score: number | null, pending = false, names?: string[]): Promise<string[]> {
    const run = () => {
      const old = this.stmts.member!.get(signatureId) as MemberRow | undefined;
      this.memberWritten(signatureId);
      this.stmts.memberSet!.run(signatureId, issueId, decidedBy, score, now(), pending ? 1 : 0);
      const { release, add } = countMoves(old ? { issue: old.issue_id, counted: !old.pending } : null, { issue: issueId, counted: !pending });
      if (release === null && !add) return [];
      const ns = names ?? this.namesOf(signatureId);
      if (release !== null) this.releaseNames(release, ns);
      const added: string[] = [];
      if (add) {
        for (const n of ns) {
          if ((this.stmts.nameInc!.get(issueId, n) as { n: number }).n !== 1) continue;
          added.push(n);
          this.stmts.dfMove!.run(n, 1);
        }
      }
      return added;
    };
    return this.membershipWrite(run);
  }

  async removeMembership(signatureId: number): Promise<void> {
    const run = () => {
      const old = this.stmts.member!.get(signatureId) as MemberRow | undefined;
      this.memberWritten(signatureId);
      this.stmts.memberDel!.run(signatureId);
      if (old && !old.pending) this.releaseNames(old.issue_id, this.namesOf(signatureId));
    };
    this.membershipWrite(run);
  }

  private namesOf(signatureId: number): string[] {
    const r = this.stmts.viewOne!.get(signatureId) as { view: string } | undefined;
    return r ? rarityNames(JSON.parse(r.view) as SignatureView) : [];
  }

  private releaseNames(issueId: number, names: string[]): void {
    for (const n of names) {
      this.stmts.nameDec!.run(issueId, n);
      if (this.stmts.nameGone!.run(issueId, n).changes) this.stmts.dfMove!.run(n, -1);
    }
  }

  async recordDecision(d: DecisionRecord): Promise<void> {
    this.stmts.decide!.run(d.signatureId, d.input, d.decision, d.issueId, d.score, d.at);
  }

  async decisions(opts: { decision?: DecisionKind; limit?: number } = {}): Promise<DecisionRecord[]> {
    const rows = this.db.prepare(`SELECT signature_id, input, decision, issue_id, score, at FROM decisions ${opts.decision ? 'WHERE decision = ?' : ''} ORDER BY id DESC LIMIT ?`)
      .all(...(opts.decision ? [opts.decision] : []), opts.limit ?? 1_000_000) as Array<{ signature_id: number | null; input: string; decision: DecisionKind; issue_id: number | null; score: number | null; at: string }>;
    return rows.map((r) => ({ signatureId: r.signature_id, input: r.input, decision: r.decision, issueId: r.issue_id, score: r.score, at: r.at }));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
