// Fault injection: the app against a server (tests/e2e/faultserver.mjs) that cuts a
// connection mid-file, answers 500, serves wrong bytes, serves slowly, or disappears after
// the first visit. For each, the app recovers or says precisely what failed; nothing
// unchecked is cached; a good server later heals it without clearing site data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, DIST, launch, openApp, search, nativeSearch, waitUntilOfflineReady, bundleCacheCheck, thumbnailsSettled, readyLine } from './harness.mjs';
import { startFaultServer } from './faultserver.mjs';

mkdirSync(join(ROOT, 'tests/e2e/screenshots'), { recursive: true });
const manifest = JSON.parse(readFileSync(join(DIST, 'bundle/manifest.json'), 'utf8'));
// A startup file whose loss stops the app: the shard, or (partitioned index, issue 11) the
// projection, since partitions load per query.
const STARTUP = manifest.shards[0]?.path ?? manifest.files.find((f) => f.role === 'projection').path;
const SHARD = `/bundle/${STARTUP}`;

/** A fresh browser profile against a fault server on dist/; `body` gets both. */
async function withFaults(fault, body) {
  const server = await startFaultServer(DIST);
  server.setFault(fault);
  const browser = await launch();
  try {
    await body(server, browser);
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
    await server.stop();
  }
}

const status = (page) => page.locator('[data-testid=status]').innerText();
const imagesShown = (page) => page.$$eval('[data-testid=result] .thumb img', (imgs) => imgs.filter((i) => i.complete && i.naturalWidth > 0 && i.src.startsWith('blob:')).length);

test('a connection cut in the middle of the encoder resumes from the bytes already received', async () => {
  await withFaults((path, n) => (path === '/bundle/encoder.gguf' && n === 1 ? { drop: 0.5 } : null), async (server, { page }) => {
    assert.match(await openApp(page, server.url), /ready/);
    const tries = server.requests.filter((r) => r.path === '/bundle/encoder.gguf');
    assert.equal(tries.length, 2, JSON.stringify(tries));
    const resumedAt = Number(tries[1].range?.match(/^bytes=(\d+)-$/)?.[1]);
    assert.ok(resumedAt > 0 && tries[1].status === 206, `the second request resumes: ${JSON.stringify(tries[1])}`);
    const q = 'typhoon approaching Kyushu';
    assert.deepEqual((await search(page, q)).map((h) => h.id), nativeSearch(q).map((h) => h.id));
    await waitUntilOfflineReady(page);
    assert.deepEqual((await bundleCacheCheck(page)).wrong, []);
  });
});

test('a search worker whose wasm cannot be had is named at once, not waited for', async () => {
  // Both builds of the worker (worker_loader.js falls back from one to the other only when its
  // script is missing): the rejected start has to reach the page, which would otherwise wait
  // for a worker that never says it has started.
  await withFaults((path) => (/^\/worker(_relaxed)?_bg\.wasm$/.test(path) ? { status: 500 } : null), async (server, { page }) => {
    await openApp(page, server.url, 20000);
    assert.match(await status(page), /the search worker failed: .*worker(_relaxed)?_bg\.wasm: .*500 Internal Server Error/);
  });
});

test('HTTP 500: retried with backoff; one that persists is named with a retry button, and a good server heals it', async () => {
  let broken = true;
  await withFaults((path, n) => {
    if (path === '/bundle/tokenizer.json' && n <= 2) return { status: 500 };  // transient
    if (path === SHARD && broken) return { status: 500 };                    // persistent
    return null;
  }, async (server, { page }) => {
    const t0 = Date.now();
    await openApp(page, server.url);
    const failed = await status(page);
    assert.match(failed, new RegExp(`could not start: .*${STARTUP}: the server answered HTTP 500.*gave up after 4 tries`));
    assert.ok(Date.now() - t0 >= 250 + 1000 + 3000, 'the tries were spaced out (backoff)');
    assert.equal(server.count(SHARD), 4);
    assert.equal(server.count('/bundle/tokenizer.json'), 3, 'the transient 500s were retried and got through');
    const cached = await bundleCacheCheck(page);
    assert.ok(!cached.files.includes(STARTUP), 'nothing of the failed file is cached');
    assert.ok(cached.files.includes('tokenizer.json') && cached.files.includes('encoder.gguf'), cached.files.join(', '));
    assert.deepEqual(cached.wrong, []);

    // The server is fixed: Retry loads, downloading only what is missing.
    broken = false;
    const before = server.requests.length;
    await page.click('[data-testid=retry]');
    await page.waitForSelector('[data-testid=status] [data-state=ready]', { timeout: 60000 });
    const again = server.requests.slice(before).map((r) => r.path);
    assert.ok(again.includes(SHARD), again.join(' '));
    assert.ok(!again.includes('/bundle/encoder.gguf'), `the verified encoder came from the cache: ${again.join(' ')}`);
    assert.equal((await search(page, 'heavy snow over Hokkaido')).length, nativeSearch('heavy snow over Hokkaido').length);
  });
});

test('wrong bytes are fetched once more, then named in place; nothing unchecked is cached; a good server heals', async () => {
  let corrupt = true;
  await withFaults((path) => (corrupt && path.startsWith('/bundle/thumbs/') ? { corrupt: true } : null), async (server, { page }) => {
    assert.match(await openApp(page, server.url), /ready/);
    // A query with 20 episodes (typhoons over the South China Sea are a few long ones).
    const hits = await search(page, 'clear skies across Mongolia');
    await thumbnailsSettled(page);
    // Each result says, where its image would be, that it is not available and why.
    const missing = await page.$$eval('[data-testid=result] [data-testid=thumb-missing]', (els) => els.map((e) => ({
      text: e.innerText, reason: e.querySelector('[data-testid=thumb-missing-reason]').dataset.reason,
    })));
    assert.equal(missing.length, hits.length);
    assert.ok(missing.every((m) => /^Image not available\s+thumbs\/.+\.png: sha256 mismatch$/.test(m.text)), missing[0].text);
    assert.ok(missing.every((m) => /also after downloading it again\); not used$/.test(m.reason)), missing[0].reason);
    assert.equal(await page.locator('[data-testid=result] .thumb img').count(), 0, 'no image from unchecked bytes');
    await page.screenshot({ path: join(ROOT, 'tests/e2e/screenshots/image-unavailable.png') });
    // Each was downloaded twice: once, then once more past the HTTP cache. (Not those that
    // saving for offline use starts with, the earliest frames', which it requests too.)
    const savedFirst = manifest.files.filter((f) => f.role === 'thumbnail').map((f) => f.path).sort().slice(0, 8);
    const shown = hits.map((h) => `thumbs/${h.id}.png`).filter((p) => !savedFirst.includes(p));
    assert.ok(shown.length >= 12, shown.join(' '));
    for (const p of shown) assert.equal(server.count(`/bundle/${p}`), 2, p);
    // Saving for offline use stops at the first wrong thumbnail, naming it; it never says "works offline".
    await page.waitForSelector('[data-testid=offline-failed]', { timeout: 60000 });
    assert.match(await page.locator('[data-testid=offline-failed]').innerText(), /Not available offline: .*thumbs\/.+\.png: sha256 mismatch/);
    assert.equal(await page.locator('[data-testid=offline-ready]').count(), 0);
    const cached = await bundleCacheCheck(page);
    assert.deepEqual(cached.wrong, []);
    assert.ok(!cached.files.some((f) => f.startsWith('thumbs/')), 'no thumbnail is cached');

    // Healed: Retry saves everything; a new search shows every image.
    corrupt = false;
    await page.click('[data-testid=retry-offline]');
    await waitUntilOfflineReady(page);
    const healed = await search(page, 'heavy snow over Hokkaido');
    await thumbnailsSettled(page);
    assert.equal(await imagesShown(page), healed.length);
    assert.deepEqual((await bundleCacheCheck(page)).wrong, []);
  });
});

test('a corrupt encoder is fetched once more, then refused by name, and loads once the server is fixed', async () => {
  let corrupt = true;
  await withFaults((path) => (corrupt && path === '/bundle/encoder.gguf' ? { corrupt: true } : null), async (server, { page }) => {
    await openApp(page, server.url);
    assert.match(await status(page), /could not start: encoder\.gguf: sha256 mismatch .*also after downloading it again\); not used/);
    assert.equal(server.count('/bundle/encoder.gguf'), 2);
    assert.ok(!(await bundleCacheCheck(page)).files.includes('encoder.gguf'));
    corrupt = false;
    await page.click('[data-testid=retry]');
    await page.waitForSelector('[data-testid=status] [data-state=ready]', { timeout: 60000 });
    assert.equal((await search(page, 'rain over Kyushu')).length, nativeSearch('rain over Kyushu').length);
  });
});

test('a server throttled to 1.5 Mbit/s: results come with placeholders, then images; offline only once all is saved', async () => {
  const SLOW = 1.5e6;
  await withFaults((path) => (path.startsWith('/bundle/thumbs/') || path.startsWith('/bundle/words/') ? { throttleBps: SLOW } : null), async (server, { page }) => {
    assert.match(await openApp(page, server.url), /ready/);
    await page.evaluate(() => {
      window.__sawPlaceholder = false;
      new MutationObserver(() => {
        if (document.querySelector('[data-testid=result] [data-testid=thumb-loading]')) window.__sawPlaceholder = true;
      }).observe(document.body, { subtree: true, childList: true });
    });
    const hits = await search(page, 'clear skies across Mongolia');
    assert.equal(hits.length, nativeSearch('clear skies across Mongolia').length);
    assert.equal(await page.locator('[data-testid=result] img:not([src^="blob:"])').count(), 0, 'never an unchecked image');
    await thumbnailsSettled(page, 60000);
    assert.equal(await page.evaluate(() => window.__sawPlaceholder), true, 'placeholders while the images came');
    assert.equal(await imagesShown(page), hits.length);
    assert.equal(await page.locator('[data-testid=thumb-missing]').count(), 0);
    await page.waitForSelector('[data-testid=offline-saving], [data-testid=offline-ready]', { timeout: 30000 });
    await waitUntilOfflineReady(page, 180000);
    assert.ok(server.requests.some((r) => r.fault?.throttleBps === SLOW), 'the slow path was exercised');
  });
});

test('a server that disappears after the first visit: the app runs from its caches, says it is offline, and shows every image', async () => {
  await withFaults(null, async (server, { page }) => {
    await openApp(page, server.url);
    await search(page, 'heavy snow over Hokkaido');
    await waitUntilOfflineReady(page);
    await server.stop();
    assert.ok((await openApp(page, server.url)).includes(readyLine()));
    await page.waitForSelector('[data-testid=offline-badge]', { timeout: 15000 });
    // A query no one made before: its thumbnails were saved with the offline set.
    const hits = await search(page, 'typhoon over the South China Sea');
    assert.equal(hits.length, nativeSearch('typhoon over the South China Sea').length);
    await thumbnailsSettled(page);
    assert.equal(await imagesShown(page), hits.length);
    assert.equal(await page.locator('[data-testid=thumb-missing]').count(), 0);
    // Back: the badge goes.
    await server.restart();
    await openApp(page, server.url);
    await page.waitForFunction(() => !document.querySelector('[data-testid=offline-badge]'), null, { timeout: 15000 });
  });
});

test('a full storage quota is shown with its reason, never claimed as offline, and saving succeeds once there is room', async () => {
  await withFaults(null, async (server, { page, context }) => {
    // Chromium's storage quota for this origin, far below the offline set (about 30 MB).
    const cdp = await context.newCDPSession(page);
    const origin = new URL(server.url).origin;
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 2e6 });
    // The app works online all the same.
    assert.match(await openApp(page, server.url), /ready/);
    assert.equal((await search(page, 'heavy snow over Hokkaido')).length, nativeSearch('heavy snow over Hokkaido').length);
    await page.waitForSelector('[data-testid=offline-failed]', { timeout: 60000 });
    assert.match(await page.locator('[data-testid=offline-failed]').innerText(), /Not available offline: .*storage quota for this site is full/);
    assert.equal(await page.locator('[data-testid=offline-ready]').count(), 0);
    // Room again (the user freed space): Retry saves everything.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    await page.click('[data-testid=retry-offline]');
    await waitUntilOfflineReady(page);
    assert.deepEqual((await bundleCacheCheck(page)).wrong, []);
  });
});
