//! The case view (issue 13): a result opened large, with coastlines and the matched region
//! outlined, a kelvin colour bar, the loop of the frames of the same source around it (fetched
//! when the case opens, checked by the worker like every image: each frame's medium image
//! where the bundle has one, else its thumbnail), why it matched (each region's score for the
//! query as a bar chart, the strength on a scale, the matched caption line marked), and
//! downloads: the loop as an animated PNG, and the case as a zip of the loop's PNGs and a JSON
//! of times, scores and captions. Its address is `#case=<frame id>`; Back closes it.

use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::*;
use skycase_core::episodes::{day_of, hours_since_epoch};
use skycase_core::overlay::Overlay;
use skycase_vocab::{parse_bullet, region_index};
use wasm_bindgen::JsCast;

use crate::basemap::Basemap;
use crate::i18n::t;
use crate::protocol::CaseOut;
use crate::verified::{PageFiles, VerifiedImg};

/// Hours of loop on each side of the case's frame.
pub const LOOP_HOURS: f64 = 12.0;

/// Time between two frames of the loop: 12.5 frames per second.
pub const FRAME_MS: u64 = 80;

/// The thumbnails' grey scale (crates/ingest/src/render.rs: `grey = 255·(310 K − BT)/(310 K − 190 K)`):
/// the colour bar runs from the cold end (white) to the warm end (black).
const DISPLAY_COLD_K: u32 = 190;
const DISPLAY_WARM_K: u32 = 310;

/// `YYYY-MM-DD HH:MM` of a time in hours since the epoch.
fn clock(hours: f64) -> String {
    let minutes = (hours * 60.0).round() as i64;
    let m = minutes.rem_euclid(24 * 60);
    format!("{} {:02}:{:02}", day_of(hours), m / 60, m % 60)
}

/// A frame's time as a card shows it: UTC, and the local time of Korea and Japan (both
/// UTC+9, KST and JST) beside it; the raw text when it cannot be read.
pub fn utc_and_local(time: &str) -> (String, Option<String>) {
    match hours_since_epoch(time) {
        Some(h) => (format!("{} UTC", clock(h)), Some(format!("{} KST/JST", clock(h + 9.0)))),
        None => (time.to_string(), None),
    }
}

/// The time of day (`HH:MM`) of an episode's end when it is the same day as its start.
pub fn span(start: &str, end: &str) -> (String, String) {
    let (a, b) = (utc_and_local(start).0, utc_and_local(end).0);
    match (a.split_once(' '), b.split_once(' ')) {
        (Some((da, _)), Some((db, tb))) if da == db => (a.clone(), tb.to_string()),
        _ => (a, b),
    }
}

/// The case view. `query` is the text the scores are for (empty: none).
#[component]
pub fn CaseView<C, M>(
    /// The case as the worker sent it.
    case: CaseOut,
    /// The query its scores answer.
    query: String,
    /// Opened from an answer with the "nothing close" notice: the frame is one of the nearest
    /// cases, and the scale says so as its card does.
    nearest: bool,
    /// The bundle's basemap, once loaded.
    overlay: ReadSignal<Option<Arc<Overlay>>>,
    /// Closes the view (Back does the same).
    on_close: C,
    /// "More like this" for (frame id, region, time).
    on_more: M,
) -> impl IntoView
where
    C: Fn() + Copy + 'static,
    M: Fn(String, Option<String>, String) + Copy + 'static,
{
    let files = use_context::<PageFiles>();
    let frames = Arc::new(case.frames.clone());
    let n = frames.len().max(1);
    let start = frames.iter().position(|f| f.id == case.frame.id).unwrap_or(0);
    let (index, set_index) = signal(start);
    let (playing, set_playing) = signal(false);
    let timer = StoredValue::new(None::<IntervalHandle>);
    // The loop's images, fetched now that the case is open (not with the results).
    if let Some(files) = files {
        for f in frames.iter() {
            files.request(f.image());
        }
    }
    let step = move |d: isize| set_index.update(|i| *i = (*i as isize + d).rem_euclid(n as isize) as usize);
    let pause = move || {
        if let Some(h) = timer.get_value() {
            h.clear();
        }
        timer.set_value(None);
        set_playing.set(false);
    };
    let play = move || {
        if timer.get_value().is_none() {
            timer.set_value(set_interval_with_handle(move || step(1), Duration::from_millis(FRAME_MS)).ok());
            set_playing.set(true);
        }
    };
    let toggle = move || if playing.get_untracked() { pause() } else { play() };
    on_cleanup(move || {
        if let Some(h) = timer.get_value() {
            h.clear();
        }
    });
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let handled = match ev.key().as_str() {
            " " | "k" => {
                toggle();
                true
            }
            "ArrowRight" | "l" => {
                pause();
                step(1);
                true
            }
            "ArrowLeft" | "j" => {
                pause();
                step(-1);
                true
            }
            "Home" => {
                pause();
                set_index.set(start);
                true
            }
            "Escape" => {
                pause();
                on_close();
                true
            }
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    };
    let root = NodeRef::<leptos::html::Section>::new();
    Effect::new(move |_| {
        if let Some(el) = root.get() {
            let _ = el.focus();
        }
    });

    let matched = case.matched.clone();
    let (frame_id, frame_time) = (case.frame.id.clone(), case.frame.time.clone());
    let times = frames.clone();
    let current_time = Memo::new(move |_| times.get(index.get()).map(|f| f.time.clone()).unwrap_or_default());
    let current_utc = move || utc_and_local(&current_time.get()).0;
    let current_local = move || utc_and_local(&current_time.get()).1.unwrap_or_default();
    let strength = matched.as_ref().and_then(|m| case.regions.iter().find(|r| &r.region == m)).and_then(|r| r.strength);
    let download_case = case.clone();
    let download_query = query.clone();
    let download = move |_: leptos::ev::MouseEvent| {
        if let Some(files) = files {
            download_zip(&download_case, &download_query, &files);
        }
    };
    let animation_case = case.clone();
    let download_animation = move |_: leptos::ev::MouseEvent| {
        if let Some(files) = files {
            download_apng(&animation_case, &files);
        }
    };
    let more_region = matched.clone();
    let more_id = frame_id.clone();
    let more_time = frame_time.clone();
    let image_frames = frames.clone();
    let basemap_id = frame_id.clone();
    let basemap_region = matched.clone();
    view! {
        <section class="case" data-testid="case-view" data-id=frame_id.clone() tabindex="-1" node_ref=root on:keydown=on_key
            role="dialog" aria-label=move || format!("{}: {}", t().case.open_case, current_utc())
            data-frame-index=move || index.get().to_string() data-frames=n.to_string() data-playing=move || playing.get().to_string()>
            <div class="case-head">
                <h2>
                    <time data-testid="case-time" datetime=move || current_time.get()>{current_utc}</time>
                    " " <small class="local" data-testid="case-local-time">{current_local}</small>
                </h2>
                <button type="button" class="close" data-testid="case-close" on:click=move |_| { pause(); on_close() }>{t().case.close}</button>
            </div>
            <div class="case-body">
                <div class="case-left">
                    <div class="case-image" data-testid="case-image">
                        {image_frames.iter().enumerate().map(|(i, f)| view! {
                            <div class="loop-frame" class:current=move || index.get() == i data-testid="loop-frame" data-time=f.time.clone()>
                                <VerifiedImg path=f.image().to_string() alt=(t().image_alt)(&f.time) />
                            </div>
                        }).collect_view()}
                        {move || overlay.get().map(|o| view! { <Basemap overlay=o frame_id=basemap_id.clone() region=basemap_region.clone() /> })}
                    </div>
                    <div class="colour-bar" data-testid="colour-bar" role="img" aria-label=t().case.colour_bar>
                        <span class="ramp"></span>
                        <span class="ticks">
                            {(0..=4).map(|i| view! { <span>{format!("{} K", DISPLAY_COLD_K + i * (DISPLAY_WARM_K - DISPLAY_COLD_K) / 4)}</span> }).collect_view()}
                        </span>
                        <small>{t().case.colour_bar}</small>
                    </div>
                    <div class="player" role="group">
                        <button type="button" data-testid="loop-prev" aria-label=t().case.previous on:click=move |_| { pause(); step(-1) }>"◀"</button>
                        <button type="button" data-testid="loop-play" on:click=move |_| toggle()>
                            {move || if playing.get() { t().case.pause } else { t().case.play }}
                        </button>
                        <button type="button" data-testid="loop-next" aria-label=t().case.next on:click=move |_| { pause(); step(1) }>"▶"</button>
                        <span class="position" data-testid="loop-position">{move || (t().case.frame_of)(index.get() + 1, n)}</span>
                    </div>
                    <p class="keys">{t().case.keys_help}</p>
                </div>
                <div class="case-right">
                    <Why case=case.clone() query=query.clone() strength=strength nearest=nearest />
                    <div class="case-actions">
                        <button type="button" class="more" data-testid="case-more" on:click=move |_| on_more(more_id.clone(), more_region.clone(), more_time.clone())>{t().more_like_this}</button>
                        <button type="button" class="download" data-testid="case-download" on:click=download>{t().case.download}</button>
                        <button type="button" class="download" data-testid="case-download-animation" on:click=download_animation>{t().case.download_animation}</button>
                    </div>
                    <p class="source">{case.source.clone()}</p>
                </div>
            </div>
        </section>
    }
}

/// Why it matched: each region's score for the query as bars (the matched one marked), the
/// matched region's strength on the scale strong / weak / nothing close, and the caption
/// with the matched line marked. Under the "nothing close" notice the scale's words are the
/// card's ("nearest case (NN %)"): the notice reads the answer as a whole, held to the
/// phenomenon's own threshold, so a frame's strength may sit in the strong zone while the
/// archive has nothing close; the marker still shows where it sits.
#[component]
fn Why(
    /// The case.
    case: CaseOut,
    /// The query (empty: opened without one).
    query: String,
    /// The matched region's calibrated strength.
    strength: Option<f32>,
    /// The answer had the "nothing close" notice.
    nearest: bool,
) -> impl IntoView {
    let mut rows = case.regions.clone();
    rows.sort_by(|a, b| b.score.total_cmp(&a.score));
    let max = rows.iter().map(|r| r.score).fold(0f32, f32::max).max(1e-6);
    const ROW: usize = 20;
    const BAR_X: f32 = 185.0;
    const BAR_W: f32 = 130.0;
    let height = (rows.len() * ROW).max(ROW);
    let matched = case.matched.clone();
    let level = match (strength, case.threshold, case.strong) {
        (Some(s), Some(_), Some(_)) if nearest => Some(("nearest", (t().strength_label)(s, true))),
        (Some(s), Some(th), Some(strong)) => {
            let (key, word) = if s >= strong {
                ("strong", t().case.scale_strong)
            } else if s >= th {
                ("weak", t().case.scale_weak)
            } else {
                ("nothing", t().case.scale_nothing)
            };
            Some((key, format!("{word} ({:.0} %)", s * 100.0)))
        }
        _ => None,
    };
    let marker = strength.map(|s| (s.clamp(0.0, 1.0) * 200.0) as i32);
    let zones = case.threshold.zip(case.strong).map(|(th, strong)| ((th.clamp(0.0, 1.0) * 200.0) as i32, (strong.clamp(0.0, 1.0) * 200.0) as i32));
    let matched_line = matched.clone();
    view! {
        <div class="why" data-testid="why">
            <h3>{t().case.why_title}</h3>
            {query.is_empty().then(|| view! { <p class="muted">{t().case.no_query}</p> })}
            {matched.clone().map(|m| {
                let name = region_index(&m).map(|r| t().region_names[r]).unwrap_or("").to_string();
                view! { <p class="matched-region" data-testid="why-matched" data-region=m>{(t().case.matched_region)(&name)}</p> }
            })}
            {level.map(|(key, word)| view! {
                <div class="scale" data-testid="why-scale" data-level=key data-strength=format!("{:.3}", strength.unwrap_or(0.0))>
                    <svg viewBox="0 0 200 14" width="200" height="14" role="img" aria-label=word.clone()>
                        {zones.map(|(a, b)| view! {
                            <rect class="zone nothing" x="0" y="3" width=a.to_string() height="8" />
                            <rect class="zone weak" x=a.to_string() y="3" width=(b - a).max(0).to_string() height="8" />
                            <rect class="zone strong" x=b.to_string() y="3" width=(200 - b).max(0).to_string() height="8" />
                        })}
                        {marker.map(|x| view! { <rect class="marker" x=(x - 1).max(0).to_string() y="0" width="3" height="14" /> })}
                    </svg>
                    <span class=format!("level {key}")>{word}</span>
                </div>
            })}
            {(!rows.is_empty()).then(|| view! {
                <svg class="why-chart" data-testid="why-chart" role="img" aria-label=t().case.why_chart
                    viewBox=format!("0 0 360 {height}") width="360" height=height.to_string()>
                    {rows.iter().enumerate().map(|(i, r)| {
                        let y = i * ROW;
                        let w = (r.score.max(0.0) / max * BAR_W).max(1.0);
                        let label = region_index(&r.region).map(|k| t().region_names[k]).unwrap_or(r.region.as_str()).to_string();
                        let is_match = matched.as_deref() == Some(r.region.as_str());
                        view! {
                            <g data-testid="why-row" data-region=r.region.clone() data-score=format!("{:.6}", r.score)
                                data-strength=r.strength.map(|s| format!("{s:.3}")) class:matched=is_match>
                                <text x="0" y=(y + 14).to_string()>{label}</text>
                                <rect x=BAR_X.to_string() y=(y + 4).to_string() width=format!("{w:.1}") height="12" rx="2" />
                                <text class="value" x=format!("{:.1}", BAR_X + w + 4.0) y=(y + 14).to_string()>{format!("{:.2}", r.score)}</text>
                            </g>
                        }
                    }).collect_view()}
                </svg>
            })}
            <h4>{t().case.caption_title}</h4>
            <ul class="caption-lines" data-testid="case-caption">
                {case.caption.lines().map(|line| {
                    let is_match = parse_bullet(line).is_some_and(|(r, _)| matched_line.as_deref() == Some(r));
                    let text = line.trim_start_matches("- ").to_string();
                    if is_match {
                        view! { <li class="matched" data-testid="caption-matched"><mark>{text}</mark></li> }.into_any()
                    } else {
                        view! { <li>{text}</li> }.into_any()
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}

/// Packs the case (the loop's checked PNGs as the page holds them, and `case.json`) into a
/// zip and hands it to the browser as a download.
fn download_zip(case: &CaseOut, query: &str, files: &PageFiles) {
    let mut entries = Vec::new();
    let mut listed = Vec::new();
    for (i, f) in case.frames.iter().enumerate() {
        let name = format!("frames/{:03}_{}.png", i + 1, f.time.replace([':', '-'], ""));
        let held = files.bytes(f.image());
        listed.push(serde_json::json!({ "id": f.id, "time": f.time, "file": held.as_ref().map(|_| name.clone()), "caption": f.caption }));
        if let Some(bytes) = held {
            entries.push((name, bytes));
        }
    }
    let json = serde_json::json!({
        "format": "skycase-case-1",
        "query": query,
        "frame": { "id": case.frame.id, "time": case.frame.time, "caption": case.caption, "source": case.source, "matched_region": case.matched },
        "regions": case.regions.iter().map(|r| serde_json::json!({ "region": r.region, "score": r.score, "strength": r.strength })).collect::<Vec<_>>(),
        "frames": listed,
    });
    entries.insert(0, ("case.json".to_string(), serde_json::to_vec_pretty(&json).unwrap_or_default()));
    let zip = crate::zip::stored(&entries);
    let name = format!("skycase-case-{}.zip", case.frame.id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_', "_"));
    let _ = save(&zip, &name, "application/zip");
}

/// The loop as an animated PNG (`crate::apng`), one frame per loop frame the page holds, each
/// shown as long as the player shows it ([`FRAME_MS`]), repeating forever.
fn download_apng(case: &CaseOut, files: &PageFiles) {
    let pngs: Vec<Vec<u8>> = case.frames.iter().filter_map(|f| files.bytes(f.image())).collect();
    if let Some((apng, _)) = crate::apng::animate(&pngs, FRAME_MS as u16) {
        let name = format!("skycase-loop-{}.png", case.frame.id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_', "_"));
        let _ = save(&apng, &name, "image/apng");
    }
}

fn save(bytes: &[u8], name: &str, mime: &str) -> Result<(), wasm_bindgen::JsValue> {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&js_sys::Array::of1(&js_sys::Uint8Array::from(bytes)), &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let a: web_sys::HtmlElement = document.create_element("a")?.dyn_into()?;
    a.set_attribute("href", &url)?;
    a.set_attribute("download", name)?;
    a.click();
    // The download has its own copy once started.
    set_timeout(move || { let _ = web_sys::Url::revoke_object_url(&url); }, Duration::from_secs(30));
    Ok(())
}
