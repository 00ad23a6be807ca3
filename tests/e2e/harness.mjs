// Shared helpers for the end-to-end tests and the browser benchmark: start the companion's
// static server on 127.0.0.1, launch Debian's Chromium headless with a fresh profile, and
// drive the app through the elements it marks with data-testid.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, cpSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { after } from 'node:test';
import assert from 'node:assert/strict';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST = join(ROOT, 'dist');
export const BUNDLE = join(ROOT, 'www/bundle');
const targetDir = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache/skycase/target');
export const SKYCASE = join(targetDir, 'release/skycase');

/** Starts `skycase serve DIR --port 0` and resolves to { url, stop }. */
export function startServer(dir = DIST) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(SKYCASE, ['serve', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ url: m[0], stop: () => child.kill() });
      }
    });
    child.stderr.on('data', (d) => { out += d; });
    child.on('exit', (code) => { clearTimeout(timer); if (code) reject(new Error(`server exited ${code}: ${out}`)); });
  });
}

/** Every `securitypolicyviolation` event of every page any test file opened: the file fails
 *  (in an after hook registered here, for each file that imports the harness) if there was
 *  one, so the whole suite runs under the page's strict CSP (index.html's meta tag plus
 *  `skycase serve`'s header) without a single violation. A test that provokes one on purpose
 *  removes it from its browser's cspViolations. */
const browsers = [];
// Only in test files (bench.mjs imports the harness too and is no test).
if (process.env.NODE_TEST_CONTEXT || process.argv[1]?.endsWith('.test.mjs')) {
  after(() => {
    const all = browsers.flatMap((b) => b.cspViolations);
    assert.deepEqual(all, [], `Content-Security-Policy violations: ${JSON.stringify(all, null, 1)}`);
  });
}

/** A fresh headless Chromium profile; resolves to { context, page, errors, cspViolations,
 *  close }. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'skycase-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const cspViolations = [];
  await context.exposeBinding('__skycaseCspViolation', (_source, v) => { cspViolations.push(v); });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__skycaseCspViolation({
        directive: e.effectiveDirective, blocked: e.blockedURI, at: `${e.sourceFile}:${e.lineNumber}`, sample: e.sample,
      });
    });
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const browser = {
    context, page, errors, cspViolations,
    close: async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); },
  };
  browsers.push(browser);
  return browser;
}

/** Opens the app and waits until the index is loaded (or the page reports a failure). */
export async function openApp(page, url, timeout = 60000) {
  await page.goto(url);
  await page.waitForSelector('[data-testid=status] [data-state=ready], [data-testid=status] [data-state=failed]', { timeout });
  return page.locator('[data-testid=status]').innerText();
}

/** Types a query, submits it and waits for its answer (a newer query id than before);
 *  returns [{ id, score, text }]. */
export async function search(page, text) {
  const before = await page.evaluate(() => Number(document.querySelector('[data-testid=timings]')?.dataset.queryId || 0));
  await page.fill('[data-testid=search-input]', text);
  await page.press('[data-testid=search-input]', 'Enter');
  await page.waitForFunction(
    ([q, prev]) => {
      const t = document.querySelector('[data-testid=timings]');
      return t && Number(t.dataset.queryId) > prev && t.textContent.includes(`“${q.trim()}”`);
    },
    [text, before], { timeout: 30000 });
  return results(page);
}

/** The rendered results. */
export async function results(page) {
  return page.$$eval('[data-testid=result]', (els) => els.map((el) => ({
    id: el.dataset.id, score: Number(el.dataset.score), text: el.textContent,
  })));
}

/** Native ranking of the same bundle: `skycase search --json` (plus `flags`, e.g. a filter). */
export function nativeSearch(text, bundle = BUNDLE, flags = []) {
  const out = execFileSync(SKYCASE, ['search', text, '--bundle', bundle, '--json', ...flags], { encoding: 'utf8' });
  return JSON.parse(out).hits.map((h) => ({ id: h.id, score: h.score, caption: h.caption }));
}

/** Waits until the app's cache (there must be exactly one `skycase-` cache: the service
 *  worker and the search worker name it alike) holds everything a visit needs offline: the
 *  page shell, the search worker's script and wasm, and every bundle file the worker loads,
 *  including all word-embedding chunks (those no query needed yet arrive in the background);
 *  the multilingual encoder's files are cached only once a Korean query has needed them.
 *  Resolves to the number of chunks. */
export async function waitUntilOfflineReady(page, timeout = 60000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const state = await page.evaluate(async () => {
      const manifest = await (await fetch('./bundle/manifest.json')).json();
      const names = (await caches.keys()).filter((n) => n.startsWith('skycase-'));
      const cache = names.length === 1 && await caches.open(names[0]);
      const chunks = manifest.model.word_embeddings.chunks.map((c) => `./bundle/${c.path}`);
      const bundle = ['manifest.json', ...manifest.files.filter((f) => f.role !== 'thumbnail' && !f.role.startsWith('multilingual-')).map((f) => f.path),
        ...manifest.shards.map((s) => s.path)].map((p) => `./bundle/${p}`);
      const app = ['./', './style.css', './app.js', './app_bg.wasm', './worker_loader.js', './worker.js', './worker_bg.wasm'];
      const missing = [];
      for (const url of [...app, ...bundle, ...chunks]) if (!cache || !await cache.match(url)) missing.push(url);
      return { names, missing, chunks: chunks.length };
    });
    if (state.names.length > 1) throw new Error(`more than one app cache: ${state.names.join(', ')}`);
    if (state.missing.length === 0) return state.chunks;
    if (Date.now() > deadline) {
      throw new Error(`not cached for offline use (cache ${state.names[0] ?? 'missing'}): ${state.missing.slice(0, 8).join(', ')}${state.missing.length > 8 ? ` and ${state.missing.length - 8} more` : ''}`);
    }
    await page.waitForTimeout(200);
  }
}

/** A throwaway copy of dist/ to break on purpose. */
export function copyDist() {
  const dir = mkdtempSync(join(tmpdir(), 'skycase-dist-'));
  cpSync(DIST, dir, { recursive: true });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
