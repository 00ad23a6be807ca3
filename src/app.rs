//! The page: query box, filters, download progress, result grid. `?embed=1` gives the
//! compact layout for an iframe (see the README).

use std::sync::Arc;

use leptos::prelude::*;
use skycase_core::overlay::Overlay;
use skycase_core::search::SEASONS;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker};

use crate::basemap::Basemap;
use crate::i18n::{self, t};
use crate::protocol::{Filters, FromWorker, HitOut, ToWorker};
use crate::url;

/// Results shown per query.
const TOP_K: usize = 20;

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
    // A partitioned index's answer on its way: (partitions at hand, partitions planned).
    let (streaming, set_streaming) = signal(None::<(usize, usize)>);
    let filters = RwSignal::new(start.filters.clone());
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
            set_query_error.set(None);
            set_timings.set(None);
            return;
        }
        if !matches!(phase.get_untracked(), Phase::Ready { .. }) {
            return;
        }
        let id = latest.get_value().0 + 1;
        latest.set_value((id, now_ms(), text.clone()));
        post_to_worker(&ToWorker::Query { id, text, k: TOP_K, filters: filters.get_untracked(), lang: url::read().query_lang });
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
            }
            FromWorker::Partial { id, hits: new_hits, done, total } => {
                if id == latest.get_value().0 {
                    set_hits.set(new_hits);
                    set_streaming.set(Some((done, total)));
                }
            }
            FromWorker::Results { id, hits: new_hits, encode_ms, rank_ms, nothing_close, encoder, warning } => {
                let (latest_id, sent_at, text) = latest.get_value();
                if id != latest_id {
                    return;
                }
                set_streaming.set(None);
                let t_render = now_ms();
                // Part of a partitioned index missing: say so above the results from the rest.
                set_query_error.set(warning);
                set_nothing_close.set(nothing_close && !new_hits.is_empty());
                set_hits.set(new_hits);
                set_shown_for.set(text);
                // Leptos patches the DOM synchronously on set; measure after it.
                let t_done = now_ms();
                if let Some(target) = focus_next.get_value() {
                    focus_next.set_value(None);
                    // After the cards for these results exist (rendering finishes in microtasks).
                    set_timeout(move || focus_result(target.as_deref()), std::time::Duration::ZERO);
                }
                let encoder = if encoder == "multilingual" { "multilingual" } else { "minilm" };
                set_timings.set(Some(Timings { id, encode: encode_ms, rank: rank_ms, render: t_done - t_render, total: t_done - sent_at, encoder }));
            }
            FromWorker::Error { id: Some(id), message } => {
                if id == latest.get_value().0 {
                    set_streaming.set(None);
                    focus_next.set_value(None);
                    set_hits.set(Vec::new());
                    set_nothing_close.set(false);
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
            FromWorker::BenchRank { .. } => {}
        }
    });
    let on_error = Closure::<dyn Fn(web_sys::ErrorEvent)>::new(move |ev: web_sys::ErrorEvent| {
        set_phase.set(Phase::Failed(format!("the search worker failed: {}", ev.message())));
    });
    match crate::startup::search_worker(on_message.as_ref().unchecked_ref(), on_error.as_ref().unchecked_ref()) {
        Ok(w) => worker.set_value(Some(w)),
        Err(e) => set_phase.set(Phase::Failed(format!("cannot start the search worker: {e:?}"))),
    }
    // The handlers live as long as the page.
    on_message.forget();
    on_error.forget();

    // Instant search: re-query shortly after typing stops.
    let debounce = StoredValue::new(None::<leptos::leptos_dom::helpers::TimeoutHandle>);
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        set_query.set(text.clone());
        if let Some(h) = debounce.get_value() {
            h.clear();
        }
        let handle = set_timeout_with_handle(move || send_query(text), std::time::Duration::from_millis(120)).ok();
        debounce.set_value(handle);
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(h) = debounce.get_value() {
            h.clear();
        }
        send_query(query.get_untracked());
    };
    let more_like = move |shard: usize, frame: usize, vector: usize, label: String| {
        focus_next.set_value(Some(None));
        let id = latest.get_value().0 + 1;
        latest.set_value((id, now_ms(), (t().frames_like)(&label)));
        post_to_worker(&ToWorker::Similar { id, shard, frame, vector, k: TOP_K, filters: filters.get_untracked() });
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
        {(!embed).then(|| view! { <FilterBar filters=filters on_change=move || send_query(query.get_untracked()) /> })}
        {move || query_error.get().map(|e| view! { <p class="error" role="alert" data-testid="query-error">{e}</p> })}
        {move || timings.get().map(|t| view! {
            <p class="timings" data-testid="timings" data-query-id=t.id.to_string()
                data-encode-ms=format!("{:.3}", t.encode) data-rank-ms=format!("{:.3}", t.rank)
                data-render-ms=format!("{:.3}", t.render) data-total-ms=format!("{:.3}", t.total) data-encoder=t.encoder>
                {(i18n::t().timings)(hits.get().len(), &shown_for.get(), t.encode, t.rank, t.render)}
            </p>
        })}
        {move || (timings.get().is_some() && hits.with(Vec::is_empty)).then(|| view! {
            <p class="empty" data-testid="no-results">{t().no_match}</p>
        })}
        {move || streaming.get().map(|(done, total)| view! {
            <p class="streaming" role="status" data-testid="streaming" data-done=done.to_string() data-total=total.to_string()>{(t().streaming)(done, total)}</p>
        })}
        {move || nothing_close.get().then(|| view! {
            <p class="nothing-close" role="status" data-testid="nothing-close">{t().nothing_close}</p>
        })}
        <ol class="results" data-testid="results" aria-label=t().results_label>
            <For each=move || hits.get().into_iter().enumerate() key=|(i, h)| (*i, h.id.clone(), h.score.to_bits()) let:item>
                <ResultCard rank=item.0 + 1 hit=item.1 on_more=more_like overlay=overlay
                    link_out=embed.then_some((query, filters)) />
            </For>
        </ol>
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

/// One result: a card that takes keyboard focus, its thumbnail under the basemap, and
/// buttons for the caption and "more like this".
#[component]
fn ResultCard<F>(
    /// 1-based rank.
    rank: usize,
    /// The result.
    hit: HitOut,
    /// Called with (shard, frame, vector, label) for "more like this".
    on_more: F,
    /// The bundle's basemap, once loaded.
    overlay: ReadSignal<Option<Arc<Overlay>>>,
    /// In embed mode, the search (query, filters) that the card's link out opens in the full app.
    link_out: Option<(ReadSignal<String>, RwSignal<Filters>)>,
) -> impl IntoView
where
    F: Fn(usize, usize, usize, String) + Copy + 'static,
{
    let region_line = hit
        .region
        .as_ref()
        .and_then(|r| hit.caption.lines().find(|l| l.contains(r.as_str())).map(str::to_string));
    let label = hit.time.clone();
    let (shard, frame, vector) = (hit.shard, hit.frame, hit.vector);
    let time = hit.time.replace('T', " ").replace('Z', " UTC");
    let card_label = (t().result_label)(rank, &time, hit.score, &region_line.as_ref().map(|l| format!(", {}", l.trim_start_matches("- "))).unwrap_or_default());
    let (frame_id, region) = (hit.id.clone(), hit.region.clone());
    let link = link_out.map(|(query, filters)| {
        let id = hit.id.clone();
        move || url::full_app_href(query.get().trim(), &filters.get(), Some(&id))
    });
    view! {
        <li class="result" data-testid="result" data-id=hit.id.clone() data-score=format!("{:.6}", hit.score)
            data-region=hit.region.clone() tabindex="0" aria-label=card_label>
            <div class="thumb">
                <crate::verified::VerifiedImg path=hit.thumb.clone() alt=(t().image_alt)(&hit.time) />
                {move || overlay.get().map(|o| view! { <Basemap overlay=o frame_id=frame_id.clone() region=region.clone() /> })}
            </div>
            <div class="meta">
                <span class="rank">{format!("#{rank}")}</span>
                <time datetime=hit.time.clone()>{time.clone()}</time>
                <span class="score" title=t().score_title>{format!("{:.3}", hit.score)}</span>
                {hit.strength.map(|s| view! {
                    <span class="strength" data-testid="strength" data-strength=format!("{s:.3}") title=t().strength_title>
                        {(t().strength_label)(s)}
                    </span>
                })}
            </div>
            {region_line.map(|l| view! { <p class="matched">{l}</p> })}
            <p class="source" data-testid="result-source" data-origin=hit.origin.clone()>{hit.source.clone()}</p>
            <details>
                <summary>{t().show_caption}</summary>
                <pre class="caption">{hit.caption.clone()}</pre>
            </details>
            <div class="actions">
                <button type="button" class="more" on:click=move |_| on_more(shard, frame, vector, label.clone())>{t().more_like_this}</button>
                {link.map(|href| view! {
                    <a class="open" data-testid="open-result" href=href target="_blank" rel="noopener">{t().open_full}</a>
                })}
            </div>
        </li>
    }
}

/// Date range, month/season, region and phenomenon filters; every change re-runs the
/// current query. The controls show the filters' state (set from the address on load).
#[component]
fn FilterBar<F>(
    /// The filters the worker applies.
    filters: RwSignal<Filters>,
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
    view! {
        <fieldset class="filters" data-testid="filters">
            <legend>{t().filters}</legend>
            <label>{t().from}
                <input type="date" data-testid="filter-from" prop:value=move || filters.with(|f| f.from.clone().unwrap_or_default())
                    on:change=move |ev| { filters.update(|f| f.from = text(event_target_value(&ev))); on_change() } />
            </label>
            <label>{t().to}
                <input type="date" data-testid="filter-to" prop:value=move || filters.with(|f| f.to.clone().unwrap_or_default())
                    on:change=move |ev| { filters.update(|f| f.to = text(event_target_value(&ev))); on_change() } />
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
        </fieldset>
    }
}

/// The source filter: every frame, the real ones, or one satellite / product
/// (`skycase_core::source::ORIGINS`); `source=` in the address.
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
    use skycase_core::source::{parse_source, ORIGINS};
    let current = move || filters.with(|f| f.source.as_ref().map(|s| s.key().to_string()).unwrap_or_default());
    view! {
        <label>{t().source}
            <select data-testid="filter-source"
                on:change=move |ev| { filters.update(|f| f.source = parse_source(&event_target_value(&ev)).ok()); on_change() }>
                <option value="" prop:selected=move || current().is_empty()>{t().any}</option>
                <option value="real" prop:selected=move || current() == "real">{t().source_real}</option>
                {ORIGINS.iter().map(|(key, name)| view! {
                    <option value=*key prop:selected=move || current() == *key>{*name}</option>
                }).collect_view()}
            </select>
        </label>
    }
}
