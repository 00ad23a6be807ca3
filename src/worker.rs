//! The search worker: downloads and verifies the bundle, runs the text encoder and ranks.
//! Keeping it off the page's thread keeps typing smooth while a query encodes.
//!
//! It also keeps the bundle for offline use: every file it downloads is checked against the
//! manifest, itself checked against the sha256 pinned in the page, and only then used and
//! stored in the bundle cache (src/fetch.rs: retries, resumption, one refetch of wrong bytes).
//! The page's thumbnails and overlay come through it too ([`ToWorker::File`]), so nothing the
//! page shows is unchecked. After the first answer it saves the offline set and says so only
//! once every file of it is in the cache ([`FromWorker::Offline`]).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use js_sys::{Promise, Reflect, Uint8Array};
use skycase_core::rank::Hit;
use skycase_core::load::{StartupFiles, SHARD_ROLE};
use skycase_core::search::TextSide;
use skycase_core::reading::Searched;
use skycase_core::{FileEntry, Filters, Manifest, Searcher, Shard, TextTokenizer};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{MessageEvent, Response};

use crate::fetch::{self, js_message, now_ms, scope, BundleCache, Pin};
use crate::protocol::{FromWorker, HitOut, OfflineState, PeriodState, ToWorker};

mod cases;
mod parts;

thread_local! {
    static SEARCHER: RefCell<Option<Searcher>> = const { RefCell::new(None) };
    /// The bundle's base URL, ending in `/`.
    static BASE: RefCell<String> = const { RefCell::new(String::new()) };
    static CACHE: RefCell<BundleCache> = const { RefCell::new(BundleCache::NONE) };
    /// The manifest entries of the files the page may ask for (thumbnails, medium images,
    /// overlay), by path.
    static PAGE_FILES: RefCell<HashMap<String, FileEntry>> = RefCell::new(HashMap::new());
    /// The pinned manifest, as the offline set's first file.
    static PIN: RefCell<Option<Pin>> = const { RefCell::new(None) };
    /// Whether the background download of the remaining word-embedding chunks has begun.
    static PREFETCH_STARTED: Cell<bool> = const { Cell::new(false) };
    /// Whether the multilingual encoder's files are being downloaded.
    static MULTILINGUAL_LOADING: Cell<bool> = const { Cell::new(false) };
    /// Text queries received so far (a rehearsal stops once a newer one comes).
    static QUERIES: Cell<u32> = const { Cell::new(0) };
    /// Answers rehearsed so far ([`rehearse`]).
    static REHEARSED: Cell<u32> = const { Cell::new(0) };
}

/// After the first answer, the rest of the word-embedding table is fetched once the page has
/// had this long to load the answer's thumbnails, so the app then works offline.
const PREFETCH_AFTER_ANSWER_MS: i32 = 1000;
/// Without a query, the same happens this long after the index is ready.
const PREFETCH_WHEN_IDLE_MS: i32 = 5000;
/// V8 first compiles a wasm function with its baseline compiler and compiles it again in its
/// optimising tier only once it has run enough; the ranking functions that a query runs once
/// each get there only after several queries, and until then every warm query pays for that
/// compiling on the device's cores (docs/benchmarks.md, issue 11: warm queries 22–24 ms with
/// every function compiled at once, 31–33 ms without). So the first answers of a session are
/// rehearsed while the worker is idle: the same query ranked again on what it just kept in
/// memory, this many times, each after this long, and thrown away, until a newer query comes.
const REHEARSED_ANSWERS: u32 = 2;
const REHEARSALS: u32 = 3;
const REHEARSE_AFTER_MS: i32 = 100;
/// Downloads in flight at once while saving the offline set.
const PREFETCH_BATCH: usize = 8;
/// Progress messages while saving the offline set: one per this many files.
const OFFLINE_REPORT_EVERY: usize = 25;

fn post(msg: &FromWorker) {
    post_timed(msg);
}

/// [`post`], timed: (serialising, `postMessage`) in milliseconds.
fn post_timed(msg: &FromWorker) -> (f64, f64) {
    let t0 = now_ms();
    match serde_wasm_bindgen::to_value(msg) {
        Ok(v) => {
            let t1 = now_ms();
            let _ = scope().post_message(&v);
            (t1 - t0, now_ms() - t1)
        }
        Err(e) => {
            web_sys::console::error_1(&format!("cannot serialise worker message: {e}").into());
            (now_ms() - t0, 0.0)
        }
    }
}

/// Entry point of the worker binary.
pub fn start() {
    console_error_panic_hook::set_once();
    let onmessage = Closure::<dyn Fn(MessageEvent)>::new(|ev: MessageEvent| {
        match serde_wasm_bindgen::from_value::<ToWorker>(ev.data()) {
            Ok(ToWorker::Load { base, pin }) => spawn_local(async move {
                if let Err(message) = load(&base, &pin).await {
                    post(&FromWorker::Error { id: None, message });
                }
            }),
            Ok(ToWorker::File { path }) => spawn_local(async move { post_file(&path, page_file(&path).await) }),
            Ok(ToWorker::SaveOffline) => {
                PREFETCH_STARTED.with(|p| p.set(true));
                spawn_local(save_offline_and_report());
            }
            Ok(ToWorker::OfflinePeriod { from, to, save }) => spawn_local(async move {
                let state = if save {
                    PREFETCH_STARTED.with(|p| p.set(true));
                    parts::save_period(from, to).await
                } else {
                    parts::estimate_period(from, to)
                };
                let saved = matches!(state, Ok(PeriodState::Saved { .. }));
                post(&FromWorker::OfflinePeriod(state.unwrap_or_else(|message| PeriodState::Failed { message })));
                if saved {
                    post(&FromWorker::SavedPeriods(parts::saved_periods().await));
                }
            }),
            // While a query or "more like this" is answered, and until it is posted, background
            // work waits (the files it fetches are stored after it), then the page's frame too
            // (`fetch::after_answers`).
            Ok(ToWorker::Query { id, text, k, filters, lang, episodes }) => spawn_local(async move {
                let answering = fetch::HoldWrites::start();
                QUERIES.set(QUERIES.get() + 1);
                let generation = QUERIES.get();
                let korean = lang.as_deref() == Some("ko");
                let t0 = now_ms();
                let answered = query(Some(id), &text, k, episodes, &filters, korean).await;
                let t1 = now_ms();
                let ok = answered.is_ok();
                let whole = answered.as_ref().is_ok_and(|a| a.warning.is_none() && !a.hits.is_empty());
                let (serialise, send) = post_timed(&match answered {
                    Ok(Answered { hits, encode_ms, rank_ms, nothing_close, side, warning, outside, storm, period, unread }) => {
                        FromWorker::Results { id, hits, encode_ms, rank_ms, nothing_close, encoder: side.name().into(), warning, outside, storm, period, unread }
                    }
                    Err(message) => FromWorker::Error { id: Some(id), message },
                });
                drop(answering);
                if parts::log_phases() {
                    web_sys::console::debug_1(&format!("skycase answer: query {:.1} ms (episodes folded), serialise {serialise:.1}, postMessage {send:.1}", t1 - t0).into());
                }
                if ok {
                    prefetch_after(PREFETCH_AFTER_ANSWER_MS);
                }
                if whole && REHEARSED.get() < REHEARSED_ANSWERS {
                    REHEARSED.set(REHEARSED.get() + 1);
                    rehearse(generation, &text, k, episodes, &filters, korean).await;
                }
            }),
            Ok(ToWorker::Similar { id, frame_id, region, k, filters, episodes }) => spawn_local(async move {
                let _answering = fetch::HoldWrites::start();
                let found = cases::similar(&frame_id, region.as_deref(), k, &filters, episodes).await;
                post(&match found {
                    Ok((hits, rank_ms)) => FromWorker::Results { id, hits, encode_ms: 0.0, rank_ms, nothing_close: false, encoder: String::new(), warning: None, outside: Vec::new(), storm: None, period: None, unread: Vec::new() },
                    Err(message) => FromWorker::Error { id: Some(id), message },
                })
            }),
            Ok(ToWorker::Case { id, frame_id, query, lang, filters, hours }) => spawn_local(async move {
                let korean = lang.as_deref() == Some("ko");
                post(&match cases::case(&frame_id, query.as_deref(), korean, &filters, hours).await {
                    Ok(case) => FromWorker::Case { id, case },
                    Err(message) => FromWorker::Error { id: Some(id), message },
                })
            }),
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
    fetch::start(url, 0, false)
}

/// Where a bundle file comes from.
enum Source {
    /// The bundle cache (checked when it was stored, see [`BundleCache`]): the reading of its
    /// body, already started, so that every cached file of a batch is read at once (on a
    /// repeat visit, the encoder's 9 MB while the smaller files are used).
    Cached(Promise),
    /// A request started over the network.
    Network(Promise),
}

fn cache() -> BundleCache {
    CACHE.with(|c| c.borrow().clone())
}

/// Starts getting each of `urls`: cache lookups all at once, then a request for each miss.
async fn sources(urls: &[String]) -> Vec<Source> {
    let cache = cache();
    // Only those the cache may hold are looked up (`BundleCache::may_hold`).
    let lookups: Vec<Option<Promise>> = urls.iter().map(|u| cache.may_hold(u).then(|| cache.lookup(u))).collect();
    let mut out = Vec::with_capacity(urls.len());
    for (url, lookup) in urls.iter().zip(lookups) {
        let Some(lookup) = lookup else {
            out.push(Source::Network(request(url)));
            continue;
        };
        let body = match JsFuture::from(lookup).await {
            Ok(hit) if hit.is_instance_of::<Response>() => hit.unchecked_into::<Response>().array_buffer().ok(),
            _ => None,
        };
        out.push(match body {
            Some(body) => Source::Cached(body),
            None => Source::Network(request(url)),
        });
    }
    out
}

/// Reads a bundle file, reporting progress in bytes. From the network it is checked against
/// its manifest entry (size and sha256) while it streams in, with retries, then cached
/// (src/fetch.rs); a cached copy of the wrong length is downloaded anew.
async fn read_file(base: &str, entry: &FileEntry, source: Source, mut progress: impl FnMut(u64)) -> Result<Vec<u8>, String> {
    let url = format!("{base}{}", entry.path);
    let started = match source {
        Source::Cached(body) => match read_body(&url, body).await {
            Ok(bytes) if bytes.len() as u64 == entry.bytes => {
                progress(entry.bytes);
                return Ok(bytes);
            }
            _ => None,
        },
        Source::Network(started) => Some(started),
    };
    let cache = cache();
    match fetch::download(&url, entry, started, &cache, progress).await {
        // Not looked up by `sources` (`BundleCache::may_hold`), yet perhaps stored by another
        // tab since: offline, the cache may still have it.
        Err(e) => match cache.get(&url, entry.bytes, cache.lookup(&url)).await {
            Some(bytes) => Ok(bytes),
            None => Err(e),
        },
        ok => ok,
    }
}

/// The body of a cached response, in one piece.
async fn read_cached(url: &str, resp: &Response) -> Result<Vec<u8>, String> {
    let body = resp.array_buffer().map_err(|e| format!("{url}: unreadable cached copy ({})", js_message(&e)))?;
    read_body(url, body).await
}

/// As [`read_cached`], from the reading of the body already started (`arrayBuffer()`).
async fn read_body(url: &str, body: Promise) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(body).await.map_err(|e| format!("{url}: unreadable cached copy ({})", js_message(&e)))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// A word-embedding chunk, checked against its manifest entry (and cached) by [`read_file`].
struct Chunk {
    k: usize,
    bytes: Vec<u8>,
}

/// Gets word-embedding chunks in parallel (checked and cached as every bundle file).
async fn download_chunks(base: &str, chunks: &[(usize, FileEntry)]) -> Result<Vec<Chunk>, String> {
    let urls: Vec<String> = chunks.iter().map(|(_, f)| format!("{base}{}", f.path)).collect();
    let mut out = Vec::with_capacity(chunks.len());
    for ((k, f), source) in chunks.iter().zip(sources(&urls).await) {
        out.push(Chunk { k: *k, bytes: read_file(base, f, source, |_| {}).await? });
    }
    Ok(out)
}

/// Adds downloaded chunks to the main encoder's word table (which checks each against the
/// manifest once more).
fn insert_chunks(searcher: &mut Searcher, chunks: Vec<Chunk>) -> Result<(), String> {
    insert_chunks_of(searcher, TextSide::Primary, chunks)
}

/// As [`insert_chunks`], into the word table of `side`'s encoder.
fn insert_chunks_of(searcher: &mut Searcher, side: TextSide, chunks: Vec<Chunk>) -> Result<(), String> {
    for Chunk { k, bytes } in chunks {
        searcher.insert_chunk_of(side, k, bytes).map_err(|e| e.to_string())?;
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
        fetch::sleep(50).await;
    }
}

async fn load_multilingual() -> Result<(), String> {
    let t0 = now_ms();
    let base = BASE.with(|b| b.borrow().clone());
    // Its description (the list of its word chunks) first, from its own file, which the
    // manifest names (checked and cached as every bundle file).
    if let Some(entry) = with_searcher(|s| Ok(s.multilingual_model_file().cloned()))? {
        let model = fetch::get(&base, &entry, &cache(), |_| {}).await?;
        with_searcher_mut(|s| s.read_multilingual_model(&model).map_err(|e| e.to_string()))?;
    }
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

/// Loads the bundle pinned by `pin` (see [`ToWorker::Load`]); again after a failure, it
/// downloads only what the cache does not hold.
async fn load(base: &str, pin: &str) -> Result<(), String> {
    let t0 = now_ms();
    let base = if base.ends_with('/') { base.to_string() } else { format!("{base}/") };
    let pin = Pin::parse(pin).ok_or_else(|| {
        "this page carries no pin for its bundle (<meta name=\"skycase-manifest\">), so no bundle can be trusted; build the app with Trunk (its post-build hook, scripts/post-build, writes the pin)".to_string()
    })?;
    BASE.with(|b| *b.borrow_mut() = base.clone());
    mark("skycase worker: load");
    let cache = BundleCache::open(&pin).await;
    cache.list();
    CACHE.with(|c| *c.borrow_mut() = cache.clone());
    PIN.with(|p| *p.borrow_mut() = Some(pin.clone()));
    let manifest_bytes = fetch::get(&base, &pin.entry(), &cache, |_| {}).await?;
    let manifest = Manifest::from_json(&manifest_bytes).map_err(|e| e.to_string())?;
    let overlay = manifest.files.iter().find(|f| f.role == skycase_core::overlay::OVERLAY_ROLE).map(|f| f.path.clone());
    PAGE_FILES.with(|p| {
        *p.borrow_mut() = manifest
            .files
            .iter()
            .filter(|f| f.role == "thumbnail" || f.role == skycase_core::bundle::MEDIUM_ROLE || f.role == skycase_core::overlay::OVERLAY_ROLE)
            .map(|f| (f.path.clone(), f.clone()))
            .collect()
    });
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
    let mut sources = sources(&urls).await.into_iter();
    // The tokenizer (the first file, small) is read into its tokenizer at once: that work
    // then overlaps the encoder's download, or on a repeat visit its read from the cache.
    let tokenizer_src = sources.next().ok_or("the manifest names no tokenizer")?;
    let tokenizer = read_file(&base, &files.tokenizer, tokenizer_src, |n| report("tokenizer", n)).await?;
    let tokenizer = TextTokenizer::from_bytes(&tokenizer).map_err(|e| e.to_string())?;
    mark("skycase worker: tokenizer");
    let mut bytes = Vec::with_capacity(entries.len() - 1);
    for (entry, src) in entries.iter().skip(1).zip(sources) {
        let stage = match entry.role.as_str() {
            "encoder" => "text encoder",
            SHARD_ROLE => "image index",
            skycase_core::partition::leaves::LEAVES_ROLE => "index directory",
            role => role,
        };
        match read_file(&base, entry, src, |n| report(stage, n)).await {
            Ok(b) => bytes.push(b),
            // The leaf directory only spares unfiltered queries their list files: without it
            // they plan through them (given as no bytes, `StartupFiles::build_with_tokenizer`).
            Err(e) if entry.role == skycase_core::partition::leaves::LEAVES_ROLE => {
                web_sys::console::warn_1(&format!("skycase worker: {e}; queries plan through the list files").into());
                bytes.push(Vec::new());
            }
            Err(e) => return Err(e),
        }
    }
    mark("skycase worker: files");
    let t_download = now_ms();
    post(&FromWorker::Progress { stage: "building the text encoder".into(), loaded: total, total });
    let vectors = manifest.vectors.clone();
    let mut searcher = files.build_with_tokenizer(manifest, tokenizer, bytes).map_err(|e| e.to_string())?;
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
            "skycase worker: up after {:.0} ms, manifest + downloads (tokenizer read meanwhile) {:.0} ms, encoder build {:.0} ms, first chunks + warm-up {:.0} ms",
            t0,
            t_download - t0,
            t_build - t_download,
            t_warm - t_build
        )
        .into(),
    );
    let (frames, periods) = match searcher.partitions() {
        Some(index) => parts::summary(index),
        None => (searcher.frames(), searcher.shards().iter().map(|s| s.period().to_string()).collect()),
    };
    SEARCHER.with(|s| *s.borrow_mut() = Some(searcher));
    parts::forget_prepared();
    let partitioned = SEARCHER.with(|s| s.borrow().as_ref().is_some_and(|s| s.partitions().is_some()));
    post(&FromWorker::Ready { frames, periods, vectors, init_ms: now_ms() - t0, bytes: total, overlay });
    // What earlier visits saved for offline use, for the offline-period panel.
    if partitioned {
        spawn_local(async { post(&FromWorker::SavedPeriods(parts::saved_periods().await)) });
    }
    // A partitioned index small enough that every query reads all of it (the demo): fetch it
    // now rather than on the first query, which would wait for it (a query that comes
    // meanwhile waits only for the partitions still on their way).
    spawn_local(async {
        if let Err(e) = parts::prefetch_if_small().await {
            web_sys::console::warn_1(&format!("skycase worker: the index was not prefetched: {e}").into());
        }
    });
    prefetch_after(PREFETCH_WHEN_IDLE_MS);
    Ok(())
}

/// A thumbnail or the overlay for the page, checked (see [`ToWorker::File`]).
async fn page_file(path: &str) -> Result<Vec<u8>, String> {
    let entry = PAGE_FILES.with(|p| p.borrow().get(path).cloned());
    let entry = entry.ok_or_else(|| format!("{path}: not a thumbnail or overlay of the loaded bundle"))?;
    let base = BASE.with(|b| b.borrow().clone());
    fetch::get(&base, &entry, &cache(), |_| {}).await
}

/// Answers [`ToWorker::File`]: the bytes travel as a `Uint8Array` beside the serde message.
fn post_file(path: &str, file: Result<Vec<u8>, String>) {
    let (error, bytes) = match file {
        Ok(bytes) => (None, Some(bytes)),
        Err(e) => (Some(e), None),
    };
    let msg = match serde_wasm_bindgen::to_value(&FromWorker::File { path: path.to_string(), error }) {
        Ok(v) => v,
        Err(e) => return web_sys::console::error_1(&format!("cannot serialise worker message: {e}").into()),
    };
    if let Some(bytes) = bytes {
        if let Ok(inner) = Reflect::get(&msg, &"File".into()) {
            let _ = Reflect::set(&inner, &"bytes".into(), &Uint8Array::from(&bytes[..]));
        }
    }
    let _ = scope().post_message(&msg);
}

/// Records a Performance mark in the worker's timeline (the browser's profiler shows it).
fn mark(name: &str) {
    if let Some(performance) = scope().performance() {
        let _ = performance.mark(name);
    }
}

/// After `delay_ms`, saves the offline set (once per worker; [`ToWorker::SaveOffline`] asks
/// again), so that later queries need no network and the app works offline.
fn prefetch_after(delay_ms: i32) {
    spawn_local(async move {
        fetch::sleep(delay_ms).await;
        if PREFETCH_STARTED.with(|p| p.replace(true)) {
            return;
        }
        save_offline_and_report().await;
    });
}

async fn save_offline_and_report() {
    let state = match save_offline().await {
        Ok(files) => OfflineState::Ready { files },
        Err(message) => {
            // Queries still fetch what they need; only offline use is affected, and the page
            // says so with the reason and a retry button.
            web_sys::console::warn_1(&format!("not saved for offline use: {message}").into());
            OfflineState::Failed { message }
        }
    };
    post(&FromWorker::Offline(state));
}

/// Downloads, checks and stores every file of the offline set the cache lacks (the manifest,
/// the startup files, every word chunk, the thumbnails of the loaded periods, the overlay),
/// then checks that the cache holds every one of them; resolves to their number.
async fn save_offline() -> Result<usize, String> {
    let base = BASE.with(|b| b.borrow().clone());
    let cache = cache();
    if !cache.is_some() {
        return Err("this browser keeps no offline copy here (no Cache Storage)".into());
    }
    // Partitions that queries fetched are stored after their answers: let those writes land
    // first, so that they are found below rather than downloaded again.
    fetch::writes_settled().await;
    // A failure to store a file before now is stale: every file is looked up again below.
    let _ = fetch::take_store_error();
    // Chunks first: they also go into the encoder's table, so later queries need no network.
    let missing = with_searcher(|s| Ok(chunk_files(s, s.word_embeddings().missing())))?;
    for batch in missing.chunks(PREFETCH_BATCH) {
        fetch::after_answers().await;
        let chunks = download_chunks(&base, batch).await?;
        with_searcher_mut(|s| insert_chunks(s, chunks))?;
    }
    // A partitioned index small enough for one query to fetch whole is saved whole (its
    // lists name the partitions); a larger one keeps what its queries fetched.
    parts::prefetch_if_small().await?;
    let set = offline_set()?;
    let total = set.len();
    let mut done = 0;
    post(&FromWorker::Offline(OfflineState::Saving { done, total }));
    for batch in set.chunks(PREFETCH_BATCH) {
        fetch::after_answers().await;
        let urls: Vec<String> = batch.iter().map(|f| format!("{base}{}", f.path)).collect();
        let mut held = Vec::with_capacity(batch.len());
        for url in &urls {
            held.push(cache.holds(url).await);
        }
        // A partition's path is its cache key (its leaf file with `?bytes=a-b`): read by that
        // byte range below, not requested here.
        let segment = |f: &FileEntry| f.role == skycase_core::partition::PART_ROLE;
        let started: Vec<Option<Promise>> = batch.iter().zip(&urls).zip(&held).map(|((f, u), h)| (!h && !segment(f)).then(|| request(u))).collect();
        for (((entry, url), started), held) in batch.iter().zip(&urls).zip(started).zip(held) {
            if !held {
                // Stored here, awaited, so a full quota stops saving with its reason.
                let bytes = match parts::download_segment(&base, entry).await {
                    Some(got) => got?,
                    None => fetch::download(url, entry, started, &BundleCache::NONE, |_| {}).await?,
                };
                cache.put(url, &bytes).await?;
            }
            done += 1;
            if done % OFFLINE_REPORT_EVERY == 0 {
                post(&FromWorker::Offline(OfflineState::Saving { done, total }));
            }
        }
    }
    if let Some(e) = fetch::take_store_error() {
        return Err(e);
    }
    // Claimed only when verified: every file must be found in the cache.
    for entry in &set {
        let url = format!("{base}{}", entry.path);
        if !cache.holds(&url).await {
            return Err(format!("{url}: not in the offline cache after saving it"));
        }
    }
    Ok(total)
}

/// The files a search can show offline: the manifest, the startup files, every word chunk of
/// the main encoder, the overlay and the thumbnails of the loaded periods' frames.
fn offline_set() -> Result<Vec<FileEntry>, String> {
    let pin = PIN.with(|p| p.borrow().clone()).ok_or("the search index is still loading")?;
    let page_files = PAGE_FILES.with(|p| p.borrow().clone());
    with_searcher(|s| {
        let mut set = vec![pin.entry()];
        set.extend(StartupFiles::of(s.manifest()).map_err(|e| e.to_string())?.entries().into_iter().cloned());
        let table = s.word_embeddings();
        set.extend((0..table.chunk_count()).filter_map(|k| table.chunk_file(k).cloned()));
        set.extend(page_files.values().filter(|f| f.role == skycase_core::overlay::OVERLAY_ROLE).cloned());
        let mut thumbs: Vec<&str> = s.shards().iter().flat_map(|sh| sh.records().iter().map(|r| r.thumb.as_str())).collect();
        thumbs.sort_unstable();
        thumbs.dedup();
        set.extend(thumbs.into_iter().filter_map(|t| page_files.get(t).cloned()));
        set.extend(parts::offline_entries(s, &page_files));
        Ok(set)
    })
}

fn to_out(searcher: &Searcher, hits: Vec<Hit>, strengths: &[f32]) -> Vec<HitOut> {
    hits.into_iter()
        .enumerate()
        .map(|(i, h)| {
            let rec = &searcher.shards()[h.shard].records()[h.frame];
            hit_out(h.shard, &h, rec, searcher.matched_region(&h).map(str::to_string), strengths.get(i).copied())
        })
        .collect()
}

/// The page's form of hit `h` on frame record `rec` (`shard`: the page's number for the shard
/// or partition it came from).
fn hit_out(shard: usize, h: &Hit, rec: &skycase_core::FrameRecord, region: Option<String>, strength: Option<f32>) -> HitOut {
    HitOut {
        shard,
        frame: h.frame,
        vector: h.vector,
        id: rec.id.clone(),
        time: rec.time.clone(),
        caption: rec.caption.clone(),
        thumb: rec.thumb.clone(),
        score: h.score,
        region,
        strength,
        source: rec.source.clone(),
        origin: rec.origin.clone(),
        episode: None,
        nearest: false,
    }
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

/// Ranks the query just answered again, [`REHEARSALS`] times, each [`REHEARSE_AFTER_MS`]
/// after the last, while no newer query has come ([`QUERIES`] still at `generation`), and
/// throws the answers away (serialised as for the page, so that code runs too). Everything the
/// answer used is still in memory, so a rehearsal reads nothing, and it keeps nothing (the
/// partitions it ranks are forgotten after, `parts::answer`); it only lets V8 compile the
/// ranking functions in its optimising tier while the worker is idle rather than during the
/// next queries ([`REHEARSED_ANSWERS`]).
async fn rehearse(generation: u32, text: &str, k: usize, episodes: Option<f64>, filters: &Filters, korean: bool) {
    for _ in 0..REHEARSALS {
        fetch::sleep(REHEARSE_AFTER_MS).await;
        if QUERIES.get() != generation {
            return;
        }
        let t0 = now_ms();
        let Ok(Answered { hits, .. }) = query(None, text, k, episodes, filters, korean).await else { return };
        let first = hits.first().map(|h| h.id.clone()).unwrap_or_default();
        let _ = serde_wasm_bindgen::to_value(&FromWorker::Partial { id: 0, hits, done: 0, total: 0 });
        if parts::log_phases() {
            web_sys::console::debug_1(&format!("skycase rehearsal: first hit {first}, {:.1} ms", now_ms() - t0).into());
        }
    }
}

/// Picks the text encoder (the multilingual one for Hangul or `korean`, loading it on first
/// use), fetches the word-embedding chunks the query's tokens need (if any are missing), then
/// encodes and ranks: `k` results, episodes (`episodes`: their gap in hours) folded from a
/// pool of [`cases::pool`] hits. `id`: the page's query (its answer streams), or none for a
/// rehearsal.
async fn query(id: Option<u32>, text: &str, k: usize, episodes: Option<f64>, filters: &Filters, korean: bool) -> Result<Answered, String> {
    // The query as searched, as in `skycase search`: a storm it names and a period it writes
    // narrow the dates and leave the text embedded; Korean weather without a place is embedded
    // in English.
    let Searched { filters, note: storm, text, period, unread } = with_searcher(|s| Ok(s.searched(text, filters)))?;
    // The month directories a filtered plan reads depend on the filters alone: they come
    // while the word chunks do.
    let (side, ()) = both(ready_to_embed(&text, korean), parts::month_dirs(&filters)).await;
    let side = side?;
    let pool = cases::pool(k, episodes);
    let answered = if with_searcher(|s| Ok(s.partitions().is_some()))? {
        parts::query(id, side, &text, pool, episodes.map(|gap| (k, gap)), &filters).await
    } else {
        with_searcher(|searcher| {
            let answer = searcher.search_on(side, &text, pool, &filters, now_ms).map_err(|e| e.to_string())?;
            let (encode, rank) = (answer.encode.as_secs_f64() * 1e3, answer.rank.as_secs_f64() * 1e3);
            let hits = cases::fold(to_out(searcher, answer.hits, &answer.strengths), k, episodes);
            Ok(Answered { hits, encode_ms: encode, rank_ms: rank, nothing_close: answer.nothing_close, side, warning: None, outside: answer.outside, storm: None, period: None, unread: Vec::new() })
        })
    };
    answered.map(|a| Answered { storm, period, unread, ..a })
}

/// Runs two futures at once, until both are done.
async fn both<A: std::future::Future, B: std::future::Future>(a: A, b: B) -> (A::Output, B::Output) {
    use std::task::Poll;
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        // Each is polled until it is done, never after.
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        match (ra.take(), rb.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                (ra, rb) = (x, y);
                Poll::Pending
            }
        }
    })
    .await
}

/// A text query's answer as the page gets it ([`FromWorker::Results`]): the hits, where the
/// time went, the "nothing close" flag, the encoder, a warning when part of a partitioned
/// index could not be loaded, the places named outside the map, the storm and period whose
/// days it searched, and the Chinese characters or kana it could not read.
struct Answered {
    hits: Vec<HitOut>,
    encode_ms: f64,
    rank_ms: f64,
    nothing_close: bool,
    side: TextSide,
    warning: Option<String>,
    outside: Vec<String>,
    storm: Option<skycase_core::storms::StormNote>,
    period: Option<skycase_core::when::PeriodNote>,
    unread: Vec<String>,
}

/// Picks the text encoder of `text` (loading the multilingual one on first use) and fetches
/// the word-embedding chunks its tokens need; then the query can be embedded.
async fn ready_to_embed(text: &str, korean: bool) -> Result<TextSide, String> {
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
    Ok(side)
}

/// "More like this" on the shard scan: vector `vector` of frame `frame` of shard `shard`.
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
