//! `skycase serve`: a small static file server for the built app, bound to 127.0.0.1.
//!
//! Contract:
//! - One thread per connection, at most `--max-connections` at once (further connections
//!   get `503` and are closed); every socket has read and write timeouts, so clients that
//!   stop reading a large file hold only their own thread, never the others' requests.
//! - `GET` and `HEAD` (same headers, `Content-Length` included, no body); any other method
//!   is `405` with `Allow: GET, HEAD`. HTTP/1.1 keep-alive.
//! - A single byte range (`Range: bytes=a-b`, `a-`, `-n`) is answered `206` with
//!   `Content-Range`; one that lies past the end is `416`; several ranges get the whole
//!   file (`200`), as RFC 9110 allows.
//! - Paths are percent-decoded, may not climb out with `..`, and the file is resolved with
//!   symlinks followed and must still lie under the served folder (`403` otherwise).
//! - Every answer carries `X-Content-Type-Options: nosniff` and a strict
//!   `Content-Security-Policy` ([`policy`]); an HTML page's policy lists the sha256 of each of
//!   its inline scripts, and `frame-ancestors` comes from `--frame-ancestors`.
//! - Compressible files (wasm, js, json, the encoder) are sent gzip-compressed when the
//!   browser accepts it and asks for no range; compressed bodies are cached in memory.
//!   Leaf files of a partitioned index (`.skyleaf`) are always sent as they are: they are
//!   read by byte ranges, and their compressible part is compressed inside.
//! - A range is read from the file by itself (a seek and a read of its bytes), never the
//!   whole file: a query that reads 16 leaf ranges of large leaf files costs what it sends.
//!   Sockets set `TCP_NODELAY`, and an answer's head and a body up to [`COALESCE`] bytes go
//!   out in one write, so no answer waits on Nagle's algorithm for the ACK of its head
//!   (delayed ACKs hold that up to 40 ms on Linux).
//! - Every file answer carries an `ETag` (modification time, size, encoding) with
//!   `Cache-Control: no-cache`; a request whose `If-None-Match` names it is answered `304`
//!   without a body, so revalidating an unchanged file costs no body bytes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use sha2::Digest;

/// Arguments of `skycase serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Folder to serve (Trunk's dist/).
    #[arg(default_value = "dist")]
    dir: PathBuf,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Print one line per request: `served <status> <body bytes> <path>` (benchmarks count
    /// transferred bytes with it).
    #[arg(long)]
    log_requests: bool,
    /// Who may show the app in a frame: the CSP `frame-ancestors` sources, e.g. "'self'"
    /// or "'self' https://blog.example.org". The default `*` lets any page embed it (the
    /// README's `?embed=1` iframe); the app itself holds no secrets a frame could steal.
    #[arg(long, default_value = "*")]
    frame_ancestors: String,
    /// Connections served at once; more are answered 503 and closed.
    #[arg(long, default_value_t = 64)]
    max_connections: usize,
    /// Seconds a connection may wait for the client's next bytes, or for the client to take
    /// ours, before it is closed.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
}

/// Gzip bodies by file version: path, size and modification time.
type GzCache = Mutex<HashMap<(PathBuf, usize, Option<std::time::SystemTime>), Arc<Vec<u8>>>>;

/// What every connection thread shares.
struct Site {
    root: PathBuf,
    gz: GzCache,
    log: bool,
    frame_ancestors: String,
}

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn compressible(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("html" | "js" | "css" | "json" | "wasm" | "gguf" | "skyshard" | "svg"))
}

/// Decodes `%XX` escapes; `None` for a broken escape, bytes that are not UTF-8, or a NUL.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().filter(|s| !s.contains('\0'))
}

/// Maps a URL path onto a file under `root`, refusing anything that climbs out of it by
/// `..` (symlinks are checked by [`confined`]).
fn resolve(root: &Path, url: &str) -> Option<PathBuf> {
    let path = percent_decode(url.split(['?', '#']).next().unwrap_or("/"))?;
    let mut out = root.to_path_buf();
    for c in Path::new(path.trim_start_matches('/')).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    Some(out)
}

/// Where a resolved path leads.
#[derive(Debug, PartialEq)]
enum Found {
    /// A file under the root (its real path, symlinks followed).
    File(PathBuf),
    /// Nothing there (or a folder without index.html).
    Missing,
    /// It exists, but symlinks lead out of the served folder.
    Outside,
}

/// Follows symlinks and checks that the file still lies under `root` (itself canonical).
fn confined(root: &Path, path: &Path) -> Found {
    match path.canonicalize() {
        Ok(real) if !real.starts_with(root) => Found::Outside,
        Ok(real) if real.is_file() => Found::File(real),
        _ => Found::Missing,
    }
}

/// A `Range` header against a body of `len` bytes: `None` to send the whole body,
/// `Some(Ok(start..end))` for one satisfiable range, `Some(Err(()))` for 416.
fn byte_range(header: &str, len: usize) -> Option<std::result::Result<std::ops::Range<usize>, ()>> {
    let spec = header.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| if s.bytes().all(|c| c.is_ascii_digit()) { s.parse::<u64>().ok() } else { None };
    let range = if a.is_empty() {
        // The last n bytes.
        let n = usize::try_from(num(b)?).unwrap_or(usize::MAX);
        if n == 0 {
            return Some(Err(()));
        }
        len.saturating_sub(n)..len
    } else {
        let start = usize::try_from(num(a)?).unwrap_or(usize::MAX);
        let end = match b {
            "" => len,
            b => {
                let last = usize::try_from(num(b)?).unwrap_or(usize::MAX);
                if last < start {
                    // "bytes=5-2" is invalid: ignored, not unsatisfiable.
                    return None;
                }
                last.saturating_add(1).min(len)
            }
        };
        start..end
    };
    if range.start >= len || range.is_empty() {
        return Some(Err(()));
    }
    Some(Ok(range))
}

/// Base64 (standard alphabet, padded), for CSP hash sources.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ABC[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

/// `'sha256-…'` of each inline `<script>` body in an HTML page (the exact bytes between
/// the tags, as browsers hash them). Scripts with a `src` are left out.
fn inline_script_hashes(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut hashes = Vec::new();
    let mut at = 0;
    while let Some(open) = lower[at..].find("<script").map(|i| at + i) {
        let Some(tag_end) = lower[open..].find('>').map(|i| open + i + 1) else { break };
        let Some(close) = lower[tag_end..].find("</script").map(|i| tag_end + i) else { break };
        let tag = &lower[open..tag_end];
        if !tag.contains(" src=") && !tag.contains("\tsrc=") && !tag.contains("\nsrc=") {
            let digest = sha2::Sha256::digest(&html.as_bytes()[tag_end..close]);
            hashes.push(format!("'sha256-{}'", base64(&digest)));
        }
        at = close;
    }
    hashes
}

/// The Content-Security-Policy header: same-origin everything, wasm compilation allowed
/// (`'wasm-unsafe-eval'`, never `'unsafe-eval'`), no inline script but the listed hashes,
/// no plugins, and `frame-ancestors` as configured (it cannot be set by a meta tag).
fn policy(script_hashes: &[String], frame_ancestors: &str) -> String {
    let mut script = String::from("'self' 'wasm-unsafe-eval'");
    for h in script_hashes {
        script.push(' ');
        script.push_str(h);
    }
    format!(
        "default-src 'self'; script-src {script}; connect-src 'self'; img-src 'self' blob:; style-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors {frame_ancestors}"
    )
}

pub fn run(args: Args) -> Result<()> {
    let root = args.dir.canonicalize().with_context(|| format!("{}: nothing to serve (build the app first)", args.dir.display()))?;
    if args.frame_ancestors.contains([';', ',', '\r', '\n']) {
        anyhow::bail!("--frame-ancestors {:?}: a list of CSP sources separated by spaces (no ';' or ',')", args.frame_ancestors);
    }
    let listener = TcpListener::bind(("127.0.0.1", args.port)).with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    let addr = listener.local_addr().context("no address")?;
    println!("skycase is served on http://{addr}/ (Ctrl-C stops)");
    std::io::stdout().flush().ok();
    let site = Arc::new(Site { root, gz: GzCache::default(), log: args.log_requests, frame_ancestors: args.frame_ancestors });
    let timeout = Duration::from_secs(args.timeout_secs.max(1));
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(timeout));
        let _ = stream.set_write_timeout(Some(timeout));
        if open.fetch_add(1, Ordering::SeqCst) >= args.max_connections {
            open.fetch_sub(1, Ordering::SeqCst);
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = stream.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n");
            continue;
        }
        let (site, count) = (site.clone(), open.clone());
        let spawned = std::thread::Builder::new().name("serve".into()).spawn(move || {
            let _ = connection(stream, &site);
            count.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            // Out of threads: the connection was dropped with the closure.
            open.fetch_sub(1, Ordering::SeqCst);
        }
    }
    Ok(())
}

/// One parsed request head.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    keep_alive: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Reads one request head (request line and headers, at most 64 KiB); `Ok(None)` when the
/// client closed the connection between requests.
fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let mut limited = reader.take(64 * 1024);
    let mut line = String::new();
    if limited.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_ascii_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next()) else { return Err(bad("bad request line")) };
    let (method, target, version) = (method.to_string(), target.to_string(), version.to_string());
    let mut headers = Vec::new();
    loop {
        line.clear();
        if limited.read_line(&mut line)? == 0 {
            return Err(bad("headers cut short"));
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').ok_or_else(|| bad("bad header"))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let connection = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("Connection")).map(|(_, v)| v.to_ascii_lowercase());
    let keep_alive = match version.as_str() {
        "HTTP/1.1" => connection.as_deref() != Some("close"),
        _ => connection.as_deref() == Some("keep-alive"),
    };
    Ok(Some(Request { method, target, headers, keep_alive }))
}

fn connection(stream: TcpStream, site: &Site) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let req = match read_request(&mut reader) {
            Ok(Some(req)) => req,
            Ok(None) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                let _ = writer.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        // A request body (not expected for GET/HEAD) would be read as the next request:
        // close after answering anything that announces one.
        let has_body = req.header("Content-Length").is_some_and(|v| v != "0") || req.header("Transfer-Encoding").is_some();
        let keep_alive = req.keep_alive && !has_body;
        respond(&mut writer, &req, site, keep_alive)?;
        if !keep_alive {
            return Ok(());
        }
    }
}

fn respond(out: &mut TcpStream, req: &Request, site: &Site, keep_alive: bool) -> std::io::Result<()> {
    let mut headers: Vec<(&str, String)> = vec![("X-Content-Type-Options", "nosniff".into())];
    let mut send = |status: &str, mut headers: Vec<(&str, String)>, body: &[u8], head_only: bool| -> std::io::Result<()> {
        // A 304 has no body, and its length would be the 200's (RFC 9110 8.6): leave it out.
        if !status.starts_with("304") {
            headers.push(("Content-Length", body.len().to_string()));
        }
        headers.push(("Connection", if keep_alive { "keep-alive" } else { "close" }.into()));
        let mut head = format!("HTTP/1.1 {status}\r\n");
        for (k, v) in &headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if site.log {
            println!("served {} {} {}", &status[..3], if head_only { 0 } else { body.len() }, req.target);
            std::io::stdout().flush().ok();
        }
        if !head_only && body.len() <= COALESCE {
            let mut all = head.into_bytes();
            all.extend_from_slice(body);
            out.write_all(&all)?;
        } else {
            out.write_all(head.as_bytes())?;
            if !head_only {
                out.write_all(body)?;
            }
        }
        out.flush()
    };
    let plain = |headers: &mut Vec<(&str, String)>| {
        headers.push(("Content-Type", "text/plain; charset=utf-8".into()));
        headers.push(("Content-Security-Policy", policy(&[], &site.frame_ancestors)));
    };
    let head_only = match req.method.as_str() {
        "GET" => false,
        "HEAD" => true,
        _ => {
            plain(&mut headers);
            headers.push(("Allow", "GET, HEAD".into()));
            return send("405 Method Not Allowed", headers, b"only GET and HEAD\n", false);
        }
    };
    let Some(path) = resolve(&site.root, &req.target) else {
        plain(&mut headers);
        return send("400 Bad Request", headers, b"bad path\n", head_only);
    };
    let real = match confined(&site.root, &path) {
        Found::File(real) => real,
        Found::Outside => {
            plain(&mut headers);
            return send("403 Forbidden", headers, b"outside the served folder\n", head_only);
        }
        Found::Missing => {
            plain(&mut headers);
            return send("404 Not Found", headers, b"not found\n", head_only);
        }
    };
    let opened = std::fs::File::open(&real).and_then(|f| f.metadata().map(|m| (f, m)));
    let Ok((mut file, meta)) = opened else {
        plain(&mut headers);
        return send("404 Not Found", headers, b"not found\n", head_only);
    };
    let len = usize::try_from(meta.len()).unwrap_or(usize::MAX);
    let range = req.header("Range").and_then(|r| byte_range(r, len));
    // A range is read by itself; anything else is read whole (and HTML for its CSP hashes).
    let body = match &range {
        Some(Ok(r)) => read_at(&mut file, r.start as u64, r.len()),
        Some(Err(())) => Ok(Vec::new()),
        None => {
            let mut all = Vec::with_capacity(len);
            file.read_to_end(&mut all).map(|_| all)
        }
    };
    let Ok(body) = body else {
        plain(&mut headers);
        return send("404 Not Found", headers, b"not found\n", head_only);
    };
    let hashes = if mime(&path).starts_with("text/html") { inline_script_hashes(&String::from_utf8_lossy(&body)) } else { vec![] };
    headers.push(("Content-Type", mime(&path).into()));
    headers.push(("Content-Security-Policy", policy(&hashes, &site.frame_ancestors)));
    headers.push(("Cache-Control", "no-cache".into()));
    headers.push(("Accept-Ranges", "bytes".into()));
    let gzip = range.is_none() && req.header("Accept-Encoding").is_some_and(|v| v.contains("gzip")) && compressible(&path);
    // The version of what would be sent (file version and encoding), as static hosts give
    // it: a browser revalidating a cached copy (`Cache-Control: no-cache` above, or the
    // service worker's precache after the page loaded the same files) gets `304` and no body.
    let etag = entity_tag(meta.modified().ok(), len, gzip);
    if gzip {
        headers.push(("Vary", "Accept-Encoding".into()));
    }
    headers.push(("ETag", etag.clone()));
    if req.header("If-None-Match").is_some_and(|v| etag_matches(v, &etag)) {
        headers.retain(|(k, _)| *k != "Content-Type" && *k != "Accept-Ranges");
        return send("304 Not Modified", headers, b"", head_only);
    }
    if let Some(range) = range {
        return match range {
            Ok(r) => {
                headers.push(("Content-Range", format!("bytes {}-{}/{len}", r.start, r.end - 1)));
                send("206 Partial Content", headers, &body, head_only)
            }
            Err(()) => {
                headers.retain(|(k, _)| *k != "Content-Type");
                headers.push(("Content-Range", format!("bytes */{len}")));
                send("416 Range Not Satisfiable", headers, b"", head_only)
            }
        };
    }
    if gzip {
        headers.push(("Content-Encoding", "gzip".into()));
        let gz = gzipped(&site.gz, &real, &body);
        return send("200 OK", headers, gz.as_slice(), head_only);
    }
    send("200 OK", headers, &body, head_only)
}

/// Bodies up to this many bytes are written in one piece with their head.
const COALESCE: usize = 256 * 1024;

/// `len` bytes of `file` from byte `at` (a range within its size).
fn read_at(file: &mut std::fs::File, at: u64, len: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Seek;
    file.seek(std::io::SeekFrom::Start(at))?;
    let mut buf = vec![0; len];
    file.read_exact(&mut buf)?;
    Ok(buf)
}

/// A strong entity tag for one version of a file as sent: its modification time and size
/// (as nginx makes them), and `-gzip` for the compressed body, which is other bytes.
fn entity_tag(modified: Option<std::time::SystemTime>, len: usize, gzip: bool) -> String {
    let nanos = modified.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    format!("\"{nanos:x}-{len:x}{}\"", if gzip { "-gzip" } else { "" })
}

/// Whether an `If-None-Match` list names `etag` (weak comparison, RFC 9110 13.1.2), or is `*`.
fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

/// The gzip body of a file, compressed once per file version (path, size, mtime). The lock is
/// not held while compressing, so the first requests for several large files after a start
/// are compressed in parallel instead of queueing behind each other.
fn gzipped(cache: &GzCache, path: &Path, body: &[u8]) -> Arc<Vec<u8>> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let key = (path.to_path_buf(), body.len(), modified);
    if let Some(hit) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return hit.clone();
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 2), flate2::Compression::default());
    let gz = Arc::new(enc.write_all(body).and_then(|_| enc.finish()).unwrap_or_default());
    cache.lock().unwrap_or_else(|p| p.into_inner()).insert(key, gz.clone());
    gz
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_paths_outside_the_root() {
        let root = Path::new("/srv/app");
        assert_eq!(resolve(root, "/bundle/manifest.json?x=1"), Some(root.join("bundle/manifest.json")));
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/a/../../b"), None);
        // Escapes are decoded before the check, not after.
        assert_eq!(resolve(root, "/%2e%2e/etc/passwd"), None);
        assert_eq!(resolve(root, "/thumbs/a%20b.png"), Some(root.join("thumbs/a b.png")));
        assert_eq!(resolve(root, "/a%00b"), None);
        assert_eq!(resolve(root, "/a%zz"), None);
    }

    #[test]
    fn byte_ranges_follow_rfc_9110() {
        assert_eq!(byte_range("bytes=0-9", 100), Some(Ok(0..10)));
        assert_eq!(byte_range("bytes=90-", 100), Some(Ok(90..100)));
        assert_eq!(byte_range("bytes=-10", 100), Some(Ok(90..100)));
        assert_eq!(byte_range("bytes=-1000", 100), Some(Ok(0..100)));
        assert_eq!(byte_range("bytes=95-200", 100), Some(Ok(95..100)));
        assert_eq!(byte_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(byte_range("bytes=-0", 100), Some(Err(())));
        assert_eq!(byte_range("bytes=0-0", 0), Some(Err(())));
        // Ignored: several ranges, other units, nonsense.
        assert_eq!(byte_range("bytes=0-1,5-6", 100), None);
        assert_eq!(byte_range("items=0-1", 100), None);
        assert_eq!(byte_range("bytes=5-2", 100), None);
        assert_eq!(byte_range("bytes=a-b", 100), None);
    }

    /// Sends `request` to a server on a temporary folder holding `leaf.skyleaf` (bytes 0..100)
    /// and returns the answer's head and body.
    fn ask(request: &str) -> (String, Vec<u8>) {
        ask_file(request, &(0..100u8).collect::<Vec<_>>())
    }

    /// As [`ask`], with `leaf` as the file's bytes.
    fn ask_file(request: &str, leaf: &[u8]) -> (String, Vec<u8>) {
        let root = std::env::temp_dir().join(format!("skycase-serve-range-{}-{}-{}", std::process::id(), request.len(), leaf.len()));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("leaf.skyleaf"), leaf).unwrap();
        let site = Site { root: std::fs::canonicalize(&root).unwrap(), gz: GzCache::default(), log: false, frame_ancestors: "'none'".into() };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            connection(stream, &site).unwrap();
        });
        let mut client = TcpStream::connect(addr).unwrap();
        client.write_all(request.as_bytes()).unwrap();
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).unwrap();
        server.join().unwrap();
        std::fs::remove_dir_all(&root).ok();
        let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        (String::from_utf8(answer[..split].to_vec()).unwrap(), answer[split + 4..].to_vec())
    }

    #[test]
    fn a_leaf_file_is_served_by_byte_ranges_never_gzip() {
        let get = |range: &str| ask(&format!("GET /leaf.skyleaf HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n{range}Connection: close\r\n\r\n"));
        let (head, body) = get("Range: bytes=10-19\r\n");
        assert!(head.starts_with("HTTP/1.1 206 Partial Content"), "{head}");
        assert!(head.contains("Content-Range: bytes 10-19/100") && head.contains("Content-Length: 10"), "{head}");
        assert!(!head.contains("Content-Encoding"), "{head}");
        assert_eq!(body, (10..20u8).collect::<Vec<_>>());
        // Past the end: 416 naming the length, no body.
        let (head, body) = get("Range: bytes=100-120\r\n");
        assert!(head.starts_with("HTTP/1.1 416 Range Not Satisfiable") && head.contains("Content-Range: bytes */100"), "{head}");
        assert!(body.is_empty());
        // No range: the whole file, as it is (gzip accepted but not used for leaf files).
        let (head, body) = get("");
        assert!(head.starts_with("HTTP/1.1 200 OK") && !head.contains("Content-Encoding") && head.contains("Accept-Ranges: bytes"), "{head}");
        assert_eq!(body.len(), 100);
    }

    #[test]
    fn a_range_of_a_large_file_is_its_bytes_and_only_them() {
        // 600 kB: larger than COALESCE, so the whole file goes out in two writes, a range of
        // 100 kB in one; both must be the file's bytes where the range says.
        let leaf: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        let get = |range: &str| ask_file(&format!("GET /leaf.skyleaf HTTP/1.1\r\nHost: x\r\n{range}Connection: close\r\n\r\n"), &leaf);
        let (head, body) = get("Range: bytes=450000-549999\r\n");
        assert!(head.starts_with("HTTP/1.1 206") && head.contains("Content-Range: bytes 450000-549999/600000"), "{head}");
        assert_eq!(body, &leaf[450_000..550_000]);
        let (head, body) = get("Range: bytes=-10\r\n");
        assert!(head.contains("Content-Range: bytes 599990-599999/600000"), "{head}");
        assert_eq!(body, &leaf[599_990..]);
        let (head, body) = get("");
        assert!(head.starts_with("HTTP/1.1 200") && head.contains("Content-Length: 600000"), "{head}");
        assert_eq!(body, leaf);
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, coded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    #[test]
    fn inline_scripts_are_hashed_and_external_ones_are_not() {
        // sha256("alert(1)") in base64, as `echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64` gives.
        let html = "<head><script>alert(1)</script><script src=\"./a.js\"></script><SCRIPT type=module>alert(1)</SCRIPT></head>";
        let expect = "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='";
        assert_eq!(inline_script_hashes(html), [expect, expect]);
        assert!(policy(&inline_script_hashes(html), "*").contains(&format!("script-src 'self' 'wasm-unsafe-eval' {expect} {expect};")));
    }

    #[test]
    fn gzip_bodies_are_cached_per_file_version() {
        let dir = std::env::temp_dir().join(format!("skycase-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.json");
        let cache = GzCache::default();
        std::fs::write(&file, b"[1,2,3]").unwrap();
        let first = gzipped(&cache, &file, b"[1,2,3]");
        assert!(Arc::ptr_eq(&first, &gzipped(&cache, &file, b"[1,2,3]")));
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(first.as_slice()), &mut plain).unwrap();
        assert_eq!(plain, b"[1,2,3]");
        // A rewritten file of another size is compressed anew.
        std::fs::write(&file, b"[1,2,3,4]").unwrap();
        assert!(!Arc::ptr_eq(&first, &gzipped(&cache, &file, b"[1,2,3,4]")));
        std::fs::remove_dir_all(&dir).ok();
    }
}
