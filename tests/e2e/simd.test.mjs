// The search worker's two builds (issue 16): Chromium has relaxed SIMD, so the page runs
// worker_relaxed*; `?simd=plain` forces the plain-SIMD build that engines without relaxed
// SIMD (Safari) get. Each must load, answer, and rank exactly as the companion does
// (crates/core/src/qkernel.rs: the same integers and the same float order in both builds).
// The service worker precaches only the build the page runs (www/sw.js), and that build works
// offline. `SKYCASE_SIMD=plain node --test ./x.test.mjs` runs any other file on the plain
// build (tests/e2e/harness.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, startServer, launch, openApp, search, nativeSearch, readyLine, waitUntilOfflineReady } from './harness.mjs';

let server;
before(async () => { server = await startServer(); });
after(() => server?.stop());

/** The wasm files the page's search worker loaded (its own resource timing). */
async function workerWasm(page, open) {
  const workerStarted = page.waitForEvent('worker', (w) => w.url().includes('worker_loader.js'));
  const status = await open();
  const worker = await workerStarted;
  const loaded = await worker.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname.split('/').pop()));
  return { status, wasm: loaded.filter((n) => n.endsWith('.wasm')) };
}

/** Opens the app at `url` in a fresh profile; resolves to the browser, the status line and
 *  the wasm files its search worker loaded. */
async function openWithWorker(url) {
  const browser = await launch();
  return { browser, ...await workerWasm(browser.page, () => openApp(browser.page, url)) };
}

/** Saved for offline use (the service worker's cache holds this build and not the other:
 *  waitUntilOfflineReady), then opened again offline: the same build loads, from the cache. */
async function worksOfflineWith(browser, wasmFile) {
  await waitUntilOfflineReady(browser.page);
  await browser.context.setOffline(true);
  try {
    const { status, wasm } = await workerWasm(browser.page, async () => {
      await browser.page.reload();
      await browser.page.waitForSelector('[data-testid=status] [data-state=ready], [data-testid=status] [data-state=failed]');
      return browser.page.locator('[data-testid=status]').innerText();
    });
    assert.ok(status.includes(readyLine()), `offline: ${status}`);
    assert.deepEqual(wasm, [wasmFile], `offline, the worker loaded ${wasm}`);
    const hits = await search(browser.page, 'heavy snow over Hokkaido');
    assert.deepEqual(hits.map((h) => h.id), nativeSearch('heavy snow over Hokkaido').map((h) => h.id));
  } finally {
    await browser.context.setOffline(false);
  }
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

const forcedPlain = process.env.SKYCASE_SIMD === 'plain'
  && 'SKYCASE_SIMD=plain sends every page to the plain build; the next test covers it';
test('Chromium runs the relaxed-SIMD build, and it ranks as the companion does', { skip: forcedPlain }, async () => {
  const { browser, status, wasm } = await openWithWorker(server.url);
  try {
    assert.ok(status.includes(readyLine()), status);
    assert.deepEqual(wasm, ['worker_relaxed_bg.wasm'], `the worker loaded ${wasm}`);
    await ranksLikeTheCompanion(browser.page);
    await worksOfflineWith(browser, 'worker_relaxed_bg.wasm');
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
    await worksOfflineWith(browser, 'worker_bg.wasm');
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
  }
});
