// Shared helpers for the end-to-end tests and the browser benchmark: start the companion's
// static server on 127.0.0.1, launch Debian's Chromium headless with a fresh profile, and
// drive the app through the elements it marks with data-testid.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, cpSync, readFileSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { before, after } from 'node:test';
import assert from 'node:assert/strict';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST = join(ROOT, 'dist');
export const BUNDLE = join(ROOT, 'www/bundle');

/** What the status line says once `bundle` is ready: every frame of every period it ships
 *  (its partitioned index's periods, or its shards'; the demo mixes the simulated month with
 *  real frames of other months, data/demo/PROVENANCE.md). */
export function readyLine(bundle = BUNDLE) {
  const m = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'));
  const periods = m.partitions ? m.partitions.periods : m.shards;
  return `${periods.reduce((n, p) => n + p.frames, 0)} frames (${periods.map((p) => p.period).join(', ')}) ready`;
}
const targetDir = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache/skycase/target');
export const SKYCASE = join(targetDir, 'release/skycase');

/** Starts `skycase serve DIR --port 0` and resolves to { url, stop }. */
export function startServer(dir = DIST) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(SKYCASE, ['serve', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    servers.push(child);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ url: m[0], stop: () => child.kill() });
      }
    });
    child.stderr.on('data', (d) => { out += d; });
    child.on('exit', (code) => { clearTimeout(timer); if (code) reject(new Error(`server exited ${code}: ${out}`)); });
  });
}

/** Every `securitypolicyviolation` event of every page any test file opened: the file fails
 *  (in an after hook registered here, for each file that imports the harness) if there was
 *  one, so the whole suite runs under the page's strict CSP (index.html's meta tag plus
 *  `skycase serve`'s header) without a single violation. A test that provokes one on purpose
 *  removes it from its browser's cspViolations. */
const browsers = [];
/** Every `skycase serve` that startServer started (stopped by the hook below too). */
const servers = [];
// Only in test files (bench.mjs imports the harness too and is no test).
if (process.env.NODE_TEST_CONTEXT || process.argv[1]?.endsWith('.test.mjs')) {
  // A failed test skips its own `close()` and `stop()`: the browser and servers it left keep
  // this file's process alive, and the suite would wait for it forever without a report.
  // Close every browser and stop every server, then exit with the runner's code once the
  // file's own hooks have had time to run (a process that ends by itself is not held: the
  // timer is unref'd).
  after(async () => {
    await Promise.allSettled(browsers.map((b) => b.close()));
    for (const child of servers) child.kill();
    setTimeout(() => process.exit(process.exitCode ?? 0), 20000).unref();
  });
  after(() => {
    const all = browsers.flatMap((b) => b.cspViolations);
    assert.deepEqual(all, [], `Content-Security-Policy violations: ${JSON.stringify(all, null, 1)}`);
  });
}

/** A fresh headless Chromium profile; resolves to { context, page, errors, cspViolations,
 *  close }. `spki`: the key hash of a certificate to trust (nginx.mjs with `tls`); `args`:
 *  more command-line flags (bench-decade.mjs's BENCH_JSFLAGS). */
export async function launch({ spki, args = [] } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'skycase-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', ...(spki ? [`--ignore-certificate-errors-spki-list=${spki}`] : []), ...args],
  });
  // SKYCASE_SIMD=plain runs a test file against the plain-SIMD worker build (engines without
  // relaxed SIMD, e.g. Safari): every page of the app gets `?simd=plain` before its scripts
  // run (index.html and the service worker's registration read it there; the app keeps
  // parameters it does not own in the address).
  if (process.env.SKYCASE_SIMD === 'plain') {
    await context.addInitScript(() => {
      const url = new URL(location.href);
      if (/^https?:$/.test(url.protocol) && !url.searchParams.has('simd')) {
        url.searchParams.set('simd', 'plain');
        history.replaceState(history.state, '', url.href);
      }
    });
  }
  const cspViolations = [];
  await context.exposeBinding('__skycaseCspViolation', (_source, v) => { cspViolations.push(v); });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__skycaseCspViolation({
        directive: e.effectiveDirective, blocked: e.blockedURI, at: `${e.sourceFile}:${e.lineNumber}`, sample: e.sample,
      });
    });
  });
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const browser = {
    context, page, errors, cspViolations,
    close: async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); },
  };
  browsers.push(browser);
  return browser;
}

/** Opens the app and waits until the index is loaded (or the page reports a failure). */
export async function openApp(page, url, timeout = 60000) {
  await page.goto(url);
  await page.waitForSelector('[data-testid=status] [data-state=ready], [data-testid=status] [data-state=failed]', { timeout });
  return page.locator('[data-testid=status]').innerText();
}

/** What the page shows once a query's whole answer is in: its timings line (with results
 *  or "no results"), or an error. Not the first card: while a partitioned index's answer
 *  streams, partial answers show cards before the final ranking. */
/** Installed before the page's scripts (`page.addInitScript(workerHooks)`): lets the init
 *  scripts added after it watch the search worker that index.html starts
 *  (`window.skycaseWorker`). Each adds functions to `window.__workerHooks`: `posted(msg)` for
 *  every message the page posts to the worker, `received(data)` for every message from it
 *  before the app handles it, `handled(data)` right after. */
export function workerHooks() {
  const hooks = window.__workerHooks = { posted: [], received: [], handled: [] };
  let kept;
  Object.defineProperty(window, 'skycaseWorker', {
    configurable: true,
    get: () => kept,
    set(v) {
      kept = v;
      const post = v.worker.postMessage.bind(v.worker);
      v.worker.postMessage = (msg, ...rest) => {
        hooks.posted.forEach((f) => f(msg));
        return post(msg, ...rest);
      };
      const adopt = v.adopt;
      v.adopt = (onMessage, onError) => adopt.call(v, (ev) => {
        hooks.received.forEach((f) => f(ev.data));
        onMessage(ev);
        hooks.handled.forEach((f) => f(ev.data));
      }, onError);
    },
  });
}

export const FINAL_ANSWER = '[data-testid=timings], [data-testid=query-error]';

/** Types a query, submits it and waits for its answer (a newer query id than before);
 *  returns [{ id, score, text }]. */
export async function search(page, text) {
  const before = await page.evaluate(() => Number(document.querySelector('[data-testid=timings]')?.dataset.queryId || 0));
  await page.fill('[data-testid=search-input]', text);
  await page.press('[data-testid=search-input]', 'Enter');
  await page.waitForFunction(
    ([q, prev]) => {
      const t = document.querySelector('[data-testid=timings]');
      return t && Number(t.dataset.queryId) > prev && t.textContent.includes(`“${q.trim()}”`);
    },
    [text, before], { timeout: 30000 });
  return results(page);
}

/** The rendered results. */
export async function results(page) {
  return page.$$eval('[data-testid=result]', (els) => els.map((el) => ({
    id: el.dataset.id, score: Number(el.dataset.score), text: el.textContent,
  })));
}

/** Native ranking of the same bundle as the app shows it by default, one result per
 *  episode: `skycase search --episodes --json` (plus `flags`, e.g. a filter). */
export function nativeSearch(text, bundle = BUNDLE, flags = []) {
  return nativeHits(text, bundle, ['--episodes', ...flags]).map((h) => ({ id: h.id, score: h.score, caption: h.caption }));
}

/** `skycase search --json --episodes` on a partitioned bundle (one result per episode, as the
 *  app shows them by default): { ids, scores, parts (the partitions its plan read) }. */
export function nativeParts(text, bundle, flags = []) {
  const out = JSON.parse(execFileSync(SKYCASE, ['search', text, '--bundle', bundle, '--json', '--episodes', ...flags], { encoding: 'utf8' }));
  return { ids: out.hits.map((h) => h.id), scores: out.hits.map((h) => h.score), parts: out.partitions };
}

/** The full hits of `skycase search --json` (every frame unless `flags` has --episodes). */
export function nativeHits(text, bundle = BUNDLE, flags = []) {
  const out = execFileSync(SKYCASE, ['search', text, '--bundle', bundle, '--json', ...flags], { encoding: 'utf8' });
  return JSON.parse(out).hits;
}

/** The shell files the service worker precaches (www/sw.js), but the search worker's build. */
export const SHELL = ['./', './style.css', './app.js', './app_bg.wasm', './worker_loader.js'];

/** The search worker's build a page at `url` runs, and the only one the service worker
 *  precaches: Chromium has relaxed SIMD (simd.test.mjs), `?simd=plain` forces the plain one. */
export function workerBuild(url) {
  return new URL(url).searchParams.get('simd') === 'plain' ? 'worker' : 'worker_relaxed';
}

/** Runs the async `fn(arg)` in the page every `interval` ms until it resolves truthy, and
 *  resolves to that value; throws after `timeout` ms. For conditions only an async API can
 *  read (Cache Storage): Playwright's `waitForFunction` takes synchronous predicates only —
 *  an async one returns a promise, which counts as truthy on the first call
 *  (microsoft/playwright#29132). */
export async function pollPage(page, fn, arg, { timeout = 30000, interval = 250 } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const value = await page.evaluate(fn, arg);
    if (value) return value;
    if (Date.now() > end) throw new Error(`pollPage: still false after ${timeout} ms: ${fn}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Waits until the app says it works offline (`offline-ready`; fails at once on
 *  `offline-failed`), then checks that claim independently: exactly one app cache
 *  (`skycase-app-…`, the page shell) and one bundle cache (`skycase-v3-…`), holding the shell
 *  and every file a search can show offline: the manifest, the startup files, every
 *  word-embedding chunk, the overlay and every thumbnail (the multilingual encoder's files
 *  are cached only once a Korean query has needed them). Resolves to the number of chunks. */
export async function waitUntilOfflineReady(page, timeout = 90000) {
  await page.waitForSelector('[data-testid=offline-ready], [data-testid=offline-failed]', { timeout });
  const failed = page.locator('[data-testid=offline-failed]');
  if (await failed.count()) throw new Error(`the app could not save for offline use: ${await failed.innerText()}`);
  const build = workerBuild(page.url());
  const other = build === 'worker' ? 'worker_relaxed' : 'worker';
  const state = await page.evaluate(async ([shell, other]) => {
    const names = (await caches.keys()).filter((n) => n.startsWith('skycase-'));
    const appNames = names.filter((n) => n.startsWith('skycase-app-'));
    const bundleNames = names.filter((n) => n.startsWith('skycase-v3-'));
    const app = appNames.length === 1 && await caches.open(appNames[0]);
    const bundle = bundleNames.length === 1 && await caches.open(bundleNames[0]);
    const manifestRes = bundle && await bundle.match('./bundle/manifest.json');
    const missing = [];
    for (const url of shell) if (!app || !await app.match(url)) missing.push(url);
    // The other build is never fetched, so never cached.
    for (const url of [`./${other}.js`, `./${other}_bg.wasm`]) if (app && await app.match(url)) missing.push(`not ${url}`);
    if (!manifestRes) return { names, missing: [...missing, './bundle/manifest.json'], chunks: 0 };
    const manifest = await manifestRes.json();
    const chunks = manifest.model.word_embeddings.chunks.map((c) => c.path);
    const files = [...manifest.files.filter((f) => !f.role.startsWith('multilingual-')).map((f) => f.path),
      ...manifest.shards.map((s) => s.path), ...chunks];
    // A partitioned index small enough for one query to fetch whole is saved whole
    // (src/worker/parts.rs); a larger one keeps what queries fetched.
    const p = manifest.partitions;
    if (p && p.lists.reduce((a, l) => a + l.part_bytes, 0) <= p.exact_below) {
      const pad = (n) => String(n).padStart(3, '0');
      for (const l of p.lists) {
        files.push(l.path);
        const res = await bundle.match(`./bundle/${l.path}`);
        if (!res) continue;
        const list = await res.json();
        // Each partition is cached under its segment key (src/worker/parts.rs); skypart-3:
        // its rows area (the same range) and its records area, what the exact scan reads.
        list.sub.forEach((sub, i) => {
          const path = `parts/${pad(list.list)}-${pad(sub)}-${list.leaves[sub]}.skyleaf`;
          files.push(`${path}?bytes=${list.offset[i]}-${list.offset[i] + list.bytes[i] - 1}`);
          if (list.recs_at) files.push(`${path}?bytes=${list.recs_at[i]}-${list.recs_at[i] + list.recs_bytes[i] - 1}`);
        });
      }
    }
    for (const p of files) if (!await bundle.match(`./bundle/${p}`)) missing.push(`./bundle/${p}`);
    return { names, missing, chunks: chunks.length };
  }, [[...SHELL, `./${build}.js`, `./${build}_bg.wasm`], other]);
  if (state.names.length !== 2) throw new Error(`expected one app cache and one bundle cache, found: ${state.names.join(', ')}`);
  if (state.missing.length) {
    throw new Error(`the app says it works offline, but the cache lacks (or has, "not …") ${state.missing.slice(0, 8).join(', ')}${state.missing.length > 8 ? ` and ${state.missing.length - 8} more` : ''}`);
  }
  return state.chunks;
}

/** Every bundle file in the bundle cache, each checked against the manifest (the cached
 *  manifest checked against the page's pin): resolves to { files, wrong } where `wrong` lists
 *  the paths whose bytes do not match (there must be none: nothing unchecked is cached). */
export async function bundleCacheCheck(page) {
  return page.evaluate(async () => {
    const hex = async (buf) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', buf))].map((b) => b.toString(16).padStart(2, '0')).join('');
    const name = (await caches.keys()).find((n) => n.startsWith('skycase-v3-'));
    if (!name) return { files: [], wrong: [] };
    const cache = await caches.open(name);
    const [pinSha, pinBytes] = document.querySelector('meta[name=skycase-manifest]').content.split(' ');
    const entries = new Map();
    const wrong = [];
    const manifestRes = await cache.match('./bundle/manifest.json');
    if (manifestRes) {
      const buf = await manifestRes.arrayBuffer();
      if (await hex(buf) !== pinSha || buf.byteLength !== Number(pinBytes)) wrong.push('manifest.json');
      const m = JSON.parse(new TextDecoder().decode(buf));
      for (const f of [...m.files, ...m.shards, ...m.model.word_embeddings.chunks]) entries.set(f.path, f);
      // The partitioned index: list files by the manifest, partitions by their (cached) list.
      // skypart-3 (32 hex digits: the first 128 bits of a sha256): rows and codes areas by
      // the list; a records area by the hash its (cached) rows or codes area starts with; a
      // row block (16 rows of a rows area) by the block hash its (cached) codes area holds.
      const p = m.partitions;
      const pad = (n) => String(n).padStart(3, '0');
      const head = async (key, at, n) => {
        const r = await cache.match(`./bundle/${key}`);
        const b = r && new Uint8Array(await r.arrayBuffer());
        return b && b.length >= at + n ? [...b.slice(at, at + n)].map((x) => x.toString(16).padStart(2, '0')).join('') : undefined;
      };
      for (const l of p?.lists ?? []) {
        entries.set(l.path, l);
        const res = await cache.match(`./bundle/${l.path}`);
        const list = res && await res.json().catch(() => null);
        const h = list && list.sha256.length / list.sub.length;
        list?.sub.forEach((sub, i) => {
          const path = `parts/${pad(list.list)}-${pad(sub)}-${list.leaves[sub]}.skyleaf`;
          const key = (at, n) => `${path}?bytes=${at}-${at + n - 1}`;
          const rows = key(list.offset[i], list.bytes[i]);
          entries.set(rows, { sha256: list.sha256.slice(i * h, (i + 1) * h), bytes: list.bytes[i] });
          if (!list.codes_at) return;
          const codes = key(list.codes_at[i], list.codes_bytes[i]);
          entries.set(codes, { sha256: list.codes_sha.slice(i * 32, (i + 1) * 32), bytes: list.codes_bytes[i] });
          entries.set(key(list.recs_at[i], list.recs_bytes[i]), { bytes: list.recs_bytes[i], sha: async () => await head(rows, 0, 16) ?? await head(codes, 0, 16) });
          const rb = 8 + p.dim;
          for (let b = 0; b * 16 < list.rows[i]; b++) {
            const n = Math.min(16, list.rows[i] - b * 16);
            entries.set(key(list.offset[i] + 16 + b * 16 * rb, n * rb), { bytes: n * rb, sha: () => head(codes, 16 * (1 + b), 16) });
          }
        });
      }
      // The leaf directory (crates/core/src/partition/leaves.rs), and each leaf's tail by it:
      // per leaf, its centroid (4 + dim bytes), name (8), tail start and bytes (u32 each),
      // the tail's hash (16) and its vectors' row counts.
      if (p?.leaves) {
        entries.set(p.leaves.path, p.leaves);
        const res = await cache.match(`./bundle/${p.leaves.path}`);
        const dir = res && new DataView(await res.arrayBuffer());
        if (dir && dir.byteLength >= 28) {
          const [dim, lists, subs, vectors] = [12, 16, 20, 24].map((o) => dir.getUint32(o, true));
          const per = 4 + dim + 8 + 8 + 16 + vectors;
          const bytesAt = (at, n) => [...new Uint8Array(dir.buffer, at, n)].map((x) => x.toString(16).padStart(2, '0')).join('');
          for (let i = 0; i < lists * subs && 28 + (i + 1) * per <= dir.byteLength; i++) {
            const at = 28 + i * per + 4 + dim;
            const name = bytesAt(at, 8);
            if (name === '0000000000000000') continue;
            const [start, n] = [dir.getUint32(at + 8, true), dir.getUint32(at + 12, true)];
            entries.set(`parts/${pad(Math.floor(i / subs))}-${pad(i % subs)}-${name}.skyleaf?bytes=${start}-${start + n - 1}`, { sha256: bytesAt(at + 16, 16), bytes: n });
          }
        }
      }
    }
    const files = [];
    for (const req of await cache.keys()) {
      // A partition's key keeps its byte range (`?bytes=a-b`).
      const u = new URL(req.url);
      const path = (u.pathname + u.search).replace(/^.*?\/bundle\//, '');
      files.push(path);
      if (path === 'manifest.json') continue;
      // The worker's record of the periods saved for offline use (src/worker/parts.rs).
      if (path === '.saved-periods.json') {
        if (!Array.isArray(await (await cache.match(req)).json().catch(() => null))) wrong.push(path);
        continue;
      }
      const e = entries.get(path);
      const buf = await (await cache.match(req)).arrayBuffer();
      const sha = e && (e.sha256 ?? await e.sha());
      if (!e || !sha || e.bytes !== buf.byteLength || !(await hex(buf)).startsWith(sha) || ![32, 64].includes(sha.length)) wrong.push(path);
    }
    return { files, wrong };
  });
}

/** Runs scripts/post-build on a built folder again, as a rebuild would after its bundle or
 *  app files changed: the page is pinned to the folder's manifest and sw.js restamped. */
export function repin(dir) {
  execFileSync('python3', [join(ROOT, 'scripts/post-build'), dir], { stdio: 'pipe' });
}

/** Waits until no result thumbnail is still on its way (each is an image or says why not). */
export async function thumbnailsSettled(page, timeout = 30000) {
  await page.waitForFunction(() => !document.querySelector('[data-testid=thumb-loading]'), null, { timeout });
}

/** For every test of the calling file: the built app served (from `dir`) and one Chromium,
 *  started in its `before` and closed in its `after`; `use(server, browser)` receives both. */
export function serveAndLaunch(use, dir = DIST) {
  let server;
  let browser;
  before(async () => {
    server = await startServer(dir);
    browser = await launch();
    use(server, browser);
  });
  after(async () => {
    await browser?.close();
    server?.stop();
  });
}

/** A copy of dist/ (as copyDist) whose bundle is a small SYNTHETIC three-month partitioned
 *  index, written by `skycase decade` around the demo's November shard and pinned by the page;
 *  `bundle` is its folder. `flags`: more of `skycase decade`'s (e.g. `--format skypart-2`, the
 *  earlier layout; the default is skypart-3). */
export function copyDistWithSyntheticMonths(flags = []) {
  const copy = copyDist();
  const bundle = join(copy.dir, 'bundle');
  const out = join(copy.dir, 'synthetic');
  execFileSync(SKYCASE, ['decade', '--shard', join(ROOT, 'data/demo/index/2017-11.skyshard'), '--bundle', bundle, '--out', out,
    '--start', '2015-01', '--months', '3', '--cadence', '360', '--lists', '3', '--subs', '4', '--nprobe', '2', '--list-probe', '1',
    '--exact-below', '0', '--sample', '5000', ...flags], { stdio: ['ignore', 'ignore', 'inherit'] });
  rmSync(bundle, { recursive: true, force: true });
  execFileSync('mv', [out, bundle]);
  repin(copy.dir); // the page pins its bundle's manifest
  return { ...copy, bundle };
}

/** For every test of the calling file: copyDistWithSyntheticMonths(flags) served, made in its
 *  `before` and removed in its `after`; `use(server, copy)` receives both. */
export function serveSyntheticMonths(use, flags = []) {
  let copy;
  let server;
  before(async () => {
    copy = copyDistWithSyntheticMonths(flags);
    server = await startServer(copy.dir);
    use(server, copy);
  });
  after(() => {
    server?.stop();
    copy?.remove();
  });
}

/** A throwaway copy of dist/ to break on purpose. */
export function copyDist() {
  const dir = mkdtempSync(join(tmpdir(), 'skycase-dist-'));
  cpSync(DIST, dir, { recursive: true });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every partition of a partitioned bundle on disk, from its manifest and list files:
 *  { key (leaf path + `?bytes=a-b`, as `skycase search --json` and the browser's cache name
 *  it), path, start, end (exclusive), period (YYYY-MM), bytes }; in a skypart-3 bundle also
 *  its areas, each { path, start, end }: rows (the same bytes as start–end), codes, recs. */
export function segments(bundle) {
  const m = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'));
  const pad = (n) => String(n).padStart(3, '0');
  const out = [];
  for (const l of m.partitions.lists) {
    const list = JSON.parse(readFileSync(join(bundle, l.path), 'utf8'));
    list.sub.forEach((sub, i) => {
      const path = `parts/${pad(list.list)}-${pad(sub)}-${list.leaves[sub]}.skyleaf`;
      const [start, bytes] = [list.offset[i], list.bytes[i]];
      const segment = { key: `${path}?bytes=${start}-${start + bytes - 1}`, path, start, end: start + bytes, bytes, period: m.partitions.periods[list.period[i]].period };
      if (list.codes_at) {
        const area = (at, n) => ({ path, start: at, end: at + n });
        Object.assign(segment, { rows: area(start, bytes), codes: area(list.codes_at[i], list.codes_bytes[i]), recs: area(list.recs_at[i], list.recs_bytes[i]) });
      }
      out.push(segment);
    });
  }
  return out;
}

/** The byte range a `Range: bytes=a-b` header asks for as [a, b + 1); the whole file without one. */
export function askedRange(header, fileBytes) {
  const m = /^bytes=(\d+)-(\d+)$/.exec(header ?? '');
  return m ? [Number(m[1]), Number(m[2]) + 1] : [0, fileBytes];
}
