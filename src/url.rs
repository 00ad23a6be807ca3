//! The page's state in its address: the query (`q`), the filters (see
//! [`Filters::to_params`]) and embed mode (`embed=1`), so a search can be shared as a link
//! or embedded with its filters preset.

use skycase_core::Filters;

use crate::i18n::Lang;
use wasm_bindgen::JsValue;
use web_sys::{Url, UrlSearchParams};

/// Query parameters the filters use.
const FILTER_KEYS: [&str; 5] = ["from", "to", "months", "region", "phenomenon"];

/// What the address says when the page opens.
#[derive(Debug, Clone, Default)]
pub struct UrlState {
    /// The query text (`q`).
    pub query: String,
    /// The filters.
    pub filters: Filters,
    /// Compact layout for an iframe (`embed=1`).
    pub embed: bool,
    /// The interface language (`lang=ko|en`, else the browser's).
    pub lang: Lang,
    /// A result to bring into view once shown (`#<frame id>`, from an embed's link out).
    pub focus: Option<String>,
    /// `lang` as given in the address, if at all (`ko`: every query goes to the multilingual
    /// encoder, not only those with Hangul in them).
    pub query_lang: Option<String>,
}

fn current_url() -> Option<Url> {
    Url::new(&web_sys::window()?.location().href().ok()?).ok()
}

/// Reads the page's address.
pub fn read() -> UrlState {
    let Some(url) = current_url() else { return UrlState { lang: Lang::detect(None), ..UrlState::default() } };
    let params: UrlSearchParams = url.search_params();
    let hash = url.hash();
    UrlState {
        query: params.get("q").unwrap_or_default(),
        filters: Filters::from_params(|key| params.get(key)),
        lang: Lang::detect(Some(&params)),
        embed: params.get("embed").is_some_and(|v| v == "1" || v == "true"),
        focus: hash.strip_prefix('#').filter(|h| !h.is_empty()).map(str::to_string),
        query_lang: params.get("lang").map(|l| l.trim().to_ascii_lowercase()).filter(|l| !l.is_empty()),
    }
}

/// Sets `q` and the filter parameters, leaving the others (embed) as they are.
fn put(url: &Url, query: &str, filters: &Filters) {
    let params = url.search_params();
    if query.is_empty() {
        params.delete("q");
    } else {
        params.set("q", query);
    }
    for key in FILTER_KEYS {
        params.delete(key);
    }
    for (key, value) in filters.to_params() {
        params.set(key, &value);
    }
}

/// Records the current search in the address without adding a history entry.
pub fn write(query: &str, filters: &Filters) {
    let (Some(window), Some(url)) = (web_sys::window(), current_url()) else { return };
    put(&url, query, filters);
    url.set_hash("");
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url.href()));
    }
}

/// The full app (not embedded) showing this search, scrolled to result `frame_id`.
pub fn full_app_href(query: &str, filters: &Filters, frame_id: Option<&str>) -> String {
    let Some(url) = current_url() else { return "./".into() };
    put(&url, query, filters);
    url.search_params().delete("embed");
    url.set_hash(frame_id.unwrap_or(""));
    url.href()
}
