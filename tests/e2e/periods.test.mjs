// Periods written in a query (skycase_core::when): "typhoon October 2007", "2017년 11월 남중국해
// 태풍", "rain over Kyushu on 2017-11-06" search that period only, and the page says so above
// the results, as `skycase search` does; a period outside the date filters is named as such
// and the filters stay. The demo holds November 2017 (simulated) and a few real months
// (2007-10 among them: Digital Typhoon's frames of a typhoon).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { openApp, search, results, FINAL_ANSWER, SKYCASE, BUNDLE, serveAndLaunch } from './harness.mjs';

let server;
let browser;
serveAndLaunch((s, b) => { server = s; browser = b; });

/** `skycase search --json --episodes` (one result per episode, as the page shows them). */
function native(q, flags = []) {
  return JSON.parse(execFileSync(SKYCASE, ['search', q, '--bundle', BUNDLE, '--json', '--episodes', ...flags], { encoding: 'utf8' }));
}

test('a query writing a period searches its days, says so, and ranks as skycase search does', async () => {
  const { page, errors } = browser;
  await openApp(page, server.url);
  for (const [q, from, to] of [
    ['typhoon October 2007', '2007-10-01', '2007-10-31'],
    ['2017년 11월 남중국해 태풍', '2017-11-01', '2017-11-30'],
    ['rain over Kyushu on 2017-11-06', '2017-11-06', '2017-11-06'],
  ]) {
    const want = native(q);
    assert.deepEqual([want.period?.period.from, want.period?.period.to, want.period?.applied], [from, to, true], `${q}: skycase search reads the period`);
    assert.ok(want.hits.length > 0, `${q}: the period has frames`);
    for (const h of want.hits) {
      const day = h.time.slice(0, 10);
      assert.ok(day >= from && day <= to, `${q}: ${h.id} (${day}) outside ${from} – ${to}`);
    }
    const hits = await search(page, q);
    assert.deepEqual(hits.map((h) => h.id), want.hits.map((h) => h.id), `${q}: browser = native`);
    const note = page.locator('[data-testid=period]');
    assert.equal(await note.getAttribute('data-applied'), 'true', q);
    const line = await note.innerText();
    assert.ok(line.includes(from) && line.includes(to), `${q}: "${line}"`);
  }
  // The same query without its period ranks other months too; with a month and no year, that
  // month of every year.
  const any = native('typhoon');
  assert.ok(any.hits.some((h) => !h.time.startsWith('2007-10')), 'without the period, other months answer');
  const december = native('snow over Hokkaido in December');
  assert.deepEqual(december.period.period.months, [12]);
  for (const h of december.hits) assert.equal(h.time.slice(5, 7), '12', h.id);
  // A season: its three months (meteorological: winter is December–February).
  const winter = native('snow in winter');
  assert.deepEqual(winter.period.period.months, [12, 1, 2]);
  assert.ok(winter.hits.length > 0, 'the demo holds winter frames');
  for (const h of winter.hits) assert.ok(['12', '01', '02'].includes(h.time.slice(5, 7)), h.id);
  const wintry = await search(page, 'snow in winter');
  assert.deepEqual(wintry.map((h) => h.id), winter.hits.map((h) => h.id), 'snow in winter: browser = native');
  // A period the archive holds nothing of: said so, in the page and natively.
  assert.deepEqual(await search(page, 'typhoon in 2019'), []);
  assert.equal(await page.locator('[data-testid=no-results]').innerText(), 'This archive holds no frames of 2019.');
  assert.deepEqual(native('typhoon in 2019').hits, []);
  assert.match(execFileSync(SKYCASE, ['search', 'typhoon in 2019', '--bundle', BUNDLE], { encoding: 'utf8' }), /this archive holds no frames of 2019/);
  // No period: no line.
  await search(page, 'typhoon over the South China Sea');
  assert.equal(await page.locator('[data-testid=period]').count(), 0);
  assert.equal(native('typhoon over the South China Sea').period, null);
  assert.deepEqual(errors, []);
});

test('a period outside the date filters is named as such, and the filters stay as set', async () => {
  const { page, errors } = browser;
  const q = 'typhoon October 2007';
  const from = '2017-11-01';
  await openApp(page, `${server.url}?q=${encodeURIComponent(q)}&from=${from}`);
  await page.waitForSelector(FINAL_ANSWER, { timeout: 30000 });
  const note = page.locator('[data-testid=period]');
  await note.waitFor();
  assert.equal(await note.getAttribute('data-applied'), 'false');
  assert.match(await note.innerText(), /outside the date filters/);
  const want = native(q, ['--from', from]);
  assert.equal(want.period.applied, false);
  assert.deepEqual((await results(page)).map((h) => h.id), want.hits.map((h) => h.id), 'browser = native');
  for (const h of want.hits) assert.ok(h.time.slice(0, 10) >= from, h.id);
  // In the Korean interface, the line is Korean.
  await openApp(page, `${server.url}?q=${encodeURIComponent('2017년 11월 남중국해 태풍')}&lang=ko`);
  await page.waitForSelector(FINAL_ANSWER, { timeout: 60000 });
  assert.match(await page.locator('[data-testid=period]').innerText(), /^질의의 기간 2017년 11월: 아래는 2017-11-01 – 2017-11-30의 영상입니다\.$/);
  assert.deepEqual(errors, []);
});
