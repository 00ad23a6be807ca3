// The leaf directory of a skypart-3 bundle (issue 11; skycase_core::partition::leaves) in real
// Chromium: a query without a filter that leaves a month out reads no list file, only its
// leaves' tails (their codes areas and the directory of their months, one range each) and then
// its row blocks with their records, and answers as `skycase search` does; a month filter plans
// by that month's directory (skycase_core::partition::months), no list file either. A small
// SYNTHETIC three-month bundle from `skycase decade` whose plan reads every leaf as codes
// (`--int8-leaves 0`, what the directory plans). Also, on the same bundle, the worker's
// rehearsal of its first answers (src/worker.rs `rehearse`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, openApp, search, serveSyntheticMonths, askedRange, nativeParts, pollPage, bundleCacheCheck } from './harness.mjs';

let copy;
let server;
let bundle;
let manifest;

serveSyntheticMonths((s, c) => {
  server = s;
  copy = c;
  bundle = c.bundle;
  manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'));
}, ['--format', 'skypart-3', '--code-bytes', '32', '--int8-leaves', '0', '--rerank', '20']);

/** Opens `?q=…&…` in a fresh browser and waits for the answer; returns the hits and every
 *  bundle request after the page was ready: { path, start, end } (whole files: start 0). */
async function ask(params) {
  const browser = await launch();
  const asked = [];
  let ready = false;
  browser.context.on('request', (r) => {
    if (!ready || r.serviceWorker() || !r.url().includes('/bundle/')) return;
    const path = new URL(r.url()).pathname.replace(/^\/bundle\//, '');
    const size = statSync(join(bundle, path)).size;
    const [start, end] = r.headers().range ? askedRange(r.headers().range, size) : [0, size];
    asked.push({ path, start, end });
  });
  const { q, ...rest } = params;
  await openApp(browser.page, `${server.url}?${new URLSearchParams(rest)}`);
  ready = true;
  const hits = await search(browser.page, q);
  await browser.close();
  return { hits, asked };
}

test('skypart-3 with a leaf directory: the directory is a startup file, and an unfiltered query reads no list file, its leaves by their tails, = native', async () => {
  const leaves = manifest.partitions.leaves;
  assert.ok(leaves && leaves.path.startsWith('parts/leaves-') && leaves.bytes === statSync(join(bundle, leaves.path)).size, JSON.stringify(leaves));
  let read = 0;
  for (const q of ['typhoon approaching Kyushu', 'clear skies across Mongolia', 'heavy snow']) {
    const want = nativeParts(q, bundle);
    assert.ok(want.ids.length > 0, `${q}: native hits`);
    const { hits, asked } = await ask({ q });
    assert.deepEqual(hits.map((h) => h.id), want.ids, q);
    hits.forEach((h, i) => assert.ok(Math.abs(h.score - want.scores[i]) <= 1e-4, `${q} #${i + 1}: wasm ${h.score} vs native ${want.scores[i]}`));
    const leafReads = asked.filter((a) => a.path.endsWith('.skyleaf'));
    assert.ok(!asked.some((a) => /^parts\/(lists|months)\//.test(a.path)), `${q}: no list file or month directory read: ${JSON.stringify(asked)}`);
    // Round 2: one range a leaf, to the end of its file (its tail); then row blocks.
    const tails = leafReads.filter((a) => a.end === statSync(join(bundle, a.path)).size);
    assert.ok(tails.length >= 1, `${q}: tails read: ${JSON.stringify(leafReads)}`);
    read += tails.length;
    assert.equal(new Set(tails.map((a) => a.path)).size, tails.length, `${q}: one tail a leaf`);
    assert.ok(leafReads.length > tails.length, `${q}: row blocks read after the tails`);
  }
  assert.ok(read > 3, `some plans read several leaves (${read} tails for 3 queries)`);
});

test('skypart-3 with a leaf directory: a one-month filter plans by its month directory, no list file, = native', async () => {
  const q = 'heavy snow over Hokkaido';
  const { hits, asked } = await ask({ q, months: 'Feb' });
  const plans = asked.filter((a) => /^parts\/(lists|months)\//.test(a.path)).map((a) => a.path);
  assert.equal(plans.length, 1, `one plan file: ${JSON.stringify(plans)}`);
  assert.match(plans[0], /^parts\/months\/2015-02-[0-9a-f]{16}\.json$/);
  assert.ok(hits.length > 0 && hits.every((h) => h.id.startsWith('syn-201502')), JSON.stringify(hits.map((h) => h.id)));
  assert.deepEqual(hits.map((h) => h.id), nativeParts(q, bundle, ['--months', 'Feb']).ids);
});

test('skypart-3 with a leaf directory: once a month is saved offline, queries plan through the list files, and offline an unfiltered one answers from that month', async () => {
  const browser = await launch();
  const { page, context } = browser;
  const asked = [];
  context.on('request', (r) => {
    if (!r.url().includes('/bundle/parts/') || r.serviceWorker()) return;
    const path = new URL(r.url()).pathname.replace(/^\/bundle\//, '');
    const size = statSync(join(bundle, path)).size;
    asked.push({ path, end: r.headers().range ? askedRange(r.headers().range, size)[1] : size, size });
  });
  await openApp(page, server.url);
  await page.click('[data-testid=offline-period] summary');
  await page.fill('[data-testid=offline-period-from]', '2015-02-01');
  await page.fill('[data-testid=offline-period-to]', '2015-02-28');
  await page.click('[data-testid=offline-period-estimate]');
  await page.locator('[data-testid=offline-period-estimate-text]').waitFor({ timeout: 30000 });
  await page.click('[data-testid=offline-period-save]');
  await page.waitForSelector('[data-testid=offline-period-saved], [data-testid=offline-period-failed]', { timeout: 90000 });
  assert.equal(await page.locator('[data-testid=offline-period-failed]').count(), 0);
  // What is saved is areas by month, found through the list files: a query now plans by them.
  asked.length = 0;
  const q = 'cloudy';
  const hits = await search(page, q);
  const leafReads = asked.filter((a) => a.path.endsWith('.skyleaf'));
  assert.ok(leafReads.length > 0 && leafReads.every((a) => a.end < a.size), `no tail read: ${JSON.stringify(asked)}`);
  assert.deepEqual(hits.map((h) => h.id), nativeParts(q, bundle).ids, 'online, = native');
  // Offline, the saved month answers an unfiltered query (its other months named as missing).
  await page.waitForSelector('[data-testid=offline-ready]', { timeout: 60000 });
  await context.setOffline(true);
  const offline = await search(page, 'typhoon');
  assert.ok(offline.length > 0 && offline.every((h) => h.id.startsWith('syn-201502')), JSON.stringify(offline.map((h) => h.id)));
  await context.setOffline(false);
  await browser.close();
});

test('skypart-3 with a leaf directory the server no longer has: the app still starts, and plans through the list files as native does without it', async () => {
  const leaves = manifest.partitions.leaves;
  const file = join(bundle, leaves.path);
  const aside = `${file}.aside`;
  renameSync(file, aside);
  // Native without the directory: a copy of the bundle whose manifest names none.
  const plain = join(copy.dir, 'plain');
  cpSync(bundle, plain, { recursive: true });
  const m = JSON.parse(readFileSync(join(plain, 'manifest.json'), 'utf8'));
  delete m.partitions.leaves;
  writeFileSync(join(plain, 'manifest.json'), JSON.stringify(m));
  try {
    const q = 'typhoon approaching Kyushu';
    const { hits, asked } = await ask({ q });
    assert.ok(asked.some((a) => a.path.startsWith('parts/lists/')), `list files read: ${JSON.stringify(asked)}`);
    assert.deepEqual(hits.map((h) => h.id), nativeParts(q, plain).ids);
  } finally {
    renameSync(aside, file);
    rmSync(plain, { recursive: true, force: true });
  }
});

test('skypart-3 with a leaf directory: the tails a query read are cached under their ranges and check against the directory', async () => {
  const browser = await launch();
  const { page } = browser;
  await openApp(page, server.url);
  await search(page, 'typhoon approaching Kyushu');
  const tail = await pollPage(page, async () => {
    const name = (await caches.keys()).find((n) => n.startsWith('skycase-v3-'));
    const keys = name ? await (await caches.open(name)).keys() : [];
    return keys.map((r) => new URL(r.url)).find((u) => u.pathname.endsWith('.skyleaf'))?.search;
  });
  assert.ok(tail, 'a leaf range is cached');
  const { files, wrong } = await bundleCacheCheck(page);
  assert.deepEqual(wrong, []);
  // Each cached leaf range is a whole tail: it ends its file.
  const leafKeys = files.filter((f) => f.includes('.skyleaf?bytes='));
  assert.ok(leafKeys.length > 0);
  for (const k of leafKeys) {
    const [path, range] = k.split('?bytes=');
    assert.equal(Number(range.split('-')[1]) + 1, statSync(join(bundle, path)).size, k);
  }
  await browser.close();
});

test('the first answers are rehearsed while the worker is idle (src/worker.rs `rehearse`): the same hits, from memory, no request, and only the first two answers', async () => {
  const browser = await launch();
  const rehearsals = [];
  browser.page.on('console', (m) => { if (m.text().startsWith('skycase rehearsal:')) rehearsals.push(m.text()); });
  let ready = false;
  const asked = [];
  browser.context.on('request', (r) => { if (ready && !r.serviceWorker() && /\/bundle\/(parts|words)\//.test(r.url())) asked.push({ path: new URL(r.url()).pathname, at: Date.now() }); });
  await openApp(browser.page, `${server.url}?phases=1`);
  ready = true;
  const rehearsed = async (q, n) => {
    rehearsals.length = 0;
    const hits = await search(browser.page, q);
    const answered = Date.now();
    // Three rehearsals, 100 ms apart, end well before the offline set starts (1 s after).
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(rehearsals.length, n, `${q}: ${n} rehearsals: ${rehearsals.join(' | ')}`);
    rehearsals.forEach((line) => assert.ok(line.startsWith(`skycase rehearsal: first hit ${hits[0].id},`), `${q}: the answer's first hit rehearsed: ${line}`));
    assert.deepEqual(asked.filter((a) => a.at > answered), [], `${q}: no partition or word chunk read while rehearsing`);
    return hits;
  };
  const first = await rehearsed('typhoon approaching Kyushu', 3);
  // (The offline set, saved from 1 s after the first answer, reads the network meanwhile.)
  await browser.page.waitForSelector('[data-testid=offline-ready]', { timeout: 60000 });
  await rehearsed('heavy snow', 3);
  await rehearsed('clear skies across Mongolia', 0);
  // What was rehearsed answers as before: = native.
  const again = await search(browser.page, 'typhoon approaching Kyushu');
  const want = nativeParts('typhoon approaching Kyushu', bundle);
  assert.deepEqual(first.map((h) => h.id), want.ids);
  assert.deepEqual(again.map((h) => h.id), want.ids);
  await browser.close();
});
