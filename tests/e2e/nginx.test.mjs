// The built app behind a real static web server that users deploy: Debian's nginx (package
// nginx-light) with a stock-like configuration (Debian's mime.types, sendfile, gzip on for
// the bundle's types), bound to 127.0.0.1. The partitioned bundle needs nothing from the
// server but static files: no rewrites, no headers of its own. Its leaf files are read by
// byte ranges, which stock nginx answers (206) on static files; with gzip on for their type
// (application/octet-stream below) nginx compresses instead and sends them whole (200), and
// the app slices them: both must answer as the companion does.
// Also served with gzip off: the app must not depend on compression.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, launch, openApp, search, nativeSearch, readyLine } from './harness.mjs';

const NGINX = '/usr/sbin/nginx';

/** nginx from Debian's registry, installed as scripts/setup does when it is missing;
 *  a reason to skip if that cannot be done here. */
function ensureNginx() {
  if (existsSync(NGINX)) return null;
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', 'nginx-light'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (e) {
    return `nginx is not installed and 'apt-get install nginx-light' failed (${e.message.split('\n')[0]}); run scripts/setup as root`;
  }
  return existsSync(NGINX) ? null : 'nginx-light installed no /usr/sbin/nginx';
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** Starts nginx on 127.0.0.1 serving dist/; resolves to { url, stop, dir }. */
async function startNginx(gzip) {
  const dir = mkdtempSync(join(tmpdir(), 'skycase-nginx-'));
  const port = await freePort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`).join('\n    ');
  // Debian's /etc/nginx/nginx.conf, reduced to one site and pointed at dist/.
  writeFileSync(join(dir, 'nginx.conf'), `
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log ${dir}/access.log;
    ${temp}
    gzip ${gzip ? 'on' : 'off'};
    gzip_vary on;
    gzip_types text/plain text/css application/json application/javascript application/wasm application/octet-stream;
    server {
        listen 127.0.0.1:${port};
        root ${DIST};
        index index.html;
    }
}
`);
  const child = spawn(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(url)).ok) return { url, dir, stop: () => { child.kill(); rmSync(dir, { recursive: true, force: true }); } }; } catch { /* not up yet */ }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`nginx did not start: ${err} ${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`);
}

const skip = ensureNginx();
const servers = [];
after(() => servers.forEach((s) => s.stop()));

for (const gzip of [true, false]) {
  test(`the app answers like the companion behind Debian's nginx (gzip ${gzip ? 'on' : 'off'})`, { skip: skip ?? false }, async () => {
    const server = await startNginx(gzip);
    servers.push(server);
    const head = await fetch(`${server.url}bundle/manifest.json`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(head.headers.get('content-encoding'), gzip ? 'gzip' : null, 'nginx compresses JSON only with gzip on');
    const browser = await launch();
    const leaves = [];
    browser.context.on('response', (r) => { if (r.url().endsWith('.skyleaf') && !r.request().serviceWorker()) leaves.push(r.status()); });
    try {
      const status = await openApp(browser.page, server.url);
      assert.ok(status.includes(readyLine()), status);
      for (const q of ['typhoon approaching Kyushu', 'heavy snow over Hokkaido']) {
        const web = await search(browser.page, q);
        const native = nativeSearch(q, join(DIST, 'bundle'));
        assert.deepEqual(web.map((h) => h.id), native.map((h) => h.id), `top-20 ids for "${q}"`);
        web.forEach((h, i) => assert.ok(Math.abs(h.score - native[i].score) <= 1e-4, `"${q}" #${i + 1}`));
      }
      assert.deepEqual(browser.errors, []);
      assert.ok(leaves.length > 0, 'leaf files were read');
      // gzip off: every leaf read is a byte range answered 206; gzip on: whatever nginx
      // chose (a compressed whole file is 200), the answers above are the companion's.
      if (!gzip) assert.deepEqual([...new Set(leaves)], [206], `nginx answered the leaf ranges with ${[...new Set(leaves)]}`);
      else assert.ok(leaves.every((s) => s === 200 || s === 206), String(leaves));
    } finally {
      await browser.close();
    }
  });
}
