// Browser benchmark (not a test): cold load bytes and time, repeat visit, query latency split
// into encode / rank / render, the 100k × 256 int8 scan in wasm, and the native numbers beside
// them. Writes docs/benchmarks.md (the section between the skycase-bench markers).
//
//   cd tests/e2e && node bench.mjs        (after scripts/build-app)
//   cd tests/e2e && node bench.mjs --peers  (after tests/e2e/peers/setup: skycase against
//                                             transformers.js, tests/e2e/peers/run.mjs)
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { ROOT, DIST, BUNDLE, SKYCASE, launch, openApp, search, waitUntilOfflineReady } from './harness.mjs';

const REPS = Number(process.env.BENCH_REPS || 5);
// The same eight as skycase_core::BENCH_QUERIES (skycase bench).
const QUERIES = ['typhoon approaching Kyushu', 'heavy snow over Hokkaido', 'clear skies across Mongolia',
  'rain along the Pacific coast of Japan', 'a typhoon over the South China Sea with clear skies in Mongolia',
  'snow in Manchuria and the Korean Peninsula', 'cloudy East China Sea', 'Honshu, Japan is experiencing a typhoon.'];

function pct(v, p) { const s = [...v].sort((a, b) => a - b); return s[Math.round((s.length - 1) * p)]; }

function startLoggingServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(SKYCASE, ['serve', DIST, '--port', '0', '--log-requests'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const state = { bytes: 0, requests: 0, log: [], url: null, stop: () => child.kill() };
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i); buf = buf.slice(i + 1);
        const m = line.match(/^served (\d+) (\d+) (\S+)/);
        if (m) { state.bytes += Number(m[2]); state.requests += 1; state.log.push({ status: Number(m[1]), bytes: Number(m[2]), path: m[3] }); }
        const u = line.match(/http:\/\/127\.0\.0\.1:\d+\//);
        if (u && !state.url) { state.url = u[0]; resolve(state); }
      }
    });
    child.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
}

if (process.argv.includes('--peers')) {
  await import('./peers/run.mjs');
  process.exit(0);
}

const server = await startLoggingServer();
// `skycase serve` gzips a file when it is first asked for (and keeps the result): do that
// now, as a static host serves files compressed ahead, so the cold load does not time it.
for (const f of readdirSync(DIST, { recursive: true }).filter((f) => /\.(html|js|css|json|wasm|gguf|skyshard)$/.test(f))) {
  await (await fetch(server.url + f, { headers: { 'accept-encoding': 'gzip' } })).arrayBuffer();
}
server.log.length = 0;
// The first Chromium start after a while pays for reading the browser itself from disk (seen
// here as a dedicated worker's script fetched 3 s late, on the first launch only). A user's
// browser is already running, so start one and a worker in a throwaway profile first: the
// measured cold load below still has a fresh profile, with nothing of the app cached.
{
  const warm = await launch();
  await warm.page.goto('about:blank');
  await warm.page.evaluate(() => new Promise((done) => {
    const w = new Worker(URL.createObjectURL(new Blob(['postMessage(1)'], { type: 'text/javascript' })));
    w.onmessage = () => { w.terminate(); done(); };
  }));
  await warm.close();
}
const browser = await launch();
const { page } = browser;
// When the page first shows "ready", on its own clock (from navigation start): the times
// below measured in node also hold the navigation itself, e.g. unloading the previous page.
await page.addInitScript(() => {
  new MutationObserver((_, observer) => {
    if (document.querySelector('[data-testid=status] [data-state=ready]')) {
      performance.mark('bench: ready');
      observer.disconnect();
    }
  }).observe(document, { subtree: true, childList: true, attributes: true });
});
const readyOnPageClock = () => page.evaluate(() => performance.getEntriesByName('bench: ready')[0]?.startTime ?? NaN);
// The search worker logs where its load time went (console.debug "skycase worker: …").
const workerLog = [];
page.on('console', (m) => { if (m.text().startsWith('skycase worker:')) workerLog.push(m.text()); });
const sum = (log, re) => log.filter((r) => re.test(r.path)).reduce((a, r) => a + r.bytes, 0);

// Cold load: fresh profile, everything before the first answer.
server.bytes = 0; server.requests = 0;
let t0 = Date.now();
await openApp(page, server.url, 120000);
const coldReadyMs = Date.now() - t0;
const coldReadyPageMs = await readyOnPageClock();
const initMs = Number(await page.getAttribute('[data-testid=status] [data-state]', 'data-init-ms'));
await search(page, QUERIES[0]);
const coldFirstAnswerMs = Date.now() - t0;
// Thumbnails of the first answer load lazily after it; count them separately.
await page.waitForTimeout(500);
const coldBytes = server.bytes; const coldRequests = server.requests;
const coldLog = [...server.log];
const coldChunks = coldLog.filter((r) => /\/words\//.test(r.path));
// Then the offline set arrives in the background: the rest of the word-embedding table, the
// overlay and every thumbnail (the app says it works offline after this).
await waitUntilOfflineReady(page);
const offlineBytes = server.bytes; const offlineRequests = server.requests;

// Query latency.
const enc = []; const rank = []; const render = []; const total = [];
for (let r = 0; r < REPS; r += 1) {
  for (const q of QUERIES) {
    await search(page, q);
    const t = page.locator('[data-testid=timings]');
    enc.push(Number(await t.getAttribute('data-encode-ms')));
    rank.push(Number(await t.getAttribute('data-rank-ms')));
    render.push(Number(await t.getAttribute('data-render-ms')));
    total.push(Number(await t.getAttribute('data-total-ms')));
  }
}

// Repeat visit in the same profile.
server.bytes = 0; server.requests = 0;
t0 = Date.now();
await openApp(page, server.url, 120000);
const repeatReadyMs = Date.now() - t0;
const repeatReadyPageMs = await readyOnPageClock();
const repeatBytes = server.bytes;

// The ranking scan in wasm: a second worker from the same build, driven by the app's protocol.
const scan = await page.evaluate(() => new Promise((resolve, reject) => {
  const w = new Worker('./worker_loader.js');
  w.onmessage = (ev) => {
    const m = ev.data;
    if (m === 'Started' || m?.Started !== undefined) w.postMessage({ BenchRank: { frames: 100000, dim: 256, reps: 20 } });
    else if (m?.BenchRank) { resolve(m.BenchRank.ms); w.terminate(); } else if (m?.Error) reject(new Error(m.Error.message));
  };
}));
await browser.close();
server.stop();

const native = JSON.parse(execFileSync(SKYCASE, ['bench', '--bundle', BUNDLE, '--json'], { encoding: 'utf8' }));
const manifest = JSON.parse(readFileSync(join(BUNDLE, 'manifest.json'), 'utf8'));
const chromium = execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).trim();
const f = (x) => x.toFixed(1);
const mb = (b) => (b / 1e6).toFixed(2);
const section = `<!-- skycase-bench:start -->
## Browser and native search (\`cd tests/e2e && node bench.mjs\`)

Run ${new Date().toISOString().slice(0, 16)}Z on ${cpus().length} × ${cpus()[0].model}, ${chromium} headless,
bundle: ${manifest.partitions?.frames ?? manifest.shards.reduce((a, s) => a + s.frames, 0)} frames${manifest.partitions ? ' (partitioned)' : ''}, vectors \`${manifest.vectors}\`, encoder \`${manifest.model.quantization}\`,
served gzip by \`skycase serve\` (gzipped before the run; byte counts are bodies as sent, i.e. gzipped). Query latencies over ${QUERIES.length} queries × ${REPS} passes.

| what | measured | target |
|---|---|---|
| cold load: bytes before the first answer | ${mb(coldBytes)} MB in ${coldRequests} requests (${coldLog.filter((r) => r.status === 304).length} of them revalidations answered 304, no body) | ≤ 12 MB |
| … of which the encoder's layers / word-embedding chunks (${coldChunks.length}) / shards / partitions / thumbnails / app and worker wasm | ${mb(sum(coldLog, /encoder\.gguf$/))} / ${mb(sum(coldLog, /\/words\//))} / ${mb(sum(coldLog, /\.skyshard$/))} / ${mb(sum(coldLog, /\.skyleaf$/))} / ${mb(sum(coldLog, /\/thumbs\//))} / ${mb(sum(coldLog, /\.wasm$/))} MB | |
| cold load: bytes until offline-ready (rest of the word table, overlay and thumbnails in the background) | ${mb(offlineBytes)} MB in ${offlineRequests} requests | |
| cold load: page open → index ready | ${f(coldReadyMs)} ms (navigation start → ready: ${f(coldReadyPageMs)} ms; worker's own load + init: ${f(initMs)} ms) | ≤ 1500 ms |
| … the worker's load, cold / repeat | ${workerLog.map((l) => l.replace('skycase worker: ', '')).join(' / ') || 'not logged'} | |
| cold load: page open → first answer shown | ${f(coldFirstAnswerMs)} ms | |
| repeat visit: bytes over the network | ${mb(repeatBytes)} MB | 0 |
| repeat visit: page open → ready | ${f(repeatReadyMs)} ms (navigation start → ready: ${f(repeatReadyPageMs)} ms) | ≤ 500 ms |
| query encode in Chromium (p50 / p95) | ${f(pct(enc, 0.5))} / ${f(pct(enc, 0.95))} ms | p50 ≤ 10 ms |
| rank (p50 / p95) | ${pct(rank, 0.5).toFixed(2)} / ${pct(rank, 0.95).toFixed(2)} ms | |
| render top 20: answer received → cards painted (p50 / p95) | ${f(pct(render, 0.5))} / ${f(pct(render, 0.95))} ms | |
| query end to end, sent → cards painted (p50 / p95) | ${f(pct(total, 0.5))} / ${f(pct(total, 0.95))} ms | p50 ≤ 25 ms |
| 100k × 256 int8 exact scan in wasm (p50 of 20) | ${f(pct(scan, 0.5))} ms | ≤ 10 ms |
| native encode (p50 / p95), \`skycase bench\` | ${native.encode_p50_ms.toFixed(1)} / ${native.encode_p95_ms.toFixed(1)} ms | |
| native 100k × 256 int8 scan (p50) | ${native.scan_p50_ms.toFixed(2)} ms | |
<!-- skycase-bench:end -->`;

const path = join(ROOT, 'docs/benchmarks.md');
let doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n\nEach section names the command that produced it. Machines here are noisy: compare numbers within one run.\n';
doc = doc.includes('<!-- skycase-bench:start -->')
  ? doc.replace(/<!-- skycase-bench:start -->[\s\S]*<!-- skycase-bench:end -->/, section)
  : `${doc.trimEnd()}\n\n${section}\n`;
writeFileSync(path, doc);
console.log(section);
