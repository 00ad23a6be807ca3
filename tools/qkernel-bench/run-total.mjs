// Scratch: all 24 integer linears (quantization included), m tokens, modules interleaved call
// by call; p10 / p50 of N single calls each.
import { chromium } from '../../tests/e2e/node_modules/playwright-core/index.mjs';
import { readFileSync } from 'node:fs';
const files = process.argv.slice(2);
const M = Number(process.env.M || 10), N = Number(process.env.N || 300);
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
const p = await b.newPage();
const out = await p.evaluate(async ([mods, M, N]) => {
  const inst = [];
  for (const bytes of mods) inst.push((await WebAssembly.instantiate(new Uint8Array(bytes), {})).instance.exports);
  for (const e of inst) e.setup(M);
  const t = (e) => { const s = performance.now(); e.run(1, M); return performance.now() - s; };
  for (let i = 0; i < 20; i++) for (const e of inst) t(e);
  const r = inst.map(() => []);
  for (let i = 0; i < N; i++) inst.forEach((e, j) => r[j].push(t(e)));
  const q = (v, f) => [...v].sort((a, b) => a - b)[Math.floor(v.length * f)];
  return r.map((x) => `p10 ${q(x, 0.1).toFixed(2)} p50 ${q(x, 0.5).toFixed(2)} ms`);
}, [files.map((f) => [...readFileSync(f)]), M, N]);
out.forEach((o, j) => console.log(files[j].padEnd(24), `m=${M}:`, o));
await b.close();
