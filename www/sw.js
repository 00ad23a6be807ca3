// skycase service worker: the page shell offline, and releases that arrive.
//
// Identity: scripts/post-build (a Trunk hook, so a plain `trunk build` too) stamps BUILD, the
// first 16 hex digits of the bundle manifest's sha256 (the page pins the full hash), and APP,
// a hash of the app's own files. Any change to the app or the bundle therefore changes this
// file, and the browser installs the new worker in the background at the next update check.
//
// Caches:
// - `skycase-app-<APP>`: the page shell (index.html, the app's and the search worker's
//   scripts and wasm, the style sheet; of the worker's two builds the one this browser
//   runs), precached on install, each revalidated with the server. This worker answers
//   only these URLs, from this cache first.
// - `skycase-v3-<BUILD>`: bundle files, written only by the search worker (src/fetch.rs)
//   after checking each against the pinned manifest. This worker never stores bundle files
//   and never answers for them: the search worker reads its cache itself.
//
// Releases: a new worker installs (precaching its shell) and then waits; the running
// version keeps serving, online and offline. The page offers the update (src/offline.rs);
// on "Reload" it sends {type: 'skip-waiting'}, this worker activates, deletes every other
// skycase cache (the old shell, an old bundle's files), claims the page, and the page
// reloads into the new release.
const BUILD = 'dev';
const APP = 'dev';
const APP_CACHE = `skycase-app-${APP}`;
// `v3`: see CACHE_PREFIX in src/fetch.rs.
const BUNDLE_CACHE = `skycase-v3-${BUILD}`;

// The page shell but the search worker, and the worker builds this app has (scripts/post-build
// writes WORKERS: `worker_relaxed` beside Trunk's `worker` when scripts/build-relaxed-worker
// has run).
const SHELL = ['./', './style.css', './app.js', './app_bg.wasm', './worker_loader.js'];
const WORKERS = ['worker'];
// Only the worker build this browser runs is precached; the other is never fetched. The
// choice is worker_loader.js's: the relaxed-SIMD build where the engine validates the same
// one-instruction module (i32x4.relaxed_dot_i8x16_i7x16_add_s), unless the page forced the
// plain build with `?simd=plain` (src/offline.rs then registers this script with it too).
const RELAXED_PROBE = (() => {
  const v128 = [0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const body = [0x00, ...v128, ...v128, ...v128, 0xfd, 0x93, 0x02, 0x0b];
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
    0x03, 0x02, 0x01, 0x00, 0x0a, body.length + 2, 0x01, body.length, ...body]);
})();
const forcedPlain = new URLSearchParams(self.location.search).get('simd') === 'plain';
const WORKER = WORKERS.includes('worker_relaxed') && !forcedPlain && WebAssembly.validate(RELAXED_PROBE) ? 'worker_relaxed' : 'worker';
const PRECACHE = [...SHELL, `./${WORKER}.js`, `./${WORKER}_bg.wasm`];
const SHELL_URLS = new Set(PRECACHE.map((path) => new URL(path, self.registration.scope).href));
const PAGE = new URL('./', self.registration.scope).href;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(APP_CACHE);
    // Revalidated (`no-cache`): an update must not precache the previous release's files,
    // and a file the page has just loaded (a first visit registers this worker once the
    // index is ready) comes from the HTTP cache after a `304`, not downloaded a second time.
    // A failure fails the install, and the running version stays.
    await cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'no-cache' })));
  })());
});

self.addEventListener('message', (event) => {
  if (event.data?.type === 'skip-waiting') self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('skycase-') && name !== APP_CACHE && name !== BUNDLE_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  url.search = '';
  url.hash = '';
  // A shared link (?q=…) opens the cached page; the app reads the query itself.
  const key = req.mode === 'navigate' && (url.href === PAGE || url.href === `${PAGE}index.html`) ? PAGE : url.href;
  if (!SHELL_URLS.has(key)) return;
  event.respondWith((async () => {
    const cache = await caches.open(APP_CACHE);
    const hit = await cache.match(key);
    return hit || fetch(req);
  })());
});
