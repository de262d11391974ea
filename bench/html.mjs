// The similarity report at scale: a store of N signatures (default 10,000,
// variants of real ones: bench/variants.mjs), `vaat similarity-report -o`
// timed as a process, the file's size, and the page opened in Debian's
// chromium (puppeteer-core, network off): first paint and time until the
// renderer has built every section. Limits from the issue: build ≤ 60 s,
// first paint ≤ 3 s, file ≤ 20 MB.
//
//   npm run build && node bench/html.mjs [--n 10000] [--out DIR] [--chromium /usr/bin/chromium]

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, VAAT, table, fmt } from './lib.mjs';
import { realSignatures } from './variants.mjs';

const argv = process.argv.slice(2);
const opt = (k, d) => {
  const i = argv.indexOf(k);
  return i >= 0 ? argv[i + 1] : d;
};
const N = Number(opt('--n', 10000));
const OUT = opt('--out', path.join(os.tmpdir(), `vaat-bench-html-${process.pid}`));
const CHROMIUM = opt('--chromium', '/usr/bin/chromium');
const d = (p) => path.join(ROOT, 'dist', p);
const { openSqliteStore } = await import(d('src/similarity/sqlite.js'));
const { Engine } = await import(d('src/similarity/engine.js'));

fs.mkdirSync(OUT, { recursive: true });
const storeDir = path.join(OUT, 'store');
fs.rmSync(storeDir, { recursive: true, force: true });
const { base, variant } = await realSignatures(OUT, process.env.VAAT_LAB ?? '/work/labset');
const store = openSqliteStore(storeDir);
const engine = await Engine.open(store);
for (let done = 0; done < N; ) {
  const n = Math.min(500, N - done);
  await store.exclusive(async () => {
    for (let j = 0; j < n; j++) await engine.ingest(variant(base[(done + j) % base.length], done + j), { path: null, logText: null });
  });
  done += n;
}
await engine.close();
console.error(`bench: ${N} signatures stored`);

const page = path.join(OUT, 'report.html');
const t0 = performance.now();
const r = spawnSync('/usr/bin/time', ['-f', '__TIME__ %e %M', process.execPath, VAAT, 'similarity-report', '--store', storeDir, '-o', page], { encoding: 'utf8' });
const buildS = (performance.now() - t0) / 1000;
if (r.status !== 0) throw new Error(`similarity-report failed: ${r.stderr}`);
const rss = Number(/__TIME__ [\d.]+ (\d+)/.exec(r.stderr)?.[1] ?? 0) / 1024;
const bytes = fs.statSync(page).size;

const puppeteer = (await import('puppeteer-core')).default;
const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
const runs = [];
for (let k = 0; k < 3; k++) {
  const p = await browser.newPage();
  await p.setOfflineMode(true);
  const errors = [];
  p.on('pageerror', (e) => errors.push(e.message));
  const a = performance.now();
  await p.goto('file://' + page, { waitUntil: 'load', timeout: 120000 });
  await p.waitForSelector('body[data-ready="1"]', { timeout: 120000 });
  const ready = performance.now() - a;
  const paint = await p.evaluate(() => performance.getEntriesByName('first-paint')[0]?.startTime ?? null);
  const points = await p.evaluate(() => Number(document.getElementById('map')?.getAttribute('data-points')));
  runs.push({ paint, ready, points, errors: errors.length });
  await p.close();
}
await browser.close();
runs.sort((x, y) => x.ready - y.ready);
const med = runs[1];
const res = { signatures: N, buildSeconds: buildS, buildPeakRssMB: rss, fileMB: bytes / 2 ** 20, firstPaintMs: med.paint, readyMs: med.ready, points: med.points, pageErrors: med.errors, cores: os.availableParallelism() };
fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench', 'results', `html-${N}.json`), JSON.stringify(res, null, 1) + '\n');
console.log(table(['signatures', 'build s', 'build peak RSS MB', 'file MB', 'first paint ms (chromium)', 'all sections built ms', 'points on the map'],
  [[String(N), fmt(buildS, 1), fmt(rss, 0), fmt(bytes / 2 ** 20, 1), fmt(med.paint, 0), fmt(med.ready, 0), String(med.points)]]));
