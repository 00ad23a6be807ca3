// A static server for fault injection in the end-to-end tests (127.0.0.1 only): it serves a
// built app folder like `skycase serve` (GET/HEAD, single `bytes=N-` ranges) and, per request,
// does what the test's fault function says:
//   { status: 500 }         answer that status with an empty body
//   { drop: 0.5 }           send the headers and this fraction of the body, then cut the
//                           connection
//   { corrupt: true }       send the file with bytes flipped in the middle (same length)
//   { throttleBps: 1.5e6 }  send the body at this many bits per second
//   null                    serve the file
// `stop()` makes the server disappear (connections refused, open ones cut); `restart()`
// brings it back on the same port, so the origin (and the browser's site data) stay.
import http from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { join, extname, resolve, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm', '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.png': 'image/png',
  '.jpg': 'image/jpeg', '.svg': 'image/svg+xml',
};

/** What a host of a bundle for apps on other origins sends (README: "Hosting the bundle
 *  elsewhere"): any origin may read, and the range of a resumed download is visible. */
const CORS = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': 'Content-Range' };

/** Starts the server on `root` (`cors`: answer other origins as a bundle host does); resolves to { url, port, setRoot, setFault, requests, count,
 *  stop, restart }. `requests` logs { path, range, status, fault } of every request. */
export async function startFaultServer(root, { port = 0, cors = false } = {}) {
  let dir = resolve(root);
  let fault = () => null;
  const requests = [];
  const seen = new Map();
  const sockets = new Set();

  const handler = (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const n = (seen.get(path) || 0) + 1;
    seen.set(path, n);
    const entry = { path, range: req.headers.range || null, status: 0, fault: null };
    requests.push(entry);
    const reply = (status, headers = {}, body) => {
      entry.status = status;
      if (cors) Object.assign(headers, CORS);
      res.writeHead(status, headers);
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, { Allow: 'GET, HEAD' });
    let file = resolve(join(dir, path.endsWith('/') ? `${path}index.html` : path));
    if (file !== dir && !file.startsWith(dir + sep)) return reply(403);
    let bytes;
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      bytes = readFileSync(file);
    } catch {
      return reply(404, { 'Content-Type': 'text/plain' }, 'not found');
    }
    const f = fault(path, n, req);
    entry.fault = f;
    if (f?.status) return reply(f.status, { 'Content-Type': 'text/plain' }, `injected ${f.status}`);
    if (f?.corrupt) {
      bytes = Buffer.from(bytes);
      for (let i = bytes.length >> 1; i < Math.min(bytes.length, (bytes.length >> 1) + 64); i++) bytes[i] ^= 0x5a;
      if (bytes.length === 0) bytes = Buffer.from('x');
    }
    const headers = { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream', 'Accept-Ranges': 'bytes' };
    let status = 200;
    let body = bytes;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range || '');
    if (m) {
      const from = Number(m[1]);
      if (from >= bytes.length) return reply(416, { 'Content-Range': `bytes */${bytes.length}` });
      status = 206;
      body = bytes.subarray(from);
      headers['Content-Range'] = `bytes ${from}-${bytes.length - 1}/${bytes.length}`;
    }
    headers['Content-Length'] = String(body.length);
    if (cors) Object.assign(headers, CORS);
    entry.status = status;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return res.end();
    if (f?.drop !== undefined) {
      const cut = Math.floor(body.length * f.drop);
      res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 50));
      return;
    }
    if (f?.throttleBps) return throttle(res, body, f.throttleBps);
    res.end(body);
  };

  const server = http.createServer(handler);
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  const listen = (p) => new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(p, '127.0.0.1', () => { server.off('error', fail); ok(server.address().port); });
  });
  const actualPort = await listen(port);
  return {
    url: `http://127.0.0.1:${actualPort}/`,
    port: actualPort,
    requests,
    /** Serves another folder from now on (a new release). */
    setRoot: (d) => { dir = resolve(d); },
    /** `fn(path, n, req)`: the fault for the n-th request of `path` (1-based), or null. */
    setFault: (fn) => { fault = fn || (() => null); },
    /** Requests of `path` so far. */
    count: (path) => seen.get(path) || 0,
    /** Disappears: no new connections, open ones cut. */
    stop: () => new Promise((ok) => {
      server.close(() => ok());
      for (const s of sockets) s.destroy();
    }),
    /** Comes back on the same port. */
    restart: () => listen(actualPort),
  };
}

/** Writes `body` at `bps` bits per second, in 16 kB pieces. */
function throttle(res, body, bps) {
  const piece = 16 * 1024;
  const perPieceMs = (piece * 8 * 1000) / bps;
  let at = 0;
  const next = () => {
    if (res.destroyed) return;
    if (at >= body.length) return res.end();
    res.write(body.subarray(at, at + piece));
    at += piece;
    setTimeout(next, perPieceMs);
  };
  next();
}
