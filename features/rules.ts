// Which rules made a signature and its vector. A store records both with
// every signature (as Sentry versions its grouping configs): when the title
// and frame rules change, the panic part is re-derived from the stored log
// text; when the vector layout changes, vectors are recomputed from the
// stored documents. Neither needs the dump again.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../src/util/datafile.js';
import { SIGNATURE_VERSION } from './signature.js';
import { vectorLayout } from './vector.js';

/** The data files whose content decides what a signature says. */
export const RULE_FILES = [
  'features/data/oops.json',
  'features/data/frames.json',
  'features/data/generic-frames.json',
  'features/data/families.json',
  'src/helpers/data/lock-frames.json',
  'src/helpers/data/panic-patterns.json',
];

let rules: string | null = null;

/** "2-<12 hex>": the signature version and a hash of the rule files. */
export function rulesVersion(): string {
  if (rules) return rules;
  const h = crypto.createHash('sha256');
  for (const f of RULE_FILES) h.update(f).update('\0').update(fs.readFileSync(path.join(packageRoot(), f)));
  rules = `${SIGNATURE_VERSION}-${h.digest('hex').slice(0, 12)}`;
  return rules;
}

/** The vector layout's version (features/data/vector.json). */
export function vectorVersion(): number {
  return vectorLayout().version;
}
