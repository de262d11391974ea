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
