// Scratch: per-phase times of the encoder's forward pass (6 layers), m tokens, in Chromium.
import { chromium } from '../../tests/e2e/node_modules/playwright-core/index.mjs';
import { readFileSync } from 'node:fs';
const files = process.argv.slice(2);
const M = Number(process.env.M || 10);
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
const p = await b.newPage();
const out = await p.evaluate(async ([mods, M]) => {
  const inst = [];
  for (const bytes of mods) inst.push((await WebAssembly.instantiate(new Uint8Array(bytes), {})).instance.exports);
  for (const e of inst) e.setup(M);
  const names = ['', 'attention', 'add+LN x2', 'gelu', 'qkv', 'attn_out', 'ffn_up', 'ffn_down', 'quant 1536 x2', 'quant 384 x2'];
  const t = (e, k) => { const s = performance.now(); for (let i = 0; i < 10; i++) e.phase(k, M); return (performance.now() - s) / 10; };
  for (let i = 0; i < 5; i++) for (const e of inst) for (let k = 1; k < 10; k++) t(e, k);
  const r = inst.map(() => names.map(() => []));
  for (let i = 0; i < 40; i++) inst.forEach((e, j) => { for (let k = 1; k < 10; k++) r[j][k].push(t(e, k)); });
  const med = (v) => Math.min(...v);
  return r.map((x) => names.map((n, k) => k ? `${n} ${med(x[k]).toFixed(3)}` : '').filter(Boolean).join(' | '));
}, [files.map((f) => [...readFileSync(f)]), M]);
out.forEach((o, j) => console.log(files[j], `m=${M}:`, o));
await b.close();
