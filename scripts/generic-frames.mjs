// Grow the list of generic frames from evidence (features/data/generic-frames.json
// "evidence"): a function that tops the stacks of several unrelated root causes
// without ever being the function their titles name is machinery, not a bug site.
//
// Evidence comes only from the tuning half of the syzbot corpus (datasets/syzbot.ts:
// syzbotPart = "tune"). For each report, the top frame is the first frame of its
// trace the hand-written categories do not already call generic; the titled frame
// is the one syzbot's title names. A function is added when it was the top frame
// of at least MIN_WRONG clusters whose titled frame sits deeper in the same stack,
// and no title names it — neither in the tuning half nor in the syzkaller report
// corpus (../shared/corpora/syzkaller-report-dev, tuned on by earlier rules too).
//
//   npm run build && node scripts/generic-frames.mjs [--write] [reports.jsonl]

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataJson } from '../dist/src/util/datafile.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MIN_WRONG = 2;
const args = process.argv.slice(2);
const corpus = args.find((a) => !a.startsWith('--')) ?? path.join(root, '..', 'shared', 'corpora', 'syzbot-clusters-dev', 'reports.jsonl');

// Judge with the hand-written categories alone: the cached data file's evidence is emptied
// before the first frame is classified, so the list never feeds on itself.
const data = dataJson('features/data/generic-frames.json');
data.evidence = [];
const { isGenericFrame } = await import('../dist/features/generic.js');
const { signatureFromConsole } = await import('../dist/features/signature.js');
const { frameFunction, MARKERS } = await import('../dist/features/trace.js');
const { loadSyzbotReports, syzbotPart, baseTitle } = await import('../dist/datasets/syzbot.js');

const top = new Map(); // function -> Set(cluster) where it was the top frame
const wrong = new Map(); // function -> Set(cluster) where it topped a stack whose titled frame is deeper
const titled = new Set(); // functions some tuning title names
for (const r of loadSyzbotReports(corpus)) {
  if (syzbotPart(r.cluster) !== 'tune') continue;
  const t = baseTitle(r.title);
  const named = / in (\S+)$/.exec(t)?.[1]?.split('/')[0] ?? null;
  if (named) titled.add(named);
  let sig;
  try {
    sig = signatureFromConsole(r.report, r.id);
  } catch {
    continue;
  }
  const fns = (sig.panic?.frames ?? []).filter((f) => !MARKERS.has(f)).map(frameFunction);
  const i = fns.findIndex((f) => !isGenericFrame(f));
  if (i < 0) continue;
  const f = fns[i];
  if (!top.has(f)) top.set(f, new Set());
  top.get(f).add(r.cluster);
  if (named && named !== f && fns.slice(i + 1).includes(named)) {
    if (!wrong.has(f)) wrong.set(f, new Set());
    wrong.get(f).add(r.cluster);
  }
}
const syzkaller = path.join(root, '..', 'shared', 'corpora', 'syzkaller-report-dev', 'report');
if (fs.existsSync(syzkaller)) {
  for (const f of fs.readdirSync(syzkaller)) {
    const t = /^TITLE: (.*)$/m.exec(fs.readFileSync(path.join(syzkaller, f), 'latin1').split('\n\n')[0])?.[1];
    const named = t ? / in (\S+)$/.exec(t)?.[1]?.split('/')[0] : null;
    if (named) titled.add(named);
  }
}
const evidence = [...wrong]
  .filter(([f, cs]) => cs.size >= MIN_WRONG && !titled.has(f))
  .map(([f, cs]) => ({ function: f, topOfClusters: top.get(f).size, namedByNone: true, deeperTitleInClusters: cs.size }))
  .sort((a, b) => b.deeperTitleInClusters - a.deeperTitleInClusters || a.function.localeCompare(b.function));
for (const e of evidence) console.log(`${e.function.padEnd(40)} top of ${e.topOfClusters} clusters, a deeper frame titled in ${e.deeperTitleInClusters}`);
if (args.includes('--write')) {
  const file = path.join(root, 'features', 'data', 'generic-frames.json');
  const d = JSON.parse(fs.readFileSync(file, 'utf8'));
  d.evidence = evidence;
  fs.writeFileSync(file, JSON.stringify(d, null, 1) + '\n');
  console.log(`${evidence.length} functions written to ${path.relative(root, file)}`);
}
