// Korean queries in real Chromium: the multilingual encoder (multilingual-e5-small) loads only
// for a query that needs it (its description too: a file of its own that the manifest names,
// not part of the manifest every visit loads), its download stays within budget and cached
// for offline use, and the browser ranks exactly as `skycase search` on the same bundle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { BUNDLE, SKYCASE, launch, openApp, search, nativeSearch, serveAndLaunch, waitUntilOfflineReady } from './harness.mjs';

const manifest = JSON.parse(readFileSync(join(BUNDLE, 'manifest.json'), 'utf8'));
let server;
let browser;
serveAndLaunch((s, b) => { server = s; browser = b; });

function native(text, lang) {
  // --episodes: one result per episode, as the app shows them by default (issue 13).
  const args = ['search', text, '--bundle', BUNDLE, '--json', '--episodes', ...(lang ? ['--lang', lang] : [])];
  const out = JSON.parse(execFileSync(SKYCASE, args, { encoding: 'utf8' }));
  return { encoder: out.encoder, hits: out.hits.map((h) => ({ id: h.id, score: h.score })) };
}

const encoderOf = (page) => page.$eval('[data-testid=timings]', (el) => el.dataset.encoder);

function sameRanking(web, nat, q) {
  assert.deepEqual(web.map((h) => h.id), nat.hits.map((h) => h.id), `top-20 ids for "${q}"`);
  web.forEach((h, i) => assert.ok(Math.abs(h.score - nat.hits[i].score) <= 1e-4,
    `"${q}" #${i + 1}: wasm ${h.score} vs native ${nat.hits[i].score}`));
}

test('Korean queries load the multilingual encoder on demand and rank as the companion does', async () => {
  const described = manifest.files.find((f) => f.role === 'multilingual-model');
  assert.ok(described, 'the demo bundle carries a multilingual encoder (scripts/build-app exports it)');
  assert.equal(manifest.multilingual, undefined, 'its description (the list of its word chunks) is not in manifest.json');
  const model = JSON.parse(readFileSync(join(BUNDLE, described.path), 'utf8'));
  const sizes = new Map([...manifest.files, ...model.word_embeddings.chunks].map((f) => [f.path, f.bytes]));
  const { page, errors, context } = browser;
  const fetched = [];
  page.on('request', (r) => {
    const m = r.url().match(/\/bundle\/(multilingual\/.*)$/);
    if (m) fetched.push(m[1]);
  });
  await openApp(page, server.url);

  const en = await search(page, 'typhoon approaching Kyushu');
  assert.equal(await encoderOf(page), 'minilm');
  assert.equal(en.length, nativeSearch('typhoon approaching Kyushu').length);
  assert.deepEqual(fetched, [], 'an English session downloads nothing of the multilingual encoder');

  for (const q of ['규슈에 태풍', '한반도에 폭설', '몽골 상공의 맑은 하늘', '동중국해 구름']) {
    const web = await search(page, q);
    assert.equal(await encoderOf(page), 'multilingual', q);
    const nat = native(q);
    assert.equal(nat.encoder, 'multilingual');
    sameRanking(web, nat, q);
  }
  // A direction word moves the place it follows (crates/vocab's gazetteer, in the worker as
  // natively): east of Taiwan is the Philippine Sea, and every card matches through it.
  {
    const q = '대만 동쪽 해상의 태풍';
    const web = await search(page, q);
    sameRanking(web, native(q), q);
    const regions = await page.$$eval('[data-testid=result]', (els) => els.map((el) => el.dataset.region));
    assert.ok(regions.length > 0 && regions.every((r) => r === 'Philippine Sea'), `${q}: ${regions.join(', ')}`);
  }
  const bytes = [...new Set(fetched)].reduce((sum, p) => sum + (sizes.get(p) ?? 0), 0);
  assert.ok(fetched.some((p) => p.endsWith('encoder.gguf')), `the encoder was fetched (${fetched.length} files)`);
  assert.ok(fetched.includes(described.path), `its description ${described.path} was fetched`);
  assert.ok(bytes <= 15e6, `Korean queries downloaded ${(bytes / 1e6).toFixed(2)} MB, budget 15 MB`);
  console.log(`multilingual download for 4 Korean queries: ${(bytes / 1e6).toFixed(2)} MB in ${new Set(fetched).size} files`);

  // Offline, after a reload: the Korean query's files (description, encoder, its chunks) come
  // from the bundle cache, and the answer is the same.
  await waitUntilOfflineReady(page);
  await context.setOffline(true);
  try {
    await openApp(page, server.url);
    const q = '규슈에 태풍';
    const offline = await search(page, q);
    assert.equal(await encoderOf(page), 'multilingual');
    sameRanking(offline, native(q), q);
  } finally {
    await context.setOffline(false);
  }
  assert.deepEqual(errors, []);
});

test('?lang=ko sends an English query to the multilingual encoder, as --lang ko does natively', async () => {
  const { page } = browser;
  await openApp(page, `${server.url}?lang=ko`);
  const q = 'snow over Hokkaido';
  const web = await search(page, q);
  assert.equal(await encoderOf(page), 'multilingual');
  sameRanking(web, native(q, 'ko'), q);
});

test('Korean weather without a place ("태풍") is searched as that weather in English: typhoons, not Korea, and nothing of the multilingual encoder is downloaded', async () => {
  // skycase_vocab::gazetteer::english_weather: alone, the multilingual encoder read "태풍" as
  // Korea (the Korean Peninsula first, under "nothing close").
  const fresh = await launch();
  try {
    const fetched = [];
    fresh.page.on('request', (r) => { if (/\/bundle\/multilingual\//.test(r.url())) fetched.push(r.url()); });
    await openApp(fresh.page, server.url);
    for (const [ko, en] of [['태풍', 'typhoon'], ['폭설 온 날', 'snow']]) {
      const web = await search(fresh.page, ko);
      assert.equal(await encoderOf(fresh.page), 'minilm', ko);
      const nat = native(ko);
      assert.equal(nat.encoder, 'minilm', ko);
      sameRanking(web, nat, ko);
      sameRanking(web, native(en), `${ko} as "${en}"`);
    }
    await search(fresh.page, '태풍');
    assert.equal(await fresh.page.locator('[data-testid=nothing-close]').count(), 0, '태풍: typhoons are close');
    const first = await fresh.page.$eval('[data-testid=result]', (el) => el.dataset.region);
    assert.notEqual(first, 'Korean Peninsula');
    assert.deepEqual(fetched, [], 'no multilingual file was fetched');
    assert.deepEqual(fresh.errors, []);
  } finally {
    await fresh.close();
  }
});
