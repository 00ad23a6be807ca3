// The peers' static server for `node bench.mjs --peers` (127.0.0.1 only): /lib/ is
// transformers.js' dist folder, /ort/ onnxruntime-web's, /models/ the exported models, the rest
// tests/e2e/peers/web. Compressible files are gzipped once, ahead (level 6), and sent
// gzipped, as `skycase serve` does for the app after the bench's warm-up; no COOP/COEP
// headers, so no cross-origin isolation (onnxruntime-web runs on one thread, as skycase does).
// Counts the body bytes it sends.
import http from 'node:http';
import { readFileSync, statSync, existsSync } from 'node:fs';
import { join, extname, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.txt': 'text/plain' };

/** Starts the server; resolves to { url, bytes(), stop() }. */
export function servePeers({ web, transformers, ort, models }) {
  const mounts = [['/lib/', transformers], ['/ort/', ort], ['/models/', models], ['/', web]];
  const gz = new Map();
  let sent = 0;
  const server = http.createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const [prefix, root] = mounts.find(([p]) => path.startsWith(p));
    const rel = normalize(path.slice(prefix.length));
    const file = join(root, rel);
    if (rel.startsWith('..') || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    let body = gz.get(file);
    const compress = extname(file) in TYPES && extname(file) !== '.html';
    if (!body) {
      body = compress ? gzipSync(readFileSync(file), { level: 6 }) : readFileSync(file);
      gz.set(file, body);
    }
    const headers = { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'cache-control': 'no-cache', 'content-length': body.length };
    if (compress) headers['content-encoding'] = 'gzip';
    res.writeHead(200, headers).end(body);
    sent += body.length;
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}/`,
    bytes: () => sent,
    /** Reads and compresses every file of `paths` now, so no timed load waits for it. */
    warm: async (paths) => { for (const p of paths) await (await fetch(new URL(p, `http://127.0.0.1:${server.address().port}/`), { headers: { 'accept-encoding': 'gzip' } })).arrayBuffer(); },
    stop: () => server.close(),
  })));
}
