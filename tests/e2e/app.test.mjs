// The app in real Chromium against the served demo bundle.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launch, ROOT, openApp, search, results, nativeSearch, waitUntilOfflineReady, readyLine, serveAndLaunch } from './harness.mjs';

const SHOTS = join(ROOT, 'tests/e2e/screenshots');
const READY = readyLine();
let server;
let browser;
serveAndLaunch((s, b) => { server = s; browser = b; });
before(() => mkdirSync(SHOTS, { recursive: true }));

test('loads the demo index with progress and answers a query about a typhoon', async () => {
  const { page, errors } = browser;
  const seen = [];
  await page.exposeFunction('__seenState', (s) => seen.push(s));
  await page.addInitScript(() => {
    new MutationObserver(() => {
      const el = document.querySelector('[data-testid=status] [data-state]');
      if (el) window.__seenState(el.dataset.state);
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
  const status = await openApp(page, server.url);
  assert.ok(status.includes(READY), `${status} (expected ${READY})`);
  assert.ok(seen.includes('loading'), `a download progress state was shown (saw ${[...new Set(seen)]})`);

  const hits = await search(page, 'typhoon over the South China Sea');
  // One result per episode (issue 13): as many as the companion finds, up to 20.
  assert.equal(hits.length, nativeSearch('typhoon over the South China Sea').length);
  assert.ok(hits.length >= 5, `${hits.length} episodes`);
  // The demo month has 126 frames with a typhoon in the South China Sea; the best match is one.
  assert.match(hits[0].text, /South China Sea - Typhoon/);
  const scores = hits.map((h) => h.score);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'results are sorted by score');
  await page.screenshot({ path: join(SHOTS, 'typhoon-query.png'), fullPage: false });
  assert.deepEqual(errors, []);
});

test('the browser (wasm) and the companion (native) rank identically', async () => {
  const { page } = browser;
  for (const q of ['heavy snow over Hokkaido', 'typhoon approaching Kyushu', 'clear skies across Mongolia',
    'rain along the Pacific coast of Japan', 'heavy snow over Hokaido', 'typhon near Okinawa']) {
    const web = await search(page, q);
    const native = nativeSearch(q);
    assert.deepEqual(web.map((h) => h.id), native.map((h) => h.id), `top-20 ids for "${q}"`);
    web.forEach((h, i) => assert.ok(Math.abs(h.score - native[i].score) <= 1e-4,
      `"${q}" #${i + 1}: wasm ${h.score} vs native ${native[i].score}`));
  }
});

test('more like this ranks by the frame\'s own embedding, leaving the frame itself out', async () => {
  const { page } = browser;
  const hits = await search(page, 'snow in Manchuria');
  await page.locator('[data-testid=result]').first().getByRole('button', { name: 'More like this' }).click();
  await page.waitForFunction(() => document.querySelector('[data-testid=timings]')?.textContent.includes('“like '));
  const similar = await results(page);
  assert.ok(similar.length > 0);
  assert.ok(!similar.some((h) => h.id === hits[0].id), 'the frame itself is not a result (issue 13)');
  assert.ok(similar[0].score > 0.8, `nearest neighbour ${similar[0].score}`);
});

test('the query lives in the URL and an empty query clears the results', async () => {
  const { page } = browser;
  await openApp(page, `${server.url}?q=${encodeURIComponent('heavy snow over Hokkaido')}`);
  await page.waitForSelector('[data-testid=result]');
  assert.equal(await page.inputValue('[data-testid=search-input]'), 'heavy snow over Hokkaido');
  await search(page, 'rain over Kyushu');
  assert.match(page.url(), /q=rain\+over\+Kyushu|q=rain%20over%20Kyushu/);
  await page.fill('[data-testid=search-input]', '   ');
  await page.press('[data-testid=search-input]', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=result]').length === 0);
  assert.equal(await page.locator('[data-testid=query-error]').count(), 0);
});

test('after the first visit the app works offline', async () => {
  const { page, context } = browser;
  await openApp(page, server.url);
  await search(page, 'heavy snow over Hokkaido');
  // Queries fetch the word-embedding chunks they need; the rest follow in the background.
  await waitUntilOfflineReady(page);
  await context.setOffline(true);
  try {
    const status = await openApp(page, `${server.url}?q=${encodeURIComponent('typhoon over the South China Sea')}`);
    assert.match(status, /ready/);
    const hits = await search(page, 'clear skies across Mongolia');
    assert.equal(hits.length, nativeSearch('clear skies across Mongolia').length);
    assert.ok(hits.length > 0);
    // Words no earlier query used: their chunks come from the background download.
    const q = 'blizzard near Vladivostok, quiet Okinawa';
    assert.equal((await search(page, q)).length, nativeSearch(q).length);
  } finally {
    await context.setOffline(false);
  }
});

test('searching while the offline copy is being saved holds the save back, and it completes once the searching stops', async () => {
  // A fresh profile: nothing saved yet. The save (every word chunk, then the rest) starts 1 s
  // after the first answer, and each of its batches of 8 waits until no answer has been given
  // for 250 ms (src/fetch.rs, `after_answers`), so that it does not slow the page drawing one.
  const fresh = await launch();
  try {
    const { page } = fresh;
    const chunks = [];
    page.on('request', (r) => { if (r.url().includes('/bundle/words/')) chunks.push(Date.now()); });
    await openApp(page, server.url);
    const q = 'heavy snow over Hokkaido';
    const want = nativeSearch(q).map((h) => h.id);
    await search(page, q);
    const asked = chunks.length;
    // The save's first batch, after the chunks the query itself needed.
    while (chunks.length === asked) await new Promise((r) => setTimeout(r, 20));
    // Searching again and again (each answer within ~100 ms of the one before on a quiet
    // machine) for 2.5 s and at least 10 answers.
    const t0 = Date.now();
    const ends = [t0];
    while (Date.now() - t0 < 2500 || ends.length <= 10) {
      assert.deepEqual((await search(page, q)).map((h) => h.id), want);
      ends.push(Date.now());
    }
    const t1 = Date.now();
    // A batch started before the searching may still be starting its requests; after that, a
    // batch can only start in a gap of more than 250 ms between two answers, which a loaded
    // machine makes (one search taking longer): each such gap may let one batch (8 chunks) in,
    // one more may slip in at the edge of the window. Without the hold, every ~100 ms gap would.
    const gaps = ends.slice(1).map((t, i) => t - ends[i]).filter((g) => g > 250).length;
    const during = chunks.filter((t) => t > t0 + 600 && t <= t1).length;
    assert.ok(during <= 8 * (1 + gaps), `${during} word chunks were requested while searching (${ends.length - 1} answers, ${gaps} gaps over 250 ms)`);
    // Once the searching stops, the save goes on and completes.
    await waitUntilOfflineReady(page);
    assert.ok(chunks.length - asked > during + 8, `the save went on afterwards (${chunks.length - asked} chunk requests in all)`);
    assert.deepEqual(fresh.errors, []);
  } finally {
    await fresh.close();
  }
});

test('a first visit whose search worker started before the service worker controlled the page is served offline next time', async () => {
  // A fresh profile: its first visit has no service worker yet, so whatever the next visit
  // needs is cached by the search worker itself (and the service worker's shell precache).
  const fresh = await launch();
  try {
    const { page, context } = fresh;
    // Whether a service worker controlled the page when index.html started the search worker.
    await page.addInitScript(() => { window.__controlledAtStart = navigator.serviceWorker.controller !== null; });
    await openApp(page, server.url);
    assert.equal(await page.evaluate(() => window.__controlledAtStart), false, 'first visit: no service worker yet');
    assert.equal(await page.evaluate(() => performance.getEntriesByName('skycase: worker created').length), 1,
      'index.html started the worker');
    await waitUntilOfflineReady(page);
    await context.setOffline(true);
    try {
      const status = await openApp(page, server.url);
      assert.ok(status.includes(READY), `${status} (expected ${READY})`);
      assert.equal(await page.evaluate(() => window.__controlledAtStart), true, 'second visit: served by the service worker');
      const hits = await search(page, 'typhoon approaching Kyushu');
      assert.ok(hits.length > 0);
      assert.deepEqual(hits.map((h) => h.id), nativeSearch('typhoon approaching Kyushu').map((h) => h.id));
    } finally {
      await context.setOffline(false);
    }
    assert.deepEqual(fresh.errors, []);
  } finally {
    await fresh.close();
  }
});

test('filters keep only frames of the chosen region, phenomenon and dates', async () => {
  const { page } = browser;
  await openApp(page, server.url);
  await page.selectOption('[data-testid=filter-region]', { label: 'Hokkaido (Japan)' });
  await page.selectOption('[data-testid=filter-phenomenon]', 'Snow');
  await page.fill('[data-testid=filter-from]', '2017-11-20');
  await page.dispatchEvent('[data-testid=filter-from]', 'change');
  const hits = await search(page, 'cold weather in northern Japan');
  assert.ok(hits.length > 0);
  for (const h of hits) {
    assert.match(h.text, /Hokkaido \(Japan\) - Snow/);
    const time = h.text.match(/2017-11-(\d\d)/);
    assert.ok(time && Number(time[1]) >= 20, h.text);
  }
});

test('the page runs under a strict Content-Security-Policy without a violation', async () => {
  const { page, cspViolations } = browser;
  await openApp(page, server.url);
  await search(page, 'heavy snow over Hokkaido');
  // The policy is in the page (meta, with the inline scripts' hashes filled in) and in the
  // server's header (with frame-ancestors, which a meta tag cannot carry).
  const meta = await page.locator('meta[http-equiv=Content-Security-Policy]').getAttribute('content');
  assert.match(meta, /script-src 'self' 'wasm-unsafe-eval' 'sha256-[A-Za-z0-9+/]{43}=' 'sha256-/);
  assert.doesNotMatch(meta, /INLINE-SCRIPTS|unsafe-inline|'unsafe-eval'/);
  const res = await page.request.get(server.url);
  assert.match(res.headers()['content-security-policy'], /frame-ancestors \*/);
  assert.equal(res.headers()['x-content-type-options'], 'nosniff');
  assert.deepEqual(cspViolations, [], 'no violation over the tests so far');
  // Control: an injected inline script is refused and reported, so an empty list means
  // something.
  await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__injected = true;';
    document.head.append(s);
  });
  await page.waitForFunction(() => true);
  for (let i = 0; i < 50 && cspViolations.length === 0; i++) await page.waitForTimeout(20);
  assert.equal(await page.evaluate(() => window.__injected === true), false, 'the injected script did not run');
  const control = cspViolations.splice(0);
  // One report per policy that refuses it: the meta tag's and the header's.
  assert.equal(control.length, 2, JSON.stringify(control));
  assert.ok(control.every((v) => v.directive === 'script-src-elem' && v.blocked === 'inline'), JSON.stringify(control));
});
