//! `skycase serve`: a small static file server for the built app, bound to 127.0.0.1.
//!
//! Compressible files (wasm, js, json, the encoder) are sent gzip-compressed when the
//! browser accepts it; compressed bodies are cached in memory.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

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
}

/// Gzip bodies by file version: path, size and modification time.
type GzCache = Mutex<HashMap<(PathBuf, usize, Option<std::time::SystemTime>), Arc<Vec<u8>>>>;

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

/// Maps a URL path onto a file under `root`, refusing anything that climbs out of it.
fn resolve(root: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
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

pub fn run(args: Args) -> Result<()> {
    let root = args.dir.canonicalize().with_context(|| format!("{}: nothing to serve (build the app first)", args.dir.display()))?;
    let server = tiny_http::Server::http(("127.0.0.1", args.port)).map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let addr = server.server_addr().to_ip().context("no address")?;
    println!("skycase is served on http://{addr}/ (Ctrl-C stops)");
    std::io::stdout().flush().ok();
    let server = Arc::new(server);
    let gz_cache: Arc<GzCache> = Arc::default();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (server, root, cache, log) = (server.clone(), root.clone(), gz_cache.clone(), args.log_requests);
            std::thread::spawn(move || {
                for req in server.incoming_requests() {
                    let _ = respond(req, &root, &cache, log);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

fn respond(req: tiny_http::Request, root: &Path, cache: &GzCache, log: bool) -> std::io::Result<()> {
    let header = |k: &str, v: &str| tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("valid header");
    let Some(path) = resolve(root, req.url()) else {
        return req.respond(tiny_http::Response::from_string("bad path").with_status_code(400));
    };
    let Ok(body) = std::fs::read(&path) else {
        return req.respond(tiny_http::Response::from_string("not found").with_status_code(404));
    };
    let gzip_ok = req
        .headers()
        .iter()
        .any(|h| h.field.equiv("Accept-Encoding") && h.value.as_str().contains("gzip"));
    let mut headers = vec![header("Content-Type", mime(&path)), header("Cache-Control", "no-cache")];
    let body = if gzip_ok && compressible(&path) {
        headers.push(header("Content-Encoding", "gzip"));
        gzipped(cache, &path, &body).as_ref().clone()
    } else {
        body
    };
    if log {
        println!("served 200 {} {}", body.len(), req.url());
        std::io::stdout().flush().ok();
    }
    let mut resp = tiny_http::Response::from_data(body);
    for h in headers {
        resp.add_header(h);
    }
    req.respond(resp)
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
