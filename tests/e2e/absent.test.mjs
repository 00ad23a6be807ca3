// Weather a query says is absent (skycase_vocab::negation): "no rain in Seoul" asks for a dry
// day, and is searched as "clear skies in Seoul" in the browser and in `skycase search` alike,
// in English and in Korean ("비 안 오는 서울"). Before, both ranked Seoul's rain first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, search, nativeSearch, serveAndLaunch } from './harness.mjs';

let server;
let browser;
serveAndLaunch((s, b) => { server = s; browser = b; });

test('absent weather is searched as what is there instead, as skycase search does', async () => {
  const { page, errors } = browser;
  await openApp(page, server.url);
  for (const [q, as] of [['no rain in Seoul', 'clear skies in Seoul'], ['비 안 오는 서울', '맑은 서울']]) {
    const want = nativeSearch(q);
    assert.deepEqual(want.map((h) => h.id), nativeSearch(as).map((h) => h.id), `${q}: searched as "${as}"`);
    assert.match(want[0].caption, /Korean Peninsula - Clear/, `${q}: a clear day over Korea first`);
    const hits = await search(page, q);
    assert.deepEqual(hits.map((h) => h.id), want.map((h) => h.id), `${q}: browser = native`);
  }
  assert.deepEqual(errors, []);
});
