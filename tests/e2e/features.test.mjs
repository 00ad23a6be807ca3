// The basemap over results, the month/season filter, embed mode in an iframe and keyboard
// use, in real Chromium against the served demo bundle.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, startServer, ROOT, openApp, search, results, nativeSearch, copyDist, repin, thumbnailsSettled, serveAndLaunch } from './harness.mjs';

const SHOTS = join(ROOT, 'tests/e2e/screenshots');
// The README's first picture is this suite's basemap screenshot, kept current by every run.
const README_SHOT = join(ROOT, 'docs/img/app-search.png');

// Thumbnail pixels (viewBox 256×147) of cities, from the simulator's navigation check points
// (crates/ingest/src/nav.rs): ((c − 271 + ½)·256/819, (l − 86 + ½)·147/471).
const CITIES = {
  'Korean Peninsula': ['Seoul', 126.13, 43.02],
  'Hokkaido (Japan)': ['Sapporo', 169.57, 28.02],
  'Honshu (Japan)': ['Tokyo', 168.92, 49.25],
  'Southern China': ['Hong Kong', 75.41, 95.89],
};

let server;
let browser;
serveAndLaunch((s, b) => { server = s; browser = b; });
before(() => mkdirSync(SHOTS, { recursive: true }));

/** Per result card (once its thumbnail is there): its region and what its basemap draws. */
async function basemaps(page) {
  await thumbnailsSettled(page);
  return page.$$eval('[data-testid=result]', (cards) => cards.map((card) => {
    const svg = card.querySelector('svg[data-testid=basemap]');
    const region = card.querySelector('[data-testid=matched-region]');
    const image = card.querySelector('.thumb img');
    const img = image.getBoundingClientRect();
    const box = svg?.getBoundingClientRect();
    // The coastlines: a <use> of the grid's one path, which the page holds once (src/basemap.rs).
    const coast = svg?.querySelector('use.coast');
    const drawn = coast && document.querySelector(coast.getAttribute('href'));
    return {
      id: card.dataset.id,
      region: card.dataset.region,
      viewBox: svg?.getAttribute('viewBox'),
      natural: `0 0 ${image.naturalWidth} ${image.naturalHeight}`,
      label: svg?.getAttribute('aria-label'),
      coastLength: drawn?.localName === 'path' ? drawn.getAttribute('d').length : 0,
      // What the <use> draws: the coastline's box on the card (not an empty reference).
      coastDrawn: !!coast && coast.getBBox().width > 10 && coast.getBBox().height > 10,
      outlined: region?.dataset.region,
      sameBoxAsImage: !!box && ['x', 'y', 'width', 'height'].every((k) => Math.abs(box[k] - img[k]) < 0.5),
    };
  }));
}

test('each result shows the coastlines and its matched region outlined over the thumbnail', async () => {
  const { page, errors } = browser;
  await openApp(page, server.url);
  let checkedCities = 0;
  for (const q of ['heavy snow over Hokkaido', 'clear skies over the Korean Peninsula', 'rain over Tokyo and Honshu']) {
    await search(page, q);
    await page.waitForSelector('[data-testid=result] svg[data-testid=basemap]');
    const maps = await basemaps(page);
    assert.equal(maps.length, (await results(page)).length);
    assert.ok(maps.length >= 5, `${maps.length} results`);
    for (const m of maps) {
      // The overlay is drawn on the thumbnail's own grid, in its aspect (256×147 for the
      // simulated month; episodes bring real frames of other grids into the top results too).
      const ratio = (b) => { const [, , w, h] = b.split(' ').map(Number); return w / h; };
      assert.ok(Math.abs(ratio(m.viewBox) / ratio(m.natural) - 1) < 0.02, `${m.id}: viewBox ${m.viewBox} on an image of ${m.natural}`);
      assert.ok(m.coastLength > 1000, `${m.id}: coastline path of ${m.coastLength} chars`);
      assert.ok(m.coastDrawn, `${m.id}: the coastlines are drawn over the card`);
      assert.ok(m.sameBoxAsImage, `${m.id}: the overlay covers the image exactly`);
      // The demo index is region-aware: every hit names the region that matched, and that
      // region is the one outlined, and named in the overlay's accessible label.
      assert.ok(m.region, `${m.id}: no matched region`);
      assert.equal(m.outlined, m.region, m.id);
      assert.equal(m.label, `Map overlay: coastlines, and the matched region ${m.region} outlined`);
    }
    // The outline is where the region is: its city is inside the outline, the other cities not
    // (CITIES are positions on the simulated month's 256×147 grid).
    const inside = await page.$$eval('[data-testid=matched-region]', (paths, cities) => paths
      .filter((p) => p.closest('svg').getAttribute('viewBox') === '0 0 256 147').map((p) => {
      const own = cities[p.dataset.region];
      const at = ([, x, y]) => p.isPointInFill(new DOMPoint(x, y));
      return own && { region: p.dataset.region, own: at(own),
        others: Object.entries(cities).filter(([r]) => r !== p.dataset.region).filter(([, c]) => at(c)).map(([r]) => r) };
    }).filter(Boolean), CITIES);
    for (const r of inside) {
      assert.ok(r.own, `${CITIES[r.region][0]} lies inside the ${r.region} outline`);
      assert.deepEqual(r.others, [], `${r.region} outline holds no other region's city`);
      checkedCities += 1;
    }
    if (q === 'clear skies over the Korean Peninsula') {
      await page.locator('[data-testid=result]').first().scrollIntoViewIfNeeded();
      await page.screenshot({ path: README_SHOT, clip: { x: 0, y: 0, width: 1280, height: 900 } });
    }
  }
  assert.ok(checkedCities >= 10, `city positions checked on ${checkedCities} outlines`);
  // Each grid's coastline is in the page once, however many cards draw it, and not shown itself.
  const grids = Object.keys(JSON.parse(readFileSync(join(ROOT, 'dist/bundle/overlay.json'), 'utf8')).grids).length;
  assert.equal(await page.locator('[data-testid=basemap-defs] path').count(), grids);
  assert.equal(await page.locator('svg[data-testid=basemap] path:not(.region)').count(), 0, 'no card holds a coastline path of its own');
  assert.deepEqual(await page.$eval('[data-testid=basemap-defs]', (el) => [el.getBoundingClientRect().width, el.getBoundingClientRect().height]), [0, 0]);
  assert.deepEqual(errors, []);
});

test('a new answer redraws the cards in place: the same elements show the new frames, captions closed', async () => {
  const { page, errors } = browser;
  await openApp(page, server.url);
  await search(page, 'heavy snow over Hokkaido');
  await thumbnailsSettled(page);
  const mark = () => page.$$eval('[data-testid=result]', (cards) => cards.forEach((c, i) => { c.kept = i; }));
  await mark();
  await page.locator('[data-testid=result]').first().locator('details > summary').click();
  const before = await page.$$eval('[data-testid=result]', (cards) => cards.map((c) => ({
    id: c.dataset.id, src: c.querySelector('.thumb img')?.src, region: c.querySelector('[data-testid=matched-region]')?.dataset.region })));
  const hits = await search(page, 'clear skies across Mongolia');
  const native = nativeSearch('clear skies across Mongolia');
  await thumbnailsSettled(page);
  const after = await page.$$eval('[data-testid=result]', (cards) => cards.map((c, i) => {
    const img = c.querySelector('.thumb img');
    return {
      kept: c.kept === i, id: c.dataset.id, rank: c.querySelector('.rank').textContent, label: c.getAttribute('aria-label'),
      src: img?.src, alt: img?.alt, time: c.querySelector('time').getAttribute('datetime'),
      region: c.querySelector('[data-testid=matched-region]')?.dataset.region, cardRegion: c.dataset.region,
      open: c.querySelector('details').open, caption: c.querySelector('.caption').textContent,
    };
  }));
  assert.equal(after.length, hits.length);
  assert.ok(after.length >= 5 && before.length >= 5, `${before.length} then ${after.length} cards`);
  // The answers differ, the cards are the same elements, and each says what the new answer holds.
  assert.notDeepEqual(after.map((c) => c.id), before.map((c) => c.id));
  const kept = Math.min(before.length, after.length);
  assert.ok(after.slice(0, kept).every((c) => c.kept), 'the cards of the first answer are reused');
  after.forEach((c, i) => {
    assert.equal(c.id, hits[i].id);
    assert.equal(c.rank, `#${i + 1}`);
    assert.match(c.label, new RegExp(`^Result ${i + 1}: `));
    assert.ok(c.src?.startsWith('blob:'), `${c.id}: thumbnail ${c.src}`);
    assert.equal(c.alt, `Infrared image at ${c.time}`);
    assert.equal(c.region, c.cardRegion, `${c.id}: the basemap outlines the card's own region`);
    assert.equal(c.open, false, `${c.id}: a caption opened for the last answer is closed`);
    // The card's text is the hit's own, character for character (cards are written as HTML).
    assert.equal(c.caption, native[i].caption, `${c.id}: caption`);
  });
  const changed = after.slice(0, kept).filter((c, i) => c.id !== before[i].id);
  assert.ok(changed.length > 0 && changed.every((c) => c.src !== before[after.indexOf(c)].src), 'a card showing another frame shows its thumbnail');
  assert.deepEqual(errors, []);
});

/** A copy of dist/ whose overlay.json is changed by `edit` (manifest updated or not). */
function distWithOverlay(edit, { updateManifest }) {
  const copy = copyDist();
  const overlayPath = join(copy.dir, 'bundle/overlay.json');
  const bytes = Buffer.from(edit(readFileSync(overlayPath, 'utf8')));
  writeFileSync(overlayPath, bytes);
  if (updateManifest) {
    const manifestPath = join(copy.dir, 'bundle/manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const entry = manifest.files.find((f) => f.role === 'overlay');
    entry.sha256 = createHash('sha256').update(bytes).digest('hex');
    entry.bytes = bytes.length;
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    // A rebuild pins the app to the changed manifest.
    repin(copy.dir);
  }
  return copy;
}

test('a frame on no grid of the overlay shows no basemap; a corrupt overlay.json is refused', async () => {
  const native = nativeSearch('typhoon approaching Kyushu');
  const dropped = native[0].id;
  const unlisted = distWithOverlay((text) => {
    const overlay = JSON.parse(text);
    for (const grid of Object.values(overlay.grids)) grid.frames = grid.frames.filter((f) => f !== dropped);
    return JSON.stringify(overlay);
  }, { updateManifest: true });
  // One digit changed: same size, different hash.
  const corrupt = distWithOverlay((text) => {
    const at = text.indexOf('"coast":"M') + '"coast":"M'.length;
    return text.slice(0, at) + ((Number(text[at]) + 1) % 10) + text.slice(at + 1);
  }, { updateManifest: false });
  for (const [copy, check] of [
    [unlisted, (maps) => {
      assert.equal(maps[0].id, dropped);
      assert.equal(maps[0].viewBox, undefined, 'the unlisted frame has no overlay');
      // (Real frames of other grids have other thumbnail shapes, so other viewBoxes.)
      assert.ok(maps.slice(1).every((m) => m.viewBox !== undefined), 'the other frames keep theirs');
    }],
    [corrupt, (maps, warnings) => {
      assert.ok(maps.every((m) => m.viewBox === undefined), 'no overlay from a file that fails its sha256');
      assert.ok(warnings.some((w) => w.includes('overlay.json: sha256 mismatch')), warnings.join('\n'));
    }],
  ]) {
    const s = await startServer(copy.dir);
    const b = await launch();
    const warnings = [];
    b.page.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
    try {
      await openApp(b.page, s.url);
      await search(b.page, 'typhoon approaching Kyushu');
      // The overlay loads after the index; give it the time it needs to show up (or not).
      await b.page.waitForFunction(() => document.querySelector('[data-testid=basemap]'), null, { timeout: 5000 }).catch(() => {});
      check(await basemaps(b.page), warnings);
    } finally {
      await b.close();
      s.stop();
      copy.remove();
    }
  }
});

test('the month/season filter keeps only frames of its months, as the CLI does, and lives in the URL', async () => {
  const { page } = browser;
  // The simulated frames of the demo (source=simulated) are November 2017: winter (DJF) has
  // nothing, autumn (SON) and November everything. (The real frames of the demo are of other
  // months, some in December.)
  await openApp(page, `${server.url}?source=simulated`);
  const q = 'typhoon over the South China Sea';
  await search(page, q);
  await page.selectOption('[data-testid=filter-months]', 'DJF');
  await page.waitForSelector('[data-testid=no-results]');
  assert.equal((await results(page)).length, 0);
  assert.match(page.url(), /months=DJF/);
  await page.selectOption('[data-testid=filter-months]', { label: 'November' });
  const expected = nativeSearch(q, undefined, ['--source', 'simulated']).length;
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=result]').length === n, expected);
  assert.match(page.url(), /months=11/);
  const web = await results(page);
  assert.deepEqual(web.map((h) => h.id), nativeSearch(q, undefined, ['--source', 'simulated']).map((h) => h.id), 'same ranking as without the filter');

  // A shared link restores every filter into the controls and applies them.
  const link = `${server.url}?q=${encodeURIComponent('snow')}&months=SON&region=${encodeURIComponent('Hokkaido (Japan)')}&phenomenon=Snow&from=2017-11-15`;
  await openApp(page, link);
  await page.waitForSelector('[data-testid=result]');
  assert.equal(await page.inputValue('[data-testid=filter-months]'), 'SON');
  assert.equal(await page.locator('[data-testid=filter-region] option:checked').innerText(), 'Hokkaido (Japan)');
  assert.equal(await page.inputValue('[data-testid=filter-phenomenon]'), 'Snow');
  assert.equal(await page.inputValue('[data-testid=filter-from]'), '2017-11-15');
  for (const h of await results(page)) {
    assert.match(h.text, /Hokkaido \(Japan\) - Snow/);
    assert.ok(Number(h.text.match(/2017-11-(\d\d)/)[1]) >= 15, h.text);
  }
  // Winter via the URL: nothing in the simulated month; the demo's real winter frames only
  // (COMS 2011-12-31 / 2012-01-01; KMA's 2012-12-22 only when chosen as the source).
  await openApp(page, `${server.url}?q=snow&months=DJF&source=simulated`);
  await page.waitForSelector('[data-testid=no-results]');
  assert.equal(await page.inputValue('[data-testid=filter-months]'), 'DJF');
  await openApp(page, `${server.url}?q=snow&months=DJF`);
  await page.waitForSelector('[data-testid=result]');
  for (const h of await results(page)) assert.match(h.text, /(2011-12|2012-01)-\d\d \d\d:\d\d UTC/);
});

test('embed mode works inside an iframe: compact, no chrome, results link out to the full app', async () => {
  const copy = copyDist();
  // Every frame (frames=all): the demo holds only a few typhoon episodes over the South China
  // Sea, and the layout checks below need 20 cards.
  const src = `./?embed=1&frames=all&q=${encodeURIComponent('typhoon')}&region=${encodeURIComponent('South China Sea')}&phenomenon=Typhoon`;
  // The host page is served by `skycase serve` too, under the app's strict CSP: no inline
  // style attribute on the iframe.
  writeFileSync(join(copy.dir, 'docs-page.html'), `<!DOCTYPE html><html><head><meta charset="utf-8"><title>docs</title></head>
<body><h1>Documentation</h1>
<iframe id="demo" title="skycase search" src="${src}" width="640" height="520"></iframe>
</body></html>`);
  const s = await startServer(copy.dir);
  const b = await launch();
  try {
    // What the page and its frames said, kept for the message should the frame never get
    // ready (seen once in a full run, never alone: the message says where it stopped).
    const said = [];
    const at = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    b.page.on('console', (m) => said.push(`${at()} ${m.type()}: ${m.text()}`));
    b.page.on('pageerror', (e) => said.push(`${at()} page error: ${e.message}`));
    b.page.on('requestfailed', (r) => said.push(`${at()} failed ${r.url()}: ${r.failure()?.errorText}`));
    b.page.on('worker', (w) => said.push(`${at()} worker ${w.url()}`));
    const t0 = performance.now();
    await b.page.goto(`${s.url}docs-page.html`);
    const frame = b.page.frameLocator('#demo');
    await frame.locator('[data-testid=status] [data-state=ready]').waitFor({ timeout: 60000 }).catch(async (e) => {
      const status = await frame.locator('[data-testid=status]').innerHTML({ timeout: 1000 }).catch((x) => `(none: ${x.message})`);
      throw new Error(`${e.message}\nthe frame's status: ${status}\nthe page and its frames said:\n${said.join('\n')}`);
    });
    // The whole answer (while it streams, the cards have no thumbnail or basemap yet).
    await frame.locator('[data-testid=timings]').waitFor({ timeout: 30000 });
    const cards = frame.locator('[data-testid=result]');
    assert.equal(await cards.count(), 20);
    assert.equal(await frame.locator('header, h1, [data-testid=filters]').count(), 0, 'no header or filter chrome');
    // The preset filters apply: every result has a typhoon over the South China Sea.
    // Each card read as shown (scrolled into view first: a card off screen is not rendered,
    // content-visibility: auto, so its innerText is empty until it is).
    for (const card of await cards.all()) {
      await card.scrollIntoViewIfNeeded();
      await card.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      assert.match(await card.innerText(), /South China Sea - Typhoon/);
    }
    await frame.locator('body').evaluate(() => window.scrollTo(0, 0));
    // Compact: three cards side by side in a 640 px frame (the full layout fits two), each with its basemap.
    const boxes = await cards.evaluateAll((els) => els.slice(0, 4).map((e) => e.getBoundingClientRect()));
    assert.ok(boxes[0].top === boxes[2].top && boxes[3].top > boxes[0].top, `card tops ${boxes.map((b) => b.top)}`);
    assert.ok(boxes[0].width < 260, `card width ${boxes[0].width}`);
    assert.equal(await frame.locator('[data-testid=result] svg[data-testid=basemap]').count(), 20);
    // Each result links out to the same search in the full app, in a new tab, scrolled to it.
    const first = cards.first();
    const id = await first.getAttribute('data-id');
    const link = first.locator('[data-testid=open-result]');
    assert.equal(await link.getAttribute('target'), '_blank');
    const href = new URL(await link.getAttribute('href'));
    assert.equal(href.searchParams.get('embed'), null);
    assert.equal(href.searchParams.get('q'), 'typhoon');
    assert.equal(href.searchParams.get('region'), 'South China Sea');
    assert.equal(href.hash, `#${id}`);
    const [tab] = await Promise.all([b.context.waitForEvent('page'), link.click()]);
    await tab.waitForSelector(`[data-testid=result][data-id="${id}"]`, { timeout: 60000 });
    await tab.waitForFunction((rid) => document.activeElement?.dataset?.id === rid, id);
    assert.equal(await tab.locator('header h1').count(), 1, 'the full app has its chrome');
    await b.page.screenshot({ path: join(SHOTS, 'embed.png') });
  } finally {
    await b.close();
    s.stop();
    copy.remove();
  }
});

test('results are reachable and usable with the keyboard alone', async () => {
  const { page } = browser;
  await openApp(page, server.url);
  const input = page.locator('[data-testid=search-input]');
  assert.ok(await input.evaluate((el) => el === document.activeElement), 'the query box has focus on load');
  await page.keyboard.type('heavy snow over Hokkaido');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=timings]')?.textContent.includes('heavy snow over Hokkaido'));
  const active = () => page.evaluate(() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return { testid: el.dataset.testid, id: el.dataset.id, tag: el.tagName, text: el.textContent.trim(),
      outline: `${style.outlineStyle} ${parseFloat(style.outlineWidth)}`, open: el.parentElement?.open };
  });
  // Tab past the search button and the filters to the first result card.
  let el;
  for (let i = 0; i < 20; i += 1) {
    await page.keyboard.press('Tab');
    el = await active();
    if (el.testid === 'result') break;
  }
  assert.equal(el.testid, 'result', 'Tab reaches the first result');
  const firstId = el.id;
  assert.equal(firstId, (await results(page))[0].id);
  assert.equal(el.outline, 'solid 3', 'a focused card shows a visible outline');
  // Any month: with the learnt directions (docs/alignment.md "Twelfth pass") a real December 2012
  // frame whose caption gives Hokkaido snow ranks first on the mixed demo.
  assert.match(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), /^Result 1: \d{4}-\d\d-\d\d \d\d:\d\d UTC, score 0\.\d{3}, /);

  await page.keyboard.press('Tab');
  el = await active();
  assert.equal(el.text, 'Show caption');
  assert.equal(el.outline, 'solid 3');
  await page.keyboard.press('Enter');
  assert.equal((await active()).open, true, 'Enter opens the caption');
  const caption = page.locator('[data-testid=result]').first().locator('.caption');
  assert.ok(await caption.isVisible());
  assert.equal((await caption.innerText()).split('\n').length, 13, 'the full 13-line caption, as text');
  await page.keyboard.press(' ');
  assert.equal((await active()).open, false, 'Space closes it again');

  await page.keyboard.press('Tab');
  el = await active();
  assert.equal(el.text, 'More like this');
  await page.keyboard.press(' ');
  await page.waitForFunction(() => document.querySelector('[data-testid=timings]')?.textContent.includes('“like '));
  el = await active();
  assert.equal(el.testid, 'result', 'focus moves to the new first result');
  assert.notEqual(el.id, firstId, 'the frame itself is left out of "more like this" (issue 13)');
  // Enter on the button works as well.
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal((await active()).text, 'More like this');
  const before = await page.evaluate(() => Number(document.querySelector('[data-testid=timings]').dataset.queryId));
  await page.keyboard.press('Enter');
  await page.waitForFunction((prev) => Number(document.querySelector('[data-testid=timings]').dataset.queryId) > prev, before);
});
