//! Start-up on the page: the search worker that `index.html` started before the app's wasm
//! loaded, so that both wasm modules and the bundle download at the same time.

use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Worker;

/// Where Trunk puts the worker: a classic (no-modules) script loaded by `worker_loader.js`.
const WORKER_URL: &str = "./worker_loader.js";

/// Hands the search worker its `message` and `error` handlers: the worker `index.html` started
/// (the events it sent before now are delivered first, in order), or a new one where the page
/// has no such script.
pub fn search_worker(on_message: &Function, on_error: &Function) -> Result<Worker, JsValue> {
    mark("skycase: app adopts the worker");
    let early = web_sys::window().and_then(|w| Reflect::get(&w, &"skycaseWorker".into()).ok()).filter(JsValue::is_object);
    if let Some(early) = early {
        let adopt: Function = Reflect::get(&early, &"adopt".into())?.dyn_into()?;
        return Ok(adopt.call2(&early, on_message, on_error)?.unchecked_into());
    }
    let worker = Worker::new(WORKER_URL)?;
    worker.set_onmessage(Some(on_message));
    worker.set_onerror(Some(on_error));
    Ok(worker)
}

/// Records a Performance mark: the browser's profiler shows it, tests/e2e/bench.mjs reads it.
fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

/// The bundle's base URL (`<meta name="skycase-bundle">`, default `bundle/`) and the pin of
/// its manifest (`<meta name="skycase-manifest">`: sha256 and size, written by
/// scripts/post-build; empty when missing, which the search worker refuses).
pub fn bundle() -> (String, String) {
    let document = web_sys::window().and_then(|w| w.document());
    let meta = |name: &str| {
        document
            .as_ref()
            .and_then(|d| d.query_selector(&format!("meta[name={name}]")).ok().flatten())
            .and_then(|e| e.get_attribute("content"))
            .filter(|c| !c.trim().is_empty())
    };
    (meta("skycase-bundle").unwrap_or_else(|| "bundle/".to_string()), meta("skycase-manifest").unwrap_or_default())
}
