// The evaluation as tables a person reads: per protocol, every matcher with
// its figures and 95 % intervals; the clustering; the thresholds each
// matcher was fitted to on the tuning half.

import type { EvalReport, ProtocolReport } from './run.js';
import type { Interval } from './metrics/bootstrap.js';

const f3 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(3));
const iv = (x: Interval | null) => (x ? `${f3(x.value)} [${f3(x.lo)}–${f3(x.hi)}]` : '-');

export function renderEval(r: EvalReport, title: string): string {
  const out: string[] = [];
  out.push(`${title}: ${r.items} items, ${r.labels} root causes; tuning half ${r.split.tune.items} items / ${r.split.tune.labels} root causes, test half ${r.split.test.items} / ${r.split.test.labels}.`);
  out.push('Every figure below is on the test half; thresholds were fitted on the tuning half. Intervals: 95 % bootstrap.');
  const protocols = [...new Set(r.matchers.flatMap((m) => m.test.protocols.map((p) => p.protocol)))];
  for (const p of protocols) {
    const rows = r.matchers.map((m) => ({ m, pr: m.test.protocols.find((x) => x.protocol === p) as ProtocolReport | undefined })).filter((x) => x.pr);
    const first = rows[0]!.pr!;
    out.push('', `${p}: ${first.queries} queries, ${first.withRelevant} with their root cause in the index`, '');
    if (p === 'leave-label-out') {
      out.push('| matcher | called new (best < τ_new) | not called duplicate (best < τ_dup, or held by the recurrence guard) |', '|---|---|---|');
      for (const { m, pr } of rows) out.push(`| ${m.matcher} | ${iv(pr!.newRate)} | ${iv(pr!.notDuplicate)} |`);
      continue;
    }
    out.push(`| matcher | RR@1 | MRR | MAP | recall@5 | ROC AUC dup-vs-new | precision @ τ_dup | recall @ τ_dup | recall @ precision ≥ ${r.precisionTarget} (curve) | ECE |`, '|---|---|---|---|---|---|---|---|---|---|');
    for (const { m, pr } of rows) out.push(`| ${m.matcher} | ${iv(pr!.rr1)} | ${iv(pr!.mrr)} | ${iv(pr!.map)} | ${iv(pr!.r5)} | ${iv(pr!.auc)} | ${iv(pr!.precision)} | ${iv(pr!.recall)} | ${iv(pr!.recallAtTarget)} | ${iv(pr!.ece)} |`);
  }
  if (r.matchers.some((m) => m.test.clustering)) {
    out.push('', 'clustering of the test half (average linkage; B-cubed; spray = root causes split, bugs = clusters mixing root causes)', '');
    out.push('| matcher | cut | clusters | B³ precision | B³ recall | B³ F1 | bucket spray | bucket bugs |', '|---|---|---|---|---|---|---|---|');
    for (const m of r.matchers) {
      const c = m.test.clustering;
      if (c) out.push(`| ${m.matcher} | ${f3(c.threshold)} | ${c.clusters} | ${iv(c.precision)} | ${iv(c.recall)} | ${iv(c.f1)} | ${f3(c.spray)} | ${f3(c.bugs)} |`);
    }
  }
  out.push('', `thresholds (fitted on the tuning half: τ_dup for pair precision ≥ ${r.precisionTarget}; τ_new keeps 95 % of right duplicate calls; the cut maximizes B³ F1) and the tuning half's own loo figures`, '');
  out.push('| matcher | how | τ_dup | τ_new | cut | tune RR@1 | tune MRR | tune B³ F1 |', '|---|---|---|---|---|---|---|---|');
  for (const m of r.matchers) {
    const t = m.thresholds;
    out.push(`| ${m.matcher} | ${m.calibrated ? 'fitted' : 'as documented'} | ${t.duplicate === null ? '-' : `${f3(t.duplicate)}${t.duplicateReachesTarget ? '' : ' (target not reached: most precise)'}`} | ${f3(t.new)} | ${f3(t.cluster)} | ${f3(m.tune.loo.rr1?.value)} | ${f3(m.tune.loo.mrr?.value)} | ${f3(m.tune.clustering?.f1?.value)} |`);
  }
  return out.join('\n') + '\n';
}
