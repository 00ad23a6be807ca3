// `node bench.mjs --peers`: skycase's search worker against transformers.js (onnxruntime-web,
// wasm, one thread) on the same all-MiniLM-L6-v2, in one headless Chromium, interleaved.
// Writes the section between the skycase-peers markers of docs/benchmarks.md.
//
// Engines: `skycase` (the built app, dist/, served by `skycase serve` with gzip), `tjs fp32`,
// `tjs int8` (per-tensor, transformers.js' q8 settings), `tjs int8 per-channel` (its v2
// converter's settings); tests/e2e/peers/setup installs transformers.js and exports the models.
//
// Cold: ROUNDS rounds (PEERS_ROUNDS, default 3), each engine in a fresh browser context (no
// cache), order rotated per round; ready = navigation start → ready on the page's clock (the
// app: its status says ready; transformers.js: the pipeline is built); bytes = bodies the
// servers sent until then (gzip). Encode: the last round's pages stay open; after 5 warm-up
// queries each, PASSES passes (PEERS_PASSES, default 5) over the 40 queries of queries.json,
// engines interleaved query by query; each time is the worker's own clock around the encoder
// call (skycase: tokenize + encode + project, ranking excluded; transformers.js: tokenize +
// model + pooling + normalisation). Cosine: worst over tests/fixtures/minilm_reference.json
// (skycase's from `skycase bench --fixture`, the same bits as the browser's).
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg, homedir } from 'node:os';
import { chromium } from 'playwright-core';
import { ROOT, DIST, BUNDLE, SKYCASE, search, waitUntilOfflineReady } from '../harness.mjs';
import { servePeers } from './serve.mjs';

const HERE = join(ROOT, 'tests/e2e/peers');
const MODELS = process.env.SKYCASE_PEERS_MODELS || join(homedir(), '.cache/skycase/peers/models');
const ROUNDS = Number(process.env.PEERS_ROUNDS || 3);
const PASSES = Number(process.env.PEERS_PASSES || 5);
const QUERIES = JSON.parse(readFileSync(join(HERE, 'queries.json'), 'utf8')).queries;
const FIXTURE = join(ROOT, 'tests/fixtures/minilm_reference.json');
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const ENGINES = [
  { name: 'skycase', label: 'skycase worker' },
  { name: 'fp32', label: 'transformers.js fp32', query: 'model=all-MiniLM-L6-v2&dtype=fp32' },
  { name: 'int8', label: 'transformers.js int8 (per-tensor, its q8 defaults)', query: 'model=all-MiniLM-L6-v2&dtype=q8' },
  { name: 'int8pc', label: 'transformers.js int8 per-channel', query: 'model=all-MiniLM-L6-v2-pc&dtype=q8' },
];
const pct = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.round((s.length - 1) * p)]; };
const log = (...a) => console.error(new Date().toISOString().slice(11, 19), ...a);

function need(path, what) {
  if (!existsSync(path)) {
    console.error(`bench --peers: ${path} is missing (${what}). Run tests/e2e/peers/setup first.`);
    process.exit(2);
  }
}
need(join(HERE, 'node_modules/@huggingface/transformers/dist/transformers.min.js'), 'transformers.js from npm');
need(join(MODELS, 'all-MiniLM-L6-v2-pc/onnx/model_quantized.onnx'), 'the exported ONNX models');
need(join(DIST, 'index.html'), 'the built app: scripts/build-app');

/** `skycase serve DIST --log-requests`, counting body bytes (gzip) as the bench does. */
function serveApp() {
  return new Promise((resolve, reject) => {
    const child = spawn(SKYCASE, ['serve', DIST, '--port', '0', '--log-requests'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let sent = 0; let buf = ''; let url;
    child.stdout.on('data', (d) => {
      buf += d;
      for (let i; (i = buf.indexOf('\n')) >= 0;) {
        const line = buf.slice(0, i); buf = buf.slice(i + 1);
        const m = line.match(/^served \d+ (\d+) /);
        if (m) sent += Number(m[1]);
        const u = line.match(/http:\/\/127\.0\.0\.1:\d+\//);
        if (u && !url) { url = u[0]; resolve({ url, bytes: () => sent, stop: () => child.kill() }); }
      }
    });
    child.on('exit', (c) => { if (!url) reject(new Error(`skycase serve exited ${c}`)); });
  });
}

const app = await serveApp();
const peers = await servePeers({
  web: join(HERE, 'web'),
  transformers: join(HERE, 'node_modules/@huggingface/transformers/dist'),
  ort: join(HERE, 'node_modules/onnxruntime-web/dist'),
  models: MODELS,
});
// Compress ahead what either side serves, so no cold load times a server's gzip.
for (const f of readdirSync(DIST, { recursive: true }).filter((f) => /\.(html|js|css|json|wasm|gguf|skyshard|skypart)$/.test(f))) {
  await (await fetch(app.url + f, { headers: { 'accept-encoding': 'gzip' } })).arrayBuffer();
}
const modelFiles = readdirSync(MODELS, { recursive: true }).filter((f) => /\.(json|onnx|txt)$/.test(f)).map((f) => `models/${f}`);
await peers.warm(['tjs.html', 'tjs-page.js', 'tjs-worker.js', 'lib/transformers.min.js', 'ort/ort-wasm-simd-threaded.asyncify.mjs', 'ort/ort-wasm-simd-threaded.asyncify.wasm', ...modelFiles]);

// As bench.mjs: the first Chromium start after a while reads the browser from disk.
{
  const warm = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ARGS });
  await (await warm.newPage()).goto('about:blank');
  await warm.close();
}
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ARGS });
const chromiumVersion = browser.version();

/** Opens one engine in a fresh context: { context, page, readyMs, bytes }. */
async function open(engine) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => log(engine.name, 'page error', String(e)));
  const server = engine.name === 'skycase' ? app : peers;
  const before = server.bytes();
  let readyMs;
  if (engine.name === 'skycase') {
    await page.addInitScript(() => {
      new MutationObserver((_, o) => {
        if (document.querySelector('[data-testid=status] [data-state=ready]')) { performance.mark('peers: ready'); o.disconnect(); }
      }).observe(document, { subtree: true, childList: true, attributes: true });
    });
    await page.goto(app.url);
    await page.waitForSelector('[data-testid=status] [data-state=ready]', { timeout: 120000 });
    readyMs = await page.evaluate(() => performance.getEntriesByName('peers: ready')[0].startTime);
  } else {
    await page.goto(`${peers.url}tjs.html?${engine.query}`);
    readyMs = (await page.evaluate(() => window.peer.ready)).readyMs;
  }
  return { context, page, readyMs, bytes: server.bytes() - before };
}

const cold = Object.fromEntries(ENGINES.map((e) => [e.name, []]));
const pages = {};
for (let r = 0; r < ROUNDS; r += 1) {
  for (let i = 0; i < ENGINES.length; i += 1) {
    const engine = ENGINES[(i + r) % ENGINES.length];
    const o = await open(engine);
    cold[engine.name].push({ ms: o.readyMs, bytes: o.bytes });
    log(`cold ${engine.name} round ${r}: ${o.readyMs.toFixed(0)} ms, ${(o.bytes / 1e6).toFixed(2)} MB, load ${loadavg()[0].toFixed(2)}`);
    if (r + 1 < ROUNDS) await o.context.close(); else pages[engine.name] = o.page;
  }
}

/** One query on one engine: the encoder's milliseconds (and the vector, for transformers.js). */
async function encode(name, text, withVector = false) {
  if (name === 'skycase') {
    await search(pages.skycase, text);
    return { ms: Number(await pages.skycase.locator('[data-testid=timings]').getAttribute('data-encode-ms')) };
  }
  return pages[name].evaluate(([t, v]) => window.peer.encode(t, v), [text, withVector]);
}

for (const q of QUERIES.slice(0, 5)) for (const e of ENGINES) await encode(e.name, q);
// The app fetches the rest of its word table (and its offline set) after the first answer:
// let that finish, and V8's background tier-up settle, before timing.
await waitUntilOfflineReady(pages.skycase, 180000);
await new Promise((r) => setTimeout(r, 10000));
const loadStart = loadavg()[0];
const times = Object.fromEntries(ENGINES.map((e) => [e.name, []]));
for (let p = 0; p < PASSES; p += 1) {
  for (const q of QUERIES) for (const e of ENGINES) times[e.name].push((await encode(e.name, q)).ms);
  log(`pass ${p} done, load ${loadavg()[0].toFixed(2)}`);
}
const loadEnd = loadavg()[0];

// Cosine to sentence-transformers' f32 embeddings, and transformers.js' token counts.
const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')).items;
const unit = (v) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
const cosine = {};
const tokens = [];
for (const e of ENGINES.filter((e) => e.name !== 'skycase')) {
  cosine[e.name] = 1;
  for (const it of fixture) {
    const { vector } = await encode(e.name, it.text, true);
    const a = unit(vector); const b = unit(it.embedding);
    cosine[e.name] = Math.min(cosine[e.name], a.reduce((s, x, i) => s + x * b[i], 0));
  }
}
for (const q of QUERIES) tokens.push((await encode('fp32', q, true)).ntok);
await browser.close();
app.stop(); peers.stop();
const native = JSON.parse(execFileSync(SKYCASE, ['bench', '--bundle', BUNDLE, '--reps', '1', '--scan-frames', '1000', '--fixture', FIXTURE, '--json'], { encoding: 'utf8' }));
cosine.skycase = native.fixture_worst_cosine;
const manifest = JSON.parse(readFileSync(join(BUNDLE, 'manifest.json'), 'utf8'));
const tjsVersion = JSON.parse(readFileSync(join(HERE, 'node_modules/@huggingface/transformers/package.json'), 'utf8')).version;
const ortVersion = JSON.parse(readFileSync(join(HERE, 'node_modules/onnxruntime-web/package.json'), 'utf8')).version;

const stat = (name) => ({
  p50: pct(times[name], 0.5), p95: pct(times[name], 0.95),
  cold: pct(cold[name].map((c) => c.ms), 0.5), mb: pct(cold[name].map((c) => c.bytes), 0.5) / 1e6,
});
const s = Object.fromEntries(ENGINES.map((e) => [e.name, stat(e.name)]));
// Paired ratio: each query's skycase time over the same query's time on the other engine
// (sent right after it), median over all queries and passes.
const paired = (name) => pct(times.skycase.map((t, i) => t / times[name][i]), 0.5);
const rows = ENGINES.map((e) => {
  const x = s[e.name];
  const ratio = e.name === 'skycase' ? '1' : `${(s.skycase.p50 / x.p50).toFixed(2)} (paired ${paired(e.name).toFixed(2)})`;
  return `| ${e.label} | ${x.p50.toFixed(1)} / ${x.p95.toFixed(1)} ms | ${ratio} | ${(x.cold / 1000).toFixed(2)} s (${cold[e.name].map((c) => (c.ms / 1000).toFixed(2)).join(', ')}) | ${x.mb.toFixed(2)} | ${cosine[e.name].toFixed(4)} |`;
});
const section = `<!-- skycase-peers:start -->
## skycase against transformers.js (\`cd tests/e2e && node bench.mjs --peers\`)

Run ${new Date().toISOString().slice(0, 16)}Z on ${cpus().length} × ${cpus()[0].model} (load average ${loadStart.toFixed(1)} → ${loadEnd.toFixed(1)} during the passes),
Chromium ${chromiumVersion} headless, one browser, each engine in its own context; transformers.js ${tjsVersion} with
onnxruntime-web ${ortVersion} (wasm, one thread, no cross-origin isolation), models exported by tests/e2e/peers/setup from the
same PyPI weights; skycase encoder \`${manifest.model.quantization}\`. ${QUERIES.length} queries of ${Math.min(...tokens)}–${Math.max(...tokens)} tokens × ${PASSES} passes,
engines interleaved query by query; cold = median of ${ROUNDS} fresh contexts, navigation start → ready; MB = bodies sent
until ready (gzip). skycase's cosine is the companion's (\`skycase bench --fixture\`), which computes the browser's bits.

| engine | encode p50 / p95 | skycase p50 ÷ this p50 | cold: navigation → ready (runs) | MB at ready | worst cosine to f32 (12 sentences) |
|---|---|---|---|---|---|
${rows.join('\n')}
<!-- skycase-peers:end -->`;

const path = join(ROOT, 'docs/benchmarks.md');
let doc = readFileSync(path, 'utf8');
doc = doc.includes('<!-- skycase-peers:start -->')
  ? doc.replace(/<!-- skycase-peers:start -->[\s\S]*<!-- skycase-peers:end -->/, section)
  : doc.replace('<!-- skycase-bench:start -->', `${section}\n\n<!-- skycase-bench:start -->`);
writeFileSync(path, doc);
console.log(section);
