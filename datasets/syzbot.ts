// The syzbot root-cause corpus (../shared/corpora/syzbot-clusters-dev):
// real crash reports as syzbot mailed them, grouped into root-cause
// clusters. Read it, split it, and write it as a labelled set in the one
// manifest format (datasets/labelled.ts): one console log per report.
//
// The split is by cluster (a cluster's reports are all on one side) and
// fixed by the cluster id alone: sha256(cluster)[0] even → "tune" (rules,
// weights and thresholds may be fitted on it), odd → "test" (only measured).

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';

export interface SyzbotReport {
  id: string;
  cluster: string;
  /** syzbot's title for the bug ("… (2)" marks a later, separate bug with the same symptom). */
  title: string;
  hash: string;
  kind: 'report' | 'repro';
  date: string;
  subsystems: string[];
  report: string;
}

export type Part = 'tune' | 'test';

/** Which half a cluster is in: a pure function of its id. */
export function syzbotPart(cluster: string): Part {
  return crypto.createHash('sha256').update(cluster).digest()[0]! & 1 ? 'test' : 'tune';
}

export function loadSyzbotReports(file: string): SyzbotReport[] {
  const out: SyzbotReport[] = [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (const [i, l] of lines.entries()) {
    if (!l.trim()) continue;
    try {
      out.push(JSON.parse(l) as SyzbotReport);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not a JSON line: ${(e as Error).message}`);
    }
  }
  return out;
}

/** syzbot's title without the " (2)" that numbers later bugs of one symptom: that number is syzbot's own bookkeeping, not in the text. */
export function baseTitle(title: string): string {
  return title.replace(/ \(\d+\)$/, '');
}

/**
 * Write the corpus as a labelled set: DIR/reports/<id>.txt and
 * DIR/manifest.json. Label = the root-cause cluster; time = the mail's date;
 * group = report | repro; split = tune | test; syzbot's title and bug hash
 * ride along (ignored by the evaluation, useful to the title baseline).
 */
export function writeSyzbotSet(file: string, outDir: string): { entries: number; clusters: number } {
  const reports = loadSyzbotReports(file);
  fs.mkdirSync(path.join(outDir, 'reports'), { recursive: true });
  const entries = reports.map((r) => {
    const rel = path.join('reports', `${r.id}.txt`);
    fs.writeFileSync(path.join(outDir, rel), r.report);
    return { id: r.id, path: rel, label: r.cluster, kind: 'log', time: r.date, group: r.kind, split: syzbotPart(r.cluster), title: r.title, hash: r.hash };
  });
  const manifest = { source: path.resolve(file), description: 'syzbot reports grouped by root cause (datasets/syzbot.ts)', entries };
  const tmp = path.join(outDir, `manifest.json.${process.pid}`);
  fs.writeFileSync(tmp, JSON.stringify(manifest, null, 1) + '\n');
  fs.renameSync(tmp, path.join(outDir, 'manifest.json'));
  return { entries: entries.length, clusters: new Set(reports.map((r) => r.cluster)).size };
}
