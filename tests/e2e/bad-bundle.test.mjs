// A broken bundle is a clear message on the page, never a blank page or a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, openApp, copyDist } from './harness.mjs';

async function statusFor(mutate) {
  const copy = copyDist();
  const server = await startServer(copy.dir);
  const browser = await launch();
  try {
    mutate(join(copy.dir, 'bundle'));
    return await openApp(browser.page, server.url);
  } finally {
    await browser.close();
    server.stop();
    copy.remove();
  }
}

test('a corrupted shard is reported with its name and the hash mismatch', async () => {
  const status = await statusFor((bundle) => {
    const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'));
    const shard = join(bundle, manifest.shards[0].path);
    const bytes = readFileSync(shard);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(shard, bytes);
  });
  assert.match(status, /could not start: shards\/2017-11\.skyshard: sha256 mismatch/);
});

test('an unknown bundle version is refused with both versions named', async () => {
  const status = await statusFor((bundle) => {
    const path = join(bundle, 'manifest.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    manifest.format_version = 99;
    writeFileSync(path, JSON.stringify(manifest));
  });
  assert.match(status, /bundle format version 99 is not supported \(this build reads version 1\)/);
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
