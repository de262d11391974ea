// A PNG of a vaat page as the README shows it: Debian's chromium, network off,
// the viewport at the top of the page (or at a section with --at ID).
//
//   node scripts/screenshot.mjs <page.html> <out.png> [--width 1100] [--height 760] [--at map]
import * as path from 'node:path';
import puppeteer from 'puppeteer-core';

const argv = process.argv.slice(2);
const opt = (k, d) => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : d);
const [file, out] = argv;
const browser = await puppeteer.launch({ executablePath: process.env.VAAT_CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage();
await page.setViewport({ width: Number(opt('--width', 1100)), height: Number(opt('--height', 760)) });
await page.setOfflineMode(true);
await page.goto('file://' + path.resolve(file), { waitUntil: 'load' });
await page.waitForSelector('body[data-ready="1"]');
const at = opt('--at', null);
if (at) await page.evaluate((id) => document.getElementById(id).scrollIntoView(), at);
await page.screenshot({ path: out });
await browser.close();
