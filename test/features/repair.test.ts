// Reports pasted from mail and terminals: quoted, with CR LF or lone CR line
// ends, and wrapped by a mailer at 72/76/80 columns. Every syzbot report is
// damaged that way and read again; the title and frames must come out as
// from the report as it was.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syzbotReports, mailWrap } from '../helpers/syzbot.js';
import { signatureFromConsole } from '../../features/signature.js';
import { repairText, wrapWidth } from '../../features/repair.js';

test('quoting ("> ", "> > ") and CR LF / lone CR line ends change nothing in the panic part', () => {
  const quote = (t: string) => t.split('\n').map((l) => `> ${l}`).join('\n');
  let n = 0;
  for (const r of syzbotReports()) {
    const want = JSON.stringify(signatureFromConsole(r.report, r.id).panic);
    for (const v of [quote(r.report), quote(quote(r.report)), r.report.replace(/\n/g, '\r\n'), r.report.replace(/\n/g, '\r')]) {
      assert.equal(JSON.stringify(signatureFromConsole(v, r.id).panic), want, r.id);
      n++;
    }
  }
  assert.equal(n, 4 * 2837);
});

test('mail wrapping at 72, 76 and 80 columns: titles and frames as before wrapping', () => {
  const reports = syzbotReports();
  const out: string[] = [];
  for (const width of [72, 76, 80]) {
    let titles = 0;
    let frames = 0;
    for (const r of reports) {
      const a = signatureFromConsole(r.report, r.id).panic!;
      const b = signatureFromConsole(mailWrap(r.report, width), r.id).panic!;
      if (a.title === b.title) titles++;
      if (JSON.stringify(a.frames) === JSON.stringify(b.frames)) frames++;
    }
    out.push(`${width} columns: titles ${titles}/${reports.length}, frames ${frames}/${reports.length}`);
    assert.ok(titles / reports.length >= 0.975, out[out.length - 1]);
    assert.ok(frames / reports.length >= 0.97, out[out.length - 1]);
  }
  console.log(out.join('\n'));
});

test('text that was not wrapped is not joined', () => {
  let touched = 0;
  for (const r of syzbotReports()) {
    const lines = r.report.split('\n');
    if (repairText(r.report).length !== lines.length) touched++;
  }
  // Reports that are themselves wrapped (a handful in the corpus) are the only ones joined.
  assert.ok(touched <= 30, `${touched} unwrapped reports were joined`);
  assert.equal(wrapWidth(['short', 'lines', 'only']), null);
});
