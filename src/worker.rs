//! The search worker: downloads and verifies the bundle, runs the text encoder and ranks.
//! Keeping it off the page's thread keeps typing smooth while a query encodes.

use std::cell::{Cell, RefCell};

use js_sys::{Promise, Reflect, Uint8Array};
use skycase_core::bundle::StreamCheck;
use skycase_core::rank::Hit;
use skycase_core::{FileEntry, Filters, Manifest, Searcher, Shard};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, ReadableStreamDefaultReader, Response};

use crate::protocol::{FromWorker, HitOut, ToWorker};

thread_local! {
    static SEARCHER: RefCell<Option<Searcher>> = const { RefCell::new(None) };
    /// The bundle's base URL, ending in `/`.
    static BASE: RefCell<String> = const { RefCell::new(String::new()) };
    /// Whether the background download of the remaining word-embedding chunks has begun.
    static PREFETCH_STARTED: Cell<bool> = const { Cell::new(false) };
}

/// After the first answer, the rest of the word-embedding table is fetched once the page has
/// had this long to load the answer's thumbnails, so the app then works offline.
const PREFETCH_AFTER_ANSWER_MS: i32 = 1000;
/// Without a query, the same happens this long after the index is ready.
const PREFETCH_WHEN_IDLE_MS: i32 = 5000;
/// Chunk downloads in flight at once during the background prefetch.
const PREFETCH_BATCH: usize = 8;

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
            Ok(ToWorker::Query { id, text, k, filters }) => spawn_local(async move {
                let answered = query(&text, k, &filters).await;
                let ok = answered.is_ok();
                post(&match answered {
                    Ok((hits, encode_ms, rank_ms)) => FromWorker::Results { id, hits, encode_ms, rank_ms },
                    Err(message) => FromWorker::Error { id: Some(id), message },
                });
                if ok {
                    prefetch_after(PREFETCH_AFTER_ANSWER_MS);
                }
            }),
            Ok(ToWorker::Similar { id, shard, frame, vector, k, filters }) => {
                post(&match similar(shard, frame, vector, k, &filters) {
                    Ok((hits, rank_ms)) => FromWorker::Results { id, hits, encode_ms: 0.0, rank_ms },
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

/// Reads the body of a started request, handing each piece to `piece` as it arrives.
async fn read_body(url: &str, started: Promise, capacity: usize, mut piece: impl FnMut(&[u8]) -> Result<(), String>) -> Result<Vec<u8>, String> {
    let resp: Response = JsFuture::from(started)
        .await
        .map_err(|e| format!("{url}: cannot download ({})", js_message(&e)))?
        .unchecked_into();
    if !resp.ok() {
        return Err(format!("{url}: the server answered HTTP {} {}", resp.status(), resp.status_text()));
    }
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

/// Reads a started request for a bundle file, checking size and sha256 against its manifest
/// entry while it streams in and reporting progress in bytes.
async fn read_file(base: &str, entry: &FileEntry, started: Promise, mut progress: impl FnMut(u64)) -> Result<Vec<u8>, String> {
    let mut check = StreamCheck::new(entry);
    let capacity = usize::try_from(entry.bytes).unwrap_or(0);
    let bytes = read_body(&format!("{base}{}", entry.path), started, capacity, |piece| {
        progress(piece.len() as u64);
        check.update(piece).map_err(|e| e.to_string())
    })
    .await?;
    check.finish().map_err(|e| e.to_string())?;
    Ok(bytes)
}

fn js_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_else(|| format!("{e:?}"))
}

/// Downloads word-embedding chunks in parallel; `insert_chunk` checks them.
async fn download_chunks(base: &str, chunks: &[(usize, FileEntry)]) -> Result<Vec<(usize, Vec<u8>)>, String> {
    let started: Vec<Promise> = chunks.iter().map(|(_, f)| request(&format!("{base}{}", f.path))).collect();
    let mut out = Vec::with_capacity(chunks.len());
    for ((k, f), req) in chunks.iter().zip(started) {
        let capacity = usize::try_from(f.bytes).unwrap_or(0);
        out.push((*k, read_body(&format!("{base}{}", f.path), req, capacity, |_| Ok(())).await?));
    }
    Ok(out)
}

/// The manifest entries of chunks `ks`.
fn chunk_files(searcher: &Searcher, ks: Vec<usize>) -> Vec<(usize, FileEntry)> {
    ks.into_iter().filter_map(|k| Some((k, searcher.word_embeddings().chunk_file(k)?.clone()))).collect()
}

async fn load(base: &str) -> Result<(), String> {
    let t0 = now_ms();
    let base = if base.ends_with('/') { base.to_string() } else { format!("{base}/") };
    BASE.with(|b| *b.borrow_mut() = base.clone());
    let manifest_url = format!("{base}manifest.json");
    let manifest_bytes = read_body(&manifest_url, request(&manifest_url), 0, |_| Ok(())).await?;
    let manifest = Manifest::from_json(&manifest_bytes).map_err(|e| e.to_string())?;
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
    let tok = manifest.file("tokenizer").map_err(|e| e.to_string())?.clone();
    let enc = manifest.file("encoder").map_err(|e| e.to_string())?.clone();
    let proj = manifest.files.iter().find(|f| f.role == "projection").cloned();
    let shard_entries: Vec<FileEntry> = manifest
        .shards
        .iter()
        .map(|s| FileEntry { path: s.path.clone(), role: "shard".into(), sha256: s.sha256.clone(), bytes: s.bytes })
        .collect();
    let start = |f: &FileEntry| request(&format!("{base}{}", f.path));
    let (tok_req, enc_req) = (start(&tok), start(&enc));
    let proj_req = proj.as_ref().map(start);
    let shard_reqs: Vec<Promise> = shard_entries.iter().map(start).collect();

    let tok_bytes = read_file(&base, &tok, tok_req, |n| report("tokenizer", n)).await?;
    let enc_bytes = read_file(&base, &enc, enc_req, |n| report("text encoder", n)).await?;
    let projection = match (&proj, proj_req) {
        (Some(p), Some(req)) => Some(read_file(&base, p, req, |n| report("projection", n)).await?),
        _ => None,
    };
    let mut shards = Vec::with_capacity(shard_entries.len());
    for (entry, req) in shard_entries.iter().zip(shard_reqs) {
        let bytes = read_file(&base, entry, req, |n| report("image index", n)).await?;
        shards.push(Shard::from_bytes(&bytes, &entry.path).map_err(|e| e.to_string())?);
    }
    let t_download = now_ms();
    post(&FromWorker::Progress { stage: "building the text encoder".into(), loaded: total, total });
    let vectors = manifest.vectors.clone();
    let mut searcher = Searcher::new(manifest, &tok_bytes, &enc_bytes, projection.as_deref(), shards).map_err(|e| e.to_string())?;
    drop(enc_bytes);
    let t_build = now_ms();
    // The chunks that every query needs ([CLS], [SEP]), then a warm-up pass: the first
    // forward pass allocates, so do it before saying "ready".
    let always = chunk_files(&searcher, searcher.missing_chunks("").map_err(|e| e.to_string())?);
    for (k, bytes) in download_chunks(&base, &always).await? {
        searcher.insert_chunk(k, bytes).map_err(|e| e.to_string())?;
    }
    searcher.encoder().embed("").map_err(|e| e.to_string())?;
    let t_warm = now_ms();
    web_sys::console::debug_1(
        &format!(
            "skycase worker: manifest + downloads {:.0} ms, encoder build {:.0} ms, first chunks + warm-up {:.0} ms",
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
    Ok(())
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
        for (k, bytes) in download_chunks(&base, batch).await? {
            with_searcher_mut(|s| s.insert_chunk(k, bytes).map_err(|e| e.to_string()))?;
        }
    }
    Ok(())
}

fn to_out(searcher: &Searcher, hits: Vec<Hit>) -> Vec<HitOut> {
    hits.into_iter()
        .map(|h| {
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

/// Fetches the word-embedding chunks the query's tokens need (if any are missing), then
/// encodes and ranks.
async fn query(text: &str, k: usize, filters: &Filters) -> Result<(Vec<HitOut>, f64, f64), String> {
    let needed = with_searcher(|s| Ok(chunk_files(s, s.missing_chunks(text).map_err(|e| e.to_string())?)))?;
    if !needed.is_empty() {
        let base = BASE.with(|b| b.borrow().clone());
        for (k, bytes) in download_chunks(&base, &needed).await? {
            with_searcher_mut(|s| s.insert_chunk(k, bytes).map_err(|e| e.to_string()))?;
        }
    }
    with_searcher(|searcher| {
        let answer = searcher.search(text, k, filters, now_ms).map_err(|e| e.to_string())?;
        let (encode, rank) = (answer.encode.as_secs_f64() * 1e3, answer.rank.as_secs_f64() * 1e3);
        Ok((to_out(searcher, answer.hits), encode, rank))
    })
}

fn similar(shard: usize, frame: usize, vector: usize, k: usize, filters: &Filters) -> Result<(Vec<HitOut>, f64), String> {
    with_searcher(|searcher| {
        let t0 = now_ms();
        let hits = searcher.similar(shard, frame, vector, k, filters).map_err(|e| e.to_string())?;
        Ok((to_out(searcher, hits), now_ms() - t0))
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
