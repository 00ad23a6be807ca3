// Browser benchmark of the partitioned index on a SYNTHETIC decade (not a test): the manifest,
// the first load, cold and warm queries with and without filters, counted as the server sends
// them (gzip bodies; leaf files are read by byte ranges, sent as they are). The decade bundle comes from `skycase decade` (vectors drawn around the
// demo month's real embeddings with a seasonal drift; scripts/src/cmd/decade.rs) inside a
// copy of the built app:
//
//   SITE=/tmp/decade-site; rm -rf $SITE; mkdir $SITE; (cd dist && cp -r $(ls | grep -v '^bundle$') $SITE/)
//   nice -n 10 $CARGO_TARGET_DIR/release/skycase decade --bundle dist/bundle --out $SITE/bundle [layout flags]
//   cd tests/e2e && nice -n 10 node bench-decade.mjs $SITE      # BENCH_FILTERS=none,month,season: some rows only
//
// More sites (the same bundle with other builds of the app): each query visits each in turn,
// so the machine's load falls on all alike and their ratios compare.
// BENCH_SERVER=nginx serves the site with Debian's nginx instead (/usr/sbin/nginx, as
// tests/e2e/nginx.test.mjs configures it: Debian's mime.types, sendfile, gzip on for JSON,
// JavaScript and wasm; bytes counted from its access log). BENCH_PHASES=1 opens the app with
// `?phases`, so the worker logs where each answer's time went (`skycase phases: …`, and
// `skycase answer: …` for the query's whole handling (episodes folded), serialising and
// `postMessage`), and prints those lines and the
// leaf ranges' network timings (Chromium's, from the request start to the last byte) per
// cold query. BENCH_SERVER=skycase,nginx: both servers, in turn as the sites. BENCH_SERVER=nginx-h2:
// nginx over HTTPS with HTTP/2, as static hosts and CDNs serve (a certificate made for
// 127.0.0.1 that this Chromium trusts by its key; nginx.mjs), where one connection carries
// every range of a round at once instead of six connections taking them in turn.
// BENCH_JSFLAGS='default,--no-wasm-dynamic-tiering' (say): each site and server once per entry,
// Chromium started with that entry as its --js-flags (`default`: none), in turn like the sites;
// e.g. V8 compiling every wasm function in its top tier at once, against its default of
// compiling functions as they get hot, to see what that compiling costs the queries.
// BENCH_SETTLE=1 waits, before a query's warm runs, until the app has saved its offline set
// (which starts 1 s after the first answer and downloads while the warm runs would go on):
// warm queries on an idle app, for comparison with the default (prints how long it waited).
// Each cold answer is also compared with `skycase search --episodes --json` on the same
// bundle and filters (browser = native: ids in order, scores within 1e-4); the count is printed.
//
// Query times are the bench's own, the same for any build of the app: from the page posting
// the query to the worker to the first frame painted after the page took the whole answer
// (an init script wraps the worker that index.html starts; `paintProbe` below). The app's own
// `data-total-ms` (since h-speed's 14:30Z change, also taken after the paint) is printed with
// BENCH_PHASES=1.
//
// Prints a Markdown table (docs/benchmarks.md carries it with the command).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { SKYCASE, launch, openApp, results, search, nativeSearch, workerHooks } from './harness.mjs';
import { startNginx } from './nginx.mjs';

const SITES = process.argv.slice(2);
if (!SITES.length) throw new Error('usage: node bench-decade.mjs SITE [SITE…] (built app folders whose bundle/ is a decade from skycase decade)');
const SITE = SITES[0];
const manifestBytes = readFileSync(join(SITE, 'bundle/manifest.json'));
const manifest = JSON.parse(manifestBytes);
const P = manifest.partitions;
if (!P) throw new Error(`${SITE}/bundle is not partitioned`);

function startLoggingServer(site) {
  return new Promise((resolve, reject) => {
    const child = spawn(SKYCASE, ['serve', site, '--port', '0', '--log-requests'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const state = { log: [], url: null, stop: () => child.kill() };
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i); buf = buf.slice(i + 1);
        const m = line.match(/^served \d+ (\d+) (\S+)/);
        if (m) state.log.push({ bytes: Number(m[1]), path: m[2] });
        const u = line.match(/http:\/\/127\.0\.0\.1:\d+\//);
        if (u && !state.url) { state.url = u[0]; resolve(state); }
      }
    });
    child.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
}

/** Debian's nginx serving SITE (nginx.mjs, gzip on for JSON, JavaScript and wasm, so leaf
 *  ranges are answered 206); the log holds { bytes, path } per answer, read from the access
 *  log (`$body_bytes_sent`) when asked (`state.log` is refreshed by `sync`). */
async function startNginxLogged(site, tls) {
  const nginx = await startNginx(site, { workers: 'auto', tls });
  const state = { url: nginx.url, spki: nginx.spki, log: [], sync: () => { state.log = nginx.log(); }, stop: nginx.stop };
  return state;
}

/** Installed after `workerHooks`: for each query id, when the page posted it, how many
 *  partial answers and files the page got meanwhile, and when the first frame after the page
 *  handled the whole answer (`Results`) was painted: a rAF, then a task after it (the paint
 *  comes between). `window.__bench[id] = { sent, painted, partials, files }`. */
function paintProbe() {
  const runs = window.__bench = {};
  let current = null;
  const hooks = window.__workerHooks;
  hooks.posted.push((msg) => {
    if (msg?.Query) current = runs[msg.Query.id] = { sent: performance.now(), partials: 0, files: 0 };
  });
  hooks.received.push((d) => {
    if (d?.Partial && current) current.partials++;
    if (d?.File && current && !current.done) current.files++;
  });
  hooks.handled.push((d) => {
    const run = d?.Results && runs[d.Results.id];
    if (run && !run.done) {
      run.done = performance.now();
      requestAnimationFrame(() => setTimeout(() => { run.painted = performance.now() - run.sent; }));
    }
  });
}
/** The probe's record of the newest query, once painted. */
async function painted(page) {
  await page.waitForFunction(() => { const ids = Object.keys(window.__bench).map(Number); return ids.length && window.__bench[Math.max(...ids)].painted !== undefined; });
  return page.evaluate(() => window.__bench[Math.max(...Object.keys(window.__bench).map(Number))]);
}

const QUERIES = ['typhoon approaching Kyushu', 'heavy snow over Hokkaido', 'clear skies across Mongolia',
  'rain along the Pacific coast of Japan', 'snow in Manchuria and the Korean Peninsula', 'cloudy East China Sea'];
// BENCH_FILTERS=none,month (say) runs only those rows.
const ONLY = process.env.BENCH_FILTERS?.split(',');
const SETTLE = Boolean(process.env.BENCH_SETTLE);
const FILTERS = [
  ['none', {}],
  ['one month (2019-02)', { from: '2019-02-01', to: '2019-02-28' }],
  ['season DJF', { months: 'DJF' }],
].filter(([label]) => !ONLY || ONLY.some((o) => label.startsWith(o === 'month' ? 'one month' : o)));

// BENCH_SERVER=skycase,nginx: both, interleaved like the sites.
const SERVERS = (process.env.BENCH_SERVER || 'skycase').split(',');
const PHASES = process.env.BENCH_PHASES === '1';
// Every site behind every server; the queries visit them in turn, so that the load of the
// machine (shared, 2 cores) falls on each alike and their ratios can be compared.
const VARIANTS = [];
const JSFLAGS = (process.env.BENCH_JSFLAGS || 'default').split(',');
for (const site of SITES) {
  for (const kind of SERVERS) {
    const server = kind.startsWith('nginx') ? await startNginxLogged(site, kind === 'nginx-h2') : await startLoggingServer(site);
    server.site = site;
    const name = `${site.replace(/\/+$/, '').split('/').pop()} · ${{ nginx: 'nginx', 'nginx-h2': 'nginx, HTTPS + HTTP/2' }[kind] ?? 'skycase serve'}`;
    for (const flags of JSFLAGS) {
      const args = flags === 'default' ? [] : [`--js-flags=${flags}`];
      VARIANTS.push({ name: JSFLAGS.length > 1 ? `${name} · js-flags ${flags}` : name, server, served: name, args });
    }
  }
}
const p50 = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
const sum = (l) => l.reduce((a, e) => a + e.bytes, 0);
const rows = [];
const load0 = loadavg();

// Cold: a fresh profile per filter setting; the first query of each is cold, the rest of the
// queries in that browser are cold too for the partitions they alone need, so the cold
// figure is each query's first visit to a fresh profile: one browser per query.
for (const [label, filters] of FILTERS) {
  const row = VARIANTS.map((v) => ({ label, variant: v.name, firstLoad: null, cold: [], warm: [] }));
  for (const q of QUERIES) for (const [vi, { server, name, args }] of VARIANTS.entries()) {
    const { cold, warm } = row[vi];
    const mark = () => { server.sync?.(); return server.log.length; };
    const since = (i) => { server.sync?.(); return server.log.slice(i); };
    const browser = await launch({ spki: server.spki, args });
    await browser.page.addInitScript(workerHooks);
    await browser.page.addInitScript(paintProbe);
    const phases = [];
    const leaves = [];
    if (PHASES) {
      browser.page.on('console', (m) => { if (/^skycase (phases|answer)/.test(m.text())) phases.push(m.text()); });
      browser.context.on('requestfinished', (r) => { if (r.url().includes('.skyleaf')) leaves.push(r.timing()); });
    }
    const i0 = mark();
    const params = new URLSearchParams(filters);
    if (PHASES) params.set('phases', '1');
    await openApp(browser.page, `${server.url}?${params}`);
    await new Promise((r) => setTimeout(r, 300));
    const load = since(i0);
    row[vi].firstLoad ??= { bytes: sum(load), requests: load.length };
    const i1 = mark();
    const sent = Date.now();
    await search(browser.page, q);
    const [appMs, encode, rank] = await browser.page.$eval('[data-testid=timings]', (el) => [el.dataset.totalMs, el.dataset.encodeMs, el.dataset.rankMs].map(Number));
    const probe = await painted(browser.page);
    const t = probe.painted;
    await new Promise((r) => setTimeout(r, 200));
    if (PHASES) {
      const first = Math.min(...leaves.map((l) => l.startTime)) - sent;
      const last = Math.max(...leaves.map((l) => l.startTime + l.responseEnd)) - sent;
      console.log(`"${q}" [${label}, ${name}]: ${t.toFixed(0)} ms sent → painted (the app's data-total-ms ${appMs.toFixed(0)}; whole answer handled at ${(probe.done - probe.sent).toFixed(0)}; ${probe.partials} partial answers, ${probe.files} files before it); ${leaves.length} leaf ranges on the network ${first.toFixed(0)}–${last.toFixed(0)} ms after sending; ${phases.join(' | ')}`);
    }
    const shown = await results(browser.page);
    const flags = Object.entries(filters).flatMap(([k, v]) => [`--${k}`, v]);
    const want = nativeSearch(q, join(server.site ?? SITE, 'bundle'), flags);
    const same = shown.length === want.length && shown.every((h, i) => h.id === want[i].id && Math.abs(h.score - want[i].score) <= 1e-4);
    row[vi].same = (row[vi].same ?? 0) + (same ? 1 : 0);
    if (!same) console.log(`browser ≠ native for "${q}" [${label}, ${name}]: ${shown.map((h) => h.id).join(' ')} vs ${want.map((h) => h.id).join(' ')}`);
    const got = since(i1).filter((e) => e.path.includes('/bundle/parts/') || e.path.includes('/bundle/words/'));
    cold.push({ ms: t, encode, rank, bytes: sum(got), requests: got.length, parts: got.filter((e) => e.path.endsWith('.skyleaf')).length });
    // Warm: the same query again (everything it needs is in memory), three times.
    if (SETTLE) {
      const t0 = Date.now();
      await browser.page.waitForSelector('[data-testid=offline-ready], [data-testid=offline-failed]', { timeout: 120000 });
      console.log(`  offline set saved ${Date.now() - t0} ms after the cold answer's check`);
    }
    for (let r = 0; r < 3; r++) {
      await browser.page.fill('[data-testid=search-input]', '');
      await browser.page.press('[data-testid=search-input]', 'Enter');
      await browser.page.waitForFunction(() => document.querySelectorAll('[data-testid=result]').length === 0);
      phases.length = 0;
      await search(browser.page, q);
      const [wApp, wEncode, wRank, wRender] = await browser.page.$eval('[data-testid=timings]', (el) => [el.dataset.totalMs, el.dataset.encodeMs, el.dataset.rankMs, el.dataset.renderMs].map(Number));
      const w = (await painted(browser.page)).painted;
      warm.push(w);
      // A warm answer is built from what the worker kept: it must be the cold one's (= native).
      const again = await results(browser.page);
      const warmSame = again.length === want.length && again.every((h, i) => h.id === want[i].id && Math.abs(h.score - want[i].score) <= 1e-4);
      row[vi].warmSame = (row[vi].warmSame ?? 0) + (warmSame ? 1 : 0);
      if (!warmSame) console.log(`warm browser ≠ native for "${q}" [${label}, ${name}]: ${again.map((h) => h.id).join(' ')} vs ${want.map((h) => h.id).join(' ')}`);
      if (PHASES) {
        await new Promise((r) => setTimeout(r, 50));
        console.log(`  warm "${q}" [${label}, ${name}]: ${w.toFixed(1)} ms sent → painted (the app's data-total-ms ${wApp.toFixed(1)}: encode ${wEncode.toFixed(1)}, worker's fetch + rank ${wRank.toFixed(1)}, page render ${wRender.toFixed(1)}); ${phases.join(' | ')}`);
      }
    }
    await browser.close();
  }
  rows.push(...row);
}
// What each server spoke (nginx logs it; `skycase serve` speaks HTTP/1.1).
const servers = new Map(VARIANTS.map((v) => [v.server, v.served]));
const protocols = [...servers].map(([server, name]) => {
  server.sync?.();
  const n = {};
  for (const e of server.log) if (e.protocol) n[e.protocol] = (n[e.protocol] ?? 0) + 1;
  return Object.keys(n).length ? `${name}: ${Object.entries(n).map(([p, c]) => `${c} requests over ${p}`).join(', ')}` : null;
}).filter(Boolean);
servers.forEach((_, server) => server.stop());
const load1 = loadavg();

const mb = (b) => (b / 1e6).toFixed(2);
const kb = (b) => (b / 1e3).toFixed(0);
const { gzipSync } = await import('node:zlib');
console.log(`decade bundle: ${P.frames} frames, ${P.rows} region vectors, ${P.periods.length} months, ${P.lists.length} lists × ≤ ${P.subs} sub-centroids; nprobe ${P.nprobe}, list_probe ${P.list_probe}`);
console.log(`manifest.json: ${kb(manifestBytes.length)} kB (${kb(gzipSync(manifestBytes).length)} kB gzip)`);
if (protocols.length) console.log(protocols.join('; '));
console.log(`load average (1/5/15 min) ${load0.map((l) => l.toFixed(1)).join(' ')} at the start, ${load1.map((l) => l.toFixed(1)).join(' ')} at the end\n`);
console.log('| filters | site · server | first load (before the first query) | cold query: bytes (requests, of which leaf ranges) p50 / max | cold query ms (sent → painted) p50 / max | … of which encode / fetch + rank, ms p50 | warm query ms (sent → painted) p50 / max | browser = native (cold answers; warm) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const b = r.cold.map((c) => c.bytes);
  const ms = r.cold.map((c) => c.ms);
  const reqs = r.cold.map((c) => c.requests);
  const parts = r.cold.map((c) => c.parts);
  console.log(`| ${r.label}${SETTLE ? " (warm: offline set saved first)" : ""} | ${r.variant} | ${mb(r.firstLoad.bytes)} MB in ${r.firstLoad.requests} requests | ${mb(p50(b))} / ${mb(Math.max(...b))} MB (${p50(reqs)}, ${p50(parts)}) | ${p50(ms).toFixed(0)} / ${Math.max(...ms).toFixed(0)} | ${p50(r.cold.map((c) => c.encode)).toFixed(0)} / ${p50(r.cold.map((c) => c.rank)).toFixed(0)} | ${p50(r.warm).toFixed(1)} / ${Math.max(...r.warm).toFixed(1)} | ${r.same ?? 0} of ${r.cold.length} (warm: ${r.warmSame ?? 0} of ${r.warm.length}) |`);
}
