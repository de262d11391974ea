// Write a manifest of the lab set's mechanism-only families: the scenarios
// that declare `confusable` partners in datasets/lab/scenarios.json (same
// symptom, same name pools, different mechanism). Paths stay relative to the
// set's directory, so the subset manifest goes beside manifest.json.
//   node scripts/lab-subset.mjs DIR [OUT]     (default OUT: DIR/mechanism.json)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/lab-subset.mjs DIR [OUT]');
  process.exit(2);
}
const out = process.argv[3] ?? path.join(dir, 'mechanism.json');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const table = JSON.parse(fs.readFileSync(path.join(root, 'datasets/lab/scenarios.json'), 'utf8'));
const keep = new Set(table.scenarios.filter((s) => s.confusable?.length).map((s) => s.name));
const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const entries = m.entries.filter((e) => keep.has(e.scenario));
if (path.resolve(path.dirname(out)) !== path.resolve(dir)) {
  console.error(`${out}: the subset must sit beside ${dir}/manifest.json (its paths are relative to it)`);
  process.exit(2);
}
fs.writeFileSync(out, JSON.stringify({ ...m, entries }, null, 1) + '\n');
console.error(`${out}: ${entries.length} of ${m.entries.length} dumps, scenarios ${[...keep].join(', ')}`);
