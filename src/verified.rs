//! Checked bundle files on the page: thumbnails and the overlay reach the page only through
//! the search worker, which checks them against the pinned manifest (src/fetch.rs), so the
//! page never shows a byte that was not verified. A thumbnail becomes a `blob:` URL (the CSP
//! allows `img-src 'self' blob:`); one that cannot be had says so in place, with the reason,
//! and is asked for again the next time a result shows it.
//!
//! Blob URLs are kept for the page's life: one per distinct thumbnail shown, a few tens of kB
//! each.

use std::collections::HashMap;

use js_sys::{Array, Reflect, Uint8Array};
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, BlobPropertyBag, Url, Worker};

use crate::i18n::t;
use crate::protocol::ToWorker;

/// Where a file the page asked for stands.
#[derive(Debug, Clone, PartialEq)]
pub enum FileState {
    Loading,
    /// A `blob:` URL of the checked bytes.
    Ready(String),
    /// Why there are none (names the file).
    Failed(String),
}

/// The page's checked files, shared through Leptos context ([`provide`]).
#[derive(Clone, Copy)]
pub struct PageFiles {
    states: RwSignal<HashMap<String, FileState>>,
    /// The checked bytes of each file received (a case's download packs them).
    bytes: StoredValue<HashMap<String, Vec<u8>>, LocalStorage>,
    worker: StoredValue<Option<Worker>, LocalStorage>,
}

/// Makes the page's checked files available to [`VerifiedImg`]s; `worker` is the search worker.
pub fn provide(worker: StoredValue<Option<Worker>, LocalStorage>) -> PageFiles {
    let files = PageFiles { states: RwSignal::new(HashMap::new()), bytes: StoredValue::new_local(HashMap::new()), worker };
    provide_context(files);
    files
}

impl PageFiles {
    /// Asks the worker for `path` unless it is loaded or on its way (a failed one is asked
    /// for again).
    pub fn request(&self, path: &str) {
        if matches!(self.states.with_untracked(|m| m.get(path).cloned()), Some(FileState::Loading | FileState::Ready(_))) {
            return;
        }
        self.states.update(|m| {
            m.insert(path.to_string(), FileState::Loading);
        });
        let msg = ToWorker::File { path: path.to_string() };
        self.worker.with_value(|w| {
            if let (Some(w), Ok(v)) = (w, serde_wasm_bindgen::to_value(&msg)) {
                let _ = w.post_message(&v);
            }
        });
    }

    /// The checked bytes of `path`, if received.
    pub fn bytes(&self, path: &str) -> Option<Vec<u8>> {
        self.bytes.with_value(|m| m.get(path).cloned())
    }

    /// The state of `path` (tracked).
    pub fn state(&self, path: &str) -> Option<FileState> {
        self.states.with(|m| m.get(path).cloned())
    }

    /// Takes the worker's answer for `path` (`data`: the message, whose `File.bytes` holds
    /// the checked bytes when `error` is `None`); returns the bytes.
    pub fn receive(&self, data: &JsValue, path: &str, error: Option<String>) -> Option<Vec<u8>> {
        let bytes = match error {
            Some(e) => Err(e),
            None => Reflect::get(data, &"File".into())
                .and_then(|f| Reflect::get(&f, &"bytes".into()))
                .ok()
                .and_then(|b| b.dyn_into::<Uint8Array>().ok())
                .ok_or_else(|| format!("{path}: the search worker sent no bytes")),
        };
        let state = match &bytes {
            Ok(b) => match blob_url(b, mime(path)) {
                Ok(url) => FileState::Ready(url),
                Err(e) => FileState::Failed(format!("{path}: {e:?}")),
            },
            Err(e) => FileState::Failed(e.clone()),
        };
        self.states.update(|m| {
            m.insert(path.to_string(), state);
        });
        let bytes = bytes.ok().map(|b| b.to_vec());
        if let Some(b) = &bytes {
            self.bytes.update_value(|m| {
                m.insert(path.to_string(), b.clone());
            });
        }
        bytes
    }
}

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("webp") => "image/webp",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn blob_url(bytes: &Uint8Array, mime: &str) -> Result<String, JsValue> {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_u8_array_sequence_and_options(&Array::of1(bytes), &options)?;
    Url::create_object_url_with_blob(&blob)
}

/// A bundle image (by manifest path), shown once the worker has checked it; while it comes,
/// a placeholder of the same size; when it cannot be had, "Image not available" and why.
#[component]
pub fn VerifiedImg(
    /// The manifest path, e.g. `thumbs/x.png`.
    path: String,
    /// The image's alternative text.
    alt: String,
) -> impl IntoView {
    let files = use_context::<PageFiles>();
    if let Some(files) = files {
        files.request(&path);
    }
    // Every file received changes the page's map of files; this image is drawn again only
    // when its own file's state changes.
    let state = Memo::new(move |_| files.and_then(|f| f.state(&path)));
    move || match state.get() {
        Some(FileState::Ready(url)) => view! { <img src=url alt=alt.clone() width="256" height="147" /> }.into_any(),
        Some(FileState::Failed(reason)) => {
            // In place, the file and what is wrong ("thumbs/x.png: sha256 mismatch"); the
            // whole message (hashes, tries) on hover.
            let short = reason.split(" (").next().unwrap_or(&reason).to_string();
            let title = reason.clone();
            view! {
            <div class="thumb-missing" role="img" aria-label=format!("{}: {}", t().image_unavailable, alt) data-testid="thumb-missing" title=title>
                <strong>{t().image_unavailable}</strong>
                <small data-testid="thumb-missing-reason" data-reason=reason>{short}</small>
            </div>
            }
            .into_any()
        }
        _ => view! { <div class="thumb-loading" role="img" aria-label=alt.clone() aria-busy="true" data-testid="thumb-loading"></div> }.into_any(),
    }
}
