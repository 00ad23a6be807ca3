// Chromium run of the scratch kernel module (README.md): bit-for-bit checksums of
// qkernel::linear against the native build's, then f32 vs integer timings.
//   node run.mjs plain.wasm relaxed.wasm      (after build.sh; tests/e2e's playwright-core)
import { chromium } from '../../tests/e2e/node_modules/playwright-core/index.mjs';
import { readFileSync } from 'node:fs';
const files = process.argv.slice(2);
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
const p = await b.newPage();
const out = await p.evaluate(async (mods) => {
  const inst = [];
  for (const bytes of mods) inst.push((await WebAssembly.instantiate(new Uint8Array(bytes), {})).instance.exports);
  const sums = inst.map((e) => { e.setup(8); return [...[1, 2, 3, 4, 5, 7, 8].map((m) => e.checksum(m) >>> 0), `layout ${e.layout_checksum() >>> 0}`]; });
  for (const e of inst) e.setup(10);
  const t = (e, k) => { const s = performance.now(); e.run(k, 10); return performance.now() - s; };
  for (let i = 0; i < 10; i++) for (const e of inst) { t(e, 0); t(e, 1); }
  const r = inst.map(() => ({ f32: [], int: [] }));
  for (let i = 0; i < 30; i++) inst.forEach((e, j) => { r[j].f32.push(t(e, 0)); r[j].int.push(t(e, 1)); });
  const med = (v) => v.sort((a, b) => a - b)[v.length >> 1];
  const time = (f) => inst.map((e) => { const v = []; for (let i = 0; i < 5; i++) { const s = performance.now(); e[f](); v.push(performance.now() - s); } return med(v); });
  const cat = time('concat_all'), load = time('load_all');
  return r.map((x, j) => ({ sums: sums[j], f32: med(x.f32), int: med(x.int), cat: cat[j], load: load[j] }));
}, files.map((f) => [...readFileSync(f)]));
out.forEach((o, j) => console.log(files[j], 'checksums', o.sums.join(' '), '| 24 linears, 10 tokens: f32', o.f32.toFixed(1), 'ms, integer', o.int.toFixed(1), 'ms, ratio', (o.int / o.f32).toFixed(3), '| load 24 matrices', o.load.toFixed(1), 'ms, concat 6 × 3', o.cat.toFixed(1), 'ms'));
await b.close();
