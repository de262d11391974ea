#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (npm ci builds it through `prepare`).
import { existsSync } from 'node:fs';
const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('vaat: not built yet: run `npm ci` (or `npm run build`) in the vaat directory');
  process.exit(1);
}
await import(main.href);
