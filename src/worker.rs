//! The search worker: downloads and verifies the bundle, runs the text encoder and ranks.
//! Keeping it off the page's thread keeps typing smooth while a query encodes.

use std::cell::RefCell;

use js_sys::{Reflect, Uint8Array};
use skycase_core::rank::Hit;
use skycase_core::{Filters, Manifest, Searcher, Shard};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, ReadableStreamDefaultReader};

use crate::protocol::{FromWorker, HitOut, ToWorker};

thread_local! {
    static SEARCHER: RefCell<Option<Searcher>> = const { RefCell::new(None) };
}

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
            Ok(ToWorker::Query { id, text, k, filters }) => post(&match query(&text, k, &filters) {
                Ok((hits, encode_ms, rank_ms)) => FromWorker::Results { id, hits, encode_ms, rank_ms },
                Err(message) => FromWorker::Error { id: Some(id), message },
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

/// Downloads `url` whole, reporting each chunk to `progress`.
async fn fetch_bytes(url: &str, mut progress: impl FnMut(u64)) -> Result<Vec<u8>, String> {
    let resp = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: cannot download ({e})"))?;
    if !resp.ok() {
        return Err(format!("{url}: the server answered HTTP {} {}", resp.status(), resp.status_text()));
    }
    let body = resp.body().ok_or_else(|| format!("{url}: empty response"))?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut buf = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| format!("{url}: download interrupted ({e:?})"))?;
        if Reflect::get(&chunk, &"done".into()).ok().and_then(|d| d.as_bool()).unwrap_or(true) {
            break;
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into())
            .map_err(|_| format!("{url}: malformed stream chunk"))?
            .unchecked_into();
        let start = buf.len();
        buf.resize(start + value.length() as usize, 0);
        value.copy_to(&mut buf[start..]);
        progress(u64::from(value.length()));
    }
    Ok(buf)
}

async fn load(base: &str) -> Result<(), String> {
    let t0 = now_ms();
    let base = if base.ends_with('/') { base.to_string() } else { format!("{base}/") };
    let manifest_bytes = fetch_bytes(&format!("{base}manifest.json"), |_| {}).await?;
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

    let tok = manifest.file("tokenizer").map_err(|e| e.to_string())?.clone();
    let enc = manifest.file("encoder").map_err(|e| e.to_string())?.clone();
    let tok_bytes = fetch_bytes(&format!("{base}{}", tok.path), |n| report("tokenizer", n)).await?;
    tok.verify(&tok_bytes).map_err(|e| e.to_string())?;
    let enc_bytes = fetch_bytes(&format!("{base}{}", enc.path), |n| report("text encoder", n)).await?;
    enc.verify(&enc_bytes).map_err(|e| e.to_string())?;
    let projection = match manifest.files.iter().find(|f| f.role == "projection") {
        Some(p) => {
            let bytes = fetch_bytes(&format!("{base}{}", p.path), |n| report("projection", n)).await?;
            p.verify(&bytes).map_err(|e| e.to_string())?;
            Some(bytes)
        }
        None => None,
    };
    let mut shards = Vec::with_capacity(manifest.shards.len());
    for entry in &manifest.shards {
        let bytes = fetch_bytes(&format!("{base}{}", entry.path), |n| report("image index", n)).await?;
        entry.verify(&bytes).map_err(|e| e.to_string())?;
        shards.push(Shard::from_bytes(&bytes, &entry.path).map_err(|e| e.to_string())?);
    }
    post(&FromWorker::Progress { stage: "building the text encoder".into(), loaded: total, total });
    let vectors = manifest.vectors.clone();
    let searcher = Searcher::new(manifest, &tok_bytes, &enc_bytes, projection.as_deref(), shards).map_err(|e| e.to_string())?;
    drop(enc_bytes);
    // Warm-up: the first forward pass allocates; do it before saying "ready".
    searcher.embed_query("warm up").map_err(|e| e.to_string())?;
    let frames = searcher.frames();
    let periods = searcher.shards().iter().map(|s| s.period().to_string()).collect();
    SEARCHER.with(|s| *s.borrow_mut() = Some(searcher));
    post(&FromWorker::Ready { frames, periods, vectors, init_ms: now_ms() - t0, bytes: total });
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

fn query(text: &str, k: usize, filters: &Filters) -> Result<(Vec<HitOut>, f64, f64), String> {
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
