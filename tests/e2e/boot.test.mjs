// The app's own start: until its wasm runs, index.html says it is starting; when app.js or
// app_bg.wasm cannot be had, the page names the file instead of staying blank; once the app
// runs, that line is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DIST, launch, openApp } from './harness.mjs';
import { startFaultServer } from './faultserver.mjs';

/** A fresh profile against a fault server on dist/ that breaks `path` with `fault`. */
async function withBroken(path, fault, body) {
  const server = await startFaultServer(DIST);
  server.setFault((p) => (p === path ? fault : null));
  const browser = await launch();
  try {
    await body(server, browser);
  } finally {
    await browser.close();
    await server.stop();
  }
}

const boot = (page) => page.locator('[data-testid=boot]');

test('the starting line gives way to the app', async () => {
  await withBroken('/none', null, async (server, { page, errors }) => {
    assert.match(await openApp(page, server.url), /ready/);
    assert.equal(await boot(page).count(), 0);
    assert.deepEqual(errors, []);
  });
});

for (const [path, fault, why] of [
  ['/app_bg.wasm', { status: 500 }, /skycase could not start: .*500 Internal Server Error fetching .*\/app_bg\.wasm/],
  ['/app_bg.wasm', { corrupt: true }, /skycase could not start: .*CompileError/],
  ['/app.js', { status: 404 }, /skycase could not start: \/app\.js did not load/],
]) {
  test(`${path} answered with ${JSON.stringify(fault)}: the page says the app could not start`, async () => {
    await withBroken(path, fault, async (server, { page }) => {
      await page.goto(server.url);
      await page.waitForSelector('[data-testid=boot][data-failed]', { timeout: 20000 });
      const text = await boot(page).innerText();
      assert.match(text, why);
      assert.match(text, /Reload the page/);
      assert.equal(await page.locator('[data-testid=status]').count(), 0, 'no app mounted');
    });
  });
}

test('the failure is said in Korean for a Korean page', async () => {
  await withBroken('/app.js', { status: 404 }, async (server, { page }) => {
    await page.goto(`${server.url}?lang=ko`);
    await page.waitForSelector('[data-testid=boot][data-failed]', { timeout: 20000 });
    assert.match(await boot(page).innerText(), /skycase를 시작하지 못했습니다: \/app\.js did not load/);
  });
});
