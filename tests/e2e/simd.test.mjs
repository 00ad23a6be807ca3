// The search worker's two builds (issue 16): Chromium has relaxed SIMD, so the page runs
// worker_relaxed*; `?simd=plain` forces the plain-SIMD build that engines without relaxed
// SIMD (Safari) get. Each must load, answer, and rank exactly as the companion does
// (crates/core/src/qkernel.rs: the same integers and the same float order in both builds).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, startServer, launch, openApp, search, nativeSearch, readyLine } from './harness.mjs';

let server;
before(async () => { server = await startServer(); });
after(() => server?.stop());

/** Opens the app at `url` in a fresh profile; resolves to the browser and the wasm files its
 *  search worker loaded (the worker's own resource timing, so the service worker's precache
 *  of both builds does not count). */
async function openWithWorker(url) {
  const browser = await launch();
  const workerStarted = browser.page.waitForEvent('worker', (w) => w.url().includes('worker_loader.js'));
  const status = await openApp(browser.page, url);
  const worker = await workerStarted;
  const loaded = await worker.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname.split('/').pop()));
  return { browser, status, wasm: loaded.filter((n) => n.endsWith('.wasm')) };
}

async function ranksLikeTheCompanion(page) {
  for (const q of ['typhoon approaching Kyushu', 'heavy snow over Hokkaido', 'a typhoon over the South China Sea with clear skies in Mongolia']) {
    const web = await search(page, q);
    const native = nativeSearch(q);
    assert.deepEqual(web.map((h) => h.id), native.map((h) => h.id), `top-20 ids for "${q}"`);
    web.forEach((h, i) => assert.ok(Math.abs(h.score - native[i].score) <= 1e-4, `"${q}" #${i + 1}: wasm ${h.score} vs native ${native[i].score}`));
  }
}

test('the built app ships both worker builds and the loader that picks one', () => {
  for (const f of ['worker_loader.js', 'worker.js', 'worker_bg.wasm', 'worker_relaxed.js', 'worker_relaxed_bg.wasm']) {
    assert.ok(existsSync(join(DIST, f)), `dist/${f} (scripts/build-app builds it)`);
  }
});

test('Chromium runs the relaxed-SIMD build, and it ranks as the companion does', async () => {
  const { browser, status, wasm } = await openWithWorker(server.url);
  try {
    assert.ok(status.includes(readyLine()), status);
    assert.deepEqual(wasm, ['worker_relaxed_bg.wasm'], `the worker loaded ${wasm}`);
    await ranksLikeTheCompanion(browser.page);
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
  }
});

test('?simd=plain forces the plain-SIMD fallback, and it ranks as the companion does', async () => {
  const { browser, status, wasm } = await openWithWorker(`${server.url}?simd=plain`);
  try {
    assert.ok(status.includes(readyLine()), status);
    assert.deepEqual(wasm, ['worker_bg.wasm'], `the worker loaded ${wasm}`);
    await ranksLikeTheCompanion(browser.page);
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
  }
});
