// Locate data files (rules kept as data: global types, skip-lists, taint
// letters) relative to the package root, from source or from dist/.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return (root = dir);
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the vaat package root');
}

const cache = new Map<string, unknown>();

/** Read a JSON data file given relative to the package root, e.g. 'src/kernel/data/globals.json'. */
export function dataJson<T>(rel: string): T {
  let v = cache.get(rel);
  if (v === undefined) {
    v = JSON.parse(fs.readFileSync(path.join(packageRoot(), rel), 'utf8'));
    cache.set(rel, v);
  }
  return v as T;
}
