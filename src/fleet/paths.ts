// Dump paths that come over the network: absolute, no "..", and — after every
// symlink is resolved — inside one of the configured roots (the storage the
// workers share). Anything else is refused with the reason.

import * as fs from 'node:fs';
import * as path from 'node:path';

export type PathCheck = { ok: true; path: string } | { ok: false; reason: string };

export function insideRoots(realRoots: string[], p: unknown): PathCheck {
  if (typeof p !== 'string' || !p) return { ok: false, reason: 'no path' };
  if (p.includes('\0')) return { ok: false, reason: 'a NUL byte in the path' };
  if (!path.isAbsolute(p)) return { ok: false, reason: `${JSON.stringify(p)} is not absolute` };
  if (p.split(/[\\/]+/).includes('..')) return { ok: false, reason: `${JSON.stringify(p)} has a ".." component` };
  let real: string;
  try {
    real = fs.realpathSync(p);
  } catch (e) {
    return { ok: false, reason: `${JSON.stringify(p)}: ${(e as NodeJS.ErrnoException).code ?? 'cannot resolve'}` };
  }
  const root = realRoots.find((r) => real === r || real.startsWith(r.endsWith(path.sep) ? r : r + path.sep));
  if (!root) return { ok: false, reason: `${JSON.stringify(p)} resolves to ${JSON.stringify(real)}, outside the configured roots` };
  return { ok: true, path: real };
}
