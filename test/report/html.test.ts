/// <reference lib="dom" />
// The HTML pages in a real browser (Debian's chromium, network off): the
// similarity report of the shared dumps plus the syzbot dev reports, and the
// per-dump page with its batch index. Checked against references the pages
// do not make: the number of inputs (one map point each), crash's bt and ps
// of the same dump, the dump's console log. Then hostile strings through
// every field: the pages must stay inert. Screenshots go to test-artifacts/.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'puppeteer-core';
import { vaat } from '../helpers/cli.js';
import { fixture, KERNEL_DIR } from '../helpers/fixtures.js';
import { SYZBOT } from '../helpers/syzbot.js';
import { launch, openPage, screenshot, type Opened } from '../helpers/browser.js';
import { htmlPage } from '../../src/report/html/page.js';
import { openSqliteStore } from '../../src/similarity/sqlite.js';
import { Engine } from '../../src/similarity/engine.js';
import { extract } from '../../src/report/extract.js';
import type { Signature } from '../../features/signature.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('vaat-html-');
let browser: Browser | null = null;
const getBrowser = async () => (browser ??= await launch());
after(async () => {
  await browser?.close();
});

function clean(o: Opened): void {
  assert.deepEqual(o.errors, [], 'no console or page errors');
  assert.deepEqual(o.requests, [], 'nothing fetched: the file is self-contained');
  assert.deepEqual(o.dialogs, []);
}

const SECTIONS = ['overview', 'map', 'clusters', 'cluster', 'diff', 'baselines'];

test('similarity report of the shared dumps and the 2,837 syzbot reports: every section, one map point per input, offline', async () => {
  const store = path.join(tmp, 'store');
  const set = path.join(tmp, 'syzbot');
  assert.equal(vaat(['dataset', 'syzbot', SYZBOT, '-o', set]).code, 0);
  const reports = fs.readdirSync(path.join(set, 'reports')).length;
  assert.equal(reports, 2837);
  assert.equal(vaat(['ingest', '--store', store, KERNEL_DIR]).code, 0);
  assert.equal(vaat(['ingest', '--store', store, '--logs', path.join(set, 'reports')], { timeoutMs: 600_000 }).code, 0);
  const file = path.join(tmp, 'similarity.html');
  const r = vaat(['similarity-report', '--store', store, '-o', file], { timeoutMs: 600_000 });
  assert.equal(r.code, 0, r.err);
  assert.ok(fs.statSync(file).size < 20 << 20);
  const o = await openPage(await getBrowser(), file);
  try {
    clean(o);
    const ids = await o.page.evaluate(() => [...document.querySelectorAll('section')].map((s) => s.id));
    assert.deepEqual(ids, SECTIONS);
    // One point per input: 7 dumps + 2,837 console reports, counted from the files, not from vaat.
    const points = await o.page.evaluate(() => {
      const box = document.querySelector('#map .chart') as HTMLElement;
      const ec = (window as unknown as { echarts: { getInstanceByDom(e: HTMLElement): { getOption(): { series: Array<{ data: unknown[] }> } } } }).echarts;
      return ec.getInstanceByDom(box).getOption().series[0]!.data.length;
    });
    assert.equal(points, 7 + reports);
    assert.ok((await o.page.$$('#clusters tbody tr')).length > 100);
    // The detail of the biggest cluster and a diff are drawn.
    assert.ok(await o.page.$('#cluster h3'));
    assert.ok((await o.page.$$('#diff table.diff tr')).length >= 10);
    // Clicking a cluster row shows that cluster.
    const id = await o.page.evaluate(() => {
      const rows = [...document.querySelectorAll('#clusters tr.clickable')];
      const tr = rows[3] as HTMLElement;
      tr.click();
      return tr.getAttribute('data-cluster');
    });
    assert.equal(await o.page.evaluate(() => document.querySelector('#cluster [data-cluster]')!.getAttribute('data-cluster')), id);
    await screenshot(o.page, 'similarity-report');
  } finally {
    await o.page.close();
  }
});

function crashBtFunctions(text: string): string[] {
  return [...text.matchAll(/^\s*#\d+ \[[0-9a-f]+\] (\S+) at [0-9a-f]+/gm)].map((m) => m[1]!);
}

test('per-dump page of the hung dump: sections, the panic stack as crash shows it, the waiters the console names, the task-state histogram as crash ps counts', async () => {
  const f = fixture('hung');
  const out = path.join(tmp, 'report');
  const r = vaat(['report', KERNEL_DIR, '-o', out, '--html']);
  assert.equal(r.code, 0, r.err);
  const o = await openPage(await getBrowser(), path.join(out, 'hung_vmcore.kdump.html'));
  try {
    clean(o);
    const ids = await o.page.evaluate(() => [...document.querySelectorAll('section')].map((s) => s.id));
    assert.deepEqual(ids, ['sys', 'panic', 'runq', 'locks', 'cgroups', 'states', 'taint', 'log']);
    const stack = await o.page.evaluate(() => [...document.querySelectorAll('#panic ol.stack li')].map((li) => li.textContent!.replace(/\+0x.*$/, '')));
    assert.deepEqual(stack, crashBtFunctions(f.crash('bt')));
    // The console log names the hung tasks; the lock table lists them.
    const hung = [...f.console().matchAll(/INFO: task (\S+):(\d+) blocked/g)].map((m) => `${m[1]} (${m[2]})`);
    assert.ok(hung.length >= 2);
    const waiters = await o.page.evaluate(() => [...document.querySelectorAll('#locks tbody tr td:first-child')].map((td) => td.textContent));
    for (const h of hung) assert.ok(waiters.includes(h), `${h} in ${waiters.join(', ')}`);
    // Task states: crash's ps, counted by its ST column.
    const want: Record<string, number> = {};
    for (const line of f.crash('ps').split('\n').slice(1)) {
      const st = line.split(/\s+/).find((t) => /^(RU|IN|UN|ID|ZO|ST|TR|DE|SW|WA|PA|TE|NE)$/.test(t));
      if (st) want[st] = (want[st] ?? 0) + 1;
    }
    const got = await o.page.evaluate(() => {
      const ec = (window as unknown as { echarts: { getInstanceByDom(e: HTMLElement): { getOption(): { xAxis: Array<{ data: string[] }>; series: Array<{ data: number[] }> } } } }).echarts;
      const opt = ec.getInstanceByDom(document.querySelector('#states .chart') as HTMLElement).getOption();
      return Object.fromEntries(opt.xAxis[0]!.data.map((k, i) => [k, opt.series[0]!.data[i]]));
    });
    assert.deepEqual(got, want);
    await screenshot(o.page, 'dump-hung');
  } finally {
    await o.page.close();
  }
  const idx = await openPage(await getBrowser(), path.join(out, 'index.html'));
  try {
    clean(idx);
    const links = await idx.page.evaluate(() => [...document.querySelectorAll('#dumps a')].map((a) => a.getAttribute('href')));
    assert.equal(links.length, 7);
    for (const l of links) assert.ok(fs.existsSync(path.join(out, decodeURIComponent(l!.replace(/^\.\//, '')))), l!);
    await screenshot(idx.page, 'report-index');
  } finally {
    await idx.page.close();
  }
});

// What a crashed kernel can put in a string: markup, both quotes, a script, an
// event handler, control characters and an escape sequence.
const HOSTILE = `"'><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"><!--\u0001\u0007\u001b[31m</style>`;

function poison<T>(x: T, keep: (p: string) => boolean, at = ''): T {
  if (typeof x === 'string') return (keep(at) ? x : x + HOSTILE) as T;
  if (Array.isArray(x)) return x.map((v, i) => poison(v, keep, `${at}[${i}]`)) as T;
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, poison(v, keep, `${at}.${k}`)])) as T;
  return x;
}

async function inert(o: Opened): Promise<void> {
  assert.deepEqual(o.dialogs, []);
  assert.deepEqual(o.requests.filter((u) => !u.startsWith('file:')), []);
  const state = await o.page.evaluate(() => ({
    pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
    scripts: document.querySelectorAll('script').length,
    imgs: document.querySelectorAll('img').length,
    handlers: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => /^on/i.test(a.name))).length,
    text: document.body.innerText,
  }));
  assert.equal(state.pwned, null, 'no injected script ran');
  assert.equal(state.scripts, 3, 'the data, echarts and our renderer: no injected script element');
  assert.equal(state.imgs, 0);
  assert.equal(state.handlers, 0);
  assert.ok(state.text.includes('<script>window.__pwned=1</script>'), 'the hostile text is shown as text');
}

test('hostile strings in every field of signatures and of a dump report: both pages stay inert', async () => {
  // Real signatures (a vmcore with locks, cgroups, taint; a console report), every string poisoned.
  const sigs: Signature[] = [];
  for (const [p, as] of [[fixture('hung').dumpPath, 'dump'], [fixture('softlockup').dumpPath, 'dump'], [path.join(KERNEL_DIR, 'nullderef', 'console.log'), 'log']] as const) {
    const r = await extract({ path: p, as, program: {} });
    assert.ok(r.ok);
    sigs.push(r.signature);
  }
  const store = openSqliteStore(path.join(tmp, 'hostile-store'));
  const engine = await Engine.open(store);
  const keep = (p: string) => /^\.source\.(kind|hash|hashKind)$|\.kind$|^\.version$/.test(p);
  for (const [i, s] of sigs.entries()) {
    const bad = poison(s, keep);
    bad.source.hash = `${s.source.hash.slice(0, 60)}${i}bad`;
    for (let k = 0; k < 6; k++) await engine.ingest({ ...bad, source: { ...bad.source, hash: `${bad.source.hash}${k}` } }, { path: null, logText: null });
  }
  await engine.close();
  const file = path.join(tmp, 'hostile-similarity.html');
  const r = vaat(['similarity-report', '--store', path.join(tmp, 'hostile-store'), '-o', file]);
  assert.equal(r.code, 0, r.err);
  const o = await openPage(await getBrowser(), file);
  try {
    assert.deepEqual(o.errors, []);
    await inert(o);
    // Hover a point: the tooltip escapes too.
    await o.page.evaluate(() => {
      const ec = (window as unknown as { echarts: { getInstanceByDom(e: HTMLElement): { dispatchAction(a: object): void } } }).echarts;
      ec.getInstanceByDom(document.querySelector('#map .chart') as HTMLElement).dispatchAction({ type: 'showTip', seriesIndex: 0, dataIndex: 0 });
    });
    await new Promise((res) => setTimeout(res, 300));
    await inert(o);
    await screenshot(o.page, 'hostile-similarity');
  } finally {
    await o.page.close();
  }
  // A dump report, every string poisoned, through the same page code.
  const json = JSON.parse(fs.readFileSync(path.join(tmp, 'report', 'hung_vmcore.kdump.json'), 'utf8'));
  const page = path.join(tmp, 'hostile-dump.html');
  fs.writeFileSync(page, htmlPage('dump', `${json.dump}${HOSTILE}`, poison(json, (p) => /\.(name)$/.test(p) && /sections\[\d+\]\.name$/.test(p))));
  const d = await openPage(await getBrowser(), page);
  try {
    assert.deepEqual(d.errors, []);
    await inert(d);
    await screenshot(d.page, 'hostile-dump');
  } finally {
    await d.page.close();
  }
});
