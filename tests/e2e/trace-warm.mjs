// Where a warm answer's time goes (not a test): a Chromium performance trace over CDP
// (Tracing domain, devtools.timeline categories) of bench-decade's warm pattern — a query,
// then three times: clear, the same query again — and, per warm query, the main thread's,
// the worker's, the compositor's and the raster threads' time between the page posting the
// query and the paint after its whole answer, summed by trace event name.
//
//   cd tests/e2e && nice -n -5 node trace-warm.mjs SITE [TRACE_JSON]
//
// SITE: a built app folder (dist/, or a decade site as bench-decade.mjs makes them). The
// probe marks (User Timing, so they are in the trace) `q:sent`, `q:done` (the page handled
// the whole answer) and `q:painted` (a task after the next animation frame), as bench-decade's
// probe times them. TRACE_JSON: where to write the raw trace (Perfetto / DevTools can open it).
import { writeFileSync } from 'node:fs';
import { startServer, launch, openApp, search, workerHooks } from './harness.mjs';

const [SITE, OUT] = process.argv.slice(2);
if (!SITE) throw new Error('usage: node trace-warm.mjs SITE [TRACE_JSON]');
const QUERIES = (process.env.TRACE_QUERIES || 'typhoon approaching Kyushu|heavy snow over Hokkaido|clear skies across Mongolia').split('|');
const REPS = Number(process.env.TRACE_REPS || 3);

function probe() {
  let current = null;
  const hooks = window.__workerHooks;
  hooks.posted.push((msg) => {
    if (msg?.Query) { current = msg.Query.id; performance.mark(`q:sent:${current}`); }
  });
  hooks.received.push((d) => {
    if (d?.Results?.id !== undefined) performance.mark(`q:arrived:${d.Results.id}`);
  });
  hooks.handled.push((d) => {
    const id = d?.Results?.id;
    if (id !== undefined) {
      performance.mark(`q:done:${id}`);
      requestAnimationFrame(() => { performance.mark(`q:raf:${id}`); setTimeout(() => { performance.mark(`q:painted:${id}`); window.__painted = id; }); });
    }
  });
}

const server = await startServer(SITE);
const browser = await launch();
await browser.page.addInitScript(workerHooks);
await browser.page.addInitScript(probe);
await openApp(browser.page, server.url);
await new Promise((r) => setTimeout(r, 500));
const cdp = await browser.context.newCDPSession(browser.page);
const events = [];
cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
const categories = ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline', 'disabled-by-default-devtools.timeline.frame',
  'blink.user_timing', 'cc', 'viz', 'gpu', 'v8.execute', 'benchmark', '__metadata'];
const warmIds = [];
for (const q of QUERIES) {
  await search(browser.page, q);
  await new Promise((r) => setTimeout(r, 300));
  for (let r = 0; r < REPS; r++) {
    await browser.page.fill('[data-testid=search-input]', '');
    await browser.page.press('[data-testid=search-input]', 'Enter');
    await browser.page.waitForFunction(() => document.querySelectorAll('[data-testid=result]').length === 0);
    await new Promise((res) => setTimeout(res, 100));
    if (!warmIds.length && r === 0 && q === QUERIES[0]) await cdp.send('Tracing.start', { traceConfig: { includedCategories: categories, recordMode: 'recordContinuously' }, transferMode: 'ReportEvents' });
    await search(browser.page, q);
    await browser.page.waitForFunction(() => window.__painted === Number(document.querySelector('[data-testid=timings]').dataset.queryId));
    warmIds.push(await browser.page.evaluate(() => window.__painted));
    await new Promise((res) => setTimeout(res, 150));
  }
}
await cdp.send('Tracing.end');
await done;
await browser.close();
server.stop();
if (OUT) writeFileSync(OUT, JSON.stringify({ traceEvents: events }));

// Threads by (pid, tid): their names from the metadata events.
const names = new Map();
const procs = new Map();
for (const e of events) {
  if (e.ph === 'M' && e.name === 'thread_name') names.set(`${e.pid}:${e.tid}`, e.args.name);
  if (e.ph === 'M' && e.name === 'process_name') procs.set(e.pid, e.args.name);
}
const thread = (e) => `${procs.get(e.pid) ?? e.pid}/${names.get(`${e.pid}:${e.tid}`) ?? e.tid}`;
// Complete events (X, and B/E pairs) with their start and duration (µs).
const spans = [];
const open = new Map();
for (const e of events) {
  if (e.ph === 'X' && e.dur !== undefined) spans.push({ t: thread(e), name: e.name, ts: e.ts, dur: e.dur });
  else if (e.ph === 'B') { const k = `${e.pid}:${e.tid}`; (open.get(k) ?? open.set(k, []).get(k)).push(e); }
  else if (e.ph === 'E') { const b = open.get(`${e.pid}:${e.tid}`)?.pop(); if (b) spans.push({ t: thread(b), name: b.name, ts: b.ts, dur: e.ts - b.ts }); }
}
const marks = new Map();
for (const e of events) if (e.cat?.includes('blink.user_timing') && e.name.startsWith('q:')) marks.set(e.name, e.ts);
const p50 = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
const per = new Map();
const phases = { 'sent → arrived': [], 'arrived → done (page handles the answer)': [], 'done → rAF (wait for the frame)': [], 'rAF → painted (the frame)': [], 'sent → painted': [] };
let counted = 0;
for (const id of warmIds) {
  const [s, a, d, f, p] = ['sent', 'arrived', 'done', 'raf', 'painted'].map((k) => marks.get(`q:${k}:${id}`));
  if ([s, a, d, f, p].some((x) => x === undefined)) continue;
  counted++;
  phases['sent → arrived'].push((a - s) / 1e3);
  phases['arrived → done (page handles the answer)'].push((d - a) / 1e3);
  phases['done → rAF (wait for the frame)'].push((f - d) / 1e3);
  phases['rAF → painted (the frame)'].push((p - f) / 1e3);
  phases['sent → painted'].push((p - s) / 1e3);
  const window = new Map();
  for (const sp of spans) {
    // The part of each span inside [sent, painted + 20 ms] (raster and display may trail the paint task).
    const lo = Math.max(sp.ts, s);
    const hi = Math.min(sp.ts + sp.dur, p + 20e3);
    if (hi <= lo) continue;
    const key = `${sp.t} · ${sp.name}`;
    window.set(key, (window.get(key) ?? 0) + (hi - lo) / 1e3);
  }
  for (const [k, v] of window) (per.get(k) ?? per.set(k, []).get(k)).push(v);
}
console.log(`${counted} warm queries traced (${QUERIES.length} queries × ${REPS})`);
for (const [k, v] of Object.entries(phases)) console.log(`${k}: p50 ${p50(v).toFixed(1)} ms (${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)})`);
console.log('\nper warm query, ms (p50 over the queries where the event occurs; n), sent → painted + 20 ms, by thread · event:');
const rows = [...per].map(([k, v]) => [k, p50([...v, ...Array(counted - v.length).fill(0)]), v.length]).filter(([, m]) => m >= 0.2).sort((a, b) => a[0].localeCompare(b[0]));
for (const [k, m, n] of rows) console.log(`  ${k}: ${m.toFixed(2)} (${n})`);
