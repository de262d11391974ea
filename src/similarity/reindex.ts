// Bring a store up to this vaat's rules and vector layout without the
// dumps: the panic part is re-derived from the kept console text, views and
// vectors recomputed from the documents, frame counts and the HNSW index
// rebuilt. Known issues are not touched: memberships a person set stay, and
// automatic ones the new scores would move are reported, never moved.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { panicFromText } from '../../features/panic.js';
import { validateSignature, type Signature } from '../../features/signature.js';
import { vectorize, vectorDimension } from '../../features/vector.js';
import { vectorVersion } from '../../features/rules.js';
import { viewOf, storedRulesVersion } from './view.js';
import { Engine, issueNames, type EngineOptions } from './engine.js';

import type { Store } from './store.js';

export interface ReindexReport {
  signatures: number;
  /** Signatures whose panic part the current rules re-derived from their kept console text. */
  rederived: number;
  /** Panic parts that came out different. */
  panicChanged: number;
  revectorized: number;
  /** Automatic memberships the current scores would put elsewhere (not applied). */
  wouldMove: Array<{ signature: number; name: string; from: number; to: number | null; score: number | null }>;
  humanKept: number;
}

function rederivePanic(doc: Signature, logText: string | null): Signature['panic'] {
  if (logText === null) return doc.panic;
  try {
    const p = panicFromText(logText);
    // A dump whose log held no report took its panic part from the registers; keep that.
    if (!p.title && doc.source.kind === 'vmcore') return doc.panic;
    return p;
  } catch {
    return doc.panic;
  }
}

export async function reindex(store: Store, opts: EngineOptions = {}): Promise<ReindexReport> {
  const rep: ReindexReport = { signatures: 0, rederived: 0, panicChanged: 0, revectorized: 0, wouldMove: [], humanKept: 0 };
  const rv = storedRulesVersion();
  const vv = vectorVersion();
  for (let after = 0; ; ) {
    const page = await store.signaturesPage(after, 500);
    if (!page.length) break;
    after = page[page.length - 1]!.id;
    for (const s of page) {
      rep.signatures++;
      const doc = await store.document(s.id);
      if (!doc) continue;
      let next = doc;
      if (s.rulesVersion !== rv) {
        const panic = rederivePanic(doc, await store.logText(s.id));
        rep.rederived++;
        if (JSON.stringify(panic) !== JSON.stringify(doc.panic)) rep.panicChanged++;
        next = { ...doc, panic };
        validateSignature(next);
      }
      const view = viewOf(next);
      if (s.rulesVersion !== rv || s.vectorVersion !== vv) rep.revectorized++;
      await store.updateDerived(s.id, { document: next, view, vector: vectorize(next), vectorVersion: vv, rulesVersion: rv, title: next.panic?.title ?? null, crashKind: next.panic?.kind ?? null });
    }
  }
  // Names come from the views just derived, counted per issue.
  await store.rebuildNameCounts(issueNames(store));
  await store.setVersions({ vectorVersion: vv, rulesVersion: rv, dimension: vectorDimension() });
  // The index is derived: drop it, Engine.open rebuilds it from the updated vectors.
  for (const f of ['index.hnsw', 'index.json']) fs.rmSync(path.join(store.location, f), { force: true });
  const engine = await Engine.open(store, { ...opts, notice: () => {} });
  for (let after = 0; ; ) {
    const page = await store.signaturesPage(after, 500);
    if (!page.length) break;
    after = page[page.length - 1]!.id;
    const members = await store.memberships(page.map((s) => s.id));
    for (const s of page) {
      const m = members.get(s.id);
      if (!m) continue;
      if (m.decidedBy === 'human') {
        rep.humanKept++;
        continue;
      }
      const doc = (await store.document(s.id))!;
      const r = await engine.match(doc, { k: 1, exclude: s.id });
      const best = r.matches[0] ?? null;
      const dupOf = r.decision.verdict === 'duplicate' ? best!.issue : null;
      // It stays where it is when it still duplicates its own issue, or when it is alone there
      // (it opened the issue as new) and duplicates nothing else.
      // Alone: no other confirmed member (pending ones are no evidence) — it opened the issue.
      const alone = !(await store.members(m.issueId)).some((x) => x.signatureId !== s.id && !x.pending);
      // A pending member stays pending while its issue is still the closest one in the uncertain band.
      const stillUncertain = m.pending && r.decision.verdict === 'uncertain' && best?.issue === m.issueId;
      const stays = dupOf === m.issueId || (dupOf === null && alone) || stillUncertain;
      const target = dupOf;
      if (!stays) rep.wouldMove.push({ signature: s.id, name: s.name, from: m.issueId, to: target, score: best?.score ?? null });
    }
  }
  await engine.save();
  return rep;
}
