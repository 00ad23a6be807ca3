//! Registers the service worker (www/sw.js) that keeps the app usable offline after the first
//! visit, and waits until it controls the page, so that the search worker's downloads of the
//! first visit are already cached.

use std::time::Duration;

use js_sys::{Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// How long a first visit waits for the service worker before going on without it.
const WAIT: Duration = Duration::from_secs(3);

/// Registers `./sw.js` and resolves once it controls the page (or after [`WAIT`], or at once
/// where service workers are unavailable: the app then simply works online).
pub async fn ensure_controlled() {
    let Some(window) = web_sys::window() else { return };
    let navigator = window.navigator();
    if !Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        return;
    }
    let sw = navigator.service_worker();
    if JsFuture::from(sw.register("./sw.js")).await.is_err() {
        return;
    }
    if sw.controller().is_some() {
        return;
    }
    let ms = WAIT.as_millis() as i32;
    let wait = Promise::new(&mut |resolve, _| {
        sw.set_oncontrollerchange(Some(resolve.unchecked_ref()));
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(wait).await;
    sw.set_oncontrollerchange(None);
}
