// One self-contained HTML file: the page's data as inert JSON, the charting
// library (Apache ECharts, from its npm package), our stylesheet and our
// renderer inline — nothing is fetched when the page is viewed. The renderer
// (assets/app.js) builds every element with DOM calls and textContent, so
// what a crashed kernel wrote (titles, comm names, module names, cgroup
// paths) is shown, never interpreted.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { packageRoot } from '../../util/datafile.js';

let assets: { echarts: string; app: string; css: string } | null = null;

function load(): { echarts: string; app: string; css: string } {
  if (assets) return assets;
  const require = createRequire(import.meta.url);
  const dir = path.join(packageRoot(), 'src', 'report', 'html', 'assets');
  assets = {
    echarts: fs.readFileSync(require.resolve('echarts/dist/echarts.min.js'), 'utf8'),
    app: fs.readFileSync(path.join(dir, 'app.js'), 'utf8'),
    css: fs.readFileSync(path.join(dir, 'style.css'), 'utf8'),
  };
  return assets;
}

/** JSON that cannot end its script element or open a comment: every "<" (and the JS line separators) as an escape. */
export function inertJson(data: unknown): string {
  return JSON.stringify(data).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const escText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function htmlPage(kind: 'similarity' | 'dump' | 'index', title: string, data: unknown): string {
  const a = load();
  // Control characters other than tab/newline have no place in a title element.
  // eslint-disable-next-line no-control-regex
  const t = escText(title.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?'));
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; script-src \'unsafe-inline\'; style-src \'unsafe-inline\'; img-src data:">',
    `<title>${t}</title>`,
    `<style>${a.css}</style>`,
    '</head><body>',
    `<script type="application/json" id="vaat-data" data-kind="${kind}">${inertJson(data)}</script>`,
    `<script>${a.echarts.replace(/<\/script/gi, '<\\/script')}</script>`,
    `<script>${a.app.replace(/<\/script/gi, '<\\/script')}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
