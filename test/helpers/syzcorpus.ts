// The syzkaller report corpus in ../shared/corpora/syzkaller-report-dev:
// header lines (TITLE:, CORRUPTED:, ...) then a blank line, then the log.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { SHARED } from './fixtures.js';

export const CORPUS = path.join(SHARED, 'corpora', 'syzkaller-report-dev', 'report');

export interface SyzCase {
  name: string;
  title: string | null;
  corrupted: boolean;
  type: string | null;
  log: string;
}

export function syzCorpus(): SyzCase[] {
  if (!fs.existsSync(CORPUS)) throw new Error(`syzkaller report corpus expected at ${CORPUS}`);
  return fs.readdirSync(CORPUS).sort((a, b) => Number(a) - Number(b)).map((name) => {
    const raw = fs.readFileSync(path.join(CORPUS, name), 'latin1');
    const cut = raw.indexOf('\n\n');
    const head = cut >= 0 ? raw.slice(0, cut) : raw;
    let log = cut >= 0 ? raw.slice(cut + 2) : '';
    const rep = log.indexOf('\n\nREPORT:\n');
    if (rep >= 0) log = log.slice(0, rep);
    const h = (k: string) => head.split('\n').find((l) => l.startsWith(k + ': '))?.slice(k.length + 2) ?? null;
    // "TITLE: " with nothing after it is a log with no crash.
    return { name, title: h('TITLE') || null, corrupted: h('CORRUPTED') === 'Y', type: h('TYPE'), log };
  });
}

/** Crash class for the per-class table (from the expected title). */
export function titleClass(title: string | null): string {
  if (!title) return 'no crash';
  const rules: Array<[RegExp, string]> = [
    [/^KASAN/, 'KASAN'], [/^KMSAN/, 'KMSAN'], [/^KCSAN/, 'KCSAN'], [/^KFENCE/, 'KFENCE'], [/^UBSAN/, 'UBSAN'],
    [/rcu detected stall/, 'RCU stall'], [/task hung|can't die/, 'hung task'], [/soft lockup/, 'soft lockup'],
    [/possible deadlock|inconsistent lock|locking bug|lock balance|locks held|held lock|RCU usage|non-static key/, 'lockdep'],
    [/^WARNING/, 'WARNING'], [/general protection/, 'GPF'], [/paging request|NULL pointer|page fault/, 'paging/NULL'],
    [/^kernel BUG/, 'kernel BUG'], [/^kernel panic|^PANIC/, 'panic'], [/memory leak/, 'memory leak'], [/^BUG:/, 'other BUG'],
  ];
  for (const [re, c] of rules) if (re.test(title)) return c;
  return 'other';
}
