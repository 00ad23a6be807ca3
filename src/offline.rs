//! Registers the service worker (www/sw.js) that keeps the app usable offline after the first
//! visit. Nothing waits for it: the search worker caches the bundle files it downloads itself
//! (src/worker.rs), and the service worker precaches the page shell when it installs.

use js_sys::Reflect;
use wasm_bindgen_futures::JsFuture;

/// Registers `./sw.js` where service workers are available (elsewhere the app simply works
/// online).
pub async fn register() {
    let Some(window) = web_sys::window() else { return };
    let navigator = window.navigator();
    if !Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        return;
    }
    if let Err(e) = JsFuture::from(navigator.service_worker().register("./sw.js")).await {
        web_sys::console::warn_1(&format!("no offline use: the service worker did not register ({e:?})").into());
    }
}
