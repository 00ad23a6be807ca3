// Benchmark (not a test): the first query on the built app (dist/, the demo), in a fresh
// Chromium profile each time, sent right after "ready" and 2 s after it; prints the worker's
// rank time (partition fetch + ranking) and the page's sent → rendered time.
//   cd tests/e2e && node bench-first-query.mjs
import { startServer, launch, openApp, search } from './harness.mjs';

const server = await startServer();
const out = [];
for (const wait of [0, 2000]) {
  for (let i = 0; i < 3; i++) {
    const b = await launch();
    await openApp(b.page, server.url);
    if (wait) await b.page.waitForTimeout(wait);
    await search(b.page, 'heavy snow over Hokkaido');
    const t = b.page.locator('[data-testid=timings]');
    out.push({ wait, rank: Number(await t.getAttribute('data-rank-ms')), total: Number(await t.getAttribute('data-total-ms')) });
    await b.close();
  }
}
console.log(JSON.stringify(out));
server.stop();
