// The partitioned index (issue 11) in real Chromium: a small SYNTHETIC three-month bundle from
// `skycase decade` (vectors drawn around the demo month's real embeddings; see
// scripts/src/cmd/decade.rs), partitioned finely enough that queries fetch only part of it.
// Requests are counted as the browser makes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FINAL_ANSWER, SKYCASE, launch, openApp, results, repin, search, serveSyntheticMonths, segments, askedRange, nativeParts } from './harness.mjs';

let copy;
let server;
let bundle;

serveSyntheticMonths((s, c) => { server = s; copy = c; bundle = c.bundle; });

const native = (q, flags) => nativeParts(q, bundle, flags);

/** Opens `?q=…&…` in a fresh browser, waits for the answer; returns hits, bundle requests
 *  (paths) and the leaf file requests with the byte range each asked for ({ path, start, end }). */
async function ask(params) {
  const browser = await launch();
  const requests = [];
  const ranges = [];
  // The service worker's own fetches (it passes the worker's on) are not counted twice.
  browser.context.on('request', (r) => {
    if (!r.url().includes('/bundle/parts/') || r.serviceWorker()) return;
    const path = new URL(r.url()).pathname.replace(/^\/bundle\//, '');
    requests.push(path);
    if (path.endsWith('.skyleaf')) {
      const [start, end] = askedRange(r.headers().range, statSync(join(bundle, path)).size);
      ranges.push({ path, start, end });
    }
  });
  await openApp(browser.page, `${server.url}?${new URLSearchParams(params)}`);
  await browser.page.waitForSelector(FINAL_ANSWER, { timeout: 30000 });
  const hits = await results(browser.page);
  const error = await browser.page.locator('[data-testid=query-error]').allInnerTexts();
  await browser.close();
  return { hits, requests, ranges, error: error.join(' ') };
}

/** Checks that the byte ranges the browser asked for are exactly the plan's segments
 *  (`keys`: `skycase search --json`'s partitions), each read once, and that segments of a
 *  leaf that lie back to back came in one request. */
function rangesAreThePlan(ranges, keys, what) {
  const all = new Map(segments(bundle).map((s) => [s.key, s]));
  const plan = keys.map((k) => all.get(k));
  assert.ok(plan.every(Boolean), `${what}: the plan's segments are in the list files`);
  const byPath = new Map();
  for (const s of plan) byPath.set(s.path, [...(byPath.get(s.path) ?? []), s].sort((a, b) => a.start - b.start));
  // What one request per run of back-to-back segments asks for.
  const want = [];
  for (const [path, segs] of byPath) {
    for (const s of segs) {
      const last = want[want.length - 1];
      if (last && last.path === path && last.end === s.start) last.end = s.end;
      else want.push({ path, start: s.start, end: s.end });
    }
  }
  const key = (r) => `${r.path} ${r.start}-${r.end}`;
  assert.deepEqual(ranges.map(key).sort(), want.map(key).sort(), `${what}: one range request per run of the plan's segments`);
  assert.ok(ranges.length <= byPath.size * 3, `${what}: ${ranges.length} requests for ${plan.length} segments in ${byPath.size} leaves`);
}

test('the manifest is all that loads before a query; wasm = native on the partitioned index', async () => {
  const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'));
  assert.equal(manifest.shards.length, 0);
  assert.equal(manifest.partitions.periods.length, 3);
  const q = 'typhoon approaching Kyushu';
  const { hits, ranges } = await ask({ q });
  const want = native(q);
  assert.deepEqual(hits.map((h) => h.id), want.ids);
  hits.forEach((h, i) => assert.ok(Math.abs(h.score - want.scores[i]) <= 1e-4, `#${i + 1}: wasm ${h.score} vs native ${want.scores[i]}`));
  rangesAreThePlan(ranges, want.parts, q);
  assert.ok(ranges.length < want.parts.length, `fewer requests (${ranges.length}) than partitions (${want.parts.length})`);
  const all = execFileSync('find', [join(bundle, 'parts'), '-name', '*.skyleaf'], { encoding: 'utf8' }).trim().split('\n');
  const leaves = new Set(ranges.map((r) => r.path));
  assert.ok(leaves.size < all.length, `a query reads part of the index (${leaves.size} of ${all.length} leaf files)`);
});

test('a query naming a region finds that region\'s frames whichever leaves the query is near (browser = native)', async () => {
  // Before region-aware probing, these came back with 0 and 3 hits on this bundle: the
  // leaves nearest the query held (almost) no row of the named region.
  for (const q of ['clear skies over the Korean Peninsula', 'typhoon approaching Kyushu']) {
    const want = native(q);
    assert.equal(want.ids.length, 20, `${q}: native ${want.ids.length} hits`);
    const { hits, ranges } = await ask({ q });
    assert.deepEqual(hits.map((h) => h.id), want.ids, q);
    rangesAreThePlan(ranges, want.parts, q);
  }
});

test('a city only the generated gazetteer knows (GeoNames layer) binds its region in the browser as natively', async () => {
  // Qiqihar and Kaohsiung are in crates/vocab/src/geonames.tsv, not in the hand lists: every
  // hit must match through the region the outlines put them in.
  for (const [q, region] of [['snow over Qiqihar', 'Manchuria and Primorsky Krai'], ['typhoon near Kaohsiung', 'South China Sea']]) {
    const out = JSON.parse(execFileSync(SKYCASE, ['search', q, '--bundle', bundle, '--json', '--episodes'], { encoding: 'utf8' }));
    assert.equal(out.hits.length, 20, `${q}: native ${out.hits.length} hits`);
    assert.deepEqual([...new Set(out.hits.map((h) => h.region))], [region], `${q}: native matched regions`);
    const { hits } = await ask({ q });
    assert.deepEqual(hits.map((h) => h.id), out.hits.map((h) => h.id), q);
    assert.ok(hits.every((h) => h.text.includes(region)), `${q}: every card names ${region}`);
  }
});

test('a one-month date filter fetches only that month\'s partitions', async () => {
  const q = 'heavy snow over Hokkaido';
  const { hits, ranges } = await ask({ q, from: '2015-02-01', to: '2015-02-28' });
  assert.ok(ranges.length > 0, 'some partitions were fetched');
  // Every byte asked for lies in a February segment (by the list files, not the plan).
  const feb = segments(bundle).filter((s) => s.period === '2015-02');
  for (const r of ranges) {
    const inside = feb.filter((s) => s.path === r.path && s.start >= r.start && s.end <= r.end);
    assert.equal(inside.reduce((a, s) => a + s.bytes, 0), r.end - r.start, `only February 2015: ${JSON.stringify(r)}`);
  }
  assert.ok(hits.length > 0 && hits.every((h) => h.id.startsWith('syn-201502')), JSON.stringify(hits.map((h) => h.id)));
  const want = native(q, ['--from', '2015-02-01', '--to', '2015-02-28']);
  assert.deepEqual(hits.map((h) => h.id), want.ids);
  rangesAreThePlan(ranges, want.parts, 'February');
});

test('a partition failing its hash is fetched once more, then named while the other partitions answer', async () => {
  const q = 'clear skies across Mongolia';
  const victim = segments(bundle).find((s) => s.key === native(q).parts[0]);
  const file = join(bundle, victim.path);
  const good = readFileSync(file);
  const bad = Buffer.from(good);
  bad[victim.end - 1] ^= 0xff;
  writeFileSync(file, bad);
  try {
    const { hits, ranges, error } = await ask({ q });
    // Read with its leaf's range, then once more by itself.
    const reads = ranges.filter((r) => r.path === victim.path && r.start <= victim.start && r.end >= victim.end);
    assert.equal(reads.length, 2, `fetched twice: ${victim.key} ${JSON.stringify(reads)}`);
    assert.deepEqual([reads[1].start, reads[1].end], [victim.start, victim.end], 'the second time alone');
    assert.match(error, /could not be loaded/);
    assert.ok(error.includes(victim.key) && error.includes('sha256 mismatch'), error);
    assert.ok(hits.length > 0, 'the other partitions still answer');
  } finally {
    writeFileSync(file, good);
  }
});

test('a manifest listing a missing file fails the query with a message naming it', async () => {
  const q = 'rain along the Pacific coast of Japan';
  const manifestPath = join(bundle, 'manifest.json');
  const original = readFileSync(manifestPath, 'utf8');
  const m = JSON.parse(original);
  const { ids } = native(q);
  assert.ok(ids.length > 0);
  // Every list points at a file that is not there.
  for (const l of m.partitions.lists) l.path = l.path.replace('.json', '-gone.json');
  writeFileSync(manifestPath, JSON.stringify(m));
  repin(copy.dir);
  try {
    const { hits, error } = await ask({ q });
    assert.equal(hits.length, 0);
    assert.match(error, /-gone\.json/);
    assert.match(error, /404/);
  } finally {
    writeFileSync(manifestPath, original);
    repin(copy.dir);
  }
});

test('the answer streams as partitions arrive, then the whole answer = native', async () => {
  const q = 'snow in Manchuria and the Korean Peninsula';
  const want = native(q);
  assert.ok(want.parts.length >= 2, `a plan of several partitions (${want.parts.length})`);
  const browser = await launch();
  const { page } = browser;
  // Record every partial answer the page shows: partitions at hand and the results then.
  await page.addInitScript(() => {
    window.__partials = [];
    const seen = () => {
      const s = document.querySelector('[data-testid=streaming]');
      if (s) window.__partials.push({ done: Number(s.dataset.done), total: Number(s.dataset.total), results: document.querySelectorAll('[data-testid=result]').length });
    };
    document.addEventListener('DOMContentLoaded', () => new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true }));
  });
  await openApp(page, `${server.url}?${new URLSearchParams({ q })}`);
  await page.waitForSelector('[data-testid=timings]', { timeout: 30000 });
  const partials = await page.evaluate(() => window.__partials);
  assert.ok(partials.length > 0, 'a partial answer showed before the whole one');
  assert.ok(partials.every((p) => p.done >= 1 && p.done < p.total && p.total === want.parts.length), JSON.stringify(partials));
  assert.ok(partials.some((p) => p.results > 0), 'with results');
  assert.equal(await page.locator('[data-testid=streaming]').count(), 0, 'gone once the answer is whole');
  assert.deepEqual((await results(page)).map((h) => h.id), want.ids);
  await browser.close();
});

test('a query asked again, after another, answers from memory = native, without partial answers or requests', async () => {
  // The worker keeps the partitions and the last query's embedding; the answer must not
  // depend on what was asked between.
  const [a, b] = ['heavy snow over Hokkaido', 'clear skies over the Korean Peninsula'];
  const want = { [a]: native(a).ids, [b]: native(b).ids };
  const browser = await launch();
  const { page } = browser;
  await openApp(page, server.url);
  let leafRequests = 0;
  browser.context.on('request', (r) => { if (r.url().includes('.skyleaf') && !r.serviceWorker()) leafRequests++; });
  for (const [i, q] of [a, a, b, a].entries()) {
    const before = leafRequests;
    const hits = await search(page, q);
    assert.deepEqual(hits.map((h) => h.id), want[q], `query ${i + 1}: ${q}`);
    if (i === 1 || i === 3) {
      assert.equal(leafRequests, before, `query ${i + 1} (asked before): no leaf requests`);
      assert.equal(await page.locator('[data-testid=streaming]').count(), 0, `query ${i + 1}: no partial answer showing`);
    }
  }
  await browser.close();
});
