// A broken bundle is a clear message on the page, never a blank page or a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, openApp, copyDist, repin } from './harness.mjs';

/** Serves a copy of dist/ whose bundle `mutate` has broken, opens the app and hands the page
 *  to `then` (default: read the status line). `rebuilt`: the app is pinned to the changed
 *  manifest (as a build with that bundle would be); otherwise it keeps its pin. */
async function withBrokenBundle(mutate, then = (page) => page.locator('[data-testid=status]').innerText(), { rebuilt = true } = {}) {
  const copy = copyDist();
  const server = await startServer(copy.dir);
  const browser = await launch();
  try {
    mutate(join(copy.dir, 'bundle'));
    if (rebuilt) repin(copy.dir);
    await openApp(browser.page, server.url);
    return await then(browser.page);
  } finally {
    await browser.close();
    server.stop();
    copy.remove();
  }
}

const statusFor = (mutate) => withBrokenBundle(mutate);

test('a corrupted list file of the partitioned index fails the query, naming the file and the hash mismatch', async () => {
  let list;
  const error = await withBrokenBundle((bundle) => {
    const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'));
    list = manifest.partitions.lists[0].path;
    const file = join(bundle, list);
    const bytes = readFileSync(file);
    bytes[bytes.length - 2] ^= 0x01;
    writeFileSync(file, bytes);
  }, async (page) => {
    await page.fill('[data-testid=search-input]', 'typhoon approaching Kyushu');
    await page.press('[data-testid=search-input]', 'Enter');
    await page.waitForSelector('[data-testid=query-error]', { timeout: 30000 });
    return page.locator('[data-testid=query-error]').innerText();
  });
  // Fetched twice (the second time past the HTTP cache), then refused by name.
  assert.ok(error.includes(`${list}: sha256 mismatch`) && error.includes('also after downloading it again'), error);
});

test('an unknown bundle version is refused with both versions named', async () => {
  let supported;
  const status = await statusFor((bundle) => {
    const path = join(bundle, 'manifest.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    supported = manifest.format_version;
    manifest.format_version = 99;
    writeFileSync(path, JSON.stringify(manifest));
  });
  assert.match(status, new RegExp(`bundle format version 99 is not supported \\(this build reads version ${supported}\\)`));
});

test('a corrupted word-embedding chunk fails the query that needs it, naming the chunk', async () => {
  // The index loads with the chunk of [CLS] and [SEP] (ids 101, 102) only; every word of a
  // query lives in another chunk, fetched when the query needs it. Corrupt all of those.
  const message = await withBrokenBundle((bundle) => {
    const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'));
    const { chunks, rows_per_chunk: rows } = manifest.model.word_embeddings;
    const always = new Set([101, 102].map((id) => Math.floor(id / rows)));
    for (const chunk of chunks.filter((_, i) => !always.has(i))) {
      const bytes = readFileSync(join(bundle, chunk.path));
      bytes[0] ^= 0xff;
      writeFileSync(join(bundle, chunk.path), bytes);
    }
  }, async (page) => {
    await page.fill('[data-testid=search-input]', 'typhoon');
    await page.press('[data-testid=search-input]', 'Enter');
    return page.locator('[data-testid=query-error]').innerText({ timeout: 30000 });
  });
  assert.match(message, /words\/\d+\.\w+: sha256 mismatch/);
});

test('a missing encoder file is reported as such', async () => {
  const status = await statusFor((bundle) => writeFileSync(join(bundle, 'encoder.gguf.gone'), ''));
  // Sanity: the untouched bundle loads.
  assert.match(status, /ready/);
  const missing = await statusFor((bundle) => {
    const path = join(bundle, 'manifest.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    manifest.files.find((f) => f.role === 'encoder').path = 'nope.gguf';
    writeFileSync(path, JSON.stringify(manifest));
  });
  assert.match(missing, /nope\.gguf: the server answered HTTP 404/);
});

test('a manifest changed after the build is refused: the app is pinned to its sha256', async () => {
  // Whoever serves the bundle swaps a shard and rewrites the manifest to match; the page
  // still carries the original manifest's hash.
  const status = await withBrokenBundle((bundle) => {
    const path = join(bundle, 'manifest.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    manifest.generator = `${manifest.generator} (swapped)`;
    writeFileSync(path, JSON.stringify(manifest));
  }, undefined, { rebuilt: false });
  assert.match(status, /could not start: manifest\.json: (sha256|size) mismatch/);
  // Retry does not help against a wrong manifest: it is downloaded again and refused again.
});

test('a page without its pin loads nothing', async () => {
  const status = await withBrokenBundle((bundle) => {
    const index = join(bundle, '..', 'index.html');
    writeFileSync(index, readFileSync(index, 'utf8').replace(/(<meta name="skycase-manifest" content=")[^"]*/, '$1MANIFEST-PIN'));
  }, undefined, { rebuilt: false });
  assert.match(status, /carries no pin for its bundle/);
});
