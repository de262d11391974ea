// The syzbot root-cause corpus in ../shared/corpora/syzbot-clusters-dev,
// loaded once per test process. Missing corpus = a failing test that says
// where it looked, never a skip.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { SHARED } from './fixtures.js';
import { loadSyzbotReports, type SyzbotReport } from '../../datasets/syzbot.js';
import { signatureFromConsole, type Signature } from '../../features/signature.js';

export const SYZBOT = path.join(SHARED, 'corpora', 'syzbot-clusters-dev', 'reports.jsonl');

let cache: SyzbotReport[] | null = null;

export function syzbotReports(): SyzbotReport[] {
  if (cache) return cache;
  if (!fs.existsSync(SYZBOT)) throw new Error(`syzbot corpus expected at ${SYZBOT}`);
  cache = loadSyzbotReports(SYZBOT);
  return cache;
}

/** The signatures of the first report of each of the first root-cause clusters whose report names a crash (a build error does not), n of them. */
export function crashesOfDistinctCauses(n: number): Signature[] {
  const seen = new Set<string>();
  const out: Signature[] = [];
  for (const r of syzbotReports()) {
    if (seen.has(r.cluster)) continue;
    seen.add(r.cluster);
    const s = signatureFromConsole(r.report, `${r.id}.txt`);
    if (s.panic?.title) out.push(s);
    if (out.length === n) break;
  }
  return out;
}

/** A mailer's greedy word wrap at `width` columns: break before the word that would not fit, eat the space; a word longer than the line stays whole. */
export function mailWrap(text: string, width: number): string {
  return text.split('\n').flatMap((l) => {
    const out: string[] = [];
    let cur = l;
    while (cur.length > width) {
      const i = cur.lastIndexOf(' ', width);
      if (i <= 0 || cur.slice(0, i).trim() === '') break;
      out.push(cur.slice(0, i));
      cur = cur.slice(i + 1);
    }
    out.push(cur);
    return out;
  }).join('\n');
}

/**
 * What the kernel printed, without what a symbolizer added: lines ending in
 * "[inline]" (or "[inline]" and the locations a second symbolizer pass appended) dropped, the source locations after "func+0x1/0x2" removed.
 * Written here apart from features/symbolized.ts, as the reference it is checked against.
 */
export function stripSymbolization(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/ \[inline\](?: [^\s,]+\.\w+:-?\d+(?::\d+)?)*\s*$/.test(l))
    .map((l) => l.replace(/(\+0x[0-9a-f]+\/0x[0-9a-f]+(?: \[[\w-]+\])?)(?: [^\s,]+\.\w+:-?\d+(?::\d+)?)+/g, '$1'))
    .join('\n');
}
