// The bundle hosted elsewhere (README: "Hosting the bundle elsewhere"): the app on one
// origin, built with SKYCASE_BUNDLE_URL naming another that serves the bundle with CORS. The
// app loads, searches, shows checked thumbnails, works offline, and the pin still holds: a
// manifest changed on the bundle's host is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, DIST, launch, openApp, search, nativeSearch, copyDist, thumbnailsSettled, waitUntilOfflineReady, readyLine } from './harness.mjs';
import { startFaultServer } from './faultserver.mjs';

test('an app built with SKYCASE_BUNDLE_URL loads its pinned bundle from another origin', async () => {
  const data = await startFaultServer(DIST, { cors: true });
  const app = copyDist();
  const remote = `${data.url}bundle/`;
  execFileSync('python3', [join(ROOT, 'scripts/post-build'), app.dir], { env: { ...process.env, SKYCASE_BUNDLE_URL: remote }, stdio: 'pipe' });
  const index = readFileSync(join(app.dir, 'index.html'), 'utf8');
  assert.ok(index.includes(`<meta name="skycase-bundle" content="${remote}"`));
  assert.match(index, new RegExp(`connect-src 'self' ${data.url.replace(/\/$/, '').replace(/[.]/g, '\\.')};`));
  const web = await startFaultServer(app.dir);
  assert.notEqual(new URL(web.url).origin, new URL(data.url).origin);
  const browser = await launch();
  const { page } = browser;
  try {
    assert.ok((await openApp(page, web.url)).includes(readyLine()));
    assert.equal(web.requests.filter((r) => r.path.startsWith('/bundle/')).length, 0, 'no bundle file from the app origin');
    const q = 'typhoon approaching Kyushu';
    assert.deepEqual((await search(page, q)).map((h) => h.id), nativeSearch(q).map((h) => h.id));
    await thumbnailsSettled(page);
    assert.equal(await page.locator('[data-testid=result] .thumb img[src^="blob:"]').count(), nativeSearch(q).length);
    await page.waitForSelector('[data-testid=offline-ready]', { timeout: 90000 });
    assert.ok(data.requests.some((r) => r.path.startsWith('/bundle/thumbs/')));

    // The bundle's host changes the manifest: a fresh visitor's app refuses it.
    data.setFault((path) => (path === '/bundle/manifest.json' ? { corrupt: true } : null));
    const fresh = await launch();
    try {
      assert.match(await openApp(fresh.page, web.url), /could not start: manifest\.json: sha256 mismatch/);
    } finally {
      await fresh.close();
    }
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
    await web.stop();
    await data.stop();
    app.remove();
  }
});
