// The built app behind a real static web server that users deploy: Debian's nginx (package
// nginx-light) with a stock-like configuration (Debian's mime.types, sendfile, gzip on for
// the bundle's types), bound to 127.0.0.1. The partitioned bundle needs nothing from the
// server but static files: no rewrites, no headers of its own. Its leaf files are read by
// byte ranges, which stock nginx answers (206) on static files; with gzip on for their type
// (application/octet-stream below) nginx compresses instead and sends them whole (200), and
// the app slices them: both must answer as the companion does.
// Also served with gzip off: the app must not depend on compression. And over HTTPS with
// HTTP/2, as static hosts and CDNs serve it (a certificate made for 127.0.0.1 that this
// Chromium trusts by its key): the service worker, which browsers allow only on secure
// origins, must take over there too.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DIST, launch, openApp, search, nativeSearch, readyLine, waitUntilOfflineReady } from './harness.mjs';
import { ensureNginx, startNginx } from './nginx.mjs';

// The bundle's types, and the leaf files' (application/octet-stream): compressed whole, not ranged.
const GZIP_TYPES = 'text/plain text/css application/json application/javascript application/wasm application/octet-stream';

const skip = ensureNginx();
const servers = [];
after(() => servers.forEach((s) => s.stop()));

for (const [gzip, tls] of [[true, false], [false, false], [true, true]]) {
  test(`the app answers like the companion behind Debian's nginx (gzip ${gzip ? 'on' : 'off'}${tls ? ', HTTPS + HTTP/2' : ''})`, { skip: skip ?? false }, async () => {
    const server = await startNginx(DIST, { gzip, gzipTypes: GZIP_TYPES, tls });
    servers.push(server);
    // (Node's fetch would refuse the made certificate; over TLS the browser's requests say it.)
    if (!tls) {
      const head = await fetch(`${server.url}bundle/manifest.json`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(head.headers.get('content-encoding'), gzip ? 'gzip' : null, 'nginx compresses JSON only with gzip on');
    }
    const browser = await launch({ spki: server.spki });
    const leaves = [];
    browser.context.on('response', (r) => { if (r.url().endsWith('.skyleaf') && !r.request().serviceWorker()) leaves.push(r.status()); });
    try {
      const status = await openApp(browser.page, server.url);
      assert.ok(status.includes(readyLine()), status);
      for (const q of ['typhoon approaching Kyushu', 'heavy snow over Hokkaido']) {
        const web = await search(browser.page, q);
        const native = nativeSearch(q, join(DIST, 'bundle'));
        assert.deepEqual(web.map((h) => h.id), native.map((h) => h.id), `top-20 ids for "${q}"`);
        web.forEach((h, i) => assert.ok(Math.abs(h.score - native[i].score) <= 1e-4, `"${q}" #${i + 1}`));
      }
      assert.deepEqual(browser.errors, []);
      assert.ok(leaves.length > 0, 'leaf files were read');
      // gzip off: every leaf read is a byte range answered 206; gzip on: whatever nginx
      // chose (a compressed whole file is 200), the answers above are the companion's.
      if (!gzip) assert.deepEqual([...new Set(leaves)], [206], `nginx answered the leaf ranges with ${[...new Set(leaves)]}`);
      else assert.ok(leaves.every((s) => s === 200 || s === 206), String(leaves));
      if (tls) {
        const protocols = new Set(server.log().map((e) => e.protocol));
        assert.deepEqual([...protocols], ['HTTP/2.0'], 'every request over HTTP/2');
        const active = await browser.page.evaluate(async () => (await navigator.serviceWorker.ready).active !== null);
        assert.ok(active, 'the service worker is active on the HTTPS origin');
        // Offline after the first visit: with the server gone, the page opens and answers.
        await waitUntilOfflineReady(browser.page);
        await server.stop();
        const q = 'clear skies across Mongolia';
        const status = await openApp(browser.page, server.url);
        assert.ok(status.includes(readyLine()), status);
        const web = await search(browser.page, q);
        assert.deepEqual(web.map((h) => h.id), nativeSearch(q, join(DIST, 'bundle')).map((h) => h.id), `offline, "${q}"`);
      }
    } finally {
      await browser.close();
    }
  });
}
