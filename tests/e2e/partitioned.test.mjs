// The partitioned index (issue 11) in real Chromium: a small SYNTHETIC three-month bundle from
// `skycase decade` (vectors drawn around the demo month's real embeddings; see
// scripts/src/cmd/decade.rs) in skypart-3, the one format `skycase partition|decade` write,
// partitioned finely enough that queries fetch only part of it. Requests are counted as the
// browser makes them. The last test reads a skypart-2 bundle: old bundles still read (and
// their answers stream). tests/e2e/partitioned3.test.mjs tests the code rounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FINAL_ANSWER, SKYCASE, launch, openApp, results, repin, search, serveSyntheticMonths, segments, askedRange, nativeParts, copyDistWithSyntheticMonths, startServer } from './harness.mjs';

let copy;
let server;
let bundle;

serveSyntheticMonths((s, c) => { server = s; copy = c; bundle = c.bundle; });

const native = (q, flags) => nativeParts(q, bundle, flags);

/** Opens `?q=…&…` in a fresh browser, waits for the answer; returns hits, bundle requests
 *  (paths) and the leaf file requests with the byte range each asked for ({ path, start, end }). */
async function ask(params, url = server.url, dir = bundle) {
  const browser = await launch();
  const requests = [];
  const ranges = [];
  // The service worker's own fetches (it passes the worker's on) are not counted twice.
  browser.context.on('request', (r) => {
    if (!r.url().includes('/bundle/parts/') || r.serviceWorker()) return;
    const path = new URL(r.url()).pathname.replace(/^\/bundle\//, '');
    requests.push(path);
    if (path.endsWith('.skyleaf')) {
      const [start, end] = askedRange(r.headers().range, statSync(join(dir, path)).size);
      ranges.push({ path, start, end });
    }
  });
  await openApp(browser.page, `${url}?${new URLSearchParams(params)}`);
  await browser.page.waitForSelector(FINAL_ANSWER, { timeout: 30000 });
  const hits = await results(browser.page);
  const error = await browser.page.locator('[data-testid=query-error]').allInnerTexts();
  await browser.close();
  return { hits, requests, ranges, error: error.join(' ') };
}

const KINDS = ['rows', 'codes', 'recs'];

/** Checks that every byte range the browser asked for is areas of one kind back to back (a
 *  leaf's months) among `parts` (segments() of the bundle), or rows and records areas back to
 *  back (an exact or record-filtered plan reads a leaf's months, each its rows then its
 *  records, by one range), or a lean plan's third round: from
 *  a row block or a records area on, the months' rows and records after it up to a few kB
 *  apart (`Codes::gap`), never into a codes area; each range read once; and that the records read
 *  include those of the answer's partitions (`answer`: `skycase search --json`'s partitions,
 *  by their rows areas' keys). */
function rangesAreAreas(ranges, parts, answer, what) {
  const codes = parts.map((a) => a.codes);
  for (const r of ranges) {
    const whole = KINDS.map((k) => parts.map((a) => a[k]).filter((a) => a.path === r.path && a.start >= r.start && a.end <= r.end).reduce((n, a) => n + a.end - a.start, 0));
    const blocks = parts.some((a) => a.rows.path === r.path && ((a.rows.start < r.start && r.start < a.rows.end) || r.start === a.recs.start))
      && !codes.some((c) => c.path === r.path && c.start < r.end && r.start < c.end);
    const rowsAndRecords = whole[0] + whole[2];
    assert.ok(whole.includes(r.end - r.start) || rowsAndRecords === r.end - r.start || blocks, `${what}: ${JSON.stringify(r)} is not areas of one kind, rows with records, nor row blocks with their records`);
  }
  const key = (r) => `${r.path} ${r.start}-${r.end}`;
  assert.equal(new Set(ranges.map(key)).size, ranges.length, `${what}: each range read once`);
  const recs = new Set(parts.filter((a) => ranges.some((r) => r.path === a.recs.path && r.start <= a.recs.start && a.recs.end <= r.end)).map((a) => a.key));
  const unread = answer.filter((k) => !recs.has(k));
  assert.deepEqual(unread, [], `${what}: the answer's partitions' records were read`);
}

test('the manifest is all that loads before a query; wasm = native on the partitioned index', async () => {
  const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'));
  assert.equal(manifest.shards.length, 0);
  assert.equal(manifest.partitions.periods.length, 3);
  const q = 'typhoon approaching Kyushu';
  const { hits, ranges } = await ask({ q });
  const want = native(q);
  assert.equal(manifest.partitions.format, 'skypart-3');
  assert.deepEqual(hits.map((h) => h.id), want.ids);
  hits.forEach((h, i) => assert.ok(Math.abs(h.score - want.scores[i]) <= 1e-4, `#${i + 1}: wasm ${h.score} vs native ${want.scores[i]}`));
  const parts = segments(bundle);
  rangesAreAreas(ranges, parts, want.parts, q);
  assert.ok(ranges.length < parts.length, `fewer requests (${ranges.length}) than partitions (${parts.length})`);
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
    rangesAreAreas(ranges, segments(bundle), want.parts, q);
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
  // Every byte asked for lies in an area of a February partition (by the list files, not
  // the plan).
  const feb = segments(bundle).filter((s) => s.period === '2015-02');
  assert.ok(hits.length > 0 && hits.every((h) => h.id.startsWith('syn-201502')), JSON.stringify(hits.map((h) => h.id)));
  const want = native(q, ['--from', '2015-02-01', '--to', '2015-02-28']);
  assert.deepEqual(hits.map((h) => h.id), want.ids);
  rangesAreAreas(ranges, feb, want.parts, 'February');
});

test('a rows area failing its hash is fetched once more, then named while the other partitions answer', async () => {
  const q = 'clear skies across Mongolia';
  const want = native(q);
  // The rows area of the partition holding the best frame: read in the plan's second round.
  const victim = segments(bundle).find((s) => s.key === want.parts[0]);
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
    assert.notDeepEqual(hits.map((h) => h.id), want.ids, 'the frames of the refused area are left out');
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

test('an old skypart-2 bundle still reads: browser = native, and its answer streams as partitions arrive', async () => {
  const old = copyDistWithSyntheticMonths(['--format', 'skypart-2']);
  const web = await startServer(old.dir);
  try {
    const m = JSON.parse(readFileSync(join(old.bundle, 'manifest.json'), 'utf8'));
    assert.equal(m.partitions.format, 'skypart-2');
    const q = 'snow in Manchuria and the Korean Peninsula';
    const want = nativeParts(q, old.bundle);
    assert.ok(want.parts.length >= 2, `a plan of several partitions (${want.parts.length})`);
    // Each range asked for is segments of the plan (skypart-2 reads partitions whole).
    const { hits, ranges } = await ask({ q: 'typhoon approaching Kyushu' }, web.url, old.bundle);
    const typhoon = nativeParts('typhoon approaching Kyushu', old.bundle);
    assert.deepEqual(hits.map((h) => h.id), typhoon.ids);
    const plan = segments(old.bundle).filter((s) => typhoon.parts.includes(s.key));
    for (const r of ranges) {
      const inside = plan.filter((s) => s.path === r.path && s.start >= r.start && s.end <= r.end);
      assert.equal(inside.reduce((a, s) => a + s.bytes, 0), r.end - r.start, `the plan's segments: ${JSON.stringify(r)}`);
    }
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
    await openApp(page, `${web.url}?${new URLSearchParams({ q })}`);
    await page.waitForSelector('[data-testid=timings]', { timeout: 30000 });
    const partials = await page.evaluate(() => window.__partials);
    assert.ok(partials.length > 0, 'a partial answer showed before the whole one');
    assert.ok(partials.every((p) => p.done >= 1 && p.done < p.total && p.total === want.parts.length), JSON.stringify(partials));
    assert.ok(partials.some((p) => p.results > 0), 'with results');
    assert.equal(await page.locator('[data-testid=streaming]').count(), 0, 'gone once the answer is whole');
    assert.deepEqual((await results(page)).map((h) => h.id), want.ids);
    await browser.close();
  } finally {
    web.stop();
    old.remove();
  }
});
