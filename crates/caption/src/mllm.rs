//! The MLLM captioner's client: the study's prompt plus the image, sent to any
//! OpenAI-compatible `POST {base_url}/chat/completions` endpoint.
//!
//! - The image travels as a `data:image/png;base64,...` URL in an `image_url` content
//!   part, after the prompt text; `temperature` is 0.
//! - Transient failures (HTTP 408, 429, 5xx, timeouts, refused or reset connections, a
//!   200 whose body is not a chat completion) are retried up to
//!   [`MllmConfig::max_retries`] times with exponential backoff and full jitter
//!   (`delay = U(0.5, 1) × min(max_backoff, base_backoff × 2^attempt)`); a `Retry-After`
//!   header in seconds replaces the computed delay (capped at `max_backoff`). Other 4xx
//!   answers (bad key, unknown model) fail at once.
//! - Answers are cached on disk under `sha256(image) + prompt + model`, so a rerun or a
//!   resumed run never asks twice; a cache entry is written atomically. Only answers that
//!   parse as a caption ([`crate::parse_answer`]) are cached, and a cached answer that does
//!   not parse is ignored, so a bad answer is asked again on the next run, never replayed.
//! - The API key is sent only in the `Authorization` header; it is never logged, stored
//!   in the cache or put in an error message, and `Debug` prints it redacted. An endpoint
//!   that echoes it (in an error body or an answer) has it replaced by `<redacted>` before
//!   the text leaves the client, and credentials in the URL (`user:pass@`) are left out of
//!   messages ([`MllmConfig::public_url`]).
//! - Plain `http://` is refused for any host but a loopback one (`localhost`, `127.*`,
//!   `[::1]`) unless [`MllmConfig::allow_http`] is set: it would send the key and the images
//!   unencrypted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::store::write_atomic;

/// Settings of the chat-completions client.
#[derive(Clone)]
pub struct MllmConfig {
    /// Base URL, e.g. `https://api.openai.com/v1` (the client appends `/chat/completions`).
    pub base_url: String,
    /// Model name sent in the request.
    pub model: String,
    /// Bearer token; `None` sends no `Authorization` header (local servers).
    pub api_key: Option<String>,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt for transient failures.
    pub max_retries: u32,
    /// First backoff delay.
    pub base_backoff: Duration,
    /// Longest delay between attempts (also caps `Retry-After`).
    pub max_backoff: Duration,
    /// `max_tokens` of the request.
    pub max_tokens: u32,
    /// Allow plain `http://` to a host that is not loopback.
    pub allow_http: bool,
}

impl std::fmt::Debug for MllmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MllmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("base_backoff", &self.base_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("max_tokens", &self.max_tokens)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl MllmConfig {
    /// Defaults: 120 s timeout, 5 retries, 1 s → 60 s backoff, 512 tokens.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>, api_key: Option<String>) -> Self {
        MllmConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key,
            timeout: Duration::from_secs(120),
            max_retries: 5,
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            max_tokens: 512,
            allow_http: false,
        }
    }

    /// The endpoint URL.
    pub fn url(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }

    /// The endpoint URL without credentials (`https://user:pass@host/v1` →
    /// `https://host/v1/chat/completions`), for messages.
    pub fn public_url(&self) -> String {
        without_credentials(&self.url())
    }

    /// The base URL without credentials, for caption records.
    pub fn public_base_url(&self) -> String {
        without_credentials(&self.base_url)
    }

    /// Refuses plain `http://` to a host that is not loopback unless [`Self::allow_http`].
    pub fn check_transport(&self) -> Result<()> {
        let url = self.base_url.trim();
        let Some(rest) = url.get(..7).filter(|s| s.eq_ignore_ascii_case("http://")).map(|_| &url[7..]) else { return Ok(()) };
        let authority = rest.split('/').next().unwrap_or("");
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if let Some(v6) = host_port.strip_prefix('[') {
            v6.split(']').next().unwrap_or("")
        } else {
            host_port.split(':').next().unwrap_or("")
        };
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if loopback || self.allow_http {
            return Ok(());
        }
        Err(Error::Endpoint {
            url: self.public_url(),
            reason: format!("plain http to {host} would send the API key and the images unencrypted; use https, or allow it explicitly (--allow-http)"),
        })
    }

    /// `text` with every occurrence of the API key replaced by `<redacted>`.
    pub fn scrub(&self, text: &str) -> String {
        match self.api_key.as_deref().map(str::trim) {
            Some(key) if !key.is_empty() => text.replace(key, "<redacted>"),
            _ => text.to_string(),
        }
    }
}

/// `url` with any `user:password@` left out.
fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// An answer and how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The assistant message text.
    pub text: String,
    /// Served from the on-disk cache.
    pub cached: bool,
    /// HTTP attempts made (0 when cached).
    pub attempts: u32,
}

/// A cache entry on disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CacheEntry {
    model: String,
    image_sha256: String,
    prompt_sha256: String,
    answer: String,
}

/// Client with an optional answer cache. Cheap to share across threads (`&self`).
#[derive(Debug)]
pub struct MllmClient {
    cfg: MllmConfig,
    agent: ureq::Agent,
    cache_dir: Option<PathBuf>,
}

/// What one attempt ended in.
enum Attempt {
    Done(String),
    Retry { reason: String, retry_after: Option<Duration> },
    Fatal(String),
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Cache key: `sha256(sha256(image) ‖ 0 ‖ prompt ‖ 0 ‖ model)`, hex.
pub fn cache_key(image_png: &[u8], prompt: &str, model: &str) -> String {
    let mut h = Sha256::new();
    h.update(sha256_hex(image_png).as_bytes());
    h.update([0]);
    h.update(prompt.as_bytes());
    h.update([0]);
    h.update(model.as_bytes());
    hex::encode(h.finalize())
}

/// The request body (public for tests and `--dry-run`).
pub fn request_body(model: &str, prompt: &str, image_png: &[u8], max_tokens: u32) -> serde_json::Value {
    let b64 = base64::engine::general_purpose::STANDARD.encode(image_png);
    serde_json::json!({
        "model": model,
        "temperature": 0,
        "max_tokens": max_tokens,
        "messages": [{
            "role": "user",
            "content": [
                {"type": "text", "text": prompt},
                {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{b64}")}}
            ]
        }]
    })
}

/// The assistant text of a chat-completions response body.
pub fn answer_text(body: &str) -> std::result::Result<String, String> {
    let v: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("response is not JSON ({e}): {}", snippet(body)))?;
    if let Some(err) = v.get("error") {
        return Err(format!("endpoint returned an error object: {}", snippet(&err.to_string())));
    }
    let content = v
        .pointer("/choices/0/message/content")
        .ok_or_else(|| format!("no choices[0].message.content in response: {}", snippet(body)))?;
    match content {
        serde_json::Value::String(s) => Ok(s.clone()),
        // Some servers answer with content parts.
        serde_json::Value::Array(parts) => {
            let texts: Vec<&str> = parts.iter().filter_map(|p| p.get("text").and_then(|t| t.as_str())).collect();
            if texts.is_empty() {
                Err(format!("content parts carry no text: {}", snippet(body)))
            } else {
                Ok(texts.join(""))
            }
        }
        _ => Err(format!("choices[0].message.content is not text: {}", snippet(body))),
    }
}

fn snippet(s: &str) -> String {
    let s: String = s.chars().take(200).collect();
    s.replace('\n', " ")
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: the backoff applies).
fn parse_retry_after(v: Option<&str>) -> Option<Duration> {
    let secs: f64 = v?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

impl MllmClient {
    /// A client; `cache_dir` (created on first write) enables the answer cache.
    pub fn new(cfg: MllmConfig, cache_dir: Option<PathBuf>) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(cfg.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("skycase-caption/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        MllmClient { cfg, agent, cache_dir }
    }

    /// The settings.
    pub fn config(&self) -> &MllmConfig {
        &self.cfg
    }

    fn cache_path(&self, key: &str) -> Option<PathBuf> {
        self.cache_dir.as_ref().map(|d| d.join(&key[..2]).join(format!("{key}.json")))
    }

    /// The cached answer for this image, prompt and model, if any.
    pub fn cached(&self, image_png: &[u8], prompt: &str) -> Result<Option<String>> {
        let key = cache_key(image_png, prompt, &self.cfg.model);
        let Some(p) = self.cache_path(&key) else { return Ok(None) };
        read_cache(&p)
    }

    /// Ask the endpoint (or the cache) about one image.
    pub fn ask(&self, image_png: &[u8], prompt: &str) -> Result<Answer> {
        let key = cache_key(image_png, prompt, &self.cfg.model);
        let path = self.cache_path(&key);
        if let Some(p) = &path {
            if let Some(text) = read_cache(p)?.filter(|t| crate::parse_answer(t).is_ok()) {
                return Ok(Answer { text, cached: true, attempts: 0 });
            }
        }
        self.cfg.check_transport()?;
        let body = request_body(&self.cfg.model, prompt, image_png, self.cfg.max_tokens).to_string();
        let (url, public_url) = (self.cfg.url(), self.cfg.public_url());
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match self.attempt(&url, &body) {
                Attempt::Done(text) => {
                    let text = self.cfg.scrub(&text);
                    // A caption that does not parse goes back to the caller (it becomes a
                    // failure record) but is not kept: the next run asks again.
                    if let Some(p) = path.as_ref().filter(|_| crate::parse_answer(&text).is_ok()) {
                        let entry = CacheEntry {
                            model: self.cfg.model.clone(),
                            image_sha256: sha256_hex(image_png),
                            prompt_sha256: sha256_hex(prompt.as_bytes()),
                            answer: text.clone(),
                        };
                        let bytes = serde_json::to_vec_pretty(&entry).map_err(|e| Error::json(p, e))?;
                        write_atomic(p, &bytes)?;
                    }
                    return Ok(Answer { text, cached: false, attempts: attempt });
                }
                Attempt::Fatal(reason) => return Err(Error::Endpoint { url: public_url, reason: self.cfg.scrub(&reason) }),
                Attempt::Retry { reason, retry_after } => {
                    if attempt > self.cfg.max_retries {
                        return Err(Error::Endpoint {
                            url: public_url,
                            reason: format!("{} (gave up after {attempt} attempts)", self.cfg.scrub(&reason)),
                        });
                    }
                    std::thread::sleep(self.delay(attempt - 1, retry_after));
                }
            }
        }
    }

    /// Backoff before retry number `n` (0-based).
    fn delay(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.cfg.max_backoff);
        }
        let exp = self.cfg.base_backoff.saturating_mul(1u32 << n.min(20));
        let capped = exp.min(self.cfg.max_backoff);
        capped.mul_f64(0.5 + 0.5 * fastrand::f64())
    }

    fn attempt(&self, url: &str, body: &str) -> Attempt {
        let mut req = self.agent.post(url).header("Content-Type", "application/json");
        if let Some(key) = &self.cfg.api_key {
            req = req.header("Authorization", format!("Bearer {key}"));
        }
        let mut resp = match req.send(body) {
            Ok(r) => r,
            Err(e) => return classify_transport(e),
        };
        let status = resp.status().as_u16();
        let retry_after = parse_retry_after(resp.headers().get("retry-after").and_then(|v| v.to_str().ok()));
        // Scrubbed before anything is cut from it: a snippet must not end inside the key.
        let text = match resp.body_mut().read_to_string() {
            Ok(t) => self.cfg.scrub(&t),
            Err(e) => {
                return Attempt::Retry { reason: format!("HTTP {status}: reading the body failed: {e}"), retry_after }
            }
        };
        match status {
            200..=299 => match answer_text(&text) {
                Ok(a) => Attempt::Done(a),
                Err(reason) => Attempt::Retry { reason: format!("HTTP {status}: {reason}"), retry_after: None },
            },
            408 | 429 | 500..=599 => Attempt::Retry { reason: format!("HTTP {status}: {}", snippet(&text)), retry_after },
            _ => Attempt::Fatal(format!("HTTP {status}: {}", snippet(&text))),
        }
    }
}

fn classify_transport(e: ureq::Error) -> Attempt {
    // Every transport failure (refused, reset, timeout, DNS, TLS) may be transient;
    // when the endpoint is really down the retries run out and the error says so.
    let reason = match &e {
        ureq::Error::Timeout(t) => format!("timed out ({t:?})"),
        ureq::Error::ConnectionFailed => "connection failed (is the endpoint up?)".to_string(),
        ureq::Error::Io(io) => format!("connection error: {io}"),
        other => format!("transport error: {other}"),
    };
    if matches!(e, ureq::Error::BadUri(_) | ureq::Error::RequireHttpsOnly(_)) {
        return Attempt::Fatal(reason);
    }
    Attempt::Retry { reason, retry_after: None }
}

fn read_cache(p: &Path) -> Result<Option<String>> {
    match std::fs::read(p) {
        Ok(bytes) => {
            let e: CacheEntry = serde_json::from_slice(&bytes).map_err(|e| Error::json(p, e))?;
            Ok(Some(e.answer))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(p, e)),
    }
}

/// The study's prompt, verbatim (`prompts/mllm_caption_prompt.txt`).
pub const STUDY_PROMPT: &str = include_str!("../prompts/mllm_caption_prompt.txt");

/// Fill the study's prompt for one image: "the COMS satellite" becomes "the
/// `<satellite>` satellite" and "in November 2017" becomes the image's month and year.
/// A template without these phrases is used as it is.
pub fn fill_prompt(template: &str, satellite: &str, time: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Datelike;
    const MONTHS: [&str; 12] = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December",
    ];
    let month = format!("in {} {}", MONTHS[time.month0() as usize], time.year());
    template.trim().replace("the COMS satellite", &format!("the {satellite} satellite")).replace("in November 2017", &month)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn prompt_gets_satellite_and_month() {
        let t = "The given image is an infrared channel image captured by the COMS satellite over East Asia in November 2017. Respond";
        let time = chrono::Utc.with_ymd_and_hms(2026, 9, 28, 12, 0, 0).unwrap();
        assert_eq!(
            fill_prompt(t, "GK-2A", time),
            "The given image is an infrared channel image captured by the GK-2A satellite over East Asia in September 2026. Respond"
        );
    }

    #[test]
    fn answer_text_variants() {
        let ok = r#"{"choices":[{"message":{"role":"assistant","content":"- A - B"}}]}"#;
        assert_eq!(answer_text(ok).unwrap(), "- A - B");
        let parts = r#"{"choices":[{"message":{"content":[{"type":"text","text":"x"},{"type":"text","text":"y"}]}}]}"#;
        assert_eq!(answer_text(parts).unwrap(), "xy");
        assert!(answer_text("{\"choices\":[]}").is_err());
        assert!(answer_text("<html>502</html>").is_err());
        assert!(answer_text(r#"{"error":{"message":"overloaded"}}"#).is_err());
    }

    #[test]
    fn cache_key_depends_on_all_three() {
        let k = cache_key(b"img", "p", "m");
        assert_ne!(k, cache_key(b"img2", "p", "m"));
        assert_ne!(k, cache_key(b"img", "p2", "m"));
        assert_ne!(k, cache_key(b"img", "p", "m2"));
        assert_eq!(k.len(), 64);
    }

    #[test]
    fn plain_http_needs_a_loopback_host_or_an_explicit_flag() {
        let cfg = |url: &str| MllmConfig::new(url, "m", Some("sk-secret".into()));
        for ok in ["https://api.example.org/v1", "http://127.0.0.1:8000/v1", "http://localhost/v1", "HTTP://[::1]:9/v1", "http://127.0.0.2/v1"] {
            cfg(ok).check_transport().unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in ["http://api.example.org/v1", "http://10.0.0.5:8000/v1", "http://localhost.evil.org/v1", "http://127.0.0.1@evil.org/v1"] {
            let err = cfg(bad).check_transport().unwrap_err().to_string();
            assert!(err.contains("plain http to") && err.contains("--allow-http"), "{bad}: {err}");
        }
        let mut allowed = cfg("http://api.example.org/v1");
        allowed.allow_http = true;
        allowed.check_transport().unwrap();
    }

    #[test]
    fn secrets_are_scrubbed_from_text_and_urls() {
        let cfg = MllmConfig::new("https://user:pw@api.example.org/v1", "m", Some("sk-secret".into()));
        assert_eq!(cfg.scrub("invalid key sk-secret (sk-secret)"), "invalid key <redacted> (<redacted>)");
        assert_eq!(cfg.public_url(), "https://api.example.org/v1/chat/completions");
        assert_eq!(cfg.public_base_url(), "https://api.example.org/v1");
        assert_eq!(MllmConfig::new("http://127.0.0.1:9/v1", "m", None).scrub("sk-secret"), "sk-secret");
    }

    #[test]
    fn debug_redacts_key() {
        let cfg = MllmConfig::new("http://x", "m", Some("sk-secret".into()));
        assert!(!format!("{cfg:?}").contains("sk-secret"));
    }

    #[test]
    fn retry_after_seconds_only() {
        assert_eq!(parse_retry_after(Some("2")), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(Some("0.5")), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(parse_retry_after(None), None);
    }

    #[test]
    fn request_body_shape() {
        let b = request_body("m", "prompt", &[1, 2, 3], 100);
        assert_eq!(b["messages"][0]["content"][0]["text"], "prompt");
        assert_eq!(b["messages"][0]["content"][1]["image_url"]["url"], "data:image/png;base64,AQID");
    }
}
