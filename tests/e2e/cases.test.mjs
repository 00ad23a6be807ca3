// Weather cases, not frames (issue 13), in real Chromium against the served demo bundle:
// episodes (browser = `skycase search --episodes`), the case view (its URL, keys, loop and
// speed), why it matched (the per-region chart), the downloads (zip and animated PNG), medium
// images, "more like this" with its own URL, filters that mean what they say, the debounced
// query, input borders' contrast, caption toggles that keep the row, and the phone layout.
// Screenshots of the case view go to docs/img (desktop and phone).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { join } from 'node:path';
import { ROOT, startServer, launch, openApp, search, results, nativeHits, readyLine, copyDist, repin, thumbnailsSettled } from './harness.mjs';

const IMG = join(ROOT, 'docs/img');
let server;
let browser;

before(async () => {
  mkdirSync(IMG, { recursive: true });
  server = await startServer();
  browser = await launch();
  const status = await openApp(browser.page, server.url);
  assert.ok(status.includes(readyLine()), status);
});
after(async () => {
  await browser?.close();
  server?.stop();
});

/** The cards with their episode attributes. */
async function cards(page) {
  return page.$$eval('[data-testid=result]', (els) => els.map((el) => {
    const e = el.querySelector('[data-testid=episode]');
    return {
      id: el.dataset.id, score: Number(el.dataset.score), region: el.dataset.region || null,
      frames: e ? Number(e.dataset.frames) : null, start: e?.dataset.start, end: e?.dataset.end,
      line: el.querySelector('[data-testid=matched-line]')?.textContent || '',
    };
  }));
}

/** The entries of a zip of stored files: { name: Buffer }. */
function unzip(buf) {
  const files = {};
  let at = 0;
  while (buf.readUInt32LE(at) === 0x04034b50) {
    const method = buf.readUInt16LE(at + 8);
    const crc = buf.readUInt32LE(at + 14);
    const size = buf.readUInt32LE(at + 18);
    const nameLen = buf.readUInt16LE(at + 26);
    const extra = buf.readUInt16LE(at + 28);
    const name = buf.subarray(at + 30, at + 30 + nameLen).toString('utf8');
    assert.equal(method, 0, `${name} is stored`);
    const start = at + 30 + nameLen + extra;
    files[name] = buf.subarray(start, start + size);
    assert.equal(crc32(files[name]), crc, `${name}: CRC-32 as the zip says`);
    at = start + size;
  }
  assert.equal(buf.readUInt32LE(at), 0x02014b50, 'the central directory follows the files');
  return files;
}

test('the top results are distinct episodes, as skycase search --episodes ranks them; a toggle shows every frame', async () => {
  const { page } = browser;
  for (const q of ['clear skies over the Korean Peninsula', 'typhoon approaching Kyushu', 'heavy snow over Hokkaido']) {
    await search(page, q);
    const web = await cards(page);
    const native = nativeHits(q, undefined, ['--episodes']);
    assert.deepEqual(web.map((c) => c.id), native.map((h) => h.id), `episodes' best frames for "${q}"`);
    web.forEach((c, i) => {
      assert.ok(Math.abs(c.score - native[i].score) <= 1e-4, `"${q}" #${i + 1}: ${c.score} vs ${native[i].score}`);
      assert.deepEqual([c.frames, c.start, c.end], [native[i].episode.frames, native[i].episode.start, native[i].episode.end], `"${q}" #${i + 1} episode`);
    });
    // Distinct: no two results of one region and one captioned phenomenon there (the card's
    // line, "Hokkaido (Japan) - Snow") lie within the gap (3 h) of each other's spans.
    const hours = (t) => Date.parse(t.replace('Z', ':00Z')) / 3.6e6;
    for (let i = 0; i < web.length; i++) {
      for (let j = i + 1; j < web.length; j++) {
        if (web[i].region !== web[j].region || web[i].line !== web[j].line) continue;
        const apart = Math.max(hours(web[j].start) - hours(web[i].end), hours(web[i].start) - hours(web[j].end));
        assert.ok(apart > 3, `"${q}": #${i + 1} and #${j + 1} are one episode (${web[i].start}–${web[i].end}, ${web[j].start}–${web[j].end})`);
      }
    }
  }
  // "Clear skies over the Korean Peninsula" filled the first row with 03, 04, 05 UTC of one
  // morning before (the issue); every frame is still there behind the toggle.
  const q = 'clear skies over the Korean Peninsula';
  await search(page, q);
  const before = await page.evaluate(() => Number(document.querySelector('[data-testid=timings]').dataset.queryId));
  await page.check('[data-testid=every-frame]');
  await page.waitForFunction((prev) => Number(document.querySelector('[data-testid=timings]').dataset.queryId) > prev, before);
  assert.match(page.url(), /frames=all/);
  const frames = await cards(page);
  assert.deepEqual(frames.map((c) => c.id), nativeHits(q).map((h) => h.id), 'every frame = skycase search without --episodes');
  assert.ok(frames.every((c) => c.frames === null), 'no episode lines');
  await page.uncheck('[data-testid=every-frame]');
  await page.waitForFunction(() => document.querySelector('[data-testid=episode]'));
  assert.doesNotMatch(page.url(), /frames=all/);
});

test('a case opens from a result with its own URL, plays its loop (keys, ≥ 10 frames/s) and Back closes it', async () => {
  const { page, errors } = browser;
  await search(page, 'typhoon approaching Kyushu');
  // Warm the cache: open and close one case first, then measure a second open.
  await page.locator('[data-testid=result]').nth(1).locator('[data-testid=open-case]').click();
  await page.waitForSelector('[data-testid=case-view]');
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-testid=case-view]', { state: 'detached' });
  const first = (await cards(page))[0];
  const t0 = await page.evaluate(() => performance.now());
  await page.locator('[data-testid=result]').first().locator('[data-testid=open-case]').click();
  await page.waitForFunction(() => {
    const v = document.querySelector('[data-testid=case-view]');
    const img = v?.querySelector('.loop-frame.current img');
    return v && img && img.complete && img.naturalWidth > 0;
  });
  const openMs = (await page.evaluate(() => performance.now())) - t0;
  console.log(`case view interactive ${openMs.toFixed(0)} ms after the click (warm cache)`);
  // The targets (≤ 300 ms, ≥ 10 frames/s) are read off these printed lines into docs/benchmarks.md;
  // the asserts catch a view that hangs or a loop that stalls, not a slow machine.
  assert.ok(openMs <= 3000, `case view interactive in ${openMs.toFixed(0)} ms: it hangs`);
  assert.match(page.url(), new RegExp(`#case=${encodeURIComponent(first.id)}$`));
  const view = page.locator('[data-testid=case-view]');
  assert.equal(await view.getAttribute('data-id'), first.id);
  const n = Number(await view.getAttribute('data-frames'));
  assert.ok(n >= 10, `the loop holds the frames ±12 h around it (${n})`);
  // Every loop frame is within 12 h of the case's frame, in time order, each with its time shown.
  const times = await page.$$eval('[data-testid=loop-frame]', (els) => els.map((e) => e.dataset.time));
  const hours = (t) => Date.parse(t.replace('Z', ':00Z')) / 3.6e6;
  const caseTime = await page.getAttribute('[data-testid=case-time]', 'datetime');
  assert.ok(times.every((t) => Math.abs(hours(t) - hours(caseTime)) <= 12), times.join(' '));
  assert.deepEqual(times, [...times].sort());
  assert.match(await page.innerText('[data-testid=case-local-time]'), /KST\/JST/);
  // Keys: → steps one frame (the time shown follows), ← back, Space plays and pauses.
  const index = async () => Number(await view.getAttribute('data-frame-index'));
  const i0 = await index();
  await page.keyboard.press('ArrowRight');
  assert.equal(await index(), (i0 + 1) % n);
  assert.equal(await page.getAttribute('[data-testid=case-time]', 'datetime'), times[(i0 + 1) % n]);
  await page.keyboard.press('ArrowLeft');
  assert.equal(await index(), i0);
  // Every loop image is fetched before measuring the rate.
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=loop-frame] img')].length
    === document.querySelectorAll('[data-testid=loop-frame]').length);
  const fps = await page.evaluate(async () => {
    const v = document.querySelector('[data-testid=case-view]');
    let changes = 0;
    const seen = new MutationObserver(() => { changes += 1; });
    seen.observe(v, { attributes: true, attributeFilter: ['data-frame-index'] });
    v.dispatchEvent(new KeyboardEvent('keydown', { key: ' ', bubbles: true }));
    const t = performance.now();
    await new Promise((r) => setTimeout(r, 2000));
    const s = (performance.now() - t) / 1000;
    seen.disconnect();
    return changes / s;
  });
  console.log(`loop plays at ${fps.toFixed(1)} frames/s`);
  assert.ok(fps >= 3, `loop at ${fps.toFixed(1)} frames/s: it stalls`);
  assert.equal(await view.getAttribute('data-playing'), 'true');
  await page.keyboard.press(' ');
  assert.equal(await view.getAttribute('data-playing'), 'false');
  await page.keyboard.press('Home');
  await page.screenshot({ path: join(IMG, 'case-view.png') });
  // Back closes the case and keeps the search.
  await page.goBack();
  await page.waitForSelector('[data-testid=case-view]', { state: 'detached' });
  assert.doesNotMatch(page.url(), /#case=/);
  assert.equal((await cards(page))[0].id, first.id);
  // The case's address opens it on a fresh page too.
  await page.goto(`${server.url}?q=${encodeURIComponent('typhoon approaching Kyushu')}#case=${encodeURIComponent(first.id)}`);
  await page.waitForSelector(`[data-testid=case-view][data-id="${first.id}"]`, { timeout: 60000 });
  assert.deepEqual(errors, []);
});

test('why it matched: every region\'s score as bars, the matched one marked, its strength on a scale, its caption line marked', async () => {
  const { page } = browser;
  await openApp(page, server.url);
  await search(page, 'typhoon approaching Kyushu');
  const first = (await cards(page))[0];
  await page.locator('[data-testid=result]').first().locator('[data-testid=open-case]').click();
  await page.waitForSelector('[data-testid=why-chart]');
  const rows = await page.$$eval('[data-testid=why-row]', (els) => els.map((e) => ({
    region: e.dataset.region, score: Number(e.dataset.score), matched: e.classList.contains('matched'),
  })));
  assert.equal(rows.length, 13, 'one bar per region');
  assert.deepEqual(rows.map((r) => r.score), [...rows.map((r) => r.score)].sort((a, b) => b - a), 'bars sorted by score');
  const matched = rows.filter((r) => r.matched);
  assert.equal(matched.length, 1);
  assert.equal(matched[0].region, first.region, 'the chart marks the region the card matched');
  assert.ok(Math.abs(matched[0].score - first.score) <= 1e-4, `the matched bar is the card's score (${matched[0].score} vs ${first.score})`);
  const scale = page.locator('[data-testid=why-scale]');
  // Under the "nothing close" notice the scale says what the card says (nothing-close.test.mjs).
  const notice = await page.locator('[data-testid=nothing-close]').count() > 0;
  assert.ok((notice ? ['nearest'] : ['strong', 'weak', 'nothing']).includes(await scale.getAttribute('data-level')));
  const line = await page.innerText('[data-testid=caption-matched]');
  assert.ok(line.startsWith(first.region), `marked caption line "${line}"`);
  assert.equal(await page.locator('[data-testid=case-caption] li').count(), 13);
  assert.equal(await page.locator('[data-testid=colour-bar]').count(), 1);
  // The matched region is outlined, not filled.
  const fill = await page.$eval('[data-testid=case-view] [data-testid=matched-region]', (el) => getComputedStyle(el).fill);
  assert.equal(fill, 'none');
  await page.keyboard.press('Escape');
});

test('the case downloads as a zip of its loop frames and a JSON of times, scores and captions', async () => {
  const { page } = browser;
  await search(page, 'heavy snow over Hokkaido');
  await page.locator('[data-testid=result]').first().locator('[data-testid=open-case]').click();
  await page.waitForSelector('[data-testid=why-chart]');
  const n = Number(await page.getAttribute('[data-testid=case-view]', 'data-frames'));
  await page.waitForFunction((k) => document.querySelectorAll('[data-testid=loop-frame] img').length === k, n);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=case-download]')]);
  assert.match(download.suggestedFilename(), /^skycase-case-.*\.zip$/);
  const files = unzip(readFileSync(await download.path()));
  const json = JSON.parse(files['case.json'].toString('utf8'));
  assert.equal(json.query, 'heavy snow over Hokkaido');
  assert.equal(json.frames.length, n);
  assert.equal(json.regions.length, 13);
  assert.ok(json.regions.every((r) => typeof r.score === 'number'));
  assert.equal(json.frame.matched_region, 'Hokkaido (Japan)');
  assert.ok(json.frame.caption.includes('Hokkaido (Japan)'));
  for (const f of json.frames) {
    assert.ok(f.file, `${f.id} is in the zip`);
    assert.deepEqual([...files[f.file].subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${f.file} is a PNG`);
    assert.ok(typeof f.time === 'string' && typeof f.caption === 'string');
  }
  await page.keyboard.press('Escape');
});

/** The chunks of a PNG, each CRC checked: [{ type, data }]. */
function pngChunks(buf) {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  const chunks = [];
  let at = 8;
  while (at < buf.length) {
    const len = buf.readUInt32BE(at);
    const type = buf.subarray(at + 4, at + 8).toString('latin1');
    const data = buf.subarray(at + 8, at + 8 + len);
    assert.equal(crc32(buf.subarray(at + 4, at + 8 + len)), buf.readUInt32BE(at + 8 + len), `${type} CRC`);
    chunks.push({ type, data });
    at += 12 + len;
  }
  assert.equal(at, buf.length, 'the file ends with its last chunk');
  return chunks;
}

test('the loop downloads as an animated PNG: one frame per loop frame, at the loop images\' size, in order', async () => {
  const { page } = browser;
  await search(page, 'heavy snow over Hokkaido');
  await page.locator('[data-testid=result]').first().locator('[data-testid=open-case]').click();
  await page.waitForSelector('[data-testid=why-chart]');
  const n = Number(await page.getAttribute('[data-testid=case-view]', 'data-frames'));
  await page.waitForFunction((k) => [...document.querySelectorAll('[data-testid=loop-frame] img')].filter((i) => i.complete && i.naturalWidth > 0).length === k, n);
  const sizes = await page.$$eval('[data-testid=loop-frame] img', (els) => els.map((i) => [i.naturalWidth, i.naturalHeight]));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=case-download-animation]')]);
  assert.match(download.suggestedFilename(), /^skycase-loop-.*\.png$/);
  const chunks = pngChunks(readFileSync(await download.path()));
  const types = chunks.map((c) => c.type);
  assert.deepEqual(types.slice(0, 2), ['IHDR', 'acTL']);
  assert.equal(types.at(-1), 'IEND');
  const ihdr = chunks[0].data;
  const [w, h] = [ihdr.readUInt32BE(0), ihdr.readUInt32BE(4)];
  // The loop's frames are one source's images of one grid: all one size, the animation's.
  const same = sizes.filter(([sw, sh]) => sw === w && sh === h).length;
  assert.ok(same === n, `every loop image is ${w}×${h} (${JSON.stringify(sizes)})`);
  const actl = chunks[1].data;
  assert.equal(actl.readUInt32BE(0), n, `acTL: ${n} frames`);
  assert.equal(actl.readUInt32BE(4), 0, 'acTL: plays forever');
  const fctl = chunks.filter((c) => c.type === 'fcTL');
  assert.equal(fctl.length, n, 'one fcTL per frame');
  assert.ok(fctl.every((c) => c.data.readUInt32BE(4) === w && c.data.readUInt32BE(8) === h), 'each frame covers the image');
  // Frame 0 is the default image (IDAT), the others fdAT; sequence numbers count up from 0.
  assert.ok(types.indexOf('IDAT') > types.indexOf('fcTL') && types.indexOf('IDAT') < types.indexOf('fdAT'));
  const seq = chunks.filter((c) => c.type === 'fcTL' || c.type === 'fdAT').map((c) => c.data.readUInt32BE(0));
  assert.deepEqual(seq, seq.map((_, i) => i));
  // Chromium decodes it (its first frame) at that size.
  const decoded = await page.evaluate(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    return [bmp.width, bmp.height];
  }, readFileSync(await download.path()).toString('base64'));
  assert.deepEqual(decoded, [w, h]);
  await page.keyboard.press('Escape');
});

/** An 8-bit grey PNG of `w`×`h` whose pixel (x, y) is `f(x, y)`. */
function greyPng(w, h, f) {
  const raw = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw[y * (w + 1) + 1 + x] = f(x, y);
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

test('the case view shows a frame\'s medium image where the bundle has one, its thumbnail where not, and the results never fetch them', async () => {
  // The demo's packed folder carries no medium images (data/demo, README), so this release
  // gets some the way `skycase export` lists them: medium/<thumbnail name>, role "medium",
  // in the manifest the page is pinned to. Their pixels are a test pattern (the full frames
  // they would be rendered from are not in the repository): every simulated frame at an even
  // UTC hour has one, 512 × 294 (the simulated grid's aspect at 512 px); odd hours have none.
  const dist = copyDist();
  const manifestPath = join(dist.dir, 'bundle/manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  mkdirSync(join(dist.dir, 'bundle/medium'), { recursive: true });
  const even = (name) => /^sim_\d{8}(\d\d)00\.png$/.test(name) && Number(name.match(/^sim_\d{8}(\d\d)/)[1]) % 2 === 0;
  const added = [];
  for (const f of manifest.files.filter((f) => f.role === 'thumbnail')) {
    const name = f.path.split('/').pop();
    if (!even(name)) continue;
    const png = greyPng(512, 294, (x, y) => (x + y) & 255);
    writeFileSync(join(dist.dir, 'bundle/medium', name), png);
    added.push({ path: `medium/${name}`, role: 'medium', sha256: createHash('sha256').update(png).digest('hex'), bytes: png.length });
  }
  assert.ok(added.length >= 300, `${added.length} medium images`);
  manifest.files.push(...added);
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  repin(dist.dir);
  const own = await startServer(dist.dir);
  const b = await launch();
  try {
    const { page } = b;
    const fetched = [];
    b.context.on('request', (r) => { if (r.url().includes('/medium/')) fetched.push(r.url()); });
    // Simulated frames only: they are the ones given medium images above.
    await openApp(page, `${own.url}?source=simulated`);
    await search(page, 'heavy snow over Hokkaido');
    await thumbnailsSettled(page);
    assert.deepEqual(fetched, [], 'the results load thumbnails only');
    await page.locator('[data-testid=result]').first().locator('[data-testid=open-case]').click();
    await page.waitForSelector('[data-testid=why-chart]');
    const n = Number(await page.getAttribute('[data-testid=case-view]', 'data-frames'));
    await page.waitForFunction((k) => [...document.querySelectorAll('[data-testid=loop-frame] img')].filter((i) => i.complete && i.naturalWidth > 0).length === k, n, { timeout: 30000 });
    const frames = await page.$$eval('[data-testid=loop-frame]', (els) => els.map((e) => ({ time: e.dataset.time, w: e.querySelector('img').naturalWidth, h: e.querySelector('img').naturalHeight })));
    const evenHour = (t) => Number(t.slice(11, 13)) % 2 === 0;
    assert.ok(frames.some((f) => evenHour(f.time)) && frames.some((f) => !evenHour(f.time)), frames.map((f) => f.time).join(' '));
    for (const f of frames) {
      if (evenHour(f.time)) assert.deepEqual([f.w, f.h], [512, 294], `${f.time}: its medium image`);
      else assert.ok(f.w > 0 && f.w <= 256, `${f.time}: its thumbnail (${f.w} px)`);
    }
    assert.equal(new Set(fetched).size, frames.filter((f) => evenHour(f.time)).length, 'one request per medium image of the loop');
    await page.keyboard.press('Escape');
  } finally {
    await b.close();
    own.stop();
    dist.remove();
  }
});

test('the query is debounced: typing "snow over hokkaido" quickly runs one search and redraws the results once', async () => {
  const { page } = browser;
  await openApp(page, server.url);
  await search(page, 'typhoon approaching Kyushu');
  const before = await page.evaluate(() => {
    window.__redraws = [];
    const seen = new MutationObserver(() => {
      const t = document.querySelector('[data-testid=timings]');
      const first = document.querySelector('[data-testid=result]')?.dataset.id;
      const last = window.__redraws.at(-1);
      const now = `${t?.dataset.queryId}|${first}`;
      if (last !== now) window.__redraws.push(now);
    });
    seen.observe(document.querySelector('main') || document.body, { childList: true, subtree: true, attributes: true });
    window.__stopRedraws = () => seen.disconnect();
    return Number(document.querySelector('[data-testid=timings]').dataset.queryId);
  });
  await page.click('[data-testid=search-input]');
  await page.keyboard.press('ControlOrMeta+a');
  // 18 keys 40 ms apart (a quick typist), each well within the debounce of the one before.
  await page.keyboard.type('snow over hokkaido', { delay: 40 });
  await page.waitForFunction(() => document.querySelector('[data-testid=timings]')?.textContent.includes('“snow over hokkaido”'), null, { timeout: 30000 });
  // Time for any late answer to a partial query to show up.
  await page.waitForTimeout(800);
  const redraws = await page.evaluate(() => { window.__stopRedraws(); return window.__redraws; });
  const after = await page.evaluate(() => Number(document.querySelector('[data-testid=timings]').dataset.queryId));
  assert.equal(after, before + 1, `one query sent while typing (query ids ${before} → ${after})`);
  const ids = new Set(redraws.map((r) => r.split('|')[0]));
  assert.deepEqual([...ids].filter((id) => id !== String(before)), [String(before + 1)], `results drawn for one query: ${redraws.join(', ')}`);
  assert.match(page.url(), /q=snow\+over\+hokkaido|q=snow%20over%20hokkaido/);
});

test('phone: every text input, date input and select has a border of at least 3:1 against what surrounds it', async () => {
  const { page } = browser;
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await openApp(page, server.url);
    await page.click('[data-testid=filter-drawer] > summary');
    await page.waitForFunction(() => document.querySelector('[data-testid=filter-drawer]').open);
    const found = await page.$$eval('input, select', (els) => {
      const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
      // WCAG 2.x relative luminance and contrast ratio.
      const lum = ([r, g, b]) => [r, g, b].map((v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; })
        .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
      const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
      // The colour behind an element: the nearest ancestor with an opaque background.
      const behind = (el) => {
        for (let e = el.parentElement; e; e = e.parentElement) {
          const c = rgb(getComputedStyle(e).backgroundColor);
          if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
        }
        return rgb(getComputedStyle(document.documentElement).backgroundColor).slice(0, 3);
      };
      return els
        .filter((e) => e.offsetParent !== null && !['checkbox', 'radio', 'hidden'].includes(e.type))
        .map((e) => {
          const s = getComputedStyle(e);
          return { what: e.dataset.testid || e.name || e.type, width: parseFloat(s.borderTopWidth), style: s.borderTopStyle,
            ratio: ratio(rgb(s.borderTopColor).slice(0, 3), behind(e)) };
        });
    });
    assert.ok(found.length >= 4, `the search box and the filter drawer's inputs (${found.map((f) => f.what).join(', ')})`);
    const weak = found.filter((f) => !(f.width >= 1 && f.style !== 'none' && f.ratio >= 3));
    assert.deepEqual(weak, [], `borders at ≥ 3:1: ${found.map((f) => `${f.what} ${f.ratio.toFixed(2)}:1`).join(', ')}`);
  } finally {
    await page.setViewportSize({ width: 1280, height: 900 });
  }
});

test('opening a card\'s full caption grows that card only, not the row', async () => {
  const { page } = browser;
  await openApp(page, server.url);
  await search(page, 'clear skies over the Korean Peninsula');
  const row = async () => page.$$eval('[data-testid=result]', (els) => {
    const top = els[0].getBoundingClientRect().top;
    return els.filter((e) => Math.abs(e.getBoundingClientRect().top - top) < 1).map((e) => e.getBoundingClientRect().height);
  });
  const before = await row();
  assert.ok(before.length >= 2, `the first row holds several cards (${before.length})`);
  await page.locator('[data-testid=result]').first().locator('details > summary').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=result] details').open);
  const after = await row();
  assert.ok(after[0] > before[0] + 50, `the opened card grows (${before[0]} → ${after[0]} px)`);
  after.slice(1).forEach((h, i) => assert.ok(Math.abs(h - before[i + 1]) < 0.5, `neighbour #${i + 2}: ${before[i + 1]} → ${h} px`));
  await page.locator('[data-testid=result]').first().locator('details > summary').click();
});

test('"more like this" has its own URL, says what it shows, leaves the frame out, and Back returns', async () => {
  const { page } = browser;
  const q = 'snow in Manchuria';
  const hits = await search(page, q);
  await page.locator('[data-testid=result]').first().locator('[data-testid=more-like-this]').click();
  await page.waitForFunction(() => location.hash.startsWith('#similar='));
  await page.waitForFunction(() => document.querySelector('[data-testid=timings]')?.textContent.includes('“like '));
  assert.match(await page.inputValue('[data-testid=search-input]'), /^like \d{4}-\d\d-\d\d \d\d:\d\d UTC, Manchuria/);
  const similar = await results(page);
  assert.ok(!similar.some((h) => h.id === hits[0].id), 'the frame itself is left out');
  await page.goBack();
  await page.waitForFunction((text) => document.querySelector('[data-testid=search-input]').value === text, q);
  await page.waitForFunction((id) => document.querySelector('[data-testid=result]')?.dataset.id === id, hits[0].id);
});

test('filters mean what they say: Region ranks that region, Phenomenon matches through a region that has it', async () => {
  const { page } = browser;
  await openApp(page, `${server.url}?region=${encodeURIComponent('Kyushu (Japan)')}`);
  await search(page, 'clear skies across Mongolia');
  const kyushu = await cards(page);
  assert.ok(kyushu.length > 0);
  assert.ok(kyushu.every((c) => c.region === 'Kyushu (Japan)'), kyushu.map((c) => c.region).join(', '));
  assert.ok(kyushu.every((c) => c.line.startsWith('Kyushu (Japan) - ')), 'no stray dash, the region\'s own line');
  // A query that names no region: with Phenomenon = Typhoon every card matched through a
  // region with a typhoon (it read "Kyushu - Rain" before).
  await openApp(page, `${server.url}?phenomenon=Typhoon`);
  await search(page, 'heavy rain');
  const typhoon = await cards(page);
  assert.ok(typhoon.length > 0);
  assert.ok(typhoon.every((c) => c.line.endsWith(' - Typhoon')), typhoon.map((c) => c.line).join(' | '));
  // A filter that keeps nothing says which filters are set; a reversed range is refused.
  await openApp(page, `${server.url}?region=${encodeURIComponent('Mongolia')}&phenomenon=Typhoon`);
  await search(page, 'typhoon');
  assert.match(await page.innerText('[data-testid=no-results]'), /Region = Mongolia, Phenomenon = Typhoon/);
  await page.fill('[data-testid=filter-from]', '2017-11-20');
  await page.fill('[data-testid=filter-to]', '2017-11-10');
  assert.match(await page.innerText('[data-testid=range-error]'), /ends \(2017-11-10\) before it starts \(2017-11-20\)/);
  assert.doesNotMatch(page.url(), /to=2017-11-10/);
});

test('landing page and phone: examples, coverage, a compact filter drawer, 44 px targets, a case view that fits', async () => {
  const { page } = browser;
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await openApp(page, server.url);
    assert.match(await page.innerText('[data-testid=coverage]'), /simulated month.*real satellite frames/s);
    assert.ok(await page.locator('[data-testid=example]').count() >= 4);
    assert.equal(await page.getAttribute('[data-testid=filter-drawer]', 'open'), null, 'filters start folded on a phone');
    // The last example has no case in the demo month: the notice says so.
    await page.locator('[data-testid=example]').last().click();
    await page.waitForSelector('[data-testid=timings]');
    assert.equal(await page.locator('[data-testid=nothing-close]').count(), 1, 'the last example shows the "nothing close" notice');
    // The first, the one a newcomer clicks, finds strong cases.
    await openApp(page, server.url);
    await page.locator('[data-testid=example]').first().click();
    await page.waitForSelector('[data-testid=timings]');
    assert.equal(await page.locator('[data-testid=nothing-close]').count(), 0, 'the first example finds cases');
    await page.waitForSelector('[data-testid=result]');
    const small = await page.$$eval('button, input, select, summary', (els) => els
      .filter((e) => e.offsetParent !== null)
      .map((e) => ({ what: e.dataset.testid || e.textContent.trim().slice(0, 20), h: e.getBoundingClientRect().height }))
      .filter((b) => b.h < 44));
    assert.deepEqual(small, [], 'every visible control is at least 44 px tall');
    await page.locator('[data-testid=result]').first().locator('[data-testid=open-case]').click();
    await page.waitForSelector('[data-testid=why-chart]');
    const width = await page.$eval('[data-testid=case-view]', (el) => el.getBoundingClientRect().width);
    assert.ok(width <= 390, `case view fits the phone (${width} px)`);
    await page.screenshot({ path: join(IMG, 'case-view-phone.png') });
    await page.keyboard.press('Escape');
  } finally {
    await page.setViewportSize({ width: 1280, height: 900 });
  }
});
