//! The chat-completions client against a local server started by each test (127.0.0.1,
//! port 0) that speaks just enough HTTP/1.1: scripted successes, 429 with Retry-After,
//! 5xx, 401, slow answers, malformed bodies, dropped connections, and a dead endpoint.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use skycase_caption::mllm::{MllmClient, MllmConfig};
use skycase_caption::{parse_answer, Caption, Phenomenon};

#[derive(Clone)]
enum Reply {
    Ok(String),
    Status(u16, Option<&'static str>),
    Slow(Duration, String),
    Raw(&'static str),
    /// Answers with this status and the request's headers in the body (an endpoint that
    /// echoes the key back).
    Echo(u16),
    Drop,
}

struct Server {
    url: String,
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

fn completion(content: &str) -> String {
    serde_json::json!({
        "id": "x", "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]
    })
    .to_string()
}

fn read_request(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut r = BufReader::new(stream.try_clone().ok()?);
    let mut headers = String::new();
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
        headers.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    Some((headers, String::from_utf8_lossy(&body).into_owned()))
}

fn respond(stream: &mut TcpStream, status: u16, extra: &str, body: &str) {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        _ => "Error",
    };
    let msg = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(msg.as_bytes());
}

/// Serve `script` in order; after it runs out, repeat its last reply.
fn serve(script: Vec<Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    std::thread::spawn(move || {
        let mut n = 0usize;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Some(req) = read_request(&mut stream) else { continue };
            // The Authorization line first, then the rest, as an endpoint that echoes the key.
            let auth = req.0.lines().find(|l| l.to_ascii_lowercase().starts_with("authorization")).unwrap_or("").to_string();
            let headers = format!("{auth}\n{}", req.0);
            log.lock().unwrap().push(req);
            let reply = script[n.min(script.len() - 1)].clone();
            n += 1;
            std::thread::spawn(move || match reply {
                Reply::Ok(content) => respond(&mut stream, 200, "", &completion(&content)),
                Reply::Status(code, retry_after) => {
                    let extra = retry_after.map(|s| format!("Retry-After: {s}\r\n")).unwrap_or_default();
                    respond(&mut stream, code, &extra, r#"{"error":{"message":"nope"}}"#)
                }
                Reply::Slow(d, content) => {
                    std::thread::sleep(d);
                    respond(&mut stream, 200, "", &completion(&content))
                }
                Reply::Raw(body) => respond(&mut stream, 200, "", body),
                Reply::Echo(200) => respond(&mut stream, 200, "", &completion(&format!("{}\nyou sent: {headers}", good_answer()))),
                Reply::Echo(code) => respond(&mut stream, code, "", &serde_json::json!({ "error": format!("bad request: {headers}") }).to_string()),
                Reply::Drop => drop(stream),
            });
        }
    });
    Server { url, requests }
}

fn config(url: &str) -> MllmConfig {
    let mut c = MllmConfig::new(url, "test-model", Some("sk-test-secret".into()));
    c.timeout = Duration::from_millis(500);
    c.max_retries = 3;
    c.base_backoff = Duration::from_millis(5);
    c.max_backoff = Duration::from_millis(50);
    c
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("skycase-mllm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn good_answer() -> String {
    let mut c = Caption::filled(Phenomenon::Clear);
    c.set(skycase_caption::Region::Hokkaido, Phenomenon::Snow);
    c.to_bullets().replace("Snow", "Heavy snow")
}

#[test]
fn success_is_parsed_cached_and_sends_image_and_key() {
    let s = serve(vec![Reply::Ok(good_answer())]);
    let dir = tmpdir("ok");
    let client = MllmClient::new(config(&s.url), Some(dir.clone()));
    let a = client.ask(b"png-bytes", "the prompt").unwrap();
    assert_eq!((a.cached, a.attempts), (false, 1));
    let cap = parse_answer(&a.text).unwrap();
    assert_eq!(cap.get(skycase_caption::Region::Hokkaido), Phenomenon::Snow);
    let again = client.ask(b"png-bytes", "the prompt").unwrap();
    assert!(again.cached);
    assert_eq!(s.requests.lock().unwrap().len(), 1, "the cache must answer the second call");
    let (headers, body) = s.requests.lock().unwrap()[0].clone();
    assert!(headers.starts_with("POST /v1/chat/completions "), "{headers}");
    assert!(headers.to_ascii_lowercase().contains("authorization: bearer sk-test-secret"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["model"], "test-model");
    assert_eq!(v["messages"][0]["content"][1]["image_url"]["url"], "data:image/png;base64,cG5nLWJ5dGVz");
    // A different prompt or model is a different cache entry.
    client.ask(b"png-bytes", "another prompt").unwrap();
    assert_eq!(s.requests.lock().unwrap().len(), 2);
    // The key is never written to the cache.
    for e in walk(&dir) {
        let text = std::fs::read_to_string(&e).unwrap();
        assert!(!text.contains("sk-test-secret"), "{}", e.display());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn walk(d: &std::path::Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn retries_429_and_5xx_then_succeeds() {
    let s = serve(vec![
        Reply::Status(429, Some("0")),
        Reply::Status(503, None),
        Reply::Status(500, None),
        Reply::Ok(good_answer()),
    ]);
    let client = MllmClient::new(config(&s.url), None);
    let a = client.ask(b"img", "p").unwrap();
    assert_eq!(a.attempts, 4);
    assert_eq!(s.requests.lock().unwrap().len(), 4);
}

#[test]
fn retry_after_is_honoured() {
    let s = serve(vec![Reply::Status(429, Some("0.3")), Reply::Ok(good_answer())]);
    let mut cfg = config(&s.url);
    cfg.max_backoff = Duration::from_secs(2);
    let client = MllmClient::new(cfg, None);
    let t0 = std::time::Instant::now();
    client.ask(b"img", "p").unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(300), "{:?}", t0.elapsed());
}

#[test]
fn unauthorized_fails_at_once_without_leaking_the_key() {
    let s = serve(vec![Reply::Status(401, None)]);
    let client = MllmClient::new(config(&s.url), None);
    let err = client.ask(b"img", "p").unwrap_err().to_string();
    assert!(err.contains("HTTP 401"), "{err}");
    assert!(err.contains(&s.url), "{err}");
    assert!(!err.contains("sk-test-secret"), "{err}");
    assert_eq!(s.requests.lock().unwrap().len(), 1);
}

#[test]
fn slow_answer_times_out_and_is_retried() {
    let s = serve(vec![Reply::Slow(Duration::from_millis(1500), good_answer()), Reply::Ok(good_answer())]);
    let client = MllmClient::new(config(&s.url), None);
    let a = client.ask(b"img", "p").unwrap();
    assert_eq!(a.attempts, 2);
}

#[test]
fn malformed_bodies_are_retried_then_reported() {
    let s = serve(vec![Reply::Raw("{\"choices\": [")]);
    let client = MllmClient::new(config(&s.url), None);
    let err = client.ask(b"img", "p").unwrap_err().to_string();
    assert!(err.contains("not JSON") && err.contains("gave up after 4 attempts"), "{err}");
    assert_eq!(s.requests.lock().unwrap().len(), 4);
    let s2 = serve(vec![Reply::Raw("{\"choices\": []}"), Reply::Drop, Reply::Ok(good_answer())]);
    let client = MllmClient::new(config(&s2.url), None);
    assert_eq!(client.ask(b"img", "p").unwrap().attempts, 3);
}

#[test]
fn unparseable_answer_is_a_parse_error_not_a_guess() {
    let s = serve(vec![Reply::Ok(good_answer().replace("Heavy snow", "sleet"))]);
    let client = MllmClient::new(config(&s.url), None);
    let a = client.ask(b"img", "p").unwrap();
    let err = parse_answer(&a.text).unwrap_err();
    assert!(err.to_string().contains("unknown phenomenon 'sleet'"), "{err}");
}

#[test]
fn endpoint_down_is_a_clear_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // listener dropped: nothing listens there now
    let client = MllmClient::new(config(&format!("http://127.0.0.1:{port}/v1")), None);
    let err = client.ask(b"img", "p").unwrap_err().to_string();
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("gave up after 4 attempts"), "{err}");
}

#[test]
fn an_answer_that_does_not_parse_is_never_cached() {
    // See issue 12: a bad answer was cached and replayed on every later run.
    let sleet = good_answer().replace("Heavy snow", "sleet");
    let s = serve(vec![Reply::Ok(sleet.clone()), Reply::Ok(good_answer())]);
    let dir = tmpdir("unparsable");
    let client = MllmClient::new(config(&s.url), Some(dir.clone()));
    let a = client.ask(b"img", "p").unwrap();
    assert_eq!((a.text.as_str(), a.cached), (sleet.as_str(), false));
    assert!(!dir.exists() || walk(&dir).is_empty(), "the unparsable answer was written to the cache");
    let b = client.ask(b"img", "p").unwrap();
    assert!(!b.cached && parse_answer(&b.text).is_ok());
    assert_eq!(s.requests.lock().unwrap().len(), 2, "asked again instead of replaying the bad answer");
    assert!(client.ask(b"img", "p").unwrap().cached);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_answer_cached_by_an_older_version_is_not_reused() {
    let s = serve(vec![Reply::Ok(good_answer())]);
    let dir = tmpdir("old-cache");
    let key = skycase_caption::mllm::cache_key(b"img", "p", "test-model");
    let entry = serde_json::json!({ "model": "test-model", "image_sha256": "", "prompt_sha256": "", "answer": "I cannot see any image." });
    std::fs::create_dir_all(dir.join(&key[..2])).unwrap();
    std::fs::write(dir.join(&key[..2]).join(format!("{key}.json")), entry.to_string()).unwrap();
    let client = MllmClient::new(config(&s.url), Some(dir.clone()));
    let a = client.ask(b"img", "p").unwrap();
    assert!(!a.cached && parse_answer(&a.text).is_ok(), "{}", a.text);
    assert_eq!(s.requests.lock().unwrap().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_echoed_key_is_scrubbed_from_errors_and_answers() {
    let s = serve(vec![Reply::Echo(400)]);
    let client = MllmClient::new(config(&s.url), None);
    let err = client.ask(b"img", "p").unwrap_err().to_string();
    assert!(err.contains("HTTP 400") && err.contains("Bearer <redacted>"), "{err}");
    assert!(!err.contains("sk-test-secret"), "{err}");
    let s = serve(vec![Reply::Echo(500)]);
    let err = MllmClient::new(config(&s.url), None).ask(b"img", "p").unwrap_err().to_string();
    assert!(err.contains("gave up") && !err.contains("sk-test-secret"), "{err}");
    let s = serve(vec![Reply::Echo(200)]);
    let dir = tmpdir("echo");
    let a = MllmClient::new(config(&s.url), Some(dir.clone())).ask(b"img", "p").unwrap();
    assert!(a.text.contains("Bearer <redacted>") && !a.text.contains("sk-test-secret"), "{}", a.text);
    for e in walk(&dir) {
        assert!(!std::fs::read_to_string(&e).unwrap().contains("sk-test-secret"), "{}", e.display());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plain_http_to_another_host_is_refused_before_anything_is_sent() {
    let client = MllmClient::new(config("http://captions.example.invalid/v1"), None);
    let err = client.ask(b"img", "p").unwrap_err().to_string();
    assert!(err.contains("plain http to captions.example.invalid") && err.contains("--allow-http"), "{err}");
    let mut cfg = config("http://user:sk-in-url@captions.example.invalid/v1");
    cfg.max_retries = 0;
    let err = MllmClient::new(cfg, None).ask(b"img", "p").unwrap_err().to_string();
    assert!(!err.contains("sk-in-url"), "{err}");
}
