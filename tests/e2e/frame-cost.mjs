// What the frame that puts a warm answer's cards back costs, CSS variants side by side (not a
// test): a query's cards are taken out of the list and put back inside an animation frame
// callback, many times, with each variant's rules inserted in turn (CSSOM, so the page's CSP
// allows it). The worker plays no part, so the frame is seen without its noise. Per variant,
// p50 (p25, p75) of: the wall time from the append to a task after the frame; the main
// thread's CPU time (`tdur` in a Chromium trace, which a busy machine does not stretch) in
// style, layout, pre-paint, paint, layerize and commit; the renderer's raster CPU (software
// here) in the 150 ms after the append, and in the 150 ms after the cards are taken out again.
//
//   cd tests/e2e && nice -n -5 node frame-cost.mjs SITE [REPS]
//
// SITE: a built app folder (dist/, or a decade site as bench-decade.mjs makes them).
// FRAME_VARIANTS: a JSON object, name → CSS rules added for that variant, e.g.
//   '{"as built": [], "no c-v": [".result { content-visibility: visible !important }"]}'
// FRAME_WIDTH (default 1280; the height is 900), FRAME_QUERY (the query whose cards are used).
import { startServer, launch, openApp, search } from './harness.mjs';

const [SITE, REPS = '30'] = process.argv.slice(2);
if (!SITE) throw new Error('usage: node frame-cost.mjs SITE [REPS]');
const VARIANTS = JSON.parse(process.env.FRAME_VARIANTS || '{"as built": []}');
const QUERY = process.env.FRAME_QUERY || 'typhoon approaching Kyushu';
const WIDTH = Number(process.env.FRAME_WIDTH || 1280);
// FRAME_SPLIT=1: also forces style and layout right after the append (a read of offsetHeight),
// and reports how long that took: the frame's style + layout, the rest being paint and commit.
const SPLIT = process.env.FRAME_SPLIT === '1';

const server = await startServer(SITE);
const browser = await launch();
await browser.page.setViewportSize({ width: WIDTH, height: 900 });
await openApp(browser.page, server.url);
await search(browser.page, QUERY);
await new Promise((r) => setTimeout(r, 1500));
// A trace of the cycles: the main thread's CPU time (`tdur`, not stretched by other processes
// on a busy machine) in the frame after each append.
const cdp = await browser.context.newCDPSession(browser.page);
const events = [];
cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
const traced = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
await cdp.send('Tracing.start', { traceConfig: { includedCategories: ['devtools.timeline', 'cc', 'toplevel', 'blink.user_timing', 'disabled-by-default-devtools.timeline', '__metadata'], recordMode: 'recordContinuously' }, transferMode: 'ReportEvents' });
const { times: out, layouts } = await browser.page.evaluate(async ([variants, reps, split]) => {
  const sheet = document.styleSheets[0];
  const ol = document.querySelector('[data-testid=results]');
  const lis = [...ol.children];
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const layouts = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < reps; i++) {
    for (const [name, rules] of Object.entries(variants)) {
      const at = sheet.cssRules.length;
      rules.forEach((r, k) => sheet.insertRule(r, at + k));
      await frame();
      await frame();
      const t = await new Promise((r) => requestAnimationFrame(() => {
        const t0 = performance.now();
        performance.mark(`f:${i}:${name}:start`);
        ol.append(...lis);
        if (split) { void document.body.offsetHeight; layouts[name].push(performance.now() - t0); }
        setTimeout(() => { performance.mark(`f:${i}:${name}:end`); r(performance.now() - t0); });
      }));
      times[name].push(t);
      // Time for the frame's raster (software here: no GPU) before the cards go again.
      await new Promise((r) => setTimeout(r, 150));
      performance.mark(`f:${i}:${name}:rastered`);
      lis.forEach((li) => li.remove());
      await new Promise((r) => setTimeout(r, 150));
      performance.mark(`f:${i}:${name}:cleared`);
      for (let k = rules.length - 1; k >= 0; k--) sheet.deleteRule(at + k);
      await frame();
    }
  }
  return { times, layouts };
}, [VARIANTS, Number(REPS), SPLIT]);
await cdp.send('Tracing.end');
await traced;
await browser.close();
server.stop();
const mainTid = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
const marks = new Map(events.filter((e) => e.name.startsWith('f:')).map((e) => [e.name, e.ts]));
// The rendering steps (the append runs inside the frame's animation step, so the frame itself
// began before the mark).
const STEPS = new Set(['UpdateLayoutTree', 'Layout', 'PrePaint', 'Paint', 'Layerize', 'Commit', 'IntersectionObserverController::computeIntersections']);
const frames = events.filter((e) => e.ph === 'X' && STEPS.has(e.name) && mainTid.has(`${e.pid}:${e.tid}`));
const cpu = Object.fromEntries(Object.keys(VARIANTS).map((k) => [k, []]));
// Raster: the renderer's thread pool (software raster: ZeroCopyRasterBuffer::Playback).
const procs = new Map(events.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => [e.pid, e.args.name]));
const poolTid = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args.name === 'ThreadPoolForegroundWorker' && procs.get(e.pid) === 'Renderer').map((e) => `${e.pid}:${e.tid}`));
const rasterTasks = events.filter((e) => e.ph === 'X' && e.name === 'ThreadPool_RunTask' && poolTid.has(`${e.pid}:${e.tid}`));
const raster = Object.fromEntries(Object.keys(VARIANTS).map((k) => [k, []]));
const rasterOut = Object.fromEntries(Object.keys(VARIANTS).map((k) => [k, []]));
for (const [key, start] of marks) {
  const m = key.match(/^f:(\d+):(.*):start$/);
  if (!m) continue;
  const end = marks.get(`f:${m[1]}:${m[2]}:end`);
  cpu[m[2]].push(frames.filter((f) => f.ts >= start && f.ts < end).reduce((a, f) => a + (f.tdur ?? f.dur), 0) / 1e3);
  const rastered = marks.get(`f:${m[1]}:${m[2]}:rastered`);
  raster[m[2]].push(rasterTasks.filter((f) => f.ts >= start && f.ts < rastered).reduce((a, f) => a + (f.tdur ?? f.dur), 0) / 1e3);
  const cleared = marks.get(`f:${m[1]}:${m[2]}:cleared`);
  rasterOut[m[2]].push(rasterTasks.filter((f) => f.ts >= rastered && f.ts < cleared).reduce((a, f) => a + (f.tdur ?? f.dur), 0) / 1e3);
}
const q = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor((s.length - 1) * p)]; };
for (const [name, v] of Object.entries(out)) {
  const split = SPLIT ? `; style + layout p50 ${q(layouts[name], 0.5).toFixed(1)}` : '';
  console.log(`${name}: append → after the frame p50 ${q(v, 0.5).toFixed(1)} ms (p25 ${q(v, 0.25).toFixed(1)}, p75 ${q(v, 0.75).toFixed(1)}; n ${v.length})${split}; its style, layout, paint and commit: main-thread CPU p50 ${q(cpu[name], 0.5).toFixed(2)} ms (p25 ${q(cpu[name], 0.25).toFixed(2)}, p75 ${q(cpu[name], 0.75).toFixed(2)}); raster CPU p50 ${q(raster[name], 0.5).toFixed(2)} (p25 ${q(raster[name], 0.25).toFixed(2)}, p75 ${q(raster[name], 0.75).toFixed(2)}); the cards taken out again: raster CPU p50 ${q(rasterOut[name], 0.5).toFixed(2)}`);
}
