//! `skycase serve` over real TCP on 127.0.0.1: slow clients, HEAD, Range, methods, symlinks
//! and the security headers. See issue 12.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `skycase serve`, killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_skycase"))
        .args(["serve", dir.to_str().unwrap(), "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("run skycase serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.split("http://").nth(1).and_then(|r| r.split('/').next()).unwrap_or_else(|| panic!("no address in {line:?}")).to_string();
    Server { child, addr }
}

/// A folder with an HTML page (one inline script), a large file and a small one.
fn site(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("skycase-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(dir.join("app/index.html"), "<!DOCTYPE html><script>alert(1)</script><script src=\"./a.js\"></script>").unwrap();
    std::fs::write(dir.join("app/small.txt"), b"0123456789").unwrap();
    // 32 MiB: more than loopback socket buffers hold, so a client that does not read stalls
    // the writer.
    let big: Vec<u8> = (0..32u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    std::fs::write(dir.join("app/big.bin"), big).unwrap();
    std::fs::write(dir.join("secret.txt"), b"outside").unwrap();
    dir
}

/// Status code, headers (lower-case names) and body of one request sent as `raw`.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn send(addr: &str, raw: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).unwrap();
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("a header block");
    let head = String::from_utf8(bytes[..split].to_vec()).unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    Reply { status, headers, body: bytes[split + 4..].to_vec() }
}

fn get(addr: &str, path: &str, extra: &str) -> Reply {
    send(addr, &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n"))
}

#[test]
fn stalled_clients_do_not_block_other_requests() {
    let dir = site("stall");
    let server = serve(&dir.join("app"), &[]);
    // Six clients ask for the large file and never read the answer (the old server had four
    // threads, all stuck writing to them).
    let stalled: Vec<TcpStream> = (0..6)
        .map(|_| {
            let mut s = TcpStream::connect(&server.addr).unwrap();
            s.write_all(format!("GET /big.bin HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).as_bytes()).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    let r = get(&server.addr, "/small.txt", "");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"0123456789"[..]));
    assert!(start.elapsed() < Duration::from_secs(3), "took {:?}", start.elapsed());
    drop(stalled);
}

#[test]
fn head_answers_the_length_without_a_body() {
    let dir = site("head");
    let server = serve(&dir.join("app"), &[]);
    let r = send(&server.addr, &format!("HEAD /small.txt HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", server.addr));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("10"));
    assert!(r.body.is_empty());
    let r = send(&server.addr, &format!("HEAD /big.bin HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", server.addr));
    assert_eq!(r.header("content-length"), Some((32u32 << 20).to_string().as_str()));
    assert!(r.body.is_empty());
}

#[test]
fn a_single_range_is_partial_content_and_past_the_end_is_416() {
    let dir = site("range");
    let server = serve(&dir.join("app"), &[]);
    let r = get(&server.addr, "/small.txt", "Range: bytes=2-4\r\n");
    assert_eq!((r.status, r.body.as_slice()), (206, &b"234"[..]));
    assert_eq!(r.header("content-range"), Some("bytes 2-4/10"));
    let r = get(&server.addr, "/small.txt", "Range: bytes=-3\r\n");
    assert_eq!((r.status, r.body.as_slice()), (206, &b"789"[..]));
    let r = get(&server.addr, "/small.txt", "Range: bytes=7-\r\nAccept-Encoding: gzip\r\n");
    assert_eq!((r.status, r.body.as_slice()), (206, &b"789"[..]));
    let r = get(&server.addr, "/small.txt", "Range: bytes=10-\r\n");
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */10"));
    // Several ranges: the whole file, as RFC 9110 allows.
    let r = get(&server.addr, "/small.txt", "Range: bytes=0-1,4-5\r\n");
    assert_eq!((r.status, r.body.len()), (200, 10));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
}

#[test]
fn methods_other_than_get_and_head_are_405_with_allow() {
    let dir = site("methods");
    let server = serve(&dir.join("app"), &[]);
    for method in ["POST", "DELETE", "PUT", "OPTIONS"] {
        let r = send(&server.addr, &format!("{method} /small.txt HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", server.addr));
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method}");
    }
    assert_eq!(std::fs::read(dir.join("app/small.txt")).unwrap(), b"0123456789");
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_served_folder_are_refused() {
    let dir = site("symlink");
    std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("app/leak.txt")).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("app/up")).unwrap();
    // A link that stays inside is fine.
    std::os::unix::fs::symlink(dir.join("app/small.txt"), dir.join("app/alias.txt")).unwrap();
    let server = serve(&dir.join("app"), &[]);
    for path in ["/leak.txt", "/up/secret.txt"] {
        let r = get(&server.addr, path, "");
        assert_eq!(r.status, 403, "{path}");
        assert_ne!(r.body, b"outside", "{path} leaked");
    }
    assert_eq!(get(&server.addr, "/up/app/../secret.txt", "").status, 400);
    assert_eq!(get(&server.addr, "/alias.txt", "").body, b"0123456789");
    assert_eq!(get(&server.addr, "/missing.txt", "").status, 404);
}

#[test]
fn answers_carry_nosniff_and_a_strict_csp_with_inline_script_hashes() {
    let dir = site("csp");
    let server = serve(&dir.join("app"), &[]);
    let r = get(&server.addr, "/", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let csp = r.header("content-security-policy").expect("a CSP header");
    // sha256 of "alert(1)": `echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64`.
    assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=';"), "{csp}");
    for directive in ["default-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors *"] {
        assert!(csp.contains(directive), "{directive} missing: {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"), "{csp}");
    assert_eq!(get(&server.addr, "/missing", "").header("x-content-type-options"), Some("nosniff"));
    drop(server);

    let server = serve(&dir.join("app"), &["--frame-ancestors", "'self' https://blog.example.org"]);
    let csp = get(&server.addr, "/small.txt", "").header("content-security-policy").unwrap().to_string();
    assert!(csp.ends_with("frame-ancestors 'self' https://blog.example.org"), "{csp}");
    let o = Command::new(env!("CARGO_BIN_EXE_skycase")).args(["serve", dir.join("app").to_str().unwrap(), "--port", "0", "--frame-ancestors", "*; script-src *"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--frame-ancestors \"*; script-src *\""));
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let dir = site("keepalive");
    let server = serve(&dir.join("app"), &[]);
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!("GET /small.txt HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    s.write_all(format!("{req}{req}").as_bytes()).unwrap();
    let mut reader = BufReader::new(s);
    for _ in 0..2 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 200"), "{line}");
        let mut len = 0;
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        assert_eq!(body, b"0123456789");
    }
}

#[test]
fn an_unchanged_file_revalidates_as_304_without_a_body() {
    let dir = site("etag");
    let server = serve(&dir.join("app"), &[]);
    let gz = get(&server.addr, "/index.html", "Accept-Encoding: gzip\r\n");
    let plain = get(&server.addr, "/index.html", "");
    assert_eq!((gz.status, gz.header("content-encoding"), plain.status), (200, Some("gzip"), 200));
    let (gz_tag, plain_tag) = (gz.header("etag").unwrap().to_string(), plain.header("etag").unwrap().to_string());
    // Other bytes, so another tag.
    assert_ne!(gz_tag, plain_tag);
    let r = get(&server.addr, "/index.html", &format!("Accept-Encoding: gzip\r\nIf-None-Match: \"x\", {gz_tag}\r\n"));
    assert_eq!((r.status, r.body.len(), r.header("content-length")), (304, 0, None));
    assert_eq!(r.header("etag"), Some(gz_tag.as_str()));
    let r = get(&server.addr, "/index.html", &format!("If-None-Match: W/{plain_tag}\r\n"));
    assert_eq!(r.status, 304);
    // The gzip body's tag does not match the plain body, nor an old version the new one.
    let r = get(&server.addr, "/index.html", &format!("If-None-Match: {gz_tag}\r\n"));
    assert_eq!((r.status, r.body.len()), (200, plain.body.len()));
    std::fs::write(dir.join("app/index.html"), "<!DOCTYPE html><p>a new release</p>").unwrap();
    let r = get(&server.addr, "/index.html", &format!("If-None-Match: {plain_tag}\r\n"));
    assert_eq!((r.status, r.body.as_slice()), (200, &b"<!DOCTYPE html><p>a new release</p>"[..]));
    assert_ne!(r.header("etag"), Some(plain_tag.as_str()));
}
