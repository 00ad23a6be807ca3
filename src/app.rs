//! The page: query box, filters, download progress, result grid. `?embed=1` gives the
//! compact layout for an iframe (see the README).

use std::sync::Arc;

use leptos::prelude::*;
use skycase_core::overlay::Overlay;
use skycase_core::search::SEASONS;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker};

use crate::basemap::BasemapDefs;
use crate::case::{span, utc_and_local, CaseView, LOOP_HOURS};
use crate::i18n::{self, t};
use crate::protocol::{CaseOut, Filters, FromWorker, HitOut, ToWorker};
use crate::url::{self, Route};
use crate::verified::{FileState, PageFiles};

/// The case view's state.
#[derive(Debug, Clone, PartialEq)]
enum CaseState {
    /// Asked the worker for this frame.
    Loading(String),
    /// The case, and the query its scores answer.
    Open(Box<CaseOut>, String),
    Failed(String),
}

/// Largest step between two frames of one episode (`skycase_core::episodes`).
const GAP_HOURS: f64 = skycase_core::episodes::DEFAULT_GAP_HOURS;

/// Typed queries wait this long after the last keystroke.
const DEBOUNCE_MS: u64 = 250;

/// A typed query shorter than this (in characters, Hangul syllables included) is not run
/// while typing ("s" would redraw the results); Enter runs it anyway.
const MIN_TYPED_CHARS: usize = 2;

/// Results shown per query.
const TOP_K: usize = 20;

/// A partial answer is drawn at most this often (the first at once): each one re-renders the
/// cards on the main thread, which shares the device's cores with the worker computing the
/// whole answer (docs/benchmarks.md, issue 11).
const PARTIAL_RENDER_MS: f64 = 500.0;

/// A query's time ends when its cards are painted; if no frame comes this long after the
/// answer (a hidden page, an iframe out of view: the browser skips their frames), it ends then.
const PAINT_WAIT_MS: u64 = 500;

/// Where the app is in its life.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Starting,
    Loading { stage: String, loaded: u64, total: u64 },
    Ready { frames: usize, periods: Vec<String>, init_ms: f64, bytes: u64 },
    Failed(String),
}

/// Latencies of the last query, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Timings {
    /// Sequence number of the query these results answer.
    id: u32,
    encode: f64,
    rank: f64,
    render: f64,
    total: f64,
    /// The text encoder that embedded the query (`minilm` or `multilingual`).
    encoder: &'static str,
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

/// Runs `f` once the browser has painted what the page shows now: after the next animation
/// frame, in a task of its own (the frame's paint comes between). Where no frame comes (a
/// hidden page, an iframe out of view), after [`PAINT_WAIT_MS`].
fn after_paint(f: impl FnOnce() + 'static) {
    let once = std::rc::Rc::new(std::cell::Cell::new(Some(f)));
    let run = move || {
        if let Some(f) = once.take() {
            f()
        }
    };
    let hidden = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| js_sys::Reflect::get(&d, &"hidden".into()).ok())
        .and_then(|h| h.as_bool())
        .unwrap_or(false);
    if hidden {
        set_timeout(run, std::time::Duration::ZERO);
        return;
    }
    let late = run.clone();
    request_animation_frame(move || set_timeout(run, std::time::Duration::ZERO));
    set_timeout(late, std::time::Duration::from_millis(PAINT_WAIT_MS));
}

fn post(worker: &Worker, msg: &ToWorker) {
    if let Ok(v) = serde_wasm_bindgen::to_value(msg) {
        let _ = worker.post_message(&v);
    }
}

/// Moves keyboard focus to a result card (`None`: the first) and scrolls it into view.
fn focus_result(frame_id: Option<&str>) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let selector = match frame_id {
        Some(id) => format!("[data-testid=result][data-id=\"{}\"]", id.replace(['"', '\\'], "")),
        None => "[data-testid=result]".to_string(),
    };
    if let Some(card) = document.query_selector(&selector).ok().flatten().and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok()) {
        card.scroll_into_view();
        let _ = card.focus();
    }
}

fn format_mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The app.
#[component]
pub fn App() -> impl IntoView {
    let start = url::read();
    i18n::set_page_lang(start.lang);
    let embed = start.embed;
    if embed {
        // The layout is the page's own business; the class lives on <html> so that CSS can
        // also drop the body's margins.
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.class_list().add_1("embed");
        }
    }
    let (phase, set_phase) = signal(Phase::Starting);
    let (query, set_query) = signal(start.query.clone());
    let (hits, set_hits) = signal(Vec::<HitOut>::new());
    let (query_error, set_query_error) = signal(None::<String>);
    let (timings, set_timings) = signal(None::<Timings>);
    let (shown_for, set_shown_for) = signal(String::new());
    let (nothing_close, set_nothing_close) = signal(false);
    // Places the query names outside the archive's 13 regions (the worker's gazetteer).
    let (outside, set_outside) = signal(Vec::<String>::new());
    // The named storm whose days the query searched (the worker's `skycase_core::storms`).
    let (storm, set_storm) = signal(None::<skycase_core::storms::StormNote>);
    // The period the query writes, whose days it searched (the worker's `skycase_core::when`).
    let (period, set_period) = signal(None::<skycase_core::when::PeriodNote>);
    // Chinese characters or kana of the query that no encoder reads, as written.
    let (unread, set_unread) = signal(Vec::<String>::new());
    // A partitioned index's answer on its way: (partitions at hand, partitions planned).
    let (streaming, set_streaming) = signal(None::<(usize, usize)>);
    // The cards show a whole answer (false while partial answers stream): only then do they
    // ask for thumbnails and draw basemaps, so that a streaming answer costs the worker no
    // thumbnail work and the page little rendering.
    let (settled, set_settled) = signal(true);
    // When the page last drew a partial answer (its query id and time).
    let partial_drawn = StoredValue::new((0u32, 0f64));
    let filters = RwSignal::new(start.filters.clone());
    let every_frame = RwSignal::new(start.every_frame);
    let episodes = move || (!every_frame.get_untracked()).then_some(GAP_HOURS);
    let case = RwSignal::new(None::<CaseState>);
    // The case asked for last (its request id), whether this page pushed its history entry,
    // and when it was asked for (the case view's `data-open-ms`).
    let case_req = StoredValue::new((0u32, false, 0f64));
    // The text query the results answer (none after "more like this"), for the case's scores.
    let last_text = StoredValue::new(None::<String>);
    let (overlay, set_overlay) = signal(None::<Arc<Overlay>>);
    // Id of the newest query and when it was sent; older answers are dropped.
    let latest = StoredValue::new((0u32, 0f64, String::new()));
    // Which result card takes keyboard focus when the next results arrive: the first after
    // "more like this" (the button pressed is replaced), the linked one after an embed's link out.
    let focus_next = StoredValue::new(start.focus.clone().map(Some));

    // The search worker, started by index.html before the app (see startup).
    let worker = StoredValue::new_local(None::<Worker>);
    // Thumbnails and the overlay, checked by the worker (src/verified.rs); releases and
    // offline use (src/offline.rs).
    let files = crate::verified::provide(worker);
    let offline = crate::offline::start(worker);
    let overlay_path = StoredValue::new(None::<String>);
    let (bundle_base, pin) = crate::startup::bundle();
    let post_to_worker = move |msg: &ToWorker| worker.with_value(|w| if let Some(w) = w { post(w, msg) });

    let send_query = move |text: String| {
        let text = text.trim().to_string();
        url::write(&text, &filters.get_untracked());
        if text.is_empty() {
            set_hits.set(Vec::new());
            set_nothing_close.set(false);
            set_outside.set(Vec::new());
            set_storm.set(None);
            set_period.set(None);
            set_unread.set(Vec::new());
            set_query_error.set(None);
            set_timings.set(None);
            return;
        }
        if !matches!(phase.get_untracked(), Phase::Ready { .. }) {
            return;
        }
        let id = latest.get_value().0.max(case_req.get_value().0) + 1;
        latest.set_value((id, now_ms(), text.clone()));
        last_text.set_value(Some(text.clone()));
        post_to_worker(&ToWorker::Query { id, text, k: TOP_K, filters: filters.get_untracked(), lang: url::read().query_lang, episodes: episodes() });
    };
    // Opens the case view of a frame (`push`: as a new history entry, so Back closes it).
    let open_case = move |frame_id: String, push: bool| {
        if push {
            url::push_route(Some(&Route::Case(frame_id.clone())));
        }
        let id = latest.get_value().0.max(case_req.get_value().0) + 1;
        case_req.set_value((id, push, now_ms()));
        case.set(Some(CaseState::Loading(frame_id.clone())));
        let query = last_text.get_value();
        post_to_worker(&ToWorker::Case { id, frame_id, query, lang: url::read().query_lang, filters: filters.get_untracked(), hours: LOOP_HOURS });
    };
    // "More like this": frames like one frame's region, with its own address.
    let run_similar = move |frame_id: String, region: Option<String>, time: String, push: bool| {
        if push {
            url::push_route(Some(&Route::Similar { id: frame_id.clone(), region: region.clone() }));
        }
        case.set(None);
        focus_next.set_value(Some(None));
        let region_name = region.as_deref().and_then(skycase_vocab::region_index).map(|r| t().region_names[r]).unwrap_or("");
        let text = (t().case.like_text)(&utc_and_local(&time).0, region_name);
        set_query.set(text.clone());
        last_text.set_value(None);
        let id = latest.get_value().0.max(case_req.get_value().0) + 1;
        latest.set_value((id, now_ms(), text));
        post_to_worker(&ToWorker::Similar { id, frame_id, region, k: TOP_K, filters: filters.get_untracked(), episodes: episodes() });
    };
    // What the address names: a case, "more like this", or the search itself.
    let apply_route = move |state: url::UrlState, from_history: bool| match state.route {
        Some(Route::Case(id)) => open_case(id, false),
        Some(Route::Similar { id, region }) => run_similar(id.clone(), region, id_time(&id), false),
        None => {
            case.set(None);
            if from_history {
                set_query.set(state.query.clone());
                send_query(state.query);
            }
        }
    };
    let close_case = move || {
        if case_req.get_value().1 && url::read().route.is_some() {
            // Opened here: Back closes it, as the browser's own Back would.
            if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
                let _ = h.back();
            }
        } else {
            url::clear_route();
            case.set(None);
        }
    };

    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |ev: MessageEvent| {
        let msg = match serde_wasm_bindgen::from_value::<FromWorker>(ev.data()) {
            Ok(m) => m,
            Err(e) => {
                set_phase.set(Phase::Failed(format!("unreadable message from the search worker: {e}")));
                return;
            }
        };
        match msg {
            FromWorker::Started => post_to_worker(&ToWorker::Load { base: bundle_base.clone(), pin: pin.clone() }),
            FromWorker::Progress { stage, loaded, total } => set_phase.set(Phase::Loading { stage, loaded, total }),
            FromWorker::Ready { frames, periods, init_ms, bytes, overlay: overlay_file, .. } => {
                set_phase.set(Phase::Ready { frames, periods, init_ms, bytes });
                crate::offline::register_after_ready(offline);
                if let Some(path) = overlay_file {
                    overlay_path.set_value(Some(path.clone()));
                    files.request(&path);
                }
                let q = query.get_untracked();
                if !q.trim().is_empty() {
                    send_query(q);
                }
                apply_route(url::read(), false);
            }
            FromWorker::Case { id, case: found } => {
                if id == case_req.get_value().0 {
                    let query = last_text.get_value().unwrap_or_default();
                    case.set(Some(CaseState::Open(Box::new(found), query)));
                }
            }
            FromWorker::Partial { id, hits: new_hits, done, total } => {
                if id == latest.get_value().0 {
                    set_streaming.set(Some((done, total)));
                    // The first partial answer of a query at once, later ones at most every
                    // PARTIAL_RENDER_MS; the whole answer replaces them anyway.
                    let (drawn_id, drawn_at) = partial_drawn.get_value();
                    if drawn_id != id || now_ms() - drawn_at >= PARTIAL_RENDER_MS {
                        partial_drawn.set_value((id, now_ms()));
                        set_settled.set(false);
                        set_hits.set(new_hits);
                    }
                }
            }
            FromWorker::Results { id, hits: mut new_hits, encode_ms, rank_ms, nothing_close, encoder, warning, outside, storm: storm_note, period: period_note, unread: unread_runs } => {
                let (latest_id, sent_at, text) = latest.get_value();
                if id != latest_id {
                    return;
                }
                set_streaming.set(None);
                let t_render = now_ms();
                // Part of a partitioned index missing: say so above the results from the rest.
                set_query_error.set(warning);
                let nothing_close = nothing_close && !new_hits.is_empty();
                set_nothing_close.set(nothing_close);
                set_outside.set(outside);
                set_storm.set(storm_note);
                set_period.set(period_note);
                set_unread.set(unread_runs);
                set_settled.set(true);
                new_hits.iter_mut().for_each(|h| h.nearest = nothing_close);
                set_hits.set(new_hits);
                set_shown_for.set(text);
                if let Some(target) = focus_next.get_value() {
                    focus_next.set_value(None);
                    // After the cards for these results exist (rendering finishes in microtasks).
                    set_timeout(move || focus_result(target.as_deref()), std::time::Duration::ZERO);
                }
                let encoder = if encoder == "multilingual" { "multilingual" } else { "minilm" };
                // The query's time ends when its cards are painted (Leptos updates the DOM in
                // microtasks after these sets, the browser paints in its next frame).
                after_paint(move || {
                    if latest.get_value().0 == id {
                        let t_done = now_ms();
                        set_timings.set(Some(Timings { id, encode: encode_ms, rank: rank_ms, render: t_done - t_render, total: t_done - sent_at, encoder }));
                    }
                });
            }
            FromWorker::Error { id: Some(id), message } if id == case_req.get_value().0 => {
                case.set(Some(CaseState::Failed(message)));
            }
            FromWorker::Error { id: Some(id), message } => {
                if id == latest.get_value().0 {
                    set_streaming.set(None);
                    set_settled.set(true);
                    focus_next.set_value(None);
                    set_hits.set(Vec::new());
                    set_nothing_close.set(false);
                    set_outside.set(Vec::new());
                    set_storm.set(None);
                    set_period.set(None);
                    set_unread.set(Vec::new());
                    set_query_error.set(Some(message));
                }
            }
            FromWorker::Error { id: None, message } => set_phase.set(Phase::Failed(message)),
            FromWorker::File { path, error } => {
                let why = error.clone();
                let bytes = files.receive(&ev.data(), &path, error);
                if overlay_path.with_value(|o| o.as_deref() == Some(path.as_str())) {
                    match bytes.map(|b| Overlay::from_json(&b).map_err(|e| e.to_string())) {
                        Some(Ok(o)) => set_overlay.set(Some(Arc::new(o))),
                        // The results work without it; say why the maps are missing.
                        Some(Err(e)) => web_sys::console::warn_1(&format!("no basemap over the results: {e}").into()),
                        None => web_sys::console::warn_1(&format!("no basemap over the results: {}", why.unwrap_or(path)).into()),
                    }
                }
            }
            FromWorker::Offline(state) => offline.saving.set(Some(state)),
            FromWorker::OfflinePeriod(state) => offline.period.set(Some(state)),
            FromWorker::SavedPeriods(saved) => offline.saved.set(Some(saved)),
            FromWorker::BenchRank { .. } => {}
        }
    });
    let on_error = Closure::<dyn Fn(web_sys::ErrorEvent)>::new(move |ev: web_sys::ErrorEvent| {
        // Shown here, so not reported again as the page's own uncaught error.
        ev.prevent_default();
        set_phase.set(Phase::Failed(format!("the search worker failed: {}", ev.message())));
    });
    match crate::startup::search_worker(on_message.as_ref().unchecked_ref(), on_error.as_ref().unchecked_ref()) {
        Ok(w) => worker.set_value(Some(w)),
        Err(e) => set_phase.set(Phase::Failed(format!("cannot start the search worker: {e:?}"))),
    }
    // The handlers live as long as the page.
    on_message.forget();
    on_error.forget();
    // Back and Forward move between the search, "more like this" and cases.
    let _ = window_event_listener(leptos::ev::popstate, move |_| apply_route(url::read(), true));

    // Instant search: re-query shortly after typing stops.
    let debounce = StoredValue::new(None::<leptos::leptos_dom::helpers::TimeoutHandle>);
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        set_query.set(text.clone());
        if let Some(h) = debounce.get_value() {
            h.clear();
        }
        // A new query replaces "more like this" in the address.
        url::clear_route();
        let long_enough = text.trim().chars().count() >= MIN_TYPED_CHARS || text.trim().is_empty();
        let handle = long_enough.then(|| set_timeout_with_handle(move || send_query(text), std::time::Duration::from_millis(DEBOUNCE_MS)).ok()).flatten();
        debounce.set_value(handle);
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(h) = debounce.get_value() {
            h.clear();
        }
        url::clear_route();
        send_query(query.get_untracked());
    };
    let more_like = move |frame_id: String, region: Option<String>, time: String| run_similar(frame_id, region, time, true);
    let open = move |frame_id: String| open_case(frame_id, true);
    let run_example = move |text: &'static str| {
        set_query.set(text.to_string());
        url::clear_route();
        send_query(text.to_string());
    };

    let open_full = move || url::full_app_href(query.get().trim(), &filters.get(), None);
    // After a failed start: load again (what was verified and cached is not downloaded again).
    let (retry_base, retry_pin) = crate::startup::bundle();
    let retry_load = move || {
        set_phase.set(Phase::Starting);
        post_to_worker(&ToWorker::Load { base: retry_base.clone(), pin: retry_pin.clone() });
    };
    let retry_offline = move || {
        offline.saving.set(Some(crate::protocol::OfflineState::Saving { done: 0, total: 0 }));
        post_to_worker(&ToWorker::SaveOffline);
    };
    view! {
        <Shell phase=phase embed=embed on_retry=retry_load />
        <crate::offline::OfflineBar status=offline on_retry=retry_offline />
        <form class="search" role="search" on:submit=on_submit>
            <input
                type="search"
                data-testid="search-input"
                aria-label=t().input_label
                placeholder=t().placeholder
                autofocus
                prop:value=move || query.get()
                on:input=on_input
            />
            <button type="submit">{t().search}</button>
            {embed.then(|| view! {
                <a class="open-full" data-testid="open-full" href=open_full target="_blank" rel="noopener">{t().open_full}</a>
            })}
        </form>
        {(!embed).then(|| view! {
            <FilterBar filters=filters every_frame=every_frame on_change=move || {
                url::write_every_frame(every_frame.get_untracked());
                send_query(query.get_untracked())
            } />
        })}
        {move || (query.with(|q| q.trim().is_empty()) && hits.with(Vec::is_empty)).then(|| view! {
            <div class="landing" data-testid="landing">
                <p class="coverage" data-testid="coverage">{t().case.coverage}</p>
                <p class="examples"><span>{t().case.examples_label}</span>
                    {t().case.examples.iter().map(|&e| view! {
                        <button type="button" class="example" data-testid="example" on:click=move |_| run_example(e)>{e}</button>
                    }).collect_view()}
                </p>
            </div>
        })}
        {move || query_error.get().map(|e| view! { <p class="error" role="alert" data-testid="query-error">{e}</p> })}
        {move || timings.get().map(|t| view! {
            <p class="timings" data-testid="timings" data-query-id=t.id.to_string()
                data-encode-ms=format!("{:.3}", t.encode) data-rank-ms=format!("{:.3}", t.rank)
                data-render-ms=format!("{:.3}", t.render) data-total-ms=format!("{:.3}", t.total) data-encoder=t.encoder>
                {(i18n::t().timings)(hits.get().len(), &shown_for.get(), t.encode, t.rank, t.render)}
            </p>
        })}
        {move || (timings.get().is_some() && hits.with(Vec::is_empty)).then(|| {
            let set = filters.with(describe_filters);
            let text = match (set.is_empty(), period.get().filter(|p| p.applied)) {
                (true, Some(note)) => (t().no_period)(&note.period.said),
                (true, None) => t().no_match.to_string(),
                (false, _) => (t().case.empty_filters)(&set),
            };
            view! { <p class="empty" data-testid="no-results">{text}</p> }
        })}
        {move || streaming.get().map(|(done, total)| view! {
            <p class="streaming" role="status" data-testid="streaming" data-done=done.to_string() data-total=total.to_string()>{(t().streaming)(done, total)}</p>
        })}
        {move || storm.get().map(|note| view! {
            <p class="storm-days" role="status" data-testid="storm" data-id=note.storm.id.clone() data-applied=note.applied.to_string()>{(t().storm_days)(&note)}</p>
        })}
        {move || period.get().map(|note| view! {
            <p class="storm-days" role="status" data-testid="period" data-applied=note.applied.to_string()>{(t().period_days)(&note)}</p>
        })}
        {move || unread.with(|u| (!u.is_empty()).then(|| view! {
            <p class="outside-map" role="status" data-testid="unread">{(t().unread)(&u.join(" "))}</p>
        }))}
        {move || outside.with(|o| (!o.is_empty()).then(|| view! {
            <p class="outside-map" role="status" data-testid="outside-map">{(t().outside_map)(&o.join(", "))}</p>
        }))}
        {move || nothing_close.get().then(|| view! {
            <p class="nothing-close" role="status" data-testid="nothing-close">{t().nothing_close}</p>
        })}
        // Each grid's coastlines, once, for every basemap on the page (src/basemap.rs).
        <BasemapDefs overlay=overlay />
        <ResultList hits=hits on_more=more_like on_open=open overlay=overlay answered=settled
            link_out=embed.then_some((query, filters)) />
        {move || case.get().map(|state| match state {
            CaseState::Open(found, q) => view! {
                <div class="case-backdrop" data-testid="case-backdrop" data-open-ms=format!("{:.1}", now_ms() - case_req.get_value().2)>
                    <CaseView case=*found query=q nearest=nothing_close.get_untracked() overlay=overlay on_close=close_case on_more=more_like />
                </div>
            }.into_any(),
            CaseState::Loading(id) => view! {
                <div class="case-backdrop"><section class="case" data-testid="case-loading" data-id=id>{t().case.case_loading}</section></div>
            }.into_any(),
            CaseState::Failed(message) => view! {
                <div class="case-backdrop"><section class="case" role="alert">
                    <p class="error" data-testid="case-error">{message}</p>
                    <button type="button" class="close" on:click=move |_| close_case()>{t().case.close}</button>
                </section></div>
            }.into_any(),
        })}
    }
    .into_any()
}

/// Header and load status.
#[component]
fn Shell<F>(
    /// Current phase of the app.
    phase: ReadSignal<Phase>,
    /// Embedded in an iframe: no header.
    embed: bool,
    /// Called by the retry button after a failed start.
    on_retry: F,
) -> impl IntoView
where
    F: Fn() + Clone + Send + Sync + 'static,
{
    view! {
        {(!embed).then(|| view! {
            <header>
                <h1>"skycase"</h1>
                <p class="tagline">{t().tagline}</p>
            </header>
        })}
        <div class="status" data-testid="status" aria-live="polite">
            {move || match phase.get() {
                Phase::Starting => view! { <span data-state="starting">{t().starting}</span> }.into_any(),
                Phase::Loading { stage, loaded, total } => view! {
                    <span data-state="loading">
                        <label>{(t().downloading)(&stage, &format_mb(loaded), &format_mb(total))}
                            <progress data-testid="progress" max=total.max(1).to_string() value=loaded.to_string()></progress>
                        </label>
                    </span>
                }.into_any(),
                Phase::Ready { frames, periods, init_ms, bytes } => view! {
                    <span data-state="ready" data-init-ms=format!("{init_ms:.1}")>
                        {(t().ready)(frames, &periods.join(", "), &format_mb(bytes), init_ms / 1000.0)}
                    </span>
                }.into_any(),
                Phase::Failed(message) => {
                    let retry = on_retry.clone();
                    view! {
                        <span data-state="failed" class="error" role="alert" data-testid="load-error">{(t().failed)(&message)}</span>
                        " "
                        <button type="button" data-testid="retry" on:click=move |_| retry()>{t().retry}</button>
                    }.into_any()
                }
            }}
        </div>
    }
}

/// What one result card shows, worked out once per hit.
#[derive(Debug, Clone, PartialEq)]
struct CardText {
    id: String,
    /// The frame's time as the worker sends it (`datetime`, "more like this").
    time: String,
    utc: String,
    local: Option<String>,
    score: f32,
    region: Option<String>,
    /// The matched region's caption line, without the bullet's dash.
    matched: Option<String>,
    strength: Option<f32>,
    /// One of the nearest cases under the "nothing close" notice ([`HitOut::nearest`]).
    nearest: bool,
    /// (frames, "episode" text, start, end).
    episode: Option<(usize, String, String, String)>,
    source: String,
    origin: String,
    caption: String,
    thumb: String,
}

impl CardText {
    fn new(hit: &HitOut) -> Self {
        let matched = hit
            .region
            .as_ref()
            .and_then(|r| hit.caption.lines().find(|l| skycase_vocab::parse_bullet(l).is_some_and(|(name, _)| name == r.as_str())))
            .map(|l| l.trim().trim_start_matches('-').trim().to_string());
        let (utc, local) = utc_and_local(&hit.time);
        let episode = hit.episode.as_ref().map(|e| {
            let (a, b) = span(&e.start, &e.end);
            (e.frames, (t().case.episode)(e.frames, &a, &b), e.start.clone(), e.end.clone())
        });
        CardText {
            id: hit.id.clone(),
            time: hit.time.clone(),
            utc,
            local,
            score: hit.score,
            region: hit.region.clone(),
            matched,
            strength: hit.strength,
            nearest: hit.nearest,
            episode,
            source: hit.source.clone(),
            origin: hit.origin.clone(),
            caption: hit.caption.clone(),
            thumb: hit.thumb.clone(),
        }
    }
}

/// Escapes text for HTML: element content and quoted attribute values alike.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl CardText {
    /// The card's accessible name.
    fn label(&self, rank: usize) -> String {
        (t().result_label)(rank, &self.utc, self.score, &self.matched.as_ref().map(|l| format!(", {l}")).unwrap_or_default())
    }

    /// Changes the elements of a card written for `self` (by [`CardText::body_html`], or
    /// changed by this) to say what `new` says, but for the thumbnail box and the link out;
    /// `None` where the meta lines do not have the same parts (local time, strength; then the
    /// card is written anew); a matched line or an episode line is put in or taken out. The
    /// caption is closed, as on a card written anew.
    fn patch(&self, li: &web_sys::Element, new: &CardText) -> Option<()> {
        let parts = |c: &CardText| (c.local.is_some(), c.strength.is_some());
        if parts(self) != parts(new) {
            return None;
        }
        let set = |el: &web_sys::Element, old: &str, new: &str| {
            if old != new {
                el.set_text_content(Some(new));
            }
        };
        let attr = |el: &web_sys::Element, name: &str, old: &str, new: &str| {
            if old != new {
                let _ = el.set_attribute(name, new);
            }
        };
        let card = li.children();
        // 0: the thumbnail box; 1: the meta line (0: the rank, the same in this element).
        let meta = card.item(1)?.children();
        let time = meta.item(1)?;
        attr(&time, "datetime", &self.time, &new.time);
        set(&time, &self.utc, &new.utc);
        let mut m = 2;
        if let (Some(a), Some(b)) = (&self.local, &new.local) {
            set(&meta.item(m)?, a, b);
            m += 1;
        }
        set(&meta.item(m)?, &format!("{:.3}", self.score), &format!("{:.3}", new.score));
        if let (Some(a), Some(b)) = (self.strength, new.strength) {
            let el = meta.item(m + 1)?;
            attr(&el, "data-strength", &format!("{a:.3}"), &format!("{b:.3}"));
            set(&el, &(t().strength_label)(a, self.nearest), &(t().strength_label)(b, new.nearest));
        }
        // The matched line and the episode: changed, taken out or put in (`card` is live).
        let mut k = 2;
        match (&self.matched, &new.matched) {
            (Some(a), Some(b)) => {
                set(&card.item(k)?, a, b);
                k += 1;
            }
            (Some(_), None) => card.item(k)?.remove(),
            (None, Some(_)) => {
                card.item(k)?.insert_adjacent_html("beforebegin", &new.matched_html()).ok()?;
                k += 1;
            }
            (None, None) => {}
        }
        match (&self.episode, &new.episode) {
            (Some((n, text, start, end)), Some((n2, text2, start2, end2))) => {
                let el = card.item(k)?;
                attr(&el, "data-frames", &n.to_string(), &n2.to_string());
                attr(&el, "data-start", start, start2);
                attr(&el, "data-end", end, end2);
                set(&el, text, text2);
                k += 1;
            }
            (Some(_), None) => card.item(k)?.remove(),
            (None, Some(_)) => {
                card.item(k)?.insert_adjacent_html("beforebegin", &new.episode_html()).ok()?;
                k += 1;
            }
            (None, None) => {}
        }
        let source = card.item(k)?;
        attr(&source, "data-origin", &self.origin, &new.origin);
        set(&source, &self.source, &new.source);
        let details = card.item(k + 1)?;
        let _ = details.remove_attribute("open");
        set(&details.last_element_child()?, &self.caption, &new.caption);
        Some(())
    }

    /// The matched region's line, as HTML (none without one).
    fn matched_html(&self) -> String {
        self.matched.as_ref().map(|l| format!(r#"<p class="matched" data-testid="matched-line">{}</p>"#, esc(l))).unwrap_or_default()
    }

    /// The episode's line, as HTML (none without one).
    fn episode_html(&self) -> String {
        self.episode
            .as_ref()
            .map(|(n, text, start, end)| format!(r#"<p class="episode" data-testid="episode" data-frames="{n}" data-start="{}" data-end="{}">{}</p>"#, esc(start), esc(end), esc(text)))
            .unwrap_or_default()
    }

    /// What the card holds, as HTML: `thumb` is its thumbnail box's content
    /// ([`thumb_html`]), `href` the embed's link out.
    fn body_html(&self, rank: usize, thumb: &str, href: Option<&str>) -> String {
        use std::fmt::Write;
        let s = t();
        let mut h = String::with_capacity(1024 + self.caption.len() + thumb.len());
        let _ = write!(h, r#"<div class="thumb" data-testid="open-thumb">{thumb}</div><div class="meta"><span class="rank">#{rank}</span><time datetime="{}">{}</time>"#, esc(&self.time), esc(&self.utc));
        if let Some(l) = &self.local {
            let _ = write!(h, r#"<span class="local" data-testid="local-time">{}</span>"#, esc(l));
        }
        let _ = write!(h, r#"<span class="score" title="{}">{:.3}</span>"#, esc(s.score_title), self.score);
        if let Some(v) = self.strength {
            let _ = write!(h, r#"<span class="strength" data-testid="strength" data-strength="{v:.3}" title="{}">{}</span>"#, esc(s.strength_title), esc(&(s.strength_label)(v, self.nearest)));
        }
        h.push_str("</div>");
        h.push_str(&self.matched_html());
        h.push_str(&self.episode_html());
        // The newline after <pre> is dropped by the parser, so a caption's own first line stays.
        let _ = write!(
            h,
            r#"<p class="source" data-testid="result-source" data-origin="{}">{}</p><details><summary>{}</summary><pre class="caption">
{}</pre></details><div class="actions"><button type="button" class="more" data-testid="more-like-this">{}</button><button type="button" class="open-case" data-testid="open-case">{}</button>"#,
            esc(&self.origin),
            esc(&self.source),
            esc(s.show_caption),
            esc(&self.caption),
            esc(s.more_like_this),
            esc(s.case.open_case)
        );
        if let Some(href) = href {
            let _ = write!(h, r#"<a class="open" data-testid="open-result" href="{}" target="_blank" rel="noopener">{}</a>"#, esc(href), esc(s.open_full));
        }
        h.push_str("</div>");
        h
    }
}

/// A card's thumbnail box: the thumbnail (`state`: `None` until the card is part of a whole
/// answer, then the file's state) with the basemap over it, or what stands for it (no
/// basemap: its lines would run across the notice). `decoding="async"`: the thumbnail is
/// decoded off the page's thread, which makes writing 20 cards about half as long
/// (docs/benchmarks.md, issue 11).
fn thumb_html(state: Option<Option<FileState>>, alt: &str, basemap: impl FnOnce() -> Option<String>) -> String {
    let alt = esc(alt);
    match state {
        Some(Some(FileState::Ready(url))) => format!(r#"<img src="{}" alt="{alt}" decoding="async">{}"#, esc(&url), basemap().unwrap_or_default()),
        Some(Some(FileState::Failed(reason))) => {
            // In place, the file and what is wrong; the whole message on hover.
            let short = reason.split(" (").next().unwrap_or(&reason);
            let unavailable = esc(t().image_unavailable);
            format!(
                r#"<div class="thumb-missing" role="img" aria-label="{unavailable}: {alt}" data-testid="thumb-missing" title="{reason}"><strong>{unavailable}</strong><small data-testid="thumb-missing-reason" data-reason="{reason}">{}</small></div>"#,
                esc(short),
                reason = esc(&reason)
            )
        }
        _ => format!(r#"<div class="thumb-loading" role="img" aria-label="{alt}" aria-busy="true" data-testid="thumb-loading"></div>"#),
    }
}

/// Rewrites a card's thumbnail box that holds `old` to hold `new` (both from [`thumb_html`];
/// `image`: the (URL, alt text) of the image `new` shows). An image in both stays the same
/// element with its `src` and `alt` changed, as the cards drawn by Leptos did (a new element
/// costs the frame more), and only the basemap after it is written anew where it differs.
fn rewrite_thumb(b: &web_sys::Element, old: &str, new: &str, image: Option<(&str, &str)>) {
    // An image's tag ends at the first '>': its attribute values are escaped.
    let rest = |h: &str| h.starts_with("<img ").then(|| h.find('>').map(|e| h[e + 1..].to_string())).flatten();
    let img = b.first_element_child().filter(|el| el.tag_name() == "IMG");
    match (img, image, rest(old), rest(new)) {
        (Some(img), Some((url, alt)), Some(was), Some(now)) => {
            if img.get_attribute("src").as_deref() != Some(url) {
                let _ = img.set_attribute("src", url);
            }
            let _ = img.set_attribute("alt", alt);
            if was != now {
                while let Some(after) = img.next_element_sibling() {
                    after.remove();
                }
                if !now.is_empty() {
                    let _ = b.insert_adjacent_html("beforeend", &now);
                }
            }
        }
        _ => b.set_inner_html(new),
    }
}

/// One rank's card element, kept for the page's life: a new answer writes the hit at its rank
/// into it; an answer with fewer hits (a cleared query: none) takes it out of the list, and a
/// later answer puts it back.
struct Slot {
    li: web_sys::Element,
    /// The hit it shows; `None` while it is out of the list.
    hit: Option<HitOut>,
    /// Its thumbnail's path once it shows a whole answer; it stays while the next query's
    /// partial answers show the same frame at this rank, so that a streaming answer costs the
    /// worker no thumbnail work and the page little drawing.
    whole: Option<String>,
    /// What its elements say, kept while it is out of the list: a card for another frame
    /// is written over them where it has the same parts ([`CardText::patch`]).
    card: Option<CardText>,
    /// Its thumbnail box's HTML and its link out, as written.
    thumb: String,
    href: Option<String>,
}

/// The result cards, one kept element per rank ([`Slot`]), drawn without a Leptos view per
/// card (which built ~25 reactive nodes and ~300 DOM calls per card). A rank whose hit is
/// unchanged (the whole answer after a partial one) is not touched; one showing another frame
/// has its text and attributes changed in place where the cards have the same parts
/// ([`CardText::patch`]); the others are written as HTML, all of an answer's in one parse. Only
/// the thumbnail box follows the thumbnail's arrival. The buttons and the thumbnail are handled
/// by one listener on the list. Markup, roles, labels and focus are those of the cards as
/// components drew them.
#[component]
fn ResultList<F, O>(
    /// The answer shown.
    hits: ReadSignal<Vec<HitOut>>,
    /// Called with (frame id, matched region, time) for "more like this".
    on_more: F,
    /// Opens the case view of a frame (by id).
    on_open: O,
    /// The bundle's basemap, once loaded.
    overlay: ReadSignal<Option<Arc<Overlay>>>,
    /// Whether the cards show a whole answer (not a partial one while it streams).
    answered: ReadSignal<bool>,
    /// In embed mode, the search (query, filters) that a card's link out opens in the full app.
    link_out: Option<(ReadSignal<String>, RwSignal<Filters>)>,
) -> impl IntoView
where
    F: Fn(String, Option<String>, String) + Copy + 'static,
    O: Fn(String) + Copy + 'static,
{
    let list = NodeRef::<leptos::html::Ol>::new();
    let slots = StoredValue::new_local(Vec::<Slot>::new());
    let files = use_context::<PageFiles>();
    // Every whole answer asks for its thumbnails, again for one that failed before; one loaded
    // or on its way is not asked for twice.
    Effect::new(move |_| {
        if let (true, Some(files)) = (answered.get(), files) {
            hits.with(|h| h.iter().for_each(|hit| files.request(&hit.thumb)));
        }
    });
    // Cards to rewrite are parsed together, once per answer: one parse of 20 cards takes
    // about a third of the time of 20 parses of one (docs/benchmarks.md, issue 11).
    let parse_box = StoredValue::new_local(None::<web_sys::Element>);
    Effect::new(move |_| {
        let Some(ol) = list.get() else { return };
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let answered = answered.get();
        let overlay = overlay.get();
        let link = link_out.map(|(query, filters)| (query.get(), filters.get()));
        hits.with(|hits| {
            slots.update_value(|slots| {
                // What each rank shows; the ranks whose hit changed are written into `html`.
                let mut html = String::new();
                let mut rewrite = Vec::new();
                for (i, hit) in hits.iter().enumerate() {
                    if slots.len() <= i {
                        let Ok(li) = document.create_element("li") else { return };
                        for (k, v) in [("class", "result"), ("data-testid", "result"), ("tabindex", "0")] {
                            let _ = li.set_attribute(k, v);
                        }
                        slots.push(Slot { li, hit: None, whole: None, card: None, thumb: String::new(), href: None });
                    }
                    let slot = &mut slots[i];
                    let whole = (answered || slot.whole.as_deref() == Some(hit.thumb.as_str())).then(|| hit.thumb.clone());
                    let alt = (t().image_alt)(&hit.time);
                    let state = whole.as_ref().map(|path| files.and_then(|f| f.state(path)));
                    let basemap = || overlay.as_deref().and_then(|o| crate::basemap::basemap_html(o, &hit.id, hit.region.as_deref(), esc));
                    let ready = match &state {
                        Some(Some(FileState::Ready(url))) => Some(url.clone()),
                        _ => None,
                    };
                    let thumb = thumb_html(state, &alt, basemap);
                    let image = ready.as_deref().map(|url| (url, alt.as_str()));
                    let href = link.as_ref().map(|(q, f)| url::full_app_href(q.trim(), f, Some(&hit.id)));
                    if slot.hit.as_ref() != Some(hit) {
                        let card = CardText::new(hit);
                        let li = &slot.li;
                        let old = slot.card.as_ref();
                        let differs = |f: fn(&CardText) -> String| old.is_none_or(|o| f(o) != f(&card));
                        if differs(|c| c.id.clone()) {
                            let _ = li.set_attribute("data-id", &card.id);
                        }
                        if differs(|c| format!("{:.6}", c.score)) {
                            let _ = li.set_attribute("data-score", &format!("{:.6}", card.score));
                        }
                        let _ = match &card.region {
                            Some(r) => li.set_attribute("data-region", r),
                            None => li.remove_attribute("data-region"),
                        };
                        let label = card.label(i + 1);
                        if old.is_none_or(|o| o.label(i + 1) != label) {
                            let _ = li.set_attribute("aria-label", &label);
                        }
                        // The card's elements are kept and their text and attributes changed
                        // where the new card has the same parts; otherwise written anew.
                        let patched = old.is_some_and(|o| o.patch(li, &card).is_some());
                        if patched {
                            if slot.thumb != thumb {
                                if let Some(b) = li.first_element_child() {
                                    rewrite_thumb(&b, &slot.thumb, &thumb, image);
                                }
                            }
                            if slot.href != href {
                                if let (Some(a), Some(href)) = (li.query_selector("a.open").ok().flatten(), &href) {
                                    let _ = a.set_attribute("href", href);
                                }
                            }
                        } else {
                            html.push_str("<li>");
                            html.push_str(&card.body_html(i + 1, &thumb, href.as_deref()));
                            html.push_str("</li>");
                            rewrite.push(i);
                        }
                        slot.hit = Some(hit.clone());
                        slot.card = Some(card);
                    } else {
                        if slot.thumb != thumb {
                            if let Some(b) = slot.li.first_element_child() {
                                rewrite_thumb(&b, &slot.thumb, &thumb, image);
                            }
                        }
                        if slot.href != href {
                            if let (Some(a), Some(href)) = (slot.li.query_selector("a.open").ok().flatten(), &href) {
                                let _ = a.set_attribute("href", href);
                            }
                        }
                    }
                    (slot.whole, slot.thumb, slot.href) = (whole, thumb, href);
                }
                if !rewrite.is_empty() {
                    let parsed = parse_box.with_value(Clone::clone).or_else(|| document.create_element("ol").ok());
                    parse_box.set_value(parsed.clone());
                    if let Some(parsed) = parsed {
                        parsed.set_inner_html(&html);
                        let new = parsed.children();
                        for (k, &i) in rewrite.iter().enumerate() {
                            let (Some(from), li) = (new.item(k as u32), &slots[i].li) else { continue };
                            // (A card has no text nodes between its parts.)
                            li.replace_children_with_node(&js_sys::Array::from(from.children().as_ref()));
                        }
                        parsed.set_text_content(None);
                    }
                }
                // Ranks put back in the list, in one call (they come after those already in it).
                let back = js_sys::Array::new();
                for slot in slots.iter().take(hits.len()).filter(|s| s.li.parent_node().is_none()) {
                    back.push(&slot.li);
                }
                if back.length() > 0 {
                    let _ = ol.append_with_node(&back);
                }
                // Ranks this answer does not fill: out of the list, their elements kept to be
                // written over when next used.
                for slot in slots.iter_mut().skip(hits.len()) {
                    if slot.hit.take().is_some() {
                        slot.li.remove();
                    }
                    slot.whole = None;
                }
            })
        });
    });
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let Some(target) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
        let Some(card) = target.closest("li.result").ok().flatten() else { return };
        let Some(id) = card.get_attribute("data-id") else { return };
        let within = |selector: &str| target.closest(selector).ok().flatten().is_some();
        if within(".more") {
            let time = card.query_selector("time").ok().flatten().and_then(|el| el.get_attribute("datetime")).unwrap_or_default();
            on_more(id, card.get_attribute("data-region"), time);
        } else if within(".open-case") || within(".thumb") {
            on_open(id);
        }
    };
    view! { <ol class="results" data-testid="results" aria-label=t().results_label node_ref=list on:click=on_click></ol> }
}

/// Date range, month/season, region and phenomenon filters; every change re-runs the
/// current query. The controls show the filters' state (set from the address on load).
#[component]
fn FilterBar<F>(
    /// The filters the worker applies.
    filters: RwSignal<Filters>,
    /// Every frame instead of one result per episode.
    every_frame: RwSignal<bool>,
    /// Called after any change.
    on_change: F,
) -> impl IntoView
where
    F: Fn() + Copy + 'static,
{
    use skycase_vocab::{PHENOMENA, REGIONS};
    use skycase_core::search::{months_spec, parse_months};
    let text = |v: String| (!v.is_empty()).then_some(v);
    let months = move || filters.with(|f| months_spec(&f.months));
    let region = move || filters.with(|f| f.region);
    let phenomenon = move || filters.with(|f| f.phenomenon.clone());
    // A date range that ends before it starts is refused with a message, not applied.
    let (range_error, set_range_error) = signal(None::<String>);
    let set_date = move |from: Option<String>, to: Option<String>| {
        let (from, to) = (from.or_else(|| filters.with_untracked(|f| f.from.clone())), to.or_else(|| filters.with_untracked(|f| f.to.clone())));
        let args = skycase_core::filters::FilterArgs { from: from.clone(), to: to.clone(), ..Default::default() };
        match skycase_core::filters::Filters::parse(&args) {
            Err(_) if from.is_some() && to.is_some() && to < from => {
                set_range_error.set(Some((t().case.reversed_range)(from.as_deref().unwrap_or(""), to.as_deref().unwrap_or(""))));
            }
            _ => {
                set_range_error.set(None);
                filters.update(|f| {
                    f.from = from;
                    f.to = to;
                });
                on_change();
            }
        }
    };
    // A compact drawer: closed on a phone's first screen, open on a wide one.
    let wide = web_sys::window().and_then(|w| w.inner_width().ok()).and_then(|w| w.as_f64()).is_none_or(|w| w > 600.0);
    let count = move || filters.with(|f| f.to_params().len()) + usize::from(every_frame.get());
    view! {
        <details class="filter-drawer" data-testid="filter-drawer" open=wide>
        <summary data-testid="filter-summary">{move || (t().case.filters_summary)(count())}</summary>
        <fieldset class="filters" data-testid="filters">
            <legend>{t().filters}</legend>
            <label>{t().from}
                <input type="date" data-testid="filter-from" prop:value=move || filters.with(|f| f.from.clone().unwrap_or_default())
                    on:change=move |ev| match text(event_target_value(&ev)) {
                        Some(v) => set_date(Some(v), None),
                        None => { set_range_error.set(None); filters.update(|f| f.from = None); on_change() }
                    } />
            </label>
            <label>{t().to}
                <input type="date" data-testid="filter-to" prop:value=move || filters.with(|f| f.to.clone().unwrap_or_default())
                    on:change=move |ev| match text(event_target_value(&ev)) {
                        Some(v) => set_date(None, Some(v)),
                        None => { set_range_error.set(None); filters.update(|f| f.to = None); on_change() }
                    } />
            </label>
            <label>{t().months}
                <select data-testid="filter-months"
                    on:change=move |ev| { filters.update(|f| f.months = parse_months(&event_target_value(&ev)).unwrap_or_default()); on_change() }>
                    <option value="" prop:selected=move || months().is_empty()>{t().any}</option>
                    <optgroup label=t().season>
                        {SEASONS.iter().map(|(code, _)| view! { <option value=*code prop:selected=move || months() == *code>{*code}</option> }).collect_view()}
                    </optgroup>
                    <optgroup label=t().month>
                        {t().month_names.iter().enumerate().map(|(i, name)| {
                            let value = (i + 1).to_string();
                            view! { <option value=value.clone() prop:selected=move || months() == value>{*name}</option> }
                        }).collect_view()}
                    </optgroup>
                </select>
            </label>
            <label>{t().region}
                <select data-testid="filter-region"
                    on:change=move |ev| { filters.update(|f| f.region = event_target_value(&ev).parse().ok()); on_change() }>
                    <option value="" prop:selected=move || region().is_none()>{t().any}</option>
                    {(0..REGIONS.len()).map(|i| view! {
                        <option value=i.to_string() prop:selected=move || region() == Some(i)>{t().region_names[i]}</option>
                    }).collect_view()}
                </select>
            </label>
            <SourceSelect filters=filters on_change=on_change />
            <label>{t().phenomenon}
                <select data-testid="filter-phenomenon"
                    on:change=move |ev| { filters.update(|f| f.phenomenon = text(event_target_value(&ev))); on_change() }>
                    <option value="" prop:selected=move || phenomenon().is_none()>{t().any}</option>
                    {PHENOMENA.iter().zip(t().phenomenon_names).map(|(p, name)| view! {
                        <option value=*p prop:selected=move || phenomenon().as_deref() == Some(*p)>{name}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="toggle">
                <input type="checkbox" data-testid="every-frame" prop:checked=move || every_frame.get()
                    on:change=move |ev| { every_frame.set(event_target_checked(&ev)); on_change() } />
                {t().case.every_frame}
            </label>
        </fieldset>
        {move || range_error.get().map(|e| view! { <p class="error" role="alert" data-testid="range-error">{e}</p> })}
        </details>
    }
}

/// The filters that are set, as a short list for the "nothing matches" message.
fn describe_filters(f: &Filters) -> String {
    let mut parts = Vec::new();
    if let Some(r) = f.region {
        parts.push(format!("{}= {}", t().region, t().region_names.get(r).copied().unwrap_or("?")));
    }
    if let Some(p) = f.phenomenon.as_deref() {
        let name = skycase_vocab::phenomenon_index(p).map(|i| t().phenomenon_names[i]).unwrap_or(p);
        parts.push(format!("{}= {name}", t().phenomenon));
    }
    for (key, value) in f.to_params() {
        if matches!(key, "from" | "to" | "months" | "source") {
            parts.push(format!("{key} = {value}"));
        }
    }
    parts.join(", ")
}

/// The time of a frame id's record is not known before its results arrive; "more like this"
/// from an address uses the id in the box until then.
fn id_time(id: &str) -> String {
    id.to_string()
}

/// The source filter: every calibrated frame, the calibrated real ones, or one satellite /
/// product (`skycase_core::source::ORIGINS`; an uncalibrated one is marked, searched only when
/// chosen); `source=` in the address.
#[component]
fn SourceSelect<F>(
    /// The filters the worker applies.
    filters: RwSignal<Filters>,
    /// Called after a change.
    on_change: F,
) -> impl IntoView
where
    F: Fn() + Copy + 'static,
{
    use skycase_core::source::{calibrated, parse_source, ORIGINS};
    let current = move || filters.with(|f| f.source.as_ref().map(|s| s.key().to_string()).unwrap_or_default());
    view! {
        <label>{t().source}
            <select data-testid="filter-source"
                on:change=move |ev| { filters.update(|f| f.source = parse_source(&event_target_value(&ev)).ok()); on_change() }>
                <option value="" prop:selected=move || current().is_empty()>{t().source_any}</option>
                <option value="real" prop:selected=move || current() == "real">{t().source_real}</option>
                {ORIGINS.iter().map(|(key, name)| view! {
                    <option value=*key prop:selected=move || current() == *key>{*name}{(!calibrated(key)).then(|| t().source_uncalibrated)}</option>
                }).collect_view()}
            </select>
        </label>
    }
}
