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
    /// A case or "more like this" named by the hash (`#case=<id>`, `#similar=<id>&region=…`).
    pub route: Option<Route>,
    /// Every frame, not one result per episode (`frames=all`).
    pub every_frame: bool,
}

/// What the hash opens over the search.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// The case view of a frame: `#case=<frame id>`.
    Case(String),
    /// Frames like one frame's region: `#similar=<frame id>&region=<name>`.
    Similar { id: String, region: Option<String> },
}

impl Route {
    /// The hash that names this route (without `#`), values percent-encoded.
    pub fn hash(&self) -> String {
        let params = UrlSearchParams::new().expect("URLSearchParams exists in every browser");
        match self {
            Route::Case(id) => params.set("case", id),
            Route::Similar { id, region } => {
                params.set("similar", id);
                if let Some(r) = region {
                    params.set("region", r);
                }
            }
        }
        params.to_string().as_string().unwrap_or_default()
    }

    /// Reads a hash (with or without `#`); `None` for anything else (a plain frame id).
    pub fn parse(hash: &str) -> Option<Route> {
        let params = UrlSearchParams::new_with_str(hash.trim_start_matches('#')).ok()?;
        let nonempty = |k: &str| params.get(k).filter(|v| !v.trim().is_empty());
        if let Some(id) = nonempty("case") {
            return Some(Route::Case(id));
        }
        nonempty("similar").map(|id| Route::Similar { id, region: nonempty("region") })
    }
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
        focus: hash.strip_prefix('#').filter(|h| !h.is_empty() && Route::parse(h).is_none()).map(str::to_string),
        query_lang: params.get("lang").map(|l| l.trim().to_ascii_lowercase()).filter(|l| !l.is_empty()),
        route: Route::parse(&hash),
        every_frame: params.get("frames").is_some_and(|v| v == "all"),
    }
}

/// Opens `route` as a new history entry (Back returns to the search), or, with `None`, goes
/// back to the search as a new entry with no hash.
pub fn push_route(route: Option<&Route>) {
    let (Some(window), Some(url)) = (web_sys::window(), current_url()) else { return };
    url.set_hash(&route.map(Route::hash).unwrap_or_default());
    if let Ok(history) = window.history() {
        let _ = history.push_state_with_url(&JsValue::NULL, "", Some(&url.href()));
    }
}

/// Records the episode toggle (`frames=all` when every frame is shown).
pub fn write_every_frame(on: bool) {
    let (Some(window), Some(url)) = (web_sys::window(), current_url()) else { return };
    if on {
        url.search_params().set("frames", "all");
    } else {
        url.search_params().delete("frames");
    }
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url.href()));
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

/// Records the current search in the address without adding a history entry (a case or
/// "more like this" in the hash stays).
pub fn write(query: &str, filters: &Filters) {
    let (Some(window), Some(url)) = (web_sys::window(), current_url()) else { return };
    put(&url, query, filters);
    if Route::parse(&url.hash()).is_none() {
        url.set_hash("");
    }
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

/// Drops a case or "more like this" from the address without a history entry (a new query
/// typed over "more like this" replaces it).
pub fn clear_route() {
    let (Some(window), Some(url)) = (web_sys::window(), current_url()) else { return };
    if Route::parse(&url.hash()).is_some() {
        url.set_hash("");
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url.href()));
        }
    }
}
