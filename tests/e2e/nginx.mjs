// Debian's nginx (package nginx-light) serving a folder on 127.0.0.1, for the e2e test that
// runs the app behind it (nginx.test.mjs) and the decade benchmark (bench-decade.mjs).
// The configuration is Debian's /etc/nginx/nginx.conf reduced to one site: Debian's
// mime.types, sendfile, gzip as asked, an access log of `$status $body_bytes_sent $request_uri
// $server_protocol`; with `tls: true`, HTTPS and HTTP/2 as static hosts and CDNs serve (a
// certificate made here for 127.0.0.1, which the browser trusts by its key: `spki`).
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const NGINX = '/usr/sbin/nginx';

/** The nginx processes running: stopped when this process exits, so that a failed test (which
 *  never reaches its `stop()`) leaves none behind. */
const running = new Set();
process.on('exit', () => { for (const child of running) child.kill(); });

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

/** A self-signed certificate for 127.0.0.1 in `dir` (cert.pem, key.pem) made with Debian's
 *  openssl (scripts/setup installs it); returns the base64 SHA-256 of its public key, which
 *  Chromium trusts with `--ignore-certificate-errors-spki-list` (so service workers and the
 *  Cache API run as on a real HTTPS host). */
function makeCertificate(dir) {
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', cert], { stdio: 'ignore' });
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: execFileSync('openssl', ['x509', '-pubkey', '-noout', '-in', cert]) });
  return createHash('sha256').update(der).digest('base64');
}

/**
 * Starts nginx serving `root` on 127.0.0.1. `gzipTypes`: the MIME types it compresses
 * (none with `gzip: false`); `workers`: `worker_processes`; `tls`: HTTPS with HTTP/2.
 * Resolves to { url, dir, spki, log(), stop() }: `log()` reads the access log as { status,
 * bytes, path, protocol }; `spki` (with `tls`) is the certificate's key hash for `launch`;
 * `stop()` resolves once nginx has exited.
 */
export async function startNginx(root, { gzip = true, gzipTypes = 'text/plain text/css application/json application/javascript application/wasm', workers = '1', tls = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'skycase-nginx-'));
  const port = await freePort();
  const spki = tls ? makeCertificate(dir) : null;
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
    log_format skycase '$status $body_bytes_sent $request_uri $server_protocol';
    access_log ${dir}/access.log skycase;
    ${temp}
    gzip ${gzip ? 'on' : 'off'};
    gzip_vary on;
    gzip_types ${gzipTypes};
    server {
        listen 127.0.0.1:${port}${tls ? ' ssl http2' : ''};
        ${tls ? `ssl_certificate ${dir}/cert.pem;
        ssl_certificate_key ${dir}/key.pem;` : ''}
        root ${resolve(root)};
        index index.html;
    }
}
`);
  const child = spawn(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/`;
  // Node's fetch would refuse the certificate: readiness is the port answering TLS.
  const ready = tls ? () => new Promise((ok, fail) => { const s = connect(port, '127.0.0.1', () => { s.destroy(); ok(); }).on('error', fail); }) : async () => { if (!(await fetch(url)).ok) throw new Error('not ok'); };
  const exited = new Promise((r) => child.once('exit', r));
  const stop = () => { child.kill(); rmSync(dir, { recursive: true, force: true }); return exited; };
  for (let i = 0; i < 100; i++) {
    try {
      await ready();
      const log = () => readFileSync(join(dir, 'access.log'), 'utf8').split('\n').filter(Boolean).map((l) => {
        const [status, bytes, path, protocol] = l.split(' ');
        return { status: Number(status), bytes: Number(bytes), path, protocol };
      });
      return { url, dir, spki, log, stop };
    } catch { /* not up yet */ }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const errorLog = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
  stop();
  throw new Error(`nginx did not start on ${url}: ${err} ${errorLog}`);
}
