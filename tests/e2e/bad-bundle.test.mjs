// A broken bundle is a clear message on the page, never a blank page or a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, openApp, copyDist } from './harness.mjs';

/** Serves a copy of dist/ whose bundle `mutate` has broken, opens the app and hands the page
 *  to `then` (default: read the status line). */
async function withBrokenBundle(mutate, then = (page) => page.locator('[data-testid=status]').innerText()) {
  const copy = copyDist();
  const server = await startServer(copy.dir);
  const browser = await launch();
  try {
    mutate(join(copy.dir, 'bundle'));
    await openApp(browser.page, server.url);
    return await then(browser.page);
  } finally {
    await browser.close();
    server.stop();
    copy.remove();
  }
}

const statusFor = (mutate) => withBrokenBundle(mutate);

test('a corrupted shard is reported with its name and the hash mismatch', async () => {
  let name;
  const status = await statusFor((bundle) => {
    const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'));
    name = manifest.shards[0].path;
    const shard = join(bundle, name);
    const bytes = readFileSync(shard);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(shard, bytes);
  });
  assert.ok(name.startsWith('shards/') && status.includes(`could not start: ${name}: sha256 mismatch`), status);
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
  // The index loads with chunk 0 ([CLS], [SEP]) only; every word of a query lives in a later
  // chunk, fetched when the query needs it. Corrupt all of those.
  const message = await withBrokenBundle((bundle) => {
    const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'));
    for (const chunk of manifest.model.word_embeddings.chunks.slice(1)) {
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
