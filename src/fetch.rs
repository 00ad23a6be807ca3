//! Verified downloads of bundle files for the search worker, and the cache that keeps them.
//!
//! Contract:
//! - **Nothing unverified is used or cached.** Every byte of a bundle file passes a
//!   [`StreamCheck`] against its manifest entry (size and sha256) before the worker uses it or
//!   stores it in the [`BundleCache`]; the manifest itself is checked against the sha256 and
//!   size pinned in the page ([`Pin`], stamped by `scripts/post-build`), so whoever serves the
//!   bundle cannot swap any file.
//! - **Transient failures are retried** with backoff ([`BACKOFF_MS`], [`ATTEMPTS`] tries in
//!   all): a failed request, an interrupted body, HTTP 408, 429 and 5xx. An interrupted body
//!   resumes from the bytes already received (`Range: bytes=N-`; a server that answers 200
//!   instead starts the file over). Other HTTP errors (404, 403) are final at once.
//! - **Wrong bytes are refetched once**, from scratch and past the HTTP cache; a second
//!   mismatch is final. Every final error names the file and the reason.
//! - **Background writes wait for answers.** A checked file is stored in the background
//!   ([`BundleCache::put_later`]): queued, and stored one after another once no answer is in
//!   progress ([`HoldWrites`]) and the last one ended [`QUIET_AFTER_ANSWER_MS`] ago, the time
//!   the page takes to draw it ([`after_answers`]; the offline save waits the same way). A
//!   cold query over a decade stores ~700 segments: each `cache.put` costs the worker thread
//!   about a millisecond and the browser process more, and done at once they delayed the
//!   answer that fetched them by 0.4–0.7 s (docs/benchmarks.md, issue 11, h-speed); stored
//!   or downloaded while the page draws an answer, they delayed its frame by ~10 ms.
//! - The cache is named after the pinned manifest (`skycase-v3-` + its first 16 hex digits,
//!   the name `scripts/post-build` stamps into `www/sw.js`, which deletes every other bundle
//!   cache when a new release takes over). Only this module writes into it, and only checked
//!   bytes, so a file found there is used without hashing it again (its length is checked).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};

use js_sys::{Promise, Reflect, Uint8Array};
use skycase_core::bundle::StreamCheck;
use skycase_core::FileEntry;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{Cache, DedicatedWorkerGlobalScope, ReadableStreamDefaultReader, RequestCache, RequestInit, Response};

/// Prefix of the bundle cache's name. `v3`: earlier versions' caches also hold thumbnails
/// the service worker stored unchecked; their names differ, so they are never read, and the
/// service worker deletes them.
pub const CACHE_PREFIX: &str = "skycase-v3-";
/// Tries per file for transient failures (the first one included).
pub const ATTEMPTS: usize = 4;
/// Waits before the 2nd, 3rd and 4th try.
pub const BACKOFF_MS: [i32; ATTEMPTS - 1] = [250, 1000, 3000];

thread_local! {
    /// The first failure to store a checked file (a full quota, most likely): the app is then
    /// not offline-ready, and the page says why.
    static STORE_ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Answers in progress ([`HoldWrites`]).
    static HOLDS: Cell<usize> = const { Cell::new(0) };
    /// Background writes waiting for the answers in progress, oldest first.
    static QUEUED: RefCell<VecDeque<(BundleCache, String, Vec<u8>)>> = const { RefCell::new(VecDeque::new()) };
    /// Whether a task is storing [`QUEUED`].
    static DRAINING: Cell<bool> = const { Cell::new(false) };
    /// When the last answer in progress ended (the worker's clock, ms).
    static LAST_ANSWER: Cell<f64> = const { Cell::new(f64::NEG_INFINITY) };
    /// The absolute URLs the bundle cache holds or is being given, and whether its listing
    /// ([`BundleCache::list`]) is in: until then, and for a URL in it, [`BundleCache::may_hold`]
    /// says yes.
    static KNOWN: RefCell<(HashSet<String>, bool)> = RefCell::new((HashSet::new(), false));
    /// Folders [`absolute`] has resolved: as written → absolute.
    static FOLDERS: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}

/// `url` resolved against the worker's own address, as the cache's keys are. A cold decade
/// query notes ~700 segment URLs in a few folders: each folder is resolved once (by the
/// browser's URL parser) and a plain file name appended as it is ([`plain_file`]).
fn absolute(url: &str) -> String {
    let resolve = |url: &str| {
        let here = scope().location().href();
        web_sys::Url::new_with_base(url, &here).map_or_else(|_| url.to_string(), |u| u.href())
    };
    let Some((folder, name)) = plain_file(url) else { return resolve(url) };
    FOLDERS.with(|f| {
        let mut folders = f.borrow_mut();
        if !folders.contains_key(folder) {
            folders.insert(folder.to_string(), resolve(folder));
        }
        format!("{}{name}", folders[folder])
    })
}

/// `url` split after its last `/` when the browser would resolve it as its folder resolved,
/// then the name: a folder without query or fragment, and a name of letters, digits and
/// `._~-=&` with at most one `?` (a segment's `…skyleaf?bytes=a-b`), not `.` or `..`.
fn plain_file(url: &str) -> Option<(&str, &str)> {
    let cut = url.rfind('/')? + 1;
    let (folder, name) = url.split_at(cut);
    let path = name.split('?').next().unwrap_or_default();
    let plain = name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~-=&?".contains(&b)) && name.matches('?').count() <= 1;
    (!folder.contains(['?', '#']) && plain && path != "." && path != "..").then_some((folder, name))
}

fn note_known(url: &str) {
    KNOWN.with(|k| k.borrow_mut().0.insert(absolute(url)));
}

/// Background work (the queued writes, the offline save) waits this long after an answer:
/// the page draws the answer's cards and asks for their thumbnails meanwhile, and on two cores
/// a download or a cache write then delayed a warm answer's frame by about 10 ms
/// (docs/benchmarks.md, issue 11, "2026-12-06 ~05:00Z").
pub const QUIET_AFTER_ANSWER_MS: f64 = 250.0;

/// While one lives (a query being answered, until its answer is posted: src/worker.rs),
/// background work waits ([`after_answers`]);
/// when the last one is dropped, the queued writes are stored in the background, one at a
/// time, pausing whenever another answer starts.
pub struct HoldWrites(());

impl HoldWrites {
    /// Holds background writes until the result is dropped.
    #[must_use]
    pub fn start() -> Self {
        HOLDS.with(|h| h.set(h.get() + 1));
        HoldWrites(())
    }
}

impl Drop for HoldWrites {
    fn drop(&mut self) {
        let left = HOLDS.with(|h| {
            h.set(h.get().saturating_sub(1));
            h.get()
        });
        if left == 0 {
            LAST_ANSWER.with(|t| t.set(now_ms()));
            if !QUEUED.with(|q| q.borrow().is_empty()) && !DRAINING.with(|d| d.replace(true)) {
                spawn_local(drain());
            }
        }
    }
}

/// Resolves once no answer is in progress and the last one ended [`QUIET_AFTER_ANSWER_MS`]
/// ago: what background work awaits before each step.
pub async fn after_answers() {
    loop {
        let wait = if HOLDS.with(Cell::get) > 0 { 20.0 } else { QUIET_AFTER_ANSWER_MS - (now_ms() - LAST_ANSWER.with(Cell::get)) };
        if wait <= 0.0 {
            return;
        }
        sleep(wait.ceil() as i32).await;
    }
}

/// The worker's clock (`performance.now()`, or the date where there is none), in ms.
pub fn now_ms() -> f64 {
    scope().performance().map_or_else(js_sys::Date::now, |p| p.now())
}

/// Stores the queued writes one after another, each once [`after_answers`] allows.
async fn drain() {
    loop {
        after_answers().await;
        let Some((cache, url, bytes)) = QUEUED.with(|q| q.borrow_mut().pop_front()) else { break };
        if let Err(e) = cache.put(&url, &bytes).await {
            note_store_error(e);
        }
    }
    DRAINING.with(|d| d.set(false));
}

/// Resolves once no background write is queued or being stored.
pub async fn writes_settled() {
    while DRAINING.with(Cell::get) || !QUEUED.with(|q| q.borrow().is_empty()) {
        sleep(20).await;
    }
}

/// The worker's global scope (this module runs only in the search worker).
pub fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// The manifest the app is pinned to: its sha256 and size, from the page's
/// `<meta name="skycase-manifest">` (see `scripts/post-build`).
#[derive(Debug, Clone, PartialEq)]
pub struct Pin {
    pub sha256: String,
    pub bytes: u64,
}

impl Pin {
    /// Reads `"<sha256 hex> <bytes>"`; `None` for anything else (an unstamped page).
    pub fn parse(text: &str) -> Option<Pin> {
        let mut parts = text.split_whitespace();
        let (sha, bytes) = (parts.next()?, parts.next()?);
        let ok = sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        (ok && parts.next().is_none()).then_some(())?;
        Some(Pin { sha256: sha.to_string(), bytes: bytes.parse().ok()? })
    }

    /// The manifest as a file entry, so it is checked like every other file.
    pub fn entry(&self) -> FileEntry {
        FileEntry { path: "manifest.json".into(), role: "manifest".into(), sha256: self.sha256.clone(), bytes: self.bytes }
    }

    /// The name of the bundle cache.
    pub fn cache_name(&self) -> String {
        format!("{CACHE_PREFIX}{}", &self.sha256[..16])
    }
}

/// The Cache Storage cache of checked bundle files (`None`: no Cache Storage here, the app
/// works online only).
#[derive(Clone)]
pub struct BundleCache(Option<Cache>);

impl BundleCache {
    /// No cache: everything comes from the network.
    pub const NONE: BundleCache = BundleCache(None);

    /// Opens the cache for the pinned bundle.
    pub async fn open(pin: &Pin) -> Self {
        let name = pin.cache_name();
        let Ok(caches) = scope().caches() else { return Self(None) };
        match JsFuture::from(caches.open(&name)).await {
            Ok(cache) => Self(Some(cache.unchecked_into())),
            Err(e) => {
                note_store_error(format!("cannot open the offline cache {name}: {}", js_message(&e)));
                Self(None)
            }
        }
    }

    /// Whether there is a cache at all.
    pub fn is_some(&self) -> bool {
        self.0.is_some()
    }

    /// Lists the cache's keys once, in the background, so that [`may_hold`](Self::may_hold)
    /// can answer without asking the browser: a cold query's lookups (10 list files, ~20 leaf
    /// areas, each a round trip to the browser's storage) delayed its first requests by
    /// 5–50 ms (docs/benchmarks.md, issue 11, "the one-month query").
    pub fn list(&self) {
        let Some(cache) = self.0.clone() else { return };
        spawn_local(async move {
            let Ok(keys) = JsFuture::from(cache.keys()).await else { return };
            let keys: js_sys::Array = keys.unchecked_into();
            let urls: Vec<String> = keys.iter().filter_map(|r| Reflect::get(&r, &JsValue::from_str("url")).ok()?.as_string()).collect();
            KNOWN.with(|k| {
                let mut k = k.borrow_mut();
                k.0.extend(urls);
                k.1 = true;
            });
        });
    }

    /// Whether a lookup of `url` could find it: no only when the cache's keys are listed
    /// and this worker has not stored it since. Only this module writes the cache, but
    /// another tab's worker may have stored it meanwhile: so a file not looked up by this is
    /// looked up after all when the network cannot give it (offline).
    pub fn may_hold(&self, url: &str) -> bool {
        self.0.is_some() && KNOWN.with(|k| {
            let k = k.borrow();
            !k.1 || k.0.contains(&absolute(url))
        })
    }

    /// Starts looking up `url`; resolves to its response or `undefined`.
    pub fn lookup(&self, url: &str) -> Promise {
        match &self.0 {
            Some(cache) => cache.match_with_str(url),
            None => Promise::resolve(&JsValue::UNDEFINED),
        }
    }

    /// The cached bytes of `url` when the cache holds exactly `len` of them.
    pub async fn get(&self, url: &str, len: u64, lookup: Promise) -> Option<Vec<u8>> {
        let hit = JsFuture::from(lookup).await.ok().filter(|h| h.is_instance_of::<Response>())?;
        let bytes = read_whole(url, &hit.unchecked_into()).await.ok()?;
        (bytes.len() as u64 == len).then_some(bytes)
    }

    /// Whether the cache holds `url`.
    pub async fn holds(&self, url: &str) -> bool {
        JsFuture::from(self.lookup(url)).await.is_ok_and(|hit| hit.is_instance_of::<Response>())
    }

    /// Stores checked bytes under `url`; the error says why not (a full quota is named so).
    pub async fn put(&self, url: &str, bytes: &[u8]) -> Result<(), String> {
        let Some(cache) = &self.0 else { return Ok(()) };
        note_known(url);
        let body = Uint8Array::from(bytes);
        let resp = Response::new_with_opt_buffer_source(Some(&body)).map_err(|e| format!("{url}: {}", js_message(&e)))?;
        JsFuture::from(cache.put_with_str(url, &resp)).await.map(|_| ()).map_err(|e| store_message(url, &e))
    }

    /// As [`put`](Self::put), in the background: queued, and stored when [`after_answers`]
    /// allows; a failure is kept for [`take_store_error`].
    pub fn put_later(&self, url: &str, bytes: &[u8]) {
        if self.0.is_none() {
            return;
        }
        note_known(url);
        QUEUED.with(|q| q.borrow_mut().push_back((self.clone(), url.to_string(), bytes.to_vec())));
        if HOLDS.with(Cell::get) == 0 && !DRAINING.with(|d| d.replace(true)) {
            spawn_local(drain());
        }
    }
}

fn note_store_error(message: String) {
    web_sys::console::warn_1(&format!("not kept for offline use: {message}").into());
    STORE_ERROR.with(|s| {
        s.borrow_mut().get_or_insert(message);
    });
}

/// The first failure to store a file since the last call, if any.
pub fn take_store_error() -> Option<String> {
    STORE_ERROR.with(|s| s.borrow_mut().take())
}

fn store_message(url: &str, e: &JsValue) -> String {
    let name = Reflect::get(e, &"name".into()).ok().and_then(|n| n.as_string()).unwrap_or_default();
    if name == "QuotaExceededError" {
        format!("{url}: the browser's storage quota for this site is full, so it cannot be kept for offline use (free space or allow more storage)")
    } else {
        format!("{url}: cannot be kept for offline use ({})", js_message(e))
    }
}

/// A failed try.
enum Failure {
    /// Worth another try after a wait (network, 5xx, an interrupted body).
    Transient(String),
    /// Not worth another try (404, 403).
    Final(String),
    /// Bytes that do not match the manifest.
    Wrong(String),
}

/// Starts a GET. `from`: resume at this byte (`Range`); `reload`: past the HTTP cache.
pub fn start(url: &str, from: usize, reload: bool) -> Promise {
    let init = RequestInit::new();
    if reload {
        init.set_cache(RequestCache::Reload);
    }
    if let Some(headers) = (from > 0).then(web_sys::Headers::new).and_then(Result::ok) {
        let _ = headers.set("Range", &format!("bytes={from}-"));
        init.set_headers(&headers);
        // A partial answer must not come from or go into the HTTP cache as the whole file.
        init.set_cache(RequestCache::NoStore);
    }
    scope().fetch_with_str_and_init(url, &init)
}

/// Sleeps `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let wait = Promise::new(&mut |resolve, _| {
        let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(wait).await;
}

/// Downloads `url` (the file of `entry`) and checks it while it streams in, retrying as the
/// module header says; `first` is a request already started for it, if any. `progress` gets
/// each new byte count once (a restarted file does not count twice). The checked bytes are
/// stored in `cache` in the background.
pub async fn download(url: &str, entry: &FileEntry, first: Option<Promise>, cache: &BundleCache, mut progress: impl FnMut(u64)) -> Result<Vec<u8>, String> {
    let capacity = usize::try_from(entry.bytes).unwrap_or(0);
    let mut buf: Vec<u8> = Vec::with_capacity(capacity);
    let mut check = StreamCheck::new(entry);
    let mut reported = 0usize;
    let mut first = first;
    let mut failures = 0usize;
    let mut refetched = false;
    loop {
        let started = first.take().unwrap_or_else(|| start(url, buf.len(), refetched && buf.is_empty()));
        let outcome = attempt(url, started, &mut buf, &mut check, entry, |len| {
            if len > reported {
                progress((len - reported) as u64);
                reported = len;
            }
        })
        .await;
        let message = match outcome {
            Ok(()) => match std::mem::replace(&mut check, StreamCheck::new(entry)).finish() {
                Ok(()) => {
                    cache.put_later(url, &buf);
                    return Ok(buf);
                }
                Err(e) => e.to_string(),
            },
            Err(Failure::Wrong(message)) => message,
            Err(Failure::Final(message)) => return Err(message),
            Err(Failure::Transient(message)) => {
                failures += 1;
                again_or_give_up(message, failures).await?;
                continue;
            }
        };
        // The bytes do not match the manifest: once more from scratch, past the HTTP cache.
        if refetched {
            return Err(format!("{message} (also after downloading it again); not used"));
        }
        web_sys::console::warn_1(&format!("{message}; downloading it again").into());
        refetched = true;
        buf.clear();
        check = StreamCheck::new(entry);
    }
}

/// One try: reads the answer to `started` into `buf` (appending when the server resumes at
/// `buf.len()`), feeding `check`.
async fn attempt(url: &str, started: Promise, buf: &mut Vec<u8>, check: &mut StreamCheck, entry: &FileEntry, mut seen: impl FnMut(usize)) -> Result<(), Failure> {
    let resp: Response = JsFuture::from(started)
        .await
        .map_err(|e| Failure::Transient(format!("{url}: cannot download ({})", js_message(&e))))?
        .unchecked_into();
    let status = resp.status();
    match status {
        206 if !buf.is_empty() && resumes_at(&resp, buf.len()) => {}
        200 | 206 => {
            // The whole file (also when a resumed request was answered in full).
            buf.clear();
            *check = StreamCheck::new(entry);
            if status == 206 {
                return Err(Failure::Transient(format!("{url}: the server answered a range that was not asked for")));
            }
        }
        408 | 429 | 500..=599 => return Err(Failure::Transient(format!("{url}: the server answered HTTP {status} {}", resp.status_text()))),
        _ => return Err(Failure::Final(format!("{url}: the server answered HTTP {status} {}", resp.status_text()))),
    }
    let body = resp.body().ok_or_else(|| Failure::Transient(format!("{url}: empty response")))?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| Failure::Transient(format!("{url}: download interrupted after {} of {} bytes ({})", buf.len(), entry.bytes, js_message(&e))))?;
        if Reflect::get(&chunk, &"done".into()).ok().and_then(|d| d.as_bool()).unwrap_or(true) {
            return Ok(());
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into())
            .map_err(|_| Failure::Transient(format!("{url}: malformed stream chunk")))?
            .unchecked_into();
        let start = buf.len();
        buf.resize(start + value.length() as usize, 0);
        value.copy_to(&mut buf[start..]);
        if let Err(e) = check.update(&buf[start..]) {
            // More bytes than the manifest says: wrong content, refetched once by the caller.
            let _ = reader.cancel();
            return Err(Failure::Wrong(e.to_string()));
        }
        seen(buf.len());
    }
}

/// Starts a GET of bytes `start..end` of `url` (`Range: bytes=start-(end-1)`), past the HTTP
/// cache (a partial answer must not be stored as the whole file; the bundle cache keeps the
/// checked segments), `reload`: said so explicitly (a refetch after wrong bytes).
pub fn start_range(url: &str, start: u64, end: u64, reload: bool) -> Promise {
    let init = RequestInit::new();
    init.set_cache(if reload { RequestCache::Reload } else { RequestCache::NoStore });
    if let Ok(headers) = web_sys::Headers::new() {
        let _ = headers.set("Range", &format!("bytes={start}-{}", end.saturating_sub(1)));
        init.set_headers(&headers);
    }
    scope().fetch_with_str_and_init(url, &init)
}

/// Whether `p` has settled already, without waiting for it: a promise still pending loses a
/// race against one resolved now (an already settled one wins: its reaction is queued first).
pub async fn settled(p: &Promise) -> bool {
    let pending = JsValue::from_str("skycase: pending");
    let race = Promise::race(&js_sys::Array::of2(p, &Promise::resolve(&pending)));
    !JsFuture::from(race).await.is_ok_and(|v| v == pending)
}

/// Downloads bytes `start..end` of `url` (a span of a leaf file: several partitions back to
/// back, each checked by the caller against its own hash), retrying transient failures as
/// [`download`] does; `first`: the request already started ([`start_range`]). Resolves to the
/// bytes and the file offset they start at: `start` for a `206` answer, 0 when the server
/// ignores `Range` and sends the whole file (`200`; the caller slices it).
pub async fn download_span(url: &str, start: u64, end: u64, first: Option<Promise>, reload: bool) -> Result<(Vec<u8>, u64), String> {
    let mut first = first;
    let mut failures = 0usize;
    loop {
        let started = first.take().unwrap_or_else(|| start_range(url, start, end, reload));
        let message = match span_attempt(url, started, start, end).await {
            Ok(got) => return Ok(got),
            Err(Failure::Final(m)) | Err(Failure::Wrong(m)) => return Err(m),
            Err(Failure::Transient(m)) => m,
        };
        failures += 1;
        again_or_give_up(message, failures).await?;
    }
}

/// After the `failures`-th transient failure (`message`): the error to give up with (the
/// browser is offline, or [`ATTEMPTS`] tries are spent), or the back-off wait before the next try.
async fn again_or_give_up(message: String, failures: usize) -> Result<(), String> {
    if browser_offline() {
        return Err(format!("{message} (the browser is offline)"));
    }
    if failures >= ATTEMPTS {
        return Err(format!("{message} (gave up after {failures} tries)"));
    }
    web_sys::console::warn_1(&format!("{message}; trying again").into());
    sleep(BACKOFF_MS[failures - 1]).await;
    Ok(())
}

/// Whether the browser says it has no network (`navigator.onLine` is false): a request that
/// failed then is not tried again — backing off 4 s a range would freeze an offline query
/// over pieces the cache lacks, instead of answering from the rest and naming them.
fn browser_offline() -> bool {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok();
    navigator.and_then(|n| js_sys::Reflect::get(&n, &"onLine".into()).ok()).and_then(|v| v.as_bool()) == Some(false)
}

/// One try of [`download_span`].
async fn span_attempt(url: &str, started: Promise, start: u64, end: u64) -> Result<(Vec<u8>, u64), Failure> {
    let what = format!("{url} (bytes {start}-{})", end.saturating_sub(1));
    let resp: Response = JsFuture::from(started)
        .await
        .map_err(|e| Failure::Transient(format!("{what}: cannot download ({})", js_message(&e))))?
        .unchecked_into();
    let status = resp.status();
    let at = match status {
        206 if content_range_start(&resp) == Some(start) => start,
        206 => return Err(Failure::Transient(format!("{what}: the server answered another range ({})", resp.headers().get("Content-Range").ok().flatten().unwrap_or_default()))),
        // A server (or a compressing proxy) that ignores Range: the whole file, sliced.
        200 => 0,
        408 | 429 | 500..=599 => return Err(Failure::Transient(format!("{what}: the server answered HTTP {status} {}", resp.status_text()))),
        _ => return Err(Failure::Final(format!("{what}: the server answered HTTP {status} {}", resp.status_text()))),
    };
    let body = JsFuture::from(resp.array_buffer().map_err(|e| Failure::Transient(format!("{what}: {}", js_message(&e))))?)
        .await
        .map_err(|e| Failure::Transient(format!("{what}: download interrupted ({})", js_message(&e))))?;
    let bytes = Uint8Array::new(&body).to_vec();
    let need = end - at;
    if (bytes.len() as u64) < need {
        return Err(Failure::Transient(format!("{what}: {} bytes arrived from byte {at}, {need} were needed", bytes.len())));
    }
    Ok((bytes, at))
}

/// The first byte of a 206 answer's `Content-Range` (`bytes a-b/len`).
fn content_range_start(resp: &Response) -> Option<u64> {
    let range = resp.headers().get("Content-Range").ok().flatten()?;
    range.trim().strip_prefix("bytes ")?.split('-').next()?.trim().parse().ok()
}

/// Whether a 206 answer's `Content-Range` starts at `from`.
fn resumes_at(resp: &Response, from: usize) -> bool {
    let range = resp.headers().get("Content-Range").ok().flatten().unwrap_or_default();
    range.trim().strip_prefix("bytes ").and_then(|r| r.split('-').next()).and_then(|s| s.trim().parse::<usize>().ok()) == Some(from)
}

/// The body of a response, in one piece.
async fn read_whole(url: &str, resp: &Response) -> Result<Vec<u8>, String> {
    let body = resp.array_buffer().map_err(|e| format!("{url}: unreadable cached copy ({})", js_message(&e)))?;
    let buffer = JsFuture::from(body).await.map_err(|e| format!("{url}: unreadable cached copy ({})", js_message(&e)))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// A JavaScript error's message.
pub fn js_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_else(|| format!("{e:?}"))
}

/// Gets one bundle file: from the cache when it holds it whole, else [`download`]ed.
pub async fn get(base: &str, entry: &FileEntry, cache: &BundleCache, progress: impl FnMut(u64)) -> Result<Vec<u8>, String> {
    let url = format!("{base}{}", entry.path);
    if let Some(bytes) = cache.get(&url, entry.bytes, cache.lookup(&url)).await {
        return Ok(bytes);
    }
    download(&url, entry, None, cache, progress).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_file_names_are_appended_to_their_resolved_folder() {
        assert_eq!(plain_file("bundle/parts/012-003-0123abcd.skyleaf?bytes=0-99"), Some(("bundle/parts/", "012-003-0123abcd.skyleaf?bytes=0-99")));
        assert_eq!(plain_file("https://cdn.example/b/manifest.json"), Some(("https://cdn.example/b/", "manifest.json")));
        // Resolved whole: no folder, dot segments, escapes, a query or fragment before the name.
        for url in ["manifest.json", "bundle/..", "bundle/.?x=1", "bundle/a%20b", "bundle/a b", "b?q=/x", "b#f/x", "bundle/a?b?c", "bundle/a#b"] {
            assert_eq!(plain_file(url), None, "{url}");
        }
        assert_eq!(plain_file("bundle/"), Some(("bundle/", "")));
    }

    #[test]
    fn pin_is_a_lower_case_sha256_and_a_size() {
        let sha = "ab".repeat(32);
        assert_eq!(Pin::parse(&format!("{sha} 1234")), Some(Pin { sha256: sha.clone(), bytes: 1234 }));
        assert_eq!(Pin::parse(&format!("{sha} 1234")).map(|p| p.cache_name()), Some(format!("skycase-v3-{}", &sha[..16])));
        assert_eq!(Pin::parse("MANIFEST-PIN"), None, "the unstamped placeholder");
        assert_eq!(Pin::parse(&format!("{} 1", "AB".repeat(32))), None, "upper case");
        assert_eq!(Pin::parse(&format!("{sha}")), None, "no size");
        assert_eq!(Pin::parse(&format!("{sha} 12 x")), None);
        assert_eq!(Pin::parse(&format!("{} 1", &sha[..62])), None);
    }
}
