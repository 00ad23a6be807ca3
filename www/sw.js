// skycase service worker: offline after the first visit.
//
// Every same-origin GET is answered from the cache when it is there. The cache is named
// after the bundle's manifest hash, which scripts/post-build (a Trunk hook) writes into BUILD
// below: a new bundle means a new sw.js, a fresh cache, and the old one deleted. APP, a hash
// of the app's own files, is stamped too, so a release that changes only the app also
// changes this file: the browser installs the new worker, which fetches the new app files
// past the HTTP cache into the cache, and the next load runs them.
//
// Two writers share the cache:
// - this worker: the page shell (precached on install) and whatever the page fetches
//   (thumbnails, the basemap), stored as it streams to the page, or, for what the page
//   fetched before this worker took over, from the HTTP cache when the page says so;
// - the search worker (src/worker.rs): the bundle files it downloads (manifest, encoder,
//   tokenizer, projection, shards, word-embedding chunks), each stored only after it matched
//   the manifest's sha256, and its own script and wasm. It starts before this worker
//   controls the page, computes the same cache name from the manifest, and trusts what it
//   finds there without hashing it again, so this worker never stores what a worker client
//   fetched.
const BUILD = 'dev';
const APP = 'dev';
// `v2`: the search worker's naming, see CACHE_PREFIX in src/worker.rs.
const CACHE = `skycase-v2-${BUILD}`;

// The page shell is loaded before this worker exists, so it is fetched once more here; the
// search worker's own files too, so that an app update replaces them with the shell.
const SHELL = ['./', './style.css', './app.js', './app_bg.wasm', './worker_loader.js', './worker.js', './worker_bg.wasm'];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // Past the HTTP cache: an update must not precache the previous release's files.
    await cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload' })));
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

// What the page fetched before this worker controlled it (index.html sends the URLs): cached
// from the browser's HTTP cache, where the page has just put them.
self.addEventListener('message', (event) => {
  const urls = event.data?.cacheFromHttp;
  if (!Array.isArray(urls)) return;
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    for (const url of urls) {
      if (new URL(url).origin !== self.location.origin || await cache.match(url)) continue;
      const res = await fetch(url, { cache: 'force-cache' }).catch(() => null);
      if (res?.ok && res.status === 200) await cache.put(url, res);
    }
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
    if (res.ok && res.status === 200 && !(await fromWorker(event))) {
      // Stream to the page and the cache at once; waiting for the cache would hold the
      // response back until the whole body is in.
      event.waitUntil(cache.put(req, res.clone()));
    }
    return res;
  })());
});

/** Whether a worker (the search worker) made the request: it caches its files itself. */
async function fromWorker(event) {
  const client = event.clientId && await self.clients.get(event.clientId);
  return client?.type === 'worker';
}
