// The skypart-3 layout (issue 11; skycase_core::partition::areas) in real Chromium: a small
// SYNTHETIC three-month bundle from `skycase decade --format skypart-3` (see
// scripts/src/cmd/decade.rs), its plan reading the best leaf as int8 rows and the next as
// residual codes, so every round (leaf areas, row blocks with their records) runs. The demo
// bundle and partitioned.test.mjs are skypart-3 too; the worker still reads skypart-2 bundles
// (partitioned.test.mjs's last test).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, request } from 'node:http';
import { readFileSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FINAL_ANSWER, ROOT, SKYCASE, launch, openApp, results, search, repin, copyDist, startServer, askedRange, nativeParts, segments, workerHooks } from './harness.mjs';

let copy;
let server;
let bundle;

before(async () => {
  copy = copyDist();
  bundle = join(copy.dir, 'bundle');
  const out = join(copy.dir, 'synthetic');
  execFileSync(SKYCASE, ['decade', '--shard', join(ROOT, 'data/demo/index/2017-11.skyshard'), '--bundle', bundle, '--out', out,
    '--start', '2015-01', '--months', '3', '--cadence', '360', '--lists', '3', '--subs', '4', '--nprobe', '2', '--list-probe', '1',
    '--exact-below', '0', '--sample', '5000', '--format', 'skypart-3', '--code-bytes', '32', '--int8-leaves', '1', '--rerank', '20'],
  { stdio: ['ignore', 'ignore', 'inherit'] });
  rmSync(bundle, { recursive: true, force: true });
  execFileSync('mv', [out, bundle]);
  repin(copy.dir); // the page pins its bundle's manifest
  server = await startServer(copy.dir);
});
after(() => {
  server?.stop();
  copy?.remove();
});

const native = (q, flags) => nativeParts(q, bundle, flags);

/** Opens `?q=…&…` in a fresh browser, waits for the answer; returns hits, the error shown,
 *  the byte ranges asked of leaf files ({ path, start, end }) and the list files and month
 *  directories asked for (paths). */
async function ask(params) {
  const browser = await launch();
  const ranges = [];
  const plans = [];
  browser.context.on('request', (r) => {
    if (r.serviceWorker()) return;
    const plan = new URL(r.url()).pathname.match(/\/bundle\/(parts\/(lists|months)\/.*)$/);
    if (plan) plans.push(plan[1]);
    if (!r.url().includes('.skyleaf')) return;
    const path = new URL(r.url()).pathname.replace(/^\/bundle\//, '');
    const [start, end] = askedRange(r.headers().range, statSync(join(bundle, path)).size);
    ranges.push({ path, start, end, ranged: Boolean(r.headers().range) });
  });
  await openApp(browser.page, `${server.url}?${new URLSearchParams(params)}`);
  await browser.page.waitForSelector(FINAL_ANSWER, { timeout: 30000 });
  const hits = await results(browser.page);
  const error = await browser.page.locator('[data-testid=query-error]').allInnerTexts();
  await browser.close();
  return { hits, ranges, plans, error: error.join(' ') };
}

test('skypart-3: browser = native, every leaf read by ranges inside its areas, codes and row blocks read', async () => {
  const all = segments(bundle);
  const seen = [];
  for (const q of ['typhoon approaching Kyushu', 'clear skies across Mongolia', 'heavy snow over Hokkaido']) {
    const want = native(q);
    assert.ok(want.ids.length > 0, `${q}: native hits`);
    const { hits, ranges, plans } = await ask({ q });
    assert.deepEqual(hits.map((h) => h.id), want.ids, q);
    // A plan with int8 leaves reads list files (the leaf directory plans codes alone); no
    // month directory without a month filter.
    assert.ok(plans.length > 0 && plans.every((p) => p.startsWith('parts/lists/')), `${q}: ${plans.join(' ')}`);
    hits.forEach((h, i) => assert.ok(Math.abs(h.score - want.scores[i]) <= 1e-4, `${q} #${i + 1}: wasm ${h.score} vs native ${want.scores[i]}`));
    assert.ok(ranges.length > 0 && ranges.every((r) => r.ranged), `${q}: leaf files are read by byte ranges`);
    // Each range starts in an area (a leaf's codes areas back to back; a leaf's months of rows
    // and records; a row block, alone or with the records area of its month after it).
    const kind = (r) => ['rows', 'codes', 'recs'].find((k) => all.some((a) => a[k].path === r.path && a[k].start <= r.start && r.start < a[k].end));
    const kinds = ranges.map(kind);
    assert.ok(kinds.every(Boolean), `${q}: every range starts in an area`);
    const readsRecs = (r) => all.some((a) => a.recs.path === r.path && r.start <= a.recs.start && a.recs.end <= r.end);
    assert.ok(ranges.some(readsRecs), `${q}: the answer's records were read (${kinds.join(' ')})`);
    seen.push(...kinds);
    // Row blocks: ranges that start inside a rows area, after its start (a few rows alone).
    const blocks = ranges.filter((r) => all.some((a) => a.rows.path === r.path && a.rows.start < r.start && r.start < a.rows.end));
    if (blocks.length) seen.push('blocks');
    // … most of them with the records area of their month, in the same request.
    if (blocks.some(readsRecs)) seen.push('blocks with records');
  }
  // A plan of one leaf reads it as int8 rows; those of two or more read codes and row blocks.
  for (const k of ['rows', 'codes', 'blocks', 'blocks with records']) assert.ok(seen.includes(k), `some query read ${k}: ${[...new Set(seen)].join(' ')}`);
});

test('skypart-3: a one-month filter plans by that month\'s directory and reads only byte ranges inside its areas', async () => {
  const q = 'heavy snow over Hokkaido';
  const feb = segments(bundle).filter((a) => a.period === '2015-02');
  const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'));
  const dir = manifest.partitions.periods.find((p) => p.period === '2015-02').directory;
  assert.ok(dir?.path.startsWith('parts/months/2015-02-'), JSON.stringify(dir));
  for (const params of [{ months: 'Feb' }, { from: '2015-02-01', to: '2015-02-28' }]) {
    const { hits, ranges, plans } = await ask({ q, ...params });
    assert.deepEqual(plans, [dir.path], `the month's directory, no list file (${JSON.stringify(params)})`);
    assert.ok(ranges.length > 0);
    // A range may run through February areas back to back (a row block and its records):
    // each of its bytes lies in one.
    const areas = feb.flatMap((a) => ['rows', 'codes', 'recs'].map((k) => a[k])).filter((a) => a.end > a.start);
    for (const r of ranges) {
      const covered = areas.filter((a) => a.path === r.path).reduce((n, a) => n + Math.max(0, Math.min(a.end, r.end) - Math.max(a.start, r.start)), 0);
      assert.equal(covered, r.end - r.start, `only February 2015 (${JSON.stringify(params)}): ${JSON.stringify(r)}`);
    }
    assert.ok(hits.length > 0 && hits.every((h) => h.id.startsWith('syn-201502')), JSON.stringify(hits.map((h) => h.id)));
    const flags = params.months ? ['--months', 'Feb'] : ['--from', params.from, '--to', params.to];
    assert.deepEqual(hits.map((h) => h.id), native(q, flags).ids);
  }
});

test('skypart-3: a month directory failing its hash is read once more, then the list files plan the same answer', async () => {
  const q = 'heavy snow over Hokkaido';
  const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'));
  const dir = manifest.partitions.periods.find((p) => p.period === '2015-02').directory;
  const file = join(bundle, dir.path);
  const good = readFileSync(file);
  const bad = Buffer.from(good);
  bad[good.length - 3] ^= 0x01;
  writeFileSync(file, bad);
  try {
    const { hits, plans, error } = await ask({ q, months: 'Feb' });
    // Twice (the second time past the HTTP cache), then not again in this session: the
    // rehearsals after the answer plan by the list files too.
    assert.equal(plans.filter((p) => p === dir.path).length, 2, `asked twice: ${plans.join(' ')}`);
    assert.ok(plans.some((p) => p.startsWith('parts/lists/')), `then the list files: ${plans.join(' ')}`);
    assert.equal(error, '', 'nothing is left out: no error');
    assert.deepEqual(hits.map((h) => h.id), native(q, ['--months', 'Feb']).ids);
  } finally {
    writeFileSync(file, good);
  }
});

test('skypart-3: a records area failing its hash is read once more, then named while the rest answers', async () => {
  const q = 'clear skies across Mongolia';
  const want = native(q);
  // The records of the partition holding the best frame: always read (with its row block, or
  // alone for an int8 leaf's partition).
  const victim = segments(bundle).find((a) => a.key === want.parts[0]);
  assert.ok(victim, `the answer's partition ${want.parts[0]} is in the list files`);
  const file = join(bundle, victim.recs.path);
  const good = readFileSync(file);
  const bad = Buffer.from(good);
  bad[victim.recs.end - 1] ^= 0xff;
  writeFileSync(file, bad);
  try {
    const { hits, ranges, error } = await ask({ q });
    const reads = ranges.filter((r) => r.path === victim.recs.path && r.start <= victim.recs.start && r.end >= victim.recs.end);
    assert.equal(reads.length, 2, `read twice: ${JSON.stringify(reads)}`);
    assert.deepEqual([reads[1].start, reads[1].end], [victim.recs.start, victim.recs.end], 'the second time alone');
    assert.match(error, /could not be loaded/);
    const key = `${victim.recs.path}?bytes=${victim.recs.start}-${victim.recs.end - 1}`;
    assert.ok(error.includes(key) && error.includes('sha256 mismatch'), error);
    assert.ok(hits.length > 0, 'the other partitions still answer');
    assert.ok(!hits.some((h) => h.id === want.ids[0]), 'the frames of the refused records are left out');
  } finally {
    writeFileSync(file, good);
  }
});

/** Installed after `workerHooks`: records every message of the search worker that
 *  answers a query, in order: `window.__answers = [{ kind: 'Partial' | 'Results', id, done,
 *  total, hits }]`. */
function answerProbe() {
  const seen = window.__answers = [];
  window.__workerHooks.received.push((d) => {
    if (d?.Partial) seen.push({ kind: 'Partial', id: d.Partial.id, done: d.Partial.done, total: d.Partial.total, hits: d.Partial.hits });
    if (d?.Results) seen.push({ kind: 'Results', id: d.Results.id, hits: d.Results.hits });
  });
}

/** A proxy in front of `target` (the test's server) whose answers to leaf file requests come
 *  one after another, each `step` ms after the one before (a slow network): a query's ranges
 *  arrive spread out, as over a real link, rather than all at once from localhost. */
function slowLeaves(target, step) {
  let last = 0;
  const proxy = createServer((req, res) => {
    const leaf = req.url.includes('.skyleaf');
    const up = request(new URL(req.url, target), { method: req.method, headers: req.headers }, (answer) => {
      const wait = leaf ? Math.max(0, (last = Math.max(last, Date.now()) + step) - Date.now()) : 0;
      setTimeout(() => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      }, wait);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${proxy.address().port}/`, stop: () => proxy.close() })));
}

test('skypart-3: a cold lean query streams partial answers as its row blocks and records arrive, then the whole answer = native', async (t) => {
  let streamed = 0;
  // Ranges 200 ms apart: round 3 runs past the worker's PARTIAL_AFTER_MS (150 ms) with ranges to come.
  const slow = await slowLeaves(server.url, 200);
  after(() => slow.stop());
  for (const q of ['typhoon approaching Kyushu', 'clear skies across Mongolia', 'heavy snow over Hokkaido']) {
    const want = native(q);
    const browser = await launch();
    const { page } = browser;
    await page.addInitScript(workerHooks);
    await page.addInitScript(answerProbe);
    // What the page shows while the answer streams (the "n of m parts" line and its cards).
    await page.addInitScript(() => {
      window.__shown = [];
      const seen = () => {
        const s = document.querySelector('[data-testid=streaming]');
        if (s) window.__shown.push(document.querySelectorAll('[data-testid=result]').length);
      };
      document.addEventListener('DOMContentLoaded', () => new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true }));
    });
    await openApp(page, `${slow.url}?${new URLSearchParams({ q })}`);
    await page.waitForSelector(FINAL_ANSWER, { timeout: 30000 });
    const answers = await page.evaluate(() => window.__answers);
    const shown = await page.evaluate(() => window.__shown);
    assert.deepEqual((await results(page)).map((h) => h.id), want.ids, `${q}: the whole answer = native`);
    await browser.close();
    const final = answers.findIndex((a) => a.kind === 'Results');
    assert.equal(answers[final].hits.map((h) => h.id).join(), want.ids.join(), q);
    const partials = answers.filter((a) => a.kind === 'Partial');
    // Every partial answer comes before the whole one, for fewer than all of round 3's pieces,
    // and each of its cards has its record (the frame's time, caption and thumbnail) and a
    // score no higher than the frame's in the native ranking (a partial answer ranks the rows
    // read so far).
    assert.ok(answers.slice(final + 1).every((a) => a.kind !== 'Partial'), `${q}: no partial answer after the whole one`);
    for (const p of partials) {
      assert.ok(p.done >= 1 && p.done < p.total && p.hits.length > 0, `${q}: ${JSON.stringify({ done: p.done, total: p.total, hits: p.hits.length })}`);
      for (const h of p.hits) {
        assert.ok(h.id.startsWith('syn-') && h.time && h.caption && h.thumb, `${q}: a partial card with its record: ${JSON.stringify(h)}`);
        const at = want.ids.indexOf(h.id);
        if (at >= 0) assert.ok(h.score <= want.scores[at] + 1e-4, `${q}: ${h.id} ${h.score} > native ${want.scores[at]}`);
      }
    }
    if (partials.length) assert.ok(shown.some((n) => n > 0), `${q}: the page drew a partial answer's cards`);
    t.diagnostic(`${q}: ${partials.length} partial answer(s) before the whole one`);
    streamed += partials.length > 0;
  }
  assert.ok(streamed > 0, 'some cold query streamed a partial answer before the whole one');
});

test('skypart-3: many warm queries keep only the last answers\' partitions (the worker\'s memory stays bounded), each = native', async (t) => {
  const browser = await launch();
  const { page } = browser;
  // `?phases`: the worker logs, per answer, its partitions and the answers' partitions it keeps.
  const lines = [];
  page.on('console', (m) => { if (m.text().startsWith('skycase phases')) lines.push(m.text()); });
  await openApp(page, `${server.url}?phases=1`);
  const places = ['Kyushu', 'Mongolia', 'Hokkaido', 'Okinawa', 'Taiwan', 'Korea', 'Shanghai', 'Sakhalin', 'Luzon', 'Honshu', 'the Yellow Sea', 'Kamchatka'];
  const queries = places.flatMap((p, i) => [`typhoon approaching ${p}`, `${i % 2 ? 'heavy snow' : 'clear skies'} over ${p}`]);
  const answers = [];
  for (const q of queries) {
    const hits = await search(page, q);
    for (let i = 0; i < 50 && lines.length <= answers.length; i++) await new Promise((r) => setTimeout(r, 20));
    const line = lines[answers.length];
    const m = line?.match(/^skycase phases: (\d+) partitions in \d+ ms \((\d+) answers' partitions kept\)/);
    assert.ok(m, `${q}: the worker's phases line: ${line}`);
    answers.push({ q, hits, parts: Number(m[1]), kept: Number(m[2]) });
  }
  await browser.close();
  // The worker keeps the partitions of its last 8 answers (skycase_core::partition::kept::ANSWERS_KEPT)
  // and no more, however many queries came before.
  const KEPT = 8;
  answers.forEach((a, i) => {
    const last = answers.slice(Math.max(0, i + 1 - KEPT), i + 1).reduce((n, b) => n + b.parts, 0);
    assert.ok(a.kept <= last, `after "${a.q}" (#${i + 1}): ${a.kept} answers' partitions kept, the last ${KEPT} answers had ${last}`);
  });
  const total = answers.reduce((n, a) => n + a.parts, 0);
  t.diagnostic(`partitions per answer ${answers.map((a) => a.parts).join(' ')}; kept after each ${answers.map((a) => a.kept).join(' ')}`);
  const end = answers.at(-1).kept;
  assert.ok(answers.some((a) => a.parts > 0) && end < total, `kept ${end} of the ${total} partitions ${answers.length} answers had`);
  for (const a of [answers[0], answers[KEPT + 1], answers.at(-1)]) assert.deepEqual(a.hits.map((h) => h.id), native(a.q).ids, `${a.q}: browser = native`);
});

// Last: it rewrites the bundle's manifest (a plan of three leaves, then a byte budget).
test('skypart-3: a byte budget in the manifest reads fewer leaves, the browser the same as native', async () => {
  const path = join(bundle, 'manifest.json');
  const plan = (budget) => {
    const m = JSON.parse(readFileSync(path, 'utf8'));
    Object.assign(m.partitions, { nprobe: 3, probe_max: 3, list_probe: 3 });
    if (budget) m.partitions.budget = budget; else delete m.partitions.budget;
    writeFileSync(path, JSON.stringify(m));
    repin(copy.dir);
  };
  // No region named: a lean plan (a region binds the query's rows and reads records).
  const q = 'clear skies';
  const leaves = (ranges) => new Set(ranges.map((r) => r.path)).size;
  plan(null);
  const free = await ask({ q });
  assert.ok(leaves(free.ranges) > 1, `without a budget the plan reads ${leaves(free.ranges)} leaves: ${JSON.stringify(free.ranges)} ${free.error}`);
  // One byte of leaf areas: only the first (min_leaves) leaf, best first.
  plan({ bytes: 1, min_leaves: 1 });
  const want = native(q);
  const { hits, ranges } = await ask({ q });
  assert.equal(leaves(ranges), 1, JSON.stringify(ranges));
  assert.ok(free.ranges.some((r) => r.path === ranges[0].path), 'the leaf kept is one the unbudgeted plan read');
  assert.deepEqual(hits.map((h) => h.id), want.ids, `${q}: browser = native under the budget`);
  hits.forEach((h, i) => assert.ok(Math.abs(h.score - want.scores[i]) <= 1e-4, `#${i + 1}: wasm ${h.score} vs native ${want.scores[i]}`));
});
