// The console path on syzbot's own reports, as mailed (mostly symbolized):
// every report of ../shared/corpora/syzbot-clusters-dev goes through
// signatureFromConsole and its title is compared with syzbot's, per crash
// kind, on the half the rules were tuned on and on the half they never saw
// (datasets/syzbot.ts: split by root-cause cluster).
//
// How syzbot's title is compared: " (2)" (syzbot numbering later bugs of one
// symptom) is dropped; "<tree> test error: X" / "boot error: X" compare X (the
// tree syzbot was testing is not in the report); "<tree> build error" reports
// are compiler output with no kernel crash: the right answer is no title.
// "derivable" further leaves out titles whose function or bug type does not
// occur in the report at all (syzbot titled the bug from another crash).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syzbotReports } from '../helpers/syzbot.js';
import { titleClass } from '../helpers/syzcorpus.js';
import { signatureFromConsole } from '../../features/signature.js';
import { syzbotPart, baseTitle } from '../../datasets/syzbot.js';
import { MARKERS } from '../../features/trace.js';

interface Row { ok: number; n: number; derOk: number; der: number }

function expected(title: string): { want: string | null; build: boolean } {
  const t = baseTitle(title);
  if (/^\S+ build error$/.test(t)) return { want: null, build: true };
  return { want: t.replace(/^\S+ (?:test|boot) error: /, ''), build: false };
}

function derivable(want: string | null, report: string): boolean {
  if (want === null) return true;
  const words = new Set(report.split(/[^A-Za-z0-9_]+/));
  const fn = / in (\S+)$/.exec(want)?.[1];
  const fnOk = !fn || fn === 'corrupted' || fn.split('/').every((f) => words.has(f) || [...words].some((w) => w.endsWith(`sys_${f}`) || w === `sys_${f}`));
  const typ = /^(?:KASAN|KMSAN|KFENCE|UBSAN): ([a-z-]+)/.exec(want)?.[1];
  return fnOk && (!typ || report.includes(typ));
}

test('syzbot corpus: titles per crash kind on the tuning half and on the half the rules never saw', () => {
  const reports = syzbotReports();
  assert.equal(reports.length, 2837);
  const parts = { tune: new Map<string, Row>(), test: new Map<string, Row>() };
  const frameCounts: number[] = [];
  let corrupted = 0;
  for (const r of reports) {
    const sig = signatureFromConsole(r.report, r.id); // validates against the schema: throws on any failure
    const { want, build } = expected(r.title);
    const got = sig.panic!.title;
    const ok = got === want;
    const der = !build && derivable(want, r.report);
    frameCounts.push(sig.panic!.frames.filter((f) => !MARKERS.has(f)).length);
    if (sig.panic!.corrupted) corrupted++;
    const kind = build ? 'build error' : titleClass(want);
    const m = parts[syzbotPart(r.cluster)];
    const row = m.get(kind) ?? { ok: 0, n: 0, derOk: 0, der: 0 };
    row.n++;
    row.ok += Number(ok);
    if (der) {
      row.der++;
      row.derOk += Number(ok);
    }
    m.set(kind, row);
  }
  const total = (m: Map<string, Row>) => [...m.values()].reduce((a, r) => ({ ok: a.ok + r.ok, n: a.n + r.n, derOk: a.derOk + r.derOk, der: a.der + r.der }), { ok: 0, n: 0, derOk: 0, der: 0 });
  const pct = (a: number, b: number) => (b ? ((100 * a) / b).toFixed(1) : '-').padStart(5);
  const kinds = [...new Set([...parts.tune.keys(), ...parts.test.keys()])].sort((a, b) => (parts.test.get(b)?.n ?? 0) - (parts.test.get(a)?.n ?? 0));
  const lines = ['kind              tune: equal        test: equal   test, derivable'];
  for (const k of [...kinds, 'all']) {
    const a = k === 'all' ? total(parts.tune) : parts.tune.get(k) ?? { ok: 0, n: 0, derOk: 0, der: 0 };
    const b = k === 'all' ? total(parts.test) : parts.test.get(k) ?? { ok: 0, n: 0, derOk: 0, der: 0 };
    lines.push(`${k.padEnd(14)} ${`${a.ok}/${a.n}`.padStart(9)} ${pct(a.ok, a.n)}%  ${`${b.ok}/${b.n}`.padStart(9)} ${pct(b.ok, b.n)}%  ${`${b.derOk}/${b.der}`.padStart(9)} ${pct(b.derOk, b.der)}%`);
  }
  frameCounts.sort((x, y) => x - y);
  const median = frameCounts[frameCounts.length >> 1]!;
  console.log(lines.join('\n'));
  console.log(`median frames per report ${median}; corrupted ${corrupted}/${reports.length}`);
  const tune = total(parts.tune);
  const held = total(parts.test);
  // What the rules reach, pinned so a regression shows (targets and figures: README).
  assert.ok(tune.ok / tune.n >= 0.9, `tuning half ${tune.ok}/${tune.n}`);
  assert.ok(held.ok / held.n >= 0.9, `measured half ${held.ok}/${held.n}`);
  assert.ok(median >= 12, `median frames ${median}`);
  assert.ok(corrupted / reports.length < 0.03, `${corrupted} reports called corrupted`);
});
