// Real frames in the demo (issue 10): every card says where its frame comes from and who
// wrote its caption, and the source filter (`source=` in the address, the Source select)
// keeps only the frames it names, ranked as `skycase search --source` ranks them. Frames of
// an uncalibrated origin (KMA's PNG products) are searched only when the filter names it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { SKYCASE, BUNDLE, openApp, search, serveAndLaunch } from './harness.mjs';

let server;
let browser;
serveAndLaunch((s, b) => { server = s; browser = b; });

/** Per card: id, score, origin key and the source line. */
function cards(page) {
  return page.$$eval('[data-testid=result]', (els) => els.map((el) => {
    const src = el.querySelector('[data-testid=result-source]');
    return { id: el.dataset.id, score: Number(el.dataset.score), origin: src?.dataset.origin, source: src?.textContent ?? '' };
  }));
}

/** `skycase search --json --source S` on the same bundle. */
function nativeIds(query, source) {
  // --episodes: one result per episode, as the app shows them by default (issue 13).
  const out = execFileSync(SKYCASE, ['search', query, '--bundle', BUNDLE, '--json', '--episodes', '--source', source], { encoding: 'utf8' });
  return JSON.parse(out).hits.map((h) => ({ id: h.id, score: h.score }));
}

test('every card names its source; real frames say the physical captioner wrote their caption', async () => {
  const { page } = browser;
  const seen = new Set();
  for (const url of [server.url, `${server.url}?source=real`, `${server.url}?source=kma`]) {
    await openApp(page, url);
    await search(page, 'typhoon over the East China Sea');
    const all = await cards(page);
    assert.ok(all.length > 0);
    // KMA's PNG products (grey levels not calibrated) are searched only when chosen, and
    // then their cards show no strength: the calibration was never fit on them.
    const kma = url.endsWith('kma');
    assert.ok(all.every((c) => (c.origin === 'kma') === kma), `${url}: ${all.map((c) => c.origin).join(', ')}`);
    assert.equal(await page.locator('[data-testid=result] [data-testid=strength]').count() === 0, kma, url);
    for (const c of all) {
      assert.ok(c.origin, `${c.id}: no origin`);
      seen.add(c.origin);
      if (c.origin === 'simulated') assert.match(c.source, /simulated .*simulator's truth/, c.id);
      // A storm-centred crop is captioned for the few regions it covers; its card also gives the storm's track.
      else if (c.origin === 'digital-typhoon') assert.match(c.source, /Digital Typhoon .*\(real\).*caption by the physical captioner.*track: /, c.id);
      else assert.match(c.source, /\(real[,)].*caption by the physical captioner/, c.id);
    }
  }
  assert.ok(seen.has('simulated') && seen.has('kma'), [...seen].join(', '));
});

test('source=real in the address keeps only real frames, as skycase search --source real does', async () => {
  const { page } = browser;
  await openApp(page, `${server.url}?source=real`);
  assert.equal(await page.locator('[data-testid=filter-source]').inputValue(), 'real');
  const query = 'typhoon over the Philippine Sea';
  await search(page, query);
  const got = await cards(page);
  // The calibrated real frames that cover the Philippine Sea: a Digital Typhoon crop and COMS's
  // New Year's morning (one episode).
  assert.ok(got.length >= 2, `only ${got.length} real results`);
  assert.ok(got.every((c) => c.origin !== 'simulated'), JSON.stringify(got.map((c) => c.origin)));
  const native = nativeIds(query, 'real');
  assert.deepEqual(got.map((c) => c.id), native.map((h) => h.id));
  got.forEach((c, i) => assert.ok(Math.abs(c.score - native[i].score) < 1e-4, `${c.id}: ${c.score} vs ${native[i].score}`));
});

test('choosing one source in the filter bar re-runs the query on that source and puts it in the address', async () => {
  const { page } = browser;
  await openApp(page, server.url);
  await search(page, 'heavy snow over the Korean Peninsula');
  const before = await cards(page);
  assert.ok(before.some((c) => c.origin === 'simulated'), 'the unfiltered demo answers with simulated frames too');
  const answered = page.waitForFunction((prev) => Number(document.querySelector('[data-testid=timings]')?.dataset.queryId) > prev,
    await page.evaluate(() => Number(document.querySelector('[data-testid=timings]').dataset.queryId)));
  await page.selectOption('[data-testid=filter-source]', 'kma');
  await answered;
  const kma = await cards(page);
  assert.ok(kma.length > 0 && kma.every((c) => c.origin === 'kma' && /KMA COMS ea040ps PNG/.test(c.source)), JSON.stringify(kma));
  assert.equal(new URL(page.url()).searchParams.get('source'), 'kma');
  assert.deepEqual(kma.map((c) => c.id), nativeIds('heavy snow over the Korean Peninsula', 'kma').map((h) => h.id));
});
