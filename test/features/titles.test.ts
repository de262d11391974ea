// The console-log path against syzkaller's own titles: every log of
// ../shared/corpora/syzkaller-report-dev goes through signatureFromConsole
// (what `vaat signature --log` runs) and its .panic.title must equal the
// file's TITLE (null when the file has none). The per-class table is
// printed; the bar is 95 % overall and every no-crash log recognised.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syzCorpus, titleClass } from '../helpers/syzcorpus.js';
import { signatureFromConsole } from '../../features/signature.js';

test('syzkaller corpus: titles equal syzkaller\'s for at least 95% of logs; every no-crash log recognised', () => {
  const cases = syzCorpus();
  assert.equal(cases.length, 373, 'the development half of the corpus has 373 logs');
  const byClass = new Map<string, { ok: number; n: number; corruptedAgree: number }>();
  let ok = 0;
  let corruptedAgree = 0;
  const misses: string[] = [];
  for (const c of cases) {
    const sig = signatureFromConsole(c.log, c.name);
    assert.ok(sig.panic, 'the panic family is never null for console input');
    assert.equal(typeof sig.panic.corrupted, 'boolean');
    assert.ok(sig.panic.title === null || typeof sig.panic.title === 'string');
    assert.equal(sig.locks, null);
    assert.equal(sig.cpu, null);
    const good = sig.panic.title === c.title;
    const agree = sig.panic.corrupted === c.corrupted;
    if (good) ok++;
    else misses.push(`${c.name}: want ${JSON.stringify(c.title)} got ${JSON.stringify(sig.panic.title)}`);
    if (agree) corruptedAgree++;
    const k = titleClass(c.title);
    const v = byClass.get(k) ?? { ok: 0, n: 0, corruptedAgree: 0 };
    v.n++;
    if (good) v.ok++;
    if (agree) v.corruptedAgree++;
    byClass.set(k, v);
  }
  const rows = [...byClass].sort((a, b) => b[1].n - a[1].n);
  const table = [
    'class           titles equal   corrupted flag agrees',
    ...rows.map(([k, v]) => `${k.padEnd(15)} ${`${v.ok}/${v.n}`.padStart(7)} ${((v.ok / v.n) * 100).toFixed(0).padStart(4)}%   ${`${v.corruptedAgree}/${v.n}`.padStart(7)}`),
    `${'all'.padEnd(15)} ${`${ok}/${cases.length}`.padStart(7)} ${((ok / cases.length) * 100).toFixed(1).padStart(5)}%  ${`${corruptedAgree}/${cases.length}`.padStart(7)}`,
  ].join('\n');
  console.log(table);
  console.log(`misses:\n  ${misses.join('\n  ')}`);
  assert.ok(ok / cases.length >= 0.95, `${ok}/${cases.length} titles equal syzkaller's (need 95%)`);
  const noCrash = byClass.get('no crash')!;
  assert.ok(noCrash.n >= 10, 'the corpus has no-crash logs');
  assert.equal(noCrash.ok, noCrash.n, 'every log without a crash gives a null title');
});

test('a header neither corpus holds — a bad page map — is titled like a bad page state: no process, no page-table values', () => {
  // mm/memory.c print_bad_pte(): pr_alert("BUG: Bad page map in process %s  pte:%08llx pmd:%08llx\n", ...),
  // then dump_stack() from the page-table walk that met the entry.
  const log = (comm: string, pte: string) => [
    `[  100.100000] BUG: Bad page map in process ${comm}  pte:${pte} pmd:1a2b3067`,
    '[  100.100100] CPU: 1 PID: 5230 Comm: x Not tainted 6.6.0 #1',
    '[  100.100200] Call Trace:',
    '[  100.100300]  <TASK>',
    '[  100.100400]  dump_stack_lvl+0x1/0x2',
    '[  100.100500]  print_bad_pte+0x1/0x2',
    '[  100.100600]  vm_normal_page+0x1/0x2',
    '[  100.100700]  unmap_page_range+0x1/0x2',
    '[  100.100800]  exit_mmap+0x1/0x2',
    '[  100.100900]  </TASK>',
  ].join('\n');
  const a = signatureFromConsole(log('syz-executor.3', '8000000012345067'), 'a').panic;
  const b = signatureFromConsole(log('kworker/u4:2', '0000000fedcba025'), 'b').panic;
  assert.equal(a?.title, 'BUG: Bad page map in unmap_page_range');
  assert.equal(b?.title, a?.title);
  assert.equal(a?.kind, 'bad-page');
  assert.equal(a?.corrupted, false);
});
