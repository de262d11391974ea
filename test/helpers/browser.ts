// Debian's chromium driven by puppeteer-core, for the HTML pages: installed
// with apt when missing (a test that cannot get a browser fails, it does not
// skip), the network off, every request other than the page itself recorded
// and refused, console errors and page errors collected.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { packageRoot } from '../../src/util/datafile.js';

export const CHROMIUM = process.env.VAAT_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots the tests take: kept as artefacts of the run. */
export const ARTIFACTS = path.join(packageRoot(), 'test-artifacts', 'html');

export function ensureChromium(): string {
  if (fs.existsSync(CHROMIUM)) return CHROMIUM;
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (!fs.existsSync(CHROMIUM)) throw new Error(`chromium is needed at ${CHROMIUM} and apt-get install chromium did not provide it: ${(r.stderr || r.stdout || '').slice(-400)}`);
  return CHROMIUM;
}

export async function launch(): Promise<Browser> {
  return puppeteer.launch({ executablePath: ensureChromium(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

export interface Opened {
  page: Page;
  errors: string[];
  /** Requests the page tried beyond its own file (refused). */
  requests: string[];
  dialogs: string[];
}

/** Open a file offline and wait until the renderer says it is done. */
export async function openPage(browser: Browser, file: string, opts: { width?: number; height?: number } = {}): Promise<Opened> {
  const page = await browser.newPage();
  await page.setViewport({ width: opts.width ?? 1400, height: opts.height ?? 900 });
  await page.setOfflineMode(true);
  const url = 'file://' + path.resolve(file);
  const errors: string[] = [];
  const requests: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`page error: ${(e as Error).message}`));
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    if (req.url() === url) void req.continue();
    else {
      requests.push(req.url());
      void req.abort();
    }
  });
  await page.goto(url, { waitUntil: 'load', timeout: 120_000 });
  await page.waitForSelector('body[data-ready="1"], pre.err', { timeout: 120_000 });
  return { page, errors, requests, dialogs };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
