// Labelled sets, one format for dumps and console logs: a manifest
// (DIR/manifest.json: a list of entries, or {entries: [...]}) whose entries
// carry `id`, `path` (relative to DIR) and the root-cause `label`, and
// optionally `kind` ("vmcore" | "log"; guessed from the file when absent),
// `time` (ISO date, for time-ordered protocols), `group` (kernel — a lab entry's `kernel` when it has no group —, capture
// path, report/repro …) and `split`. Fields it does not know are kept in
// `extra` and never an error. The layout of ../shared/vmcores (scenario
// directories with meta.json) loads into the same entries.

import * as fs from 'node:fs';
import * as path from 'node:path';

/** A labelled set that cannot be read as one (no manifest, not JSON, an entry without path or label). */
export class LabelledSetError extends Error {
  override name = 'LabelledSetError';
}

export interface LabelledItem {
  /** Stable id (the manifest's, else the path). */
  id: string;
  /** Absolute path of the dump or log. */
  path: string;
  /** Short name for tables (same as id). */
  name: string;
  /** The root cause as recorded. */
  label: string;
  kind: 'vmcore' | 'log';
  time: string | null;
  group: string | null;
  split: string | null;
  /** Console log beside a dump, when there is one. */
  console: string | null;
  /** Manifest fields not listed above. */
  extra: Record<string, unknown>;
}

/** Kept for older callers: a labelled dump is a labelled item. */
export type LabelledDump = LabelledItem;

const KNOWN = new Set(['id', 'path', 'label', 'kind', 'time', 'group', 'split', 'console']);

function guessKind(file: string): 'vmcore' | 'log' {
  if (/vmcore|\.kdump$|\.elf(\.zst)?$|dump/i.test(path.basename(file))) return 'vmcore';
  return 'log';
}

/** Load a labelled set from a manifest file, a directory with manifest.json, or a tree of meta.json scenario dirs. */
export function loadLabelled(input: string): LabelledItem[] {
  const st = fs.statSync(input);
  const manifest = st.isFile() ? input : path.join(input, 'manifest.json');
  if (fs.existsSync(manifest)) {
    const dir = path.dirname(manifest);
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    } catch (e) {
      throw new LabelledSetError(`${manifest}: not JSON: ${(e as Error).message}`);
    }
    const entries = (Array.isArray(raw) ? raw : (raw as { entries?: unknown[] }).entries ?? []) as Array<Record<string, unknown>>;
    return entries.map((e, i) => {
      if (typeof e.path !== 'string' || typeof e.label !== 'string') throw new LabelledSetError(`${manifest}: entry ${i} needs a string path and label`);
      const kind = e.kind === 'vmcore' || e.kind === 'log' ? e.kind : guessKind(e.path);
      const extra = Object.fromEntries(Object.entries(e).filter(([k]) => !KNOWN.has(k)));
      const id = typeof e.id === 'string' ? e.id : e.path;
      return {
        id, name: id, path: path.resolve(dir, e.path), label: e.label, kind,
        time: typeof e.time === 'string' ? e.time : null,
        group: typeof e.group === 'string' ? e.group : typeof e.kernel === 'string' ? e.kernel : null,
        split: typeof e.split === 'string' ? e.split : null,
        console: typeof e.console === 'string' ? path.resolve(dir, e.console) : null,
        extra,
      };
    });
  }
  const out: LabelledItem[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (!e.isDirectory()) continue;
      const sub = path.join(d, e.name);
      const meta = path.join(sub, 'meta.json');
      if (fs.existsSync(meta)) {
        const m = JSON.parse(fs.readFileSync(meta, 'utf8')) as { dump: string; label: string; kernel?: string; capture?: string };
        const con = path.join(sub, 'console.log');
        const id = path.relative(input, sub);
        out.push({
          id, name: id, path: path.join(sub, m.dump), label: m.label, kind: 'vmcore', time: null, group: m.kernel ?? null, split: null,
          console: fs.existsSync(con) ? con : null, extra: { capture: m.capture ?? null },
        });
      } else walk(sub);
    }
  };
  walk(input);
  if (!out.length) throw new LabelledSetError(`${input}: no manifest.json and no scenario directories with meta.json`);
  return out;
}

/** The root-cause class of a label: the part before the first ":" ("hung-task: lab_mutex held ..." → "hung-task"). */
export function labelClass(label: string): string {
  const i = label.indexOf(':');
  return (i > 0 ? label.slice(0, i) : label).trim();
}
