// Two writers on one store. An ingest searches and scores before it queues
// for the write lock; under the lock it scores what another writer stored
// meanwhile and reads every candidate's membership again. Two engines on one
// store directory stand for two processes; the second writer's work is run
// between the first's ranking and its lock.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openSqliteStore } from '../../src/similarity/sqlite.js';
import { Engine } from '../../src/similarity/engine.js';
import type { Signature } from '../../features/signature.js';
import { crashesOfDistinctCauses } from '../helpers/syzbot.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('vaat-writers-');

const again = (s: Signature, n: number): Signature => ({ ...s, source: { ...s.source, hash: `${s.source.hash}:${n}`, name: `${s.source.name}#${n}` } });

test('what another writer stores or relabels between an ingest\'s ranking and its lock decides that ingest', async () => {
  const [x, y] = crashesOfDistinctCauses(2);
  const dir = path.join(tmp, 'store');
  const storeA = openSqliteStore(dir);
  const a = await Engine.open(storeA);
  const storeB = openSqliteStore(dir);
  const b = await Engine.open(storeB);
  const exclusive = storeA.exclusive.bind(storeA);
  let meanwhile: (() => Promise<void>) | null = null;
  storeA.exclusive = async <T>(f: () => Promise<T>): Promise<T> => {
    const m = meanwhile;
    meanwhile = null;
    if (m) await m();
    return exclusive(f);
  };

  // A ranks a repeat of x against an empty store; B stores x before A takes the lock.
  let bx = null as Awaited<ReturnType<Engine['ingest']>> | null;
  meanwhile = async () => {
    bx = await b.ingest(x!, { path: null, logText: null });
  };
  const ax = await a.ingest(again(x!, 1), { path: null, logText: null });
  assert.equal(bx!.decision, 'new');
  assert.equal(ax.decision, 'duplicate', 'the signature B stored meanwhile was scored under the lock');
  assert.equal(ax.issue, bx!.issue);
  assert.equal(ax.score, 1);

  // B opens an issue for y; then, between A's ranking of another repeat of x and its lock, a person
  // moves x into y's issue: A's decision follows the membership as it is under the lock.
  const by = await b.ingest(y!, { path: null, logText: null });
  assert.equal(by.decision, 'new');
  meanwhile = async () => {
    await storeB.exclusive(async () => {
      await storeB.setMembership(bx!.signature!, by.issue!, 'human', null);
      await storeB.setMembership(ax.signature!, by.issue!, 'human', null);
    });
  };
  const ax2 = await a.ingest(again(x!, 2), { path: null, logText: null });
  assert.equal(ax2.decision, 'duplicate');
  assert.equal(ax2.issue, by.issue, 'the candidates\' memberships were read again under the lock');
  await a.close();
  await b.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a worker asking a service that is ahead of it scores with the names counted as the store has them: its decision equals one writer\'s in commit order', async () => {
  const { syzbotReports } = await import('../helpers/syzbot.js');
  const { signatureFromConsole } = await import('../../features/signature.js');
  // Two reports of one root cause that score below 1 against each other, and a report of another cause.
  const byCluster = new Map<string, Signature[]>();
  for (const r of syzbotReports()) {
    const s = signatureFromConsole(r.report, `${r.id}.txt`);
    if (s.panic?.title) byCluster.set(r.cluster, [...(byCluster.get(r.cluster) ?? []), s]);
  }
  const pair = [...byCluster.values()].find((l) => l.length >= 2 && l[0]!.panic!.title !== l[1]!.panic!.title)!;
  const [x1, q] = pair;
  const other = [...byCluster.values()].find((l) => l !== pair)![0]!;

  // The reference: one writer, in commit order x1, other, q.
  const ref = await Engine.open(openSqliteStore(path.join(tmp, 'ref')));
  await ref.ingest(x1!, { path: null, logText: null });
  await ref.ingest(other, { path: null, logText: null });
  const want = await ref.ingest(q!, { path: null, logText: null });
  assert.ok(want.closest && want.closest.score > 0.2 && want.closest.score < 1, `a partial match (${JSON.stringify(want.closest)})`);

  // The service holds x1; the worker asks it. While answering, the service stores `other` (a new
  // issue: every name's rarity moves), so its answer is ahead of the names the worker counted.
  const dir = path.join(tmp, 'ahead');
  const service = await Engine.open(openSqliteStore(dir));
  await service.ingest(x1!, { path: null, logText: null });
  let once = true;
  const worker = await Engine.open(openSqliteStore(dir), {
    remote: {
      name: 'test service',
      search: async (v, k) => {
        if (once) {
          once = false;
          await service.ingest(other, { path: null, logText: null });
        }
        return service.nearestHere(v, k);
      },
    },
  });
  const got = await worker.ingest(q!, { path: null, logText: null });
  assert.deepEqual([got.decision, got.issue, got.closest], [want.decision, want.issue, want.closest]);
});
