// skycase service worker: the page shell offline, and releases that arrive.
//
// Identity: scripts/post-build (a Trunk hook, so a plain `trunk build` too) stamps BUILD, the
// first 16 hex digits of the bundle manifest's sha256 (the page pins the full hash), and APP,
// a hash of the app's own files. Any change to the app or the bundle therefore changes this
// file, and the browser installs the new worker in the background at the next update check.
//
// Caches:
// - `skycase-app-<APP>`: the page shell (index.html, the app's and the search worker's
//   scripts and wasm, the style sheet), precached on install past the HTTP cache. This
//   worker answers only these URLs, from this cache first.
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

const SHELL = ['./', './style.css', './app.js', './app_bg.wasm', './worker_loader.js', './worker.js', './worker_bg.wasm'];
const SHELL_URLS = new Set(SHELL.map((path) => new URL(path, self.registration.scope).href));
const PAGE = new URL('./', self.registration.scope).href;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(APP_CACHE);
    // Past the HTTP cache: an update must not precache the previous release's files. A
    // failure fails the install, and the running version stays.
    await cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload' })));
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
