// skycase service worker: offline after the first visit.
//
// Every same-origin GET is answered from the cache when it is there, and cached when it is
// fetched, so a repeat visit makes no network request for the app, the encoder, the shards
// or the thumbnails already seen. The word-embedding chunks (bundle/words/) arrive the same
// way: those a query needs when it runs, the rest in the search worker's background
// download after the first answer, so the whole table is here before the user goes offline. The cache is named after the bundle's manifest hash, which
// scripts/build-app writes into BUILD below: a new bundle means a new sw.js, a fresh cache,
// and the old one deleted.
const BUILD = 'dev';
const CACHE = `skycase-${BUILD}`;

// The page shell is loaded before this worker exists, so it is fetched once more here; the
// search worker's downloads (encoder, shards) start only once this worker controls the page
// and are cached as they stream (see the fetch handler).
const SHELL = ['./', './style.css', './app.js', './app_bg.wasm'];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('skycase-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' || new URL(req.url).origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // A shared link (?q=…) opens the cached page; the app reads the query itself.
    const hit = await cache.match(req, { ignoreSearch: req.mode === 'navigate' });
    if (hit) return hit;
    const res = await fetch(req);
    if (res.ok && res.status === 200) await cache.put(req, res.clone());
    return res;
  })());
});
