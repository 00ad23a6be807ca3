// Releases reach returning visitors: serve version A, visit, then serve version B (another
// app build: its style sheet differs, so scripts/post-build stamps another APP into sw.js;
// and another bundle: its manifest differs, so the page's pin and sw.js's BUILD differ).
// The page offers B once it is installed, A keeps working (offline too) until the user
// reloads through the offer, and then B runs and A's caches are gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, openApp, search, copyDist, repin, waitUntilOfflineReady, nativeSearch } from './harness.mjs';
import { startFaultServer } from './faultserver.mjs';

let a;
let b;
before(() => {
  a = copyDist();
  b = copyDist();
  // Release B: a style rule A does not have (the page can tell which sheet it runs).
  appendFileSync(join(b.dir, 'style.css'), '\n.release-b-marker { outline-color: red; }\n');
  // As Trunk would: the page's subresource integrity for the new sheet, then the hook.
  const sri = `sha384-${createHash('sha384').update(readFileSync(join(b.dir, 'style.css'))).digest('base64')}`;
  const index = join(b.dir, 'index.html');
  // B's bundle: the same files under another manifest (a new export).
  const manifestPath = join(b.dir, 'bundle/manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  manifest.generator = `${manifest.generator} (release B)`;
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  writeFileSync(index, readFileSync(index, 'utf8').replace(/(href="\.\/style\.css" integrity=")[^"]*/, `$1${sri}`));
  repin(b.dir);
});
after(() => {
  a?.remove();
  b?.remove();
});

const appId = (dir) => readFileSync(join(dir, 'sw.js'), 'utf8').match(/^const APP = '([0-9a-f]+)';/m)?.[1];
const bundleId = (dir) => readFileSync(join(dir, 'sw.js'), 'utf8').match(/^const BUILD = '([0-9a-f]+)';/m)?.[1];
/** Whether the running page uses release B's style sheet. */
const runsB = (page) => page.evaluate(() => [...document.styleSheets].some((s) => [...s.cssRules].some((r) => r.cssText.includes('release-b-marker'))));
const appCaches = (page) => page.evaluate(async () => (await caches.keys()).filter((n) => n.startsWith('skycase-')).sort());

test('a new release is installed in the background, offered, and runs after the reload; A works offline until then', async () => {
  assert.notEqual(appId(a.dir), appId(b.dir), 'the two builds have different app ids');
  assert.notEqual(bundleId(a.dir), bundleId(b.dir), 'and different bundles');
  const server = await startFaultServer(a.dir);
  const browser = await launch();
  const { page, context } = browser;
  try {
    assert.match(await openApp(page, server.url), /ready/);
    await search(page, 'heavy snow over Hokkaido');
    await waitUntilOfflineReady(page);
    const before = await appCaches(page);
    assert.ok(before.includes(`skycase-app-${appId(a.dir)}`), before.join(', '));
    assert.equal(await runsB(page), false);

    // B is published. The next visit checks sw.js, installs B in the background and offers it.
    server.setRoot(b.dir);
    await openApp(page, server.url);
    await page.waitForSelector('[data-testid=update-ready]', { timeout: 30000 });
    assert.match(await page.locator('[data-testid=update-ready]').innerText(), /new version of skycase is ready/);
    assert.equal(await runsB(page), false, 'A still runs while B waits');

    // Offline, A keeps working: its shell and the bundle come from A's caches.
    await context.setOffline(true);
    try {
      assert.match(await openApp(page, server.url), /ready/);
      assert.equal(await runsB(page), false);
      assert.equal((await search(page, 'typhoon approaching Kyushu')).length, nativeSearch('typhoon approaching Kyushu').length);
    } finally {
      await context.setOffline(false);
    }

    // Online again: the offer is still there; "Reload" switches to B.
    await openApp(page, server.url);
    await page.waitForSelector('[data-testid=update-ready]', { timeout: 30000 });
    await Promise.all([page.waitForNavigation({ timeout: 30000 }), page.click('[data-testid=update-reload]')]);
    assert.match(await openApp(page, page.url()), /ready/);
    assert.equal(await runsB(page), true, 'B runs after the reload');
    assert.equal(await page.locator('[data-testid=update-ready]').count(), 0, 'no offer once B runs');
    const afterSwitch = await appCaches(page);
    assert.ok(afterSwitch.includes(`skycase-app-${appId(b.dir)}`), afterSwitch.join(', '));
    assert.ok(!afterSwitch.includes(`skycase-app-${appId(a.dir)}`), `A's shell cache is deleted: ${afterSwitch.join(', ')}`);
    // A's bundle cache is gone; B's is filled by B's search worker, checked against B's pin.
    assert.ok(before.includes(`skycase-v3-${bundleId(a.dir)}`), before.join(', '));
    assert.ok(!afterSwitch.includes(`skycase-v3-${bundleId(a.dir)}`), `A's bundle cache is deleted: ${afterSwitch.join(', ')}`);
    assert.equal((await search(page, 'clear skies across Mongolia')).length, nativeSearch('clear skies across Mongolia').length);
    await waitUntilOfflineReady(page);
    assert.deepEqual(await appCaches(page), [`skycase-app-${appId(b.dir)}`, `skycase-v3-${bundleId(b.dir)}`]);
    assert.deepEqual(browser.errors, []);
  } finally {
    await browser.close();
    await server.stop();
  }
});
