//! The search worker: downloads and verifies the bundle, runs the text encoder and ranks.
//! Keeping it off the page's thread keeps typing smooth while a query encodes.
//!
//! It also keeps the bundle for offline use: every file it downloads and checks against the
//! manifest goes into the Cache Storage cache the service worker serves from (www/sw.js),
//! named after the manifest's hash. The worker starts before the service worker controls the
//! page (index.html), so on a first visit nothing else would cache them.

use std::cell::{Cell, RefCell};

use js_sys::{Promise, Reflect, Uint8Array};
use skycase_core::bundle::{sha256_hex, StreamCheck};
use skycase_core::rank::Hit;
use skycase_core::load::{StartupFiles, SHARD_ROLE};
use skycase_core::search::TextSide;
use skycase_core::{FileEntry, Filters, Manifest, Searcher, Shard};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{Cache, DedicatedWorkerGlobalScope, MessageEvent, ReadableStreamDefaultReader, RequestCache, RequestInit, Response};

use crate::protocol::{FromWorker, HitOut, ToWorker};

thread_local! {
    static SEARCHER: RefCell<Option<Searcher>> = const { RefCell::new(None) };
    /// The bundle's base URL, ending in `/`.
    static BASE: RefCell<String> = const { RefCell::new(String::new()) };
    static CACHE: RefCell<BundleCache> = const { RefCell::new(BundleCache(None)) };
    /// Whether the background download of the remaining word-embedding chunks has begun.
    static PREFETCH_STARTED: Cell<bool> = const { Cell::new(false) };
    /// Whether the multilingual encoder's files are being downloaded.
    static MULTILINGUAL_LOADING: Cell<bool> = const { Cell::new(false) };
}

/// After the first answer, the rest of the word-embedding table is fetched once the page has
/// had this long to load the answer's thumbnails, so the app then works offline.
const PREFETCH_AFTER_ANSWER_MS: i32 = 1000;
/// Without a query, the same happens this long after the index is ready.
const PREFETCH_WHEN_IDLE_MS: i32 = 5000;
/// Chunk downloads in flight at once during the background prefetch.
const PREFETCH_BATCH: usize = 8;
/// The cache's name is this and the first 16 hex digits of the manifest's sha256, the name
/// scripts/build-app stamps into www/sw.js. `v2`: caches of earlier versions also hold bundle
/// files the service worker stored unchecked; their names differ, so they are never read.
const CACHE_PREFIX: &str = "skycase-v2-";
/// The worker's own files (Trunk's names; see index.html), cached for the next visit.
const WORKER_FILES: [&str; 3] = ["./worker_loader.js", "./worker.js", "./worker_bg.wasm"];

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn now_ms() -> f64 {
    scope().performance().map(|p| p.now()).unwrap_or_else(|| js_sys::Date::now())
}

fn post(msg: &FromWorker) {
    match serde_wasm_bindgen::to_value(msg) {
        Ok(v) => {
            let _ = scope().post_message(&v);
        }
        Err(e) => web_sys::console::error_1(&format!("cannot serialise worker message: {e}").into()),
    }
}

/// Entry point of the worker binary.
pub fn start() {
    console_error_panic_hook::set_once();
    let onmessage = Closure::<dyn Fn(MessageEvent)>::new(|ev: MessageEvent| {
        match serde_wasm_bindgen::from_value::<ToWorker>(ev.data()) {
            Ok(ToWorker::Load { base }) => spawn_local(async move {
                if let Err(message) = load(&base).await {
                    post(&FromWorker::Error { id: None, message });
                }
            }),
            Ok(ToWorker::Query { id, text, k, filters, lang }) => spawn_local(async move {
                let answered = query(&text, k, &filters, lang.as_deref() == Some("ko")).await;
                let ok = answered.is_ok();
                post(&match answered {
                    Ok((hits, encode_ms, rank_ms, nothing_close, side)) => {
                        FromWorker::Results { id, hits, encode_ms, rank_ms, nothing_close, encoder: side.name().into() }
                    }
                    Err(message) => FromWorker::Error { id: Some(id), message },
                });
                if ok {
                    prefetch_after(PREFETCH_AFTER_ANSWER_MS);
                }
            }),
            Ok(ToWorker::Similar { id, shard, frame, vector, k, filters }) => {
                post(&match similar(shard, frame, vector, k, &filters) {
                    Ok((hits, rank_ms)) => FromWorker::Results { id, hits, encode_ms: 0.0, rank_ms, nothing_close: false, encoder: String::new() },
                    Err(message) => FromWorker::Error { id: Some(id), message },
                })
            }
            Ok(ToWorker::BenchRank { frames, dim, reps }) => post(&bench_rank(frames, dim, reps)),
            Err(e) => post(&FromWorker::Error { id: None, message: format!("bad message to worker: {e}") }),
        }
    });
    scope().set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    post(&FromWorker::Started);
}

/// Starts a GET at once: requests started together download in parallel while their bodies
/// are read one after another.
fn request(url: &str) -> Promise {
    scope().fetch_with_str(url)
}

/// The response of a started request, when it succeeded.
async fn response(url: &str, started: Promise) -> Result<Response, String> {
    let resp: Response = JsFuture::from(started)
        .await
        .map_err(|e| format!("{url}: cannot download ({})", js_message(&e)))?
        .unchecked_into();
    if !resp.ok() {
        return Err(format!("{url}: the server answered HTTP {} {}", resp.status(), resp.status_text()));
    }
    Ok(resp)
}

/// Reads a response's body, handing each piece to `piece` as it arrives.
async fn read_stream(url: &str, resp: &Response, capacity: usize, mut piece: impl FnMut(&[u8]) -> Result<(), String>) -> Result<Vec<u8>, String> {
    let body = resp.body().ok_or_else(|| format!("{url}: empty response"))?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut buf = Vec::with_capacity(capacity);
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| format!("{url}: download interrupted ({})", js_message(&e)))?;
        if Reflect::get(&chunk, &"done".into()).ok().and_then(|d| d.as_bool()).unwrap_or(true) {
            break;
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into())
            .map_err(|_| format!("{url}: malformed stream chunk"))?
            .unchecked_into();
        let start = buf.len();
        buf.resize(start + value.length() as usize, 0);
        value.copy_to(&mut buf[start..]);
        piece(&buf[start..])?;
    }
    Ok(buf)
}

/// The versioned cache the service worker serves from, as far as Cache Storage is available
/// (`None`: the app works online only).
///
/// Only this worker writes bundle files into it (the service worker leaves the worker's
/// requests alone), and only bytes it has checked against the manifest the cache is named
/// after. So a file found there already matched the sha256 that manifest gives, and is not
/// hashed again; its length is still checked, and a short copy is downloaded anew.
#[derive(Clone)]
struct BundleCache(Option<Cache>);

impl BundleCache {
    /// Opens the cache for the bundle whose manifest is `manifest`.
    async fn open(manifest: &[u8]) -> Self {
        let name = format!("{CACHE_PREFIX}{}", &sha256_hex(manifest)[..16]);
        let Ok(caches) = scope().caches() else { return Self(None) };
        match JsFuture::from(caches.open(&name)).await {
            Ok(cache) => Self(Some(cache.unchecked_into())),
            Err(e) => {
                web_sys::console::warn_1(&format!("no offline use: cannot open cache {name} ({})", js_message(&e)).into());
                Self(None)
            }
        }
    }

    /// Starts looking up `url`; resolves to its response or `undefined`.
    fn lookup(&self, url: &str) -> Promise {
        match &self.0 {
            Some(cache) => cache.match_with_str(url),
            None => Promise::resolve(&JsValue::UNDEFINED),
        }
    }

    /// Where `url` comes from: this cache when it holds it, else a request started now.
    async fn source(&self, url: &str, lookup: Promise) -> Source {
        match JsFuture::from(lookup).await {
            Ok(hit) if hit.is_instance_of::<Response>() => Source::Cached(hit.unchecked_into()),
            _ => Source::Network(request(url)),
        }
    }

    /// Stores `resp` under `url` in the background; a failure only costs offline use.
    fn put(&self, url: &str, resp: Response) {
        let Some(cache) = self.0.clone() else { return };
        let url = url.to_string();
        spawn_local(async move {
            if let Err(e) = JsFuture::from(cache.put_with_str(&url, &resp)).await {
                web_sys::console::warn_1(&format!("{url}: not kept for offline use ({})", js_message(&e)).into());
            }
        });
    }

    /// Whether there is a cache and it lacks `url`.
    async fn lacks(&self, url: &str) -> bool {
        self.0.is_some() && !JsFuture::from(self.lookup(url)).await.is_ok_and(|hit| hit.is_instance_of::<Response>())
    }
}

/// Where a bundle file comes from.
enum Source {
    /// The versioned cache: checked when it was stored (see [`BundleCache`]).
    Cached(Response),
    /// A request started over the network (through the service worker where it controls this
    /// worker, which then answers from its cache only what the page shell needs).
    Network(Promise),
}

fn cache() -> BundleCache {
    CACHE.with(|c| c.borrow().clone())
}

/// Starts getting each of `urls`: cache lookups all at once, then a request for each miss.
async fn sources(urls: &[String]) -> Vec<Source> {
    let cache = cache();
    let lookups: Vec<Promise> = urls.iter().map(|u| cache.lookup(u)).collect();
    let mut out = Vec::with_capacity(urls.len());
    for (url, lookup) in urls.iter().zip(lookups) {
        out.push(cache.source(url, lookup).await);
    }
    out
}

/// Reads a bundle file, reporting progress in bytes. From the network it is checked against
/// its manifest entry (size and sha256) while it streams in, then cached.
async fn read_file(base: &str, entry: &FileEntry, source: Source, mut progress: impl FnMut(u64)) -> Result<Vec<u8>, String> {
    let url = format!("{base}{}", entry.path);
    let capacity = usize::try_from(entry.bytes).unwrap_or(0);
    let started = match source {
        Source::Cached(resp) => match read_cached(&url, &resp).await? {
            bytes if bytes.len() == capacity => {
                progress(entry.bytes);
                return Ok(bytes);
            }
            _ => request(&url),
        },
        Source::Network(started) => started,
    };
    let resp = response(&url, started).await?;
    let keep = resp.clone().map_err(|e| format!("{url}: {}", js_message(&e)))?;
    let mut check = StreamCheck::new(entry);
    let bytes = read_stream(&url, &resp, capacity, |piece| {
        progress(piece.len() as u64);
        check.update(piece).map_err(|e| e.to_string())
    })
    .await?;
    check.finish().map_err(|e| e.to_string())?;
    cache().put(&url, keep);
    Ok(bytes)
}

/// The body of a cached response, in one piece.
async fn read_cached(url: &str, resp: &Response) -> Result<Vec<u8>, String> {
    let body = resp.array_buffer().map_err(|e| format!("{url}: unreadable cached copy ({})", js_message(&e)))?;
    let buffer = JsFuture::from(body).await.map_err(|e| format!("{url}: unreadable cached copy ({})", js_message(&e)))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

fn js_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_else(|| format!("{e:?}"))
}

/// A word-embedding chunk as downloaded, not yet checked.
struct Chunk {
    k: usize,
    url: String,
    bytes: Vec<u8>,
    /// The network response, to cache once the chunk has been checked; `None` when it came
    /// from the cache.
    keep: Option<Response>,
}

/// Gets word-embedding chunks in parallel; [`insert_chunks`] checks them.
async fn download_chunks(base: &str, chunks: &[(usize, FileEntry)]) -> Result<Vec<Chunk>, String> {
    let urls: Vec<String> = chunks.iter().map(|(_, f)| format!("{base}{}", f.path)).collect();
    let mut out = Vec::with_capacity(chunks.len());
    for (((k, f), url), source) in chunks.iter().zip(urls.iter()).zip(sources(&urls).await) {
        let capacity = usize::try_from(f.bytes).unwrap_or(0);
        let (bytes, keep) = match source {
            Source::Cached(resp) => (read_cached(url, &resp).await?, None),
            Source::Network(started) => {
                let resp = response(url, started).await?;
                let keep = resp.clone().map_err(|e| format!("{url}: {}", js_message(&e)))?;
                (read_stream(url, &resp, capacity, |_| Ok(())).await?, Some(keep))
            }
        };
        out.push(Chunk { k: *k, url: url.clone(), bytes, keep });
    }
    Ok(out)
}

/// Adds downloaded chunks to the main encoder's word table, which checks each against the
/// manifest, and caches those that came from the network.
fn insert_chunks(searcher: &mut Searcher, chunks: Vec<Chunk>) -> Result<(), String> {
    insert_chunks_of(searcher, TextSide::Primary, chunks)
}

/// As [`insert_chunks`], into the word table of `side`'s encoder.
fn insert_chunks_of(searcher: &mut Searcher, side: TextSide, chunks: Vec<Chunk>) -> Result<(), String> {
    let cache = cache();
    for Chunk { k, url, bytes, keep } in chunks {
        searcher.insert_chunk_of(side, k, bytes).map_err(|e| e.to_string())?;
        if let Some(resp) = keep {
            cache.put(&url, resp);
        }
    }
    Ok(())
}

/// The manifest entries of chunks `ks` of the main encoder's table.
fn chunk_files(searcher: &Searcher, ks: Vec<usize>) -> Vec<(usize, FileEntry)> {
    ks.into_iter().filter_map(|k| Some((k, searcher.word_embeddings().chunk_file(k)?.clone()))).collect()
}

/// The manifest entries of chunks `ks` of `side`'s table.
fn chunk_files_of(searcher: &Searcher, side: TextSide, ks: Vec<usize>) -> Result<Vec<(usize, FileEntry)>, String> {
    let table = searcher.word_embeddings_of(side).map_err(|e| e.to_string())?;
    Ok(ks.into_iter().filter_map(|k| Some((k, table.chunk_file(k)?.clone()))).collect())
}

/// Loads the multilingual encoder (tokenizer, 12 layers, projection; checked against the
/// manifest and cached like every bundle file) unless it is loaded, once however many
/// queries ask at the same time.
async fn ensure_multilingual() -> Result<(), String> {
    loop {
        if with_searcher(|s| Ok(s.multilingual_loaded()))? {
            return Ok(());
        }
        if !MULTILINGUAL_LOADING.with(|l| l.replace(true)) {
            let loaded = load_multilingual().await;
            MULTILINGUAL_LOADING.with(|l| l.set(false));
            return loaded;
        }
        let wait = Promise::new(&mut |resolve, _| {
            let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 50);
        });
        let _ = JsFuture::from(wait).await;
    }
}

async fn load_multilingual() -> Result<(), String> {
    let t0 = now_ms();
    let base = BASE.with(|b| b.borrow().clone());
    let files = with_searcher(|s| s.multilingual_files().map_err(|e| e.to_string()))?;
    let urls: Vec<String> = files.iter().map(|f| format!("{base}{}", f.path)).collect();
    let mut bytes = Vec::with_capacity(3);
    for (entry, source) in files.iter().zip(sources(&urls).await) {
        bytes.push(read_file(&base, entry, source, |_| {}).await?);
    }
    with_searcher_mut(|s| s.load_multilingual(&bytes[0], &bytes[1], &bytes[2]).map_err(|e| e.to_string()))?;
    web_sys::console::debug_1(&format!("skycase worker: multilingual encoder loaded in {:.0} ms", now_ms() - t0).into());
    Ok(())
}

async fn load(base: &str) -> Result<(), String> {
    let t0 = now_ms();
    let base = if base.ends_with('/') { base.to_string() } else { format!("{base}/") };
    BASE.with(|b| *b.borrow_mut() = base.clone());
    mark("skycase worker: load");
    let manifest_url = format!("{base}manifest.json");
    let manifest_resp = response(&manifest_url, request(&manifest_url)).await?;
    let manifest_copy = manifest_resp.clone().map_err(|e| format!("{manifest_url}: {}", js_message(&e)))?;
    let manifest_bytes = read_stream(&manifest_url, &manifest_resp, 0, |_| Ok(())).await?;
    let manifest = Manifest::from_json(&manifest_bytes).map_err(|e| e.to_string())?;
    let cache = BundleCache::open(&manifest_bytes).await;
    CACHE.with(|c| *c.borrow_mut() = cache.clone());
    if cache.lacks(&manifest_url).await {
        cache.put(&manifest_url, manifest_copy);
    }
    mark("skycase worker: manifest");
    let total = manifest.startup_bytes();
    let mut loaded = 0u64;
    let mut last_post = 0u64;
    let mut report = |stage: &str, n: u64| {
        loaded += n;
        if loaded - last_post >= 256 * 1024 || loaded == total {
            last_post = loaded;
            post(&FromWorker::Progress { stage: stage.to_string(), loaded, total });
        }
    };
    post(&FromWorker::Progress { stage: "manifest".into(), loaded: 0, total });

    // Every file at once; the reads below then mostly wait on the slowest, not on the sum.
    let files = StartupFiles::of(&manifest).map_err(|e| e.to_string())?;
    let entries = files.entries();
    let urls: Vec<String> = entries.iter().map(|f| format!("{base}{}", f.path)).collect();
    let mut bytes = Vec::with_capacity(entries.len());
    for (entry, src) in entries.iter().zip(sources(&urls).await) {
        let stage = match entry.role.as_str() {
            "encoder" => "text encoder",
            SHARD_ROLE => "image index",
            role => role,
        };
        bytes.push(read_file(&base, entry, src, |n| report(stage, n)).await?);
    }
    mark("skycase worker: files");
    let t_download = now_ms();
    post(&FromWorker::Progress { stage: "building the text encoder".into(), loaded: total, total });
    let vectors = manifest.vectors.clone();
    let mut searcher = files.build(manifest, bytes).map_err(|e| e.to_string())?;
    mark("skycase worker: encoder built");
    let t_build = now_ms();
    // The chunks that every query needs ([CLS], [SEP]), then a warm-up pass: the first
    // forward pass allocates, so do it before saying "ready".
    let always = chunk_files(&searcher, searcher.missing_chunks("").map_err(|e| e.to_string())?);
    insert_chunks(&mut searcher, download_chunks(&base, &always).await?)?;
    searcher.encoder().embed("").map_err(|e| e.to_string())?;
    mark("skycase worker: ready");
    let t_warm = now_ms();
    web_sys::console::debug_1(
        &format!(
            "skycase worker: up after {:.0} ms, manifest + downloads {:.0} ms, encoder build {:.0} ms, first chunks + warm-up {:.0} ms",
            t0,
            t_download - t0,
            t_build - t_download,
            t_warm - t_build
        )
        .into(),
    );
    let frames = searcher.frames();
    let periods = searcher.shards().iter().map(|s| s.period().to_string()).collect();
    SEARCHER.with(|s| *s.borrow_mut() = Some(searcher));
    post(&FromWorker::Ready { frames, periods, vectors, init_ms: now_ms() - t0, bytes: total });
    prefetch_after(PREFETCH_WHEN_IDLE_MS);
    // This worker's own files came from the network on a first visit, before the service
    // worker was there to cache them; the browser's HTTP cache still holds this very copy.
    for url in WORKER_FILES {
        if cache.lacks(url).await {
            match response(url, from_http_cache(url)).await {
                Ok(resp) => cache.put(url, resp),
                Err(e) => web_sys::console::warn_1(&format!("not kept for offline use: {e}").into()),
            }
        }
    }
    Ok(())
}

/// Starts a GET answered from the browser's HTTP cache however old the entry (the network
/// only when it has none).
fn from_http_cache(url: &str) -> Promise {
    let init = RequestInit::new();
    init.set_cache(RequestCache::ForceCache);
    scope().fetch_with_str_and_init(url, &init)
}

/// Records a Performance mark in the worker's timeline (the browser's profiler shows it).
fn mark(name: &str) {
    if let Some(performance) = scope().performance() {
        let _ = performance.mark(name);
    }
}

/// After `delay_ms`, downloads every word-embedding chunk not loaded yet (once per worker),
/// so that later queries need no network and the service worker holds the whole table.
fn prefetch_after(delay_ms: i32) {
    spawn_local(async move {
        let sleep = Promise::new(&mut |resolve, _| {
            let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, delay_ms);
        });
        let _ = JsFuture::from(sleep).await;
        if PREFETCH_STARTED.with(|p| p.replace(true)) {
            return;
        }
        if let Err(e) = prefetch().await {
            // Queries still fetch what they need; only offline use is affected.
            web_sys::console::warn_1(&format!("background download of the word embeddings stopped: {e}").into());
        }
    });
}

async fn prefetch() -> Result<(), String> {
    let base = BASE.with(|b| b.borrow().clone());
    let missing = with_searcher(|s| Ok(chunk_files(s, s.word_embeddings().missing())))?;
    for batch in missing.chunks(PREFETCH_BATCH) {
        let chunks = download_chunks(&base, batch).await?;
        with_searcher_mut(|s| insert_chunks(s, chunks))?;
    }
    Ok(())
}

fn to_out(searcher: &Searcher, hits: Vec<Hit>, strengths: &[f32]) -> Vec<HitOut> {
    hits.into_iter()
        .enumerate()
        .map(|(i, h)| {
            let rec = &searcher.shards()[h.shard].records()[h.frame];
            HitOut {
                shard: h.shard,
                frame: h.frame,
                vector: h.vector,
                id: rec.id.clone(),
                time: rec.time.clone(),
                caption: rec.caption.clone(),
                thumb: rec.thumb.clone(),
                score: h.score,
                region: searcher.matched_region(&h).map(str::to_string),
                strength: strengths.get(i).copied(),
                source: rec.source.clone(),
                origin: rec.origin.clone(),
            }
        })
        .collect()
}

fn with_searcher<T>(f: impl FnOnce(&Searcher) -> Result<T, String>) -> Result<T, String> {
    SEARCHER.with(|s| match s.borrow().as_ref() {
        Some(searcher) => f(searcher),
        None => Err("the search index is still loading".into()),
    })
}

fn with_searcher_mut<T>(f: impl FnOnce(&mut Searcher) -> Result<T, String>) -> Result<T, String> {
    SEARCHER.with(|s| match s.borrow_mut().as_mut() {
        Some(searcher) => f(searcher),
        None => Err("the search index is still loading".into()),
    })
}

/// Picks the text encoder (the multilingual one for Hangul or `korean`, loading it on first
/// use), fetches the word-embedding chunks the query's tokens need (if any are missing), then
/// encodes and ranks.
async fn query(text: &str, k: usize, filters: &Filters, korean: bool) -> Result<(Vec<HitOut>, f64, f64, bool, TextSide), String> {
    let side = with_searcher(|s| Ok(s.pick_side(text, korean)))?;
    if side == TextSide::Multilingual {
        ensure_multilingual().await?;
    }
    let needed = with_searcher(|s| chunk_files_of(s, side, s.missing_chunks_on(side, text).map_err(|e| e.to_string())?))?;
    if !needed.is_empty() {
        let base = BASE.with(|b| b.borrow().clone());
        let chunks = download_chunks(&base, &needed).await?;
        with_searcher_mut(|s| insert_chunks_of(s, side, chunks))?;
    }
    with_searcher(|searcher| {
        let answer = searcher.search_on(side, text, k, filters, now_ms).map_err(|e| e.to_string())?;
        let (encode, rank) = (answer.encode.as_secs_f64() * 1e3, answer.rank.as_secs_f64() * 1e3);
        Ok((to_out(searcher, answer.hits, &answer.strengths), encode, rank, answer.nothing_close, side))
    })
}

fn similar(shard: usize, frame: usize, vector: usize, k: usize, filters: &Filters) -> Result<(Vec<HitOut>, f64), String> {
    with_searcher(|searcher| {
        let t0 = now_ms();
        let hits = searcher.similar(shard, frame, vector, k, filters).map_err(|e| e.to_string())?;
        Ok((to_out(searcher, hits, &[]), now_ms() - t0))
    })
}

fn bench_rank(frames: usize, dim: usize, reps: usize) -> FromWorker {
    let shard = Shard::synthetic(frames, dim, 7);
    let query: Vec<f32> = (0..dim).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0).collect();
    let q = match skycase_core::QueryVector::new(&query) {
        Ok(q) => q,
        Err(e) => return FromWorker::Error { id: None, message: e.to_string() },
    };
    let mut ms = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t0 = now_ms();
        if let Err(e) = skycase_core::rank(&[&shard], &q, 20) {
            return FromWorker::Error { id: None, message: e.to_string() };
        }
        ms.push(now_ms() - t0);
    }
    FromWorker::BenchRank { ms }
}
