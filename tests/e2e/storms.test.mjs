// Named storms (skycase_core::storms): a query naming a storm of the archive ("Typhoon
// Damrey", "태풍 기러기") searches its days only, and the page says so above the results, as
// `skycase search` does; a storm outside the date filters is named as such and the filters
// stay. The demo's storms come from the JMA best track (data/demo/storms.json, written by
// `skycase storms`); the demo bundle is partitioned, so the storm's days also prune what the
// plan reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApp, search, results, thumbnailsSettled, FINAL_ANSWER, ROOT, SKYCASE, BUNDLE, serveAndLaunch } from './harness.mjs';

let server;
let browser;
serveAndLaunch((s, b) => { server = s; browser = b; });

/** `skycase search --json --episodes` (one result per episode, as the page shows them). */
function native(q, flags = []) {
  return JSON.parse(execFileSync(SKYCASE, ['search', q, '--bundle', BUNDLE, '--json', '--episodes', ...flags], { encoding: 'utf8' }));
}

const STORMS = JSON.parse(readFileSync(join(BUNDLE, 'manifest.json'), 'utf8')).storms ?? [];
const storm = (name) => STORMS.find((s) => s.name === name);

test('the demo lists the named storms of its simulated month', () => {
  for (const name of ['DAMREY', 'KIROGI']) assert.ok(storm(name), `${name} in manifest.storms: ${JSON.stringify(STORMS)}`);
});

test('a query naming a storm searches its days, says so, and ranks as skycase search does', async () => {
  const { page, errors } = browser;
  await openApp(page, server.url);
  for (const [q, name] of [['Typhoon Damrey', 'DAMREY'], ['태풍 기러기', 'KIROGI'], ['kirogi over the Philippine Sea', 'KIROGI']]) {
    const s = storm(name);
    const want = native(q);
    assert.equal(want.storm?.storm.id, s.id, `${q}: skycase search names ${name}`);
    assert.equal(want.storm.applied, true, q);
    assert.ok(want.hits.length > 0, `${q}: the storm's days have frames`);
    for (const h of want.hits) {
      const day = h.time.slice(0, 10);
      assert.ok(day >= s.from && day <= s.to, `${q}: ${h.id} (${day}) outside ${s.from} – ${s.to}`);
    }
    const hits = await search(page, q);
    assert.deepEqual(hits.map((h) => h.id), want.hits.map((h) => h.id), `${q}: browser = native`);
    const note = page.locator('[data-testid=storm]');
    assert.equal(await note.getAttribute('data-id'), s.id, q);
    assert.equal(await note.getAttribute('data-applied'), 'true', q);
    const line = await note.innerText();
    assert.ok(line.includes(s.from) && line.includes(s.to), `${q}: "${line}"`);
    if (q === 'Typhoon Damrey') {
      // The README's picture of a storm found by its name.
      await thumbnailsSettled(page);
      await page.screenshot({ path: join(ROOT, 'docs/img/app-storm.png'), clip: { x: 0, y: 0, width: 1280, height: 900 } });
    }
  }
  // A query naming no storm: no note, and the days of every storm are not imposed.
  const hits = await search(page, 'typhoon over the South China Sea');
  assert.ok(hits.length > 0);
  assert.equal(await page.locator('[data-testid=storm]').count(), 0);
  assert.equal(native('typhoon over the South China Sea').storm, null);
  assert.deepEqual(errors, []);
});

test('a storm outside the date filters is named as such, and the filters stay as set', async () => {
  const { page, errors } = browser;
  const s = storm('DAMREY');
  const to = '2017-10-20';
  assert.ok(to < s.from);
  await openApp(page, `${server.url}?q=${encodeURIComponent('Typhoon Damrey')}&to=${to}`);
  await page.waitForSelector(FINAL_ANSWER, { timeout: 30000 });
  const note = page.locator('[data-testid=storm]');
  await note.waitFor();
  assert.equal(await note.getAttribute('data-applied'), 'false');
  assert.match(await note.innerText(), /outside the date filters/);
  const want = native('Typhoon Damrey', ['--to', to]);
  assert.equal(want.storm.applied, false);
  assert.deepEqual((await results(page)).map((h) => h.id), want.hits.map((h) => h.id), 'browser = native');
  for (const h of want.hits) assert.ok(h.time.slice(0, 10) <= to, h.id);
  assert.deepEqual(errors, []);
});
