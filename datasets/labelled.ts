// Labelled sets of dumps: a lab manifest (DIR/manifest.json, a list of
// entries with `path` relative to DIR and a root-cause `label`), or a tree
// of scenario directories each holding a meta.json with `dump` and `label`
// (the layout of ../shared/vmcores). Both load into the same entries.

import * as fs from 'node:fs';
import * as path from 'node:path';

export interface LabelledDump {
  /** Absolute path of the dump. */
  path: string;
  /** Short name for tables. */
  name: string;
  /** The root cause as recorded. */
  label: string;
  /** Console log beside the dump, when there is one. */
  console: string | null;
  split?: 'train' | 'test';
}

/** Load a labelled set from a manifest file, a directory with manifest.json, or a tree of meta.json scenario dirs. */
export function loadLabelled(input: string): LabelledDump[] {
  const st = fs.statSync(input);
  const manifest = st.isFile() ? input : path.join(input, 'manifest.json');
  if (fs.existsSync(manifest)) {
    const dir = path.dirname(manifest);
    const raw = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { entries?: unknown[] } | unknown[];
    const entries = (Array.isArray(raw) ? raw : raw.entries ?? []) as Array<{ id?: string; path: string; label: string; console?: string; split?: 'train' | 'test' }>;
    return entries.map((e) => ({
      path: path.resolve(dir, e.path),
      name: e.id ?? e.path,
      label: e.label,
      console: e.console ? path.resolve(dir, e.console) : null,
      split: e.split,
    }));
  }
  const out: LabelledDump[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (!e.isDirectory()) continue;
      const sub = path.join(d, e.name);
      const meta = path.join(sub, 'meta.json');
      if (fs.existsSync(meta)) {
        const m = JSON.parse(fs.readFileSync(meta, 'utf8')) as { dump: string; label: string };
        const con = path.join(sub, 'console.log');
        out.push({ path: path.join(sub, m.dump), name: path.relative(input, sub), label: m.label, console: fs.existsSync(con) ? con : null });
      } else walk(sub);
    }
  };
  walk(input);
  if (!out.length) throw new Error(`${input}: no manifest.json and no scenario directories with meta.json`);
  return out;
}

/** The root-cause class of a label: the part before the first ":" ("hung-task: lab_mutex held ..." → "hung-task"). */
export function labelClass(label: string): string {
  const i = label.indexOf(':');
  return (i > 0 ? label.slice(0, i) : label).trim();
}
