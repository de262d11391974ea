// The product's own job on a lab set: ingest every dump into a fresh embedded
// store run by run (run 0 of every scenario on every kernel, then run 1, ...),
// as a fleet would see repeats of known bugs arrive, with the shipped
// thresholds and names as drawn — and check each decision against the
// manifest's labels: a run after the first of its root cause should be a
// duplicate of the issue that root cause opened; one that joins another root
// cause's issue is a wrong merge (said separately when the two are confusable
// siblings: same symptom, different mechanism); one that opens an issue of its
// own is a split. --half test keeps the root causes of vaat eval's test half
// only; --thresholds DUP,NEW sets the store's vmcore thresholds first (e.g. the
// ones vaat eval fitted on the tuning half of this set), else the shipped ones.
//   node scripts/lab-ingest.mjs DIR [--half tune|test] [--thresholds DUP,NEW] [--ablate-names] [--json]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const dir = args.find((a, i) => !a.startsWith('--') && !['--half', '--thresholds'].includes(args[i - 1] ?? ''));
const half = args.includes('--half') ? args[args.indexOf('--half') + 1] : null;
const th = args.includes('--thresholds') ? args[args.indexOf('--thresholds') + 1].split(',').map(Number) : null;
if (!dir || (half !== null && half !== 'tune' && half !== 'test') || (th && !(th.length === 2 && th.every((x) => x >= 0 && x <= 1) && th[1] <= th[0]))) {
  console.error('usage: node scripts/lab-ingest.mjs DIR [--half tune|test] [--thresholds DUP,NEW] [--ablate-names] [--json]');
  process.exit(2);
}
const ablate = args.includes('--ablate-names');
const { Program } = await import(path.join(root, 'dist/src/kernel/program.js'));
const { signatureFromDump } = await import(path.join(root, 'dist/features/signature.js'));
const { openSqliteStore } = await import(path.join(root, 'dist/src/similarity/sqlite.js'));
const { Engine } = await import(path.join(root, 'dist/src/similarity/engine.js'));
const { ablateNames } = await import(path.join(root, 'dist/src/similarity/eval/ablate.js'));
const { splitItems } = await import(path.join(root, 'dist/src/cli/eval.js'));
const { loadLabelled } = await import(path.join(root, 'dist/datasets/labelled.js'));
const table = JSON.parse(fs.readFileSync(path.join(root, 'datasets/lab/scenarios.json'), 'utf8'));
const confusable = new Map(table.scenarios.map((s) => [s.name, new Set(s.confusable ?? [])]));
const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const runOf = (e) => e.variation?.seed !== undefined ? Number(/\/r(\d+)-/.exec(e.id)?.[1] ?? 0) : 0;
// The halves vaat eval uses for this set (by root cause).
const labelled = loadLabelled(dir);
const split = splitItems(labelled);
const halfOf = new Map(labelled.map((it) => [it.id, split.of(it)]));
const order = m.entries.filter((e) => half === null || halfOf.get(e.id) === half).sort((a, b) => runOf(a) - runOf(b) || a.kernel.localeCompare(b.kernel) || a.scenario.localeCompare(b.scenario));

const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vaat-lab-ingest-'));
const store = openSqliteStore(storeDir);
if (th) await store.setConfig('thresholds', { vmcore: { duplicate: th[0], new: th[1] } });
const engine = await Engine.open(store, {});
const used = (await engine.thresholds()).vmcore;
const opener = new Map(); // issue -> scenario that opened it
const firstIssue = new Map(); // scenario -> issue its first run opened
const rows = [];
try {
  for (const e of order) {
    const file = path.join(dir, e.path);
    const prog = Program.open(file);
    let sig;
    try {
      sig = signatureFromDump(prog, file);
    } finally {
      prog.close();
    }
    if (ablate) sig = ablateNames(sig);
    const r = await engine.ingest(sig, { path: file, logText: null });
    let verdict;
    if (!firstIssue.has(e.scenario)) {
      // The first run of a root cause: it should open an issue (or, wrongly, join another's).
      if (r.decision === 'new') {
        firstIssue.set(e.scenario, r.issue);
        opener.set(r.issue, e.scenario);
        verdict = 'first: new';
      } else verdict = `first: joined ${opener.get(r.issue)}'s issue (${r.decision})`;
    } else if (r.decision === 'new') {
      opener.set(r.issue, e.scenario);
      verdict = 'split';
    } else {
      const owner = opener.get(r.issue);
      verdict = owner === e.scenario ? `right (${r.decision})` : confusable.get(e.scenario)?.has(owner) ? `merged into confusable ${owner} (${r.decision})` : `merged into ${owner} (${r.decision})`;
    }
    rows.push({ id: e.id, scenario: e.scenario, decision: r.decision, issue: r.issue, closest: r.closest?.score ?? null, verdict });
    if (!firstIssue.has(e.scenario) && r.decision !== 'new') firstIssue.set(e.scenario, null);
  }
} finally {
  await engine.close();
  fs.rmSync(storeDir, { recursive: true, force: true });
}

const later = rows.filter((r) => !r.verdict.startsWith('first'));
const count = (f) => later.filter(f).length;
const summary = {
  set: path.resolve(dir), half: half ?? 'both', thresholds: used, dumps: rows.length, rootCauses: firstIssue.size, ablated: ablate,
  issuesOpened: rows.filter((r) => r.decision === 'new').length,
  firstRunsOpened: rows.filter((r) => r.verdict === 'first: new').length,
  laterRuns: later.length,
  rightDuplicate: count((r) => r.verdict === 'right (duplicate)'),
  rightUncertain: count((r) => r.verdict === 'right (uncertain)'),
  split: count((r) => r.verdict === 'split'),
  mergedConfusable: count((r) => r.verdict.startsWith('merged into confusable')),
  mergedOther: count((r) => r.verdict.startsWith('merged into') && !r.verdict.startsWith('merged into confusable')),
};
if (args.includes('--json')) console.log(JSON.stringify({ summary, rows }, null, 1));
else {
  const pct = (n) => `${n} (${((100 * n) / Math.max(1, summary.laterRuns)).toFixed(1)} %)`;
  console.log(`${summary.dumps} dumps of ${summary.rootCauses} root causes${half ? ` (${half} half)` : ''} ingested run by run${ablate ? ' (names ablated)' : ''}, τ_dup ${used.duplicate} τ_new ${used.new}: ${summary.issuesOpened} issues opened; first runs that opened their own: ${summary.firstRunsOpened}/${summary.rootCauses}`);
  console.log(`later runs: ${summary.laterRuns}; duplicate of their root cause's issue ${pct(summary.rightDuplicate)}; uncertain, waiting in it ${pct(summary.rightUncertain)}; new issue (split) ${pct(summary.split)}; merged into a confusable sibling's ${pct(summary.mergedConfusable)}; into another's ${pct(summary.mergedOther)}`);
  const by = new Map();
  for (const r of later) {
    const k = r.scenario;
    if (!by.has(k)) by.set(k, { n: 0, right: 0, wrong: [] });
    const b = by.get(k);
    b.n++;
    if (r.verdict.startsWith('right')) b.right++;
    else b.wrong.push(r.verdict);
  }
  console.log('\n| scenario | later runs | right issue | the others |\n|---|---|---|---|');
  for (const [k, b] of [...by].sort()) console.log(`| ${k} | ${b.n} | ${b.right} | ${b.wrong.join('; ') || '-'} |`);
}
