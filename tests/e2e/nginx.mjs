// Debian's nginx (package nginx-light) serving a folder on 127.0.0.1, for the e2e test that
// runs the app behind it (nginx.test.mjs) and the decade benchmark (bench-decade.mjs).
// The configuration is Debian's /etc/nginx/nginx.conf reduced to one site: Debian's
// mime.types, sendfile, gzip as asked, an access log of `$status $body_bytes_sent $request_uri`.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const NGINX = '/usr/sbin/nginx';

/** nginx from Debian's registry, installed as scripts/setup does when it is missing;
 *  a reason to skip if that cannot be done here, else null. */
export function ensureNginx() {
  if (existsSync(NGINX)) return null;
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', 'nginx-light'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (e) {
    return `nginx is not installed and 'apt-get install nginx-light' failed (${e.message.split('\n')[0]}); run scripts/setup as root`;
  }
  return existsSync(NGINX) ? null : 'nginx-light installed no /usr/sbin/nginx';
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((ok) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

/**
 * Starts nginx serving `root` on 127.0.0.1. `gzipTypes`: the MIME types it compresses
 * (none with `gzip: false`); `workers`: `worker_processes`.
 * Resolves to { url, dir, log(), stop() }: `log()` reads the access log as { status, bytes, path }.
 */
export async function startNginx(root, { gzip = true, gzipTypes = 'text/plain text/css application/json application/javascript application/wasm', workers = '1' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'skycase-nginx-'));
  const port = await freePort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`).join('\n    ');
  writeFileSync(join(dir, 'nginx.conf'), `
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 768; }
http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format skycase '$status $body_bytes_sent $request_uri';
    access_log ${dir}/access.log skycase;
    ${temp}
    gzip ${gzip ? 'on' : 'off'};
    gzip_vary on;
    gzip_types ${gzipTypes};
    server {
        listen 127.0.0.1:${port};
        root ${resolve(root)};
        index index.html;
    }
}
`);
  const child = spawn(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const url = `http://127.0.0.1:${port}/`;
  const stop = () => { child.kill(); rmSync(dir, { recursive: true, force: true }); };
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) {
        const log = () => readFileSync(join(dir, 'access.log'), 'utf8').split('\n').filter(Boolean).map((l) => {
          const [status, bytes, path] = l.split(' ');
          return { status: Number(status), bytes: Number(bytes), path };
        });
        return { url, dir, log, stop };
      }
    } catch { /* not up yet */ }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const errorLog = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
  stop();
  throw new Error(`nginx did not start on ${url}: ${err} ${errorLog}`);
}
