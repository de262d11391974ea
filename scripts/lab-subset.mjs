// Write another manifest over a lab set, beside its manifest.json (paths stay
// relative to the set's directory):
//   --mechanism       only the mechanism-only families: scenarios that declare
//                     `confusable` partners in datasets/lab/scenarios.json (same
//                     symptom, names from the same pools, different mechanism);
//   --group capture   set each entry's `group` to its capture path (kdump, qmp),
//                     so `vaat eval`'s by-group protocol indexes one capture path
//                     and queries the other (by default a lab entry's group is
//                     its kernel).
//   --kernels R1,R2   only the dumps of these kernel releases (e.g. the kernels a
//                     rule was not made on, for a figure on data it never saw).
//   node scripts/lab-subset.mjs DIR [--mechanism] [--group capture] [--kernels R1,R2] [--out FILE]   (default FILE: DIR/mechanism.json or DIR/by-capture.json)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const dir = args.find((a, i) => !a.startsWith('--') && !['--group', '--out', '--kernels'].includes(args[i - 1] ?? ''));
const opt = (n) => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
const mechanism = args.includes('--mechanism');
const group = opt('--group');
const kernels = opt('--kernels')?.split(',').filter(Boolean);
if (!dir || (group !== undefined && group !== 'capture')) {
  console.error('usage: node scripts/lab-subset.mjs DIR [--mechanism] [--group capture] [--kernels R1,R2] [--out FILE]');
  process.exit(2);
}
const out = opt('--out') ?? path.join(dir, mechanism ? 'mechanism.json' : 'by-capture.json');
if (path.resolve(path.dirname(out)) !== path.resolve(dir)) {
  console.error(`${out}: the subset must sit beside ${dir}/manifest.json (its paths are relative to it)`);
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const table = JSON.parse(fs.readFileSync(path.join(root, 'datasets/lab/scenarios.json'), 'utf8'));
const keep = new Set(table.scenarios.filter((s) => !mechanism || s.confusable?.length).map((s) => s.name));
const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const entries = m.entries
  .filter((e) => keep.has(e.scenario) && (!kernels || kernels.includes(e.kernel)))
  .map((e) => (group === 'capture' ? { ...e, group: e.capture === 'qmp-fallback' ? 'qmp' : e.capture } : e));
const missing = (kernels ?? []).filter((k) => !m.entries.some((e) => e.kernel === k));
if (missing.length) {
  console.error(`no dumps of ${missing.join(', ')} in ${dir} (releases there: ${[...new Set(m.entries.map((e) => e.kernel))].join(', ')})`);
  process.exit(2);
}
fs.writeFileSync(out, JSON.stringify({ ...m, entries }, null, 1) + '\n');
console.error(`${out}: ${entries.length} of ${m.entries.length} dumps${mechanism ? `, scenarios ${[...keep].join(', ')}` : ''}${kernels ? `, kernels ${kernels.join(', ')}` : ''}${group ? `, grouped by ${group}` : ''}`);
