// Known issues as a person works with them: list and show, and the
// corrections — label a signature, merge two issues, split one, notes,
// links, status. A person's decision is recorded as such (decided_by =
// human) and wins over the engine's, also across reindexing.

import { StoreError, type IssueStatus, type Store, type StoredSignature } from './store.js';
import type { ClusterReport } from './cluster.js';

const STATUSES: IssueStatus[] = ['open', 'fixed', 'closed', 'invalid'];

/** A signature by id ("12") or by the start of its hash (at least 6 hex digits). */
export async function resolveSignature(store: Store, ref: string): Promise<StoredSignature> {
  if (/^\d+$/.test(ref) && ref.length < 6) {
    const s = await store.signature(Number(ref));
    if (!s) throw new StoreError(`no signature ${ref}`);
    return s;
  }
  if (/^[0-9a-f]{6,64}$/.test(ref)) {
    const found = await store.findByHashPrefix(ref, 2);
    if (found.length === 1) return found[0]!;
    if (found.length > 1) throw new StoreError(`hash prefix ${ref} is ambiguous: give more digits`);
  }
  if (/^\d+$/.test(ref)) {
    const s = await store.signature(Number(ref));
    if (s) return s;
  }
  throw new StoreError(`no signature ${ref} (an id, or the start of a hash)`);
}

async function mustIssue(store: Store, id: number) {
  const i = await store.issue(id);
  if (!i) throw new StoreError(`no issue #${id}`);
  return i;
}

const day = (t: string | null) => (t ? t.slice(0, 16).replace('T', ' ') : '-');

export async function listIssues(store: Store, opts: { status?: string; uncertain?: boolean; json?: boolean }): Promise<unknown> {
  if (opts.uncertain) {
    const dec = await store.decisions({ decision: 'uncertain' });
    const rows = [];
    for (const d of dec) {
      if (d.signatureId === null) continue;
      const m = await store.membership(d.signatureId);
      if (!m?.pending) continue;
      rows.push({ signature: d.signatureId, input: d.input, issue: m.issueId, score: d.score, at: d.at });
    }
    if (opts.json) return rows;
    const out = ['SIGNATURE  ISSUE   SCORE  INPUT'];
    for (const r of rows) out.push(`${String(r.signature).padStart(9)}  ${`#${r.issue}`.padStart(5)}  ${(r.score ?? 0).toFixed(3)}  ${r.input}`);
    out.push(`${rows.length} uncertain decisions waiting in their closest issue for a person (vaat issue label SIGNATURE ISSUE confirms or moves one)`);
    return out.join('\n') + '\n';
  }
  const status = opts.status ? (opts.status.split(',') as IssueStatus[]) : undefined;
  const list = (await store.issues(status ? { status } : {})).filter((i) => status || i.status !== 'merged');
  if (opts.json) return list;
  const out = ['ISSUE  STATUS   SIZE  HUMAN  PENDING  FIRST SEEN        LAST SEEN         KERNELS              TITLE'];
  for (const i of list) {
    out.push(`${`#${i.id}`.padEnd(6)} ${i.status.padEnd(8)} ${String(i.size).padStart(4)}  ${String(i.human).padStart(5)}  ${String(i.pending).padStart(7)}  ${day(i.firstSeen).padEnd(16)}  ${day(i.lastSeen).padEnd(16)}  ${(i.kernels.join(',') || '-').slice(0, 20).padEnd(20)} ${i.title}`);
  }
  out.push(`${list.length} issues, ${list.reduce((a, i) => a + i.size, 0)} signatures`);
  return out.join('\n') + '\n';
}

export async function showIssue(store: Store, id: number, json: boolean): Promise<unknown> {
  const i = await mustIssue(store, id);
  const members = await store.members(id);
  if (json) return { ...i, members };
  const out = [`ISSUE ${i.id}  ${i.title}`, `  status ${i.status}${i.mergedInto ? ` (into #${i.mergedInto})` : ''}; created ${day(i.createdAt)}; updated ${day(i.updatedAt)}`];
  for (const l of i.links) out.push(`  ${l.kind}: ${l.url}`);
  if (i.notes) for (const n of i.notes.split('\n')) out.push(`  note: ${n}`);
  out.push(`  MEMBERS ${members.length}`);
  out.push('  SIGNATURE  DECIDED  SCORE  KIND     RELEASE             INGESTED          NAME');
  for (const m of members) {
    out.push(`  ${String(m.signatureId).padStart(9)}  ${(m.pending ? 'pending' : m.decidedBy).padEnd(7)}  ${m.score === null ? '    -' : m.score.toFixed(3)}  ${m.signature.kind.padEnd(7)}  ${(m.signature.release ?? '-').slice(0, 18).padEnd(18)}  ${day(m.signature.ingestedAt)}  ${m.signature.path ?? m.signature.name}`);
  }
  return out.join('\n') + '\n';
}

export async function labelSignature(store: Store, ref: string, issueId: number): Promise<string> {
  const s = await resolveSignature(store, ref);
  const i = await mustIssue(store, issueId);
  if (i.status === 'merged') throw new StoreError(`issue #${issueId} was merged into #${i.mergedInto}: label into that one`);
  await store.exclusive(async () => store.setMembership(s.id, issueId, 'human', null));
  return `signature ${s.id} (${s.name}) is in #${issueId} (${i.title}), decided by a person\n`;
}

/** Confirm every pending member of an issue (a person agrees with the engine's closest guesses). */
export async function confirmIssue(store: Store, id: number): Promise<string> {
  const i = await mustIssue(store, id);
  const pending = (await store.members(id)).filter((m) => m.pending);
  await store.exclusive(async () => {
    for (const m of pending) await store.setMembership(m.signatureId, id, 'human', m.score);
  });
  return `${pending.length} pending signatures confirmed in #${id} (${i.title})\n`;
}

export async function mergeIssues(store: Store, into: number, from: number): Promise<string> {
  if (into === from) throw new StoreError('an issue cannot be merged into itself');
  const a = await mustIssue(store, into);
  await mustIssue(store, from);
  const members = await store.members(from);
  await store.exclusive(async () => {
    for (const m of members) await store.setMembership(m.signatureId, into, 'human', m.score);
    await store.updateIssue(from, { status: 'merged', mergedInto: into });
  });
  return `#${from} merged into #${into} (${a.title}): ${members.length} signatures moved\n`;
}

export async function splitIssue(store: Store, id: number, refs: string[]): Promise<string> {
  const i = await mustIssue(store, id);
  const sigs: StoredSignature[] = [];
  for (const r of refs) {
    const s = await resolveSignature(store, r);
    const m = await store.membership(s.id);
    if (m?.issueId !== id) throw new StoreError(`signature ${s.id} is not in #${id}`);
    sigs.push(s);
  }
  const created = await store.exclusive(async () => {
    const n = await store.createIssue(sigs[0]!.title ?? `split from #${id}`);
    await store.updateIssue(n.id, { notes: `split from #${id} (${i.title})` });
    for (const s of sigs) await store.setMembership(s.id, n.id, 'human', null);
    return n;
  });
  return `${sigs.length} signatures moved from #${id} to new issue #${created.id}\n`;
}

export async function noteIssue(store: Store, id: number, text: string): Promise<string> {
  const i = await mustIssue(store, id);
  await store.updateIssue(id, { notes: i.notes ? `${i.notes}\n${text}` : text });
  return `note added to #${id}\n`;
}

export async function linkIssue(store: Store, id: number, kind: string, url: string): Promise<string> {
  await mustIssue(store, id);
  await store.addLink(id, kind, url);
  return `${kind} link added to #${id}\n`;
}

export async function setStatus(store: Store, id: number, status: string): Promise<string> {
  if (!STATUSES.includes(status as IssueStatus)) throw new StoreError(`status ${status}: one of ${STATUSES.join(', ')}`);
  await mustIssue(store, id);
  await store.updateIssue(id, { status: status as IssueStatus });
  return `#${id} is ${status}\n`;
}

export async function retitle(store: Store, id: number, title: string): Promise<string> {
  await mustIssue(store, id);
  await store.updateIssue(id, { title });
  return `#${id} is now "${title}"\n`;
}

export function renderClusters(r: ClusterReport): string {
  const out = [`${r.signatures} signatures, ${r.clusters.length} clusters (average linkage over the ${r.k}-nearest-neighbour graph, ${r.edges} edges, cut ${r.threshold})`, ''];
  out.push('CLUSTER  SIZE  TIGHT  ISSUES        FIRST SEEN        LAST SEEN         KERNELS              NEAREST (separated by)      TITLE');
  for (const c of r.clusters) {
    const issues = c.issues.map((i) => `#${i.issue}${c.issues.length > 1 ? `:${i.members}` : ''}`).join(',') || '-';
    const near = c.nearest ? `${c.nearest.cluster} ${c.nearest.similarity.toFixed(2)} (${c.nearest.separatedBy.join(',') || '-'})` : '-';
    out.push(`${String(c.id).padStart(7)}  ${String(c.size).padStart(4)}  ${c.tightness.toFixed(2)}  ${issues.slice(0, 12).padEnd(12)}  ${day(c.firstSeen).padEnd(16)}  ${day(c.lastSeen).padEnd(16)}  ${(c.kernels.join(',') || '-').slice(0, 20).padEnd(20)} ${near.slice(0, 26).padEnd(26)}  ${c.representative.title ?? c.representative.name}`);
  }
  return out.join('\n') + '\n';
}
