// Interface language: Korean when the browser prefers it or the address says lang=ko, English
// otherwise, and the choice survives a search (the address keeps lang).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, serveAndLaunch } from './harness.mjs';

let server;
let browser;
serveAndLaunch((s, b) => { server = s; browser = b; });

/** The strings a newcomer reads first, and the page's declared language. */
async function chrome(page) {
  return page.evaluate(() => ({
    lang: document.documentElement.lang,
    tagline: document.querySelector('.tagline')?.textContent,
    button: document.querySelector('form.search button[type=submit]')?.textContent,
    placeholder: document.querySelector('[data-testid=search-input]')?.placeholder,
    regions: [...document.querySelectorAll('[data-testid=filter-region] option')].map((o) => o.textContent),
  }));
}

test('lang=ko in the address gives the Korean interface, lang=en the English one', async () => {
  const { page, errors } = browser;
  await openApp(page, `${server.url}?lang=ko`);
  const ko = await chrome(page);
  assert.equal(ko.lang, 'ko');
  assert.equal(ko.button, '검색');
  assert.match(ko.tagline, /위성영상/);
  assert.ok(ko.regions.includes('한반도') && ko.regions.includes('규슈(일본)'), ko.regions.join(', '));

  await openApp(page, `${server.url}?lang=en`);
  const en = await chrome(page);
  assert.equal(en.lang, 'en');
  assert.equal(en.button, 'Search');
  assert.ok(en.regions.includes('Korean Peninsula'), en.regions.join(', '));
  assert.deepEqual(errors, []);
});

test('a browser that prefers Korean gets the Korean interface without asking', async () => {
  // One persistent profile per run: emulate the preference on a fresh page of it.
  const page = await browser.context.newPage();
  await page.addInitScript(() => {
    Object.defineProperty(navigator, 'languages', { get: () => ['ko-KR', 'ko', 'en-US'] });
    Object.defineProperty(navigator, 'language', { get: () => 'ko-KR' });
  });
  await openApp(page, server.url);
  const ko = await chrome(page);
  assert.equal(ko.lang, 'ko');
  assert.ok(ko.placeholder.includes('태풍'), ko.placeholder);
  await page.close();
});
