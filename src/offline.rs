//! Releases and offline use on the page: registers the service worker (www/sw.js), offers a
//! downloaded update ("a new version is ready — reload"), shows whether the server can be
//! reached (the offline badge) and where saving the offline set stands.
//!
//! Contract:
//! - A new release (any change to the app's files or the bundle changes `sw.js`, see
//!   scripts/post-build) is installed in the background by the browser; the running version
//!   keeps serving, online and offline, until the user presses "Reload" here, which lets the
//!   new service worker take over and reloads the page once it has. The new worker then
//!   deletes the old release's caches.
//! - "Works offline" is shown only when the search worker has checked that every file of the
//!   offline set is in its cache ([`OfflineState::Ready`]) and a service worker is active
//!   (its install precached the page shell, or it would not be active).
//! - The badge says "Offline" while the browser is offline or the last update check could
//!   not reach the server.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Object, Reflect};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ServiceWorkerContainer, ServiceWorkerRegistration, ServiceWorkerState, Worker};

use crate::i18n::t;
use crate::protocol::{OfflineState, PeriodState, SavedPeriod, ToWorker};

/// How often a page left open checks for a new release.
const UPDATE_CHECK_MS: i32 = 30 * 60 * 1000;

/// The page's view of releases and offline use.
#[derive(Clone, Copy)]
pub struct OfflineStatus {
    /// A new release is installed and waits for a reload.
    pub update_ready: RwSignal<bool>,
    /// The browser is offline, or the server did not answer the last update check.
    pub unreachable: RwSignal<bool>,
    /// A service worker is active (so the page shell is cached).
    pub sw_active: RwSignal<bool>,
    /// Saving the offline set, as the search worker reports it.
    pub saving: RwSignal<Option<OfflineState>>,
    /// Why no service worker is active (it did not register or install: a full storage
    /// quota, most likely), so the page itself is not available offline.
    pub sw_error: RwSignal<Option<String>>,
    /// "Make this period available offline", as the search worker reports it.
    pub period: RwSignal<Option<PeriodState>>,
    /// The periods saved for offline use, as the search worker found them in the cache
    /// (`None` until it said).
    pub saved: RwSignal<Option<Vec<SavedPeriod>>>,
    /// The search worker, which sizes and saves periods.
    worker: StoredValue<Option<Worker>, LocalStorage>,
}

/// The page's offline state; the service worker registers with [`register_after_ready`].
/// `worker`: the search worker.
pub fn start(worker: StoredValue<Option<Worker>, LocalStorage>) -> OfflineStatus {
    OfflineStatus {
        update_ready: RwSignal::new(false),
        unreachable: RwSignal::new(!online()),
        sw_active: RwSignal::new(false),
        saving: RwSignal::new(None),
        sw_error: RwSignal::new(None),
        period: RwSignal::new(None),
        saved: RwSignal::new(None),
        worker,
    }
}

impl OfflineStatus {
    fn post(&self, msg: &ToWorker) {
        self.worker.with_value(|w| {
            if let (Some(w), Ok(v)) = (w, serde_wasm_bindgen::to_value(msg)) {
                let _ = w.post_message(&v);
            }
        });
    }
}

thread_local! {
    static REGISTERED: Cell<bool> = const { Cell::new(false) };
}

/// Registers the service worker (once per page), called when the index is ready: on a first
/// visit its install downloads the page shell again, which should not compete with the
/// bundle's download for the first answer. (A returning visitor's browser checks for a new
/// release at navigation anyway.)
pub fn register_after_ready(status: OfflineStatus) {
    if !REGISTERED.with(|r| r.replace(true)) {
        leptos::task::spawn_local(register(status));
    }
}

fn online() -> bool {
    web_sys::window().map(|w| w.navigator().on_line()).unwrap_or(true)
}

fn container() -> Option<ServiceWorkerContainer> {
    let navigator = web_sys::window()?.navigator();
    Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false).then(|| navigator.service_worker())
}

/// The service worker's script: `./sw.js`, with `?simd=plain` when the page has it (the search
/// worker then runs its plain-SIMD build, index.html), so that it precaches that build and
/// not the one the engine would pick (www/sw.js precaches only one).
fn sw_script() -> &'static str {
    let forced_plain = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|s| web_sys::UrlSearchParams::new_with_str(&s).ok())
        .and_then(|p| p.get("simd"))
        .is_some_and(|v| v == "plain");
    if forced_plain {
        "./sw.js?simd=plain"
    } else {
        "./sw.js"
    }
}

/// Registers `./sw.js` where service workers are available (elsewhere the app works online
/// only) and wires the update and reachability signals.
async fn register(status: OfflineStatus) {
    let Some(sw) = container() else { return };
    let reg: ServiceWorkerRegistration = match JsFuture::from(sw.register(sw_script())).await {
        Ok(reg) => reg.unchecked_into(),
        Err(e) => {
            let message = format!("the service worker did not register ({})", crate::fetch::js_message(&e));
            web_sys::console::warn_1(&format!("no offline use: {message}").into());
            status.sw_error.set(Some(message));
            return;
        }
    };
    // A first visit: sw.js was fetched just now, so the server is reachable; no check needed.
    let first_install = reg.active().is_none();
    // An update that was installed during an earlier visit and still waits.
    if reg.waiting().is_some() && sw.controller().is_some() {
        status.update_ready.set(true);
    }
    let watch_installing = {
        let reg = reg.clone();
        move || {
            let Some(installing) = reg.installing() else { return };
            let worker = installing.clone();
            let on_state = Closure::<dyn Fn()>::new(move || {
                // "installed" with a controller: an update (not the first install) waits.
                if worker.state() == ServiceWorkerState::Installed && container().and_then(|c| c.controller()).is_some() {
                    status.update_ready.set(true);
                }
                if worker.state() == ServiceWorkerState::Activated {
                    status.sw_active.set(true);
                    status.sw_error.set(None);
                }
                // Its install failed (it could not store the page's files).
                if worker.state() == ServiceWorkerState::Redundant && !status.sw_active.get_untracked() {
                    status.sw_error.set(Some(t().shell_not_saved.to_string()));
                }
            });
            installing.set_onstatechange(Some(on_state.as_ref().unchecked_ref()));
            on_state.forget();
        }
    };
    watch_installing();
    let on_update_found = Closure::<dyn Fn()>::new(watch_installing);
    reg.set_onupdatefound(Some(on_update_found.as_ref().unchecked_ref()));
    on_update_found.forget();
    status.sw_active.set(reg.active().is_some());

    // Reachability: the update check is the one request a repeat visit makes.
    if !first_install {
        check_for_update(&reg, status).await;
    }
    if let Some(window) = web_sys::window() {
        let reg2 = reg.clone();
        let recheck = Closure::<dyn Fn()>::new(move || {
            let reg = reg2.clone();
            leptos::task::spawn_local(async move { check_for_update(&reg, status).await });
        });
        let went_offline = Closure::<dyn Fn()>::new(move || status.unreachable.set(true));
        let _ = window.add_event_listener_with_callback("online", recheck.as_ref().unchecked_ref());
        let _ = window.add_event_listener_with_callback("offline", went_offline.as_ref().unchecked_ref());
        let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(recheck.as_ref().unchecked_ref(), UPDATE_CHECK_MS);
        recheck.forget();
        went_offline.forget();
    }
    if let Ok(ready) = sw.ready() {
        if JsFuture::from(ready).await.is_ok() {
            status.sw_active.set(true);
        }
    }
}

/// Asks the browser to look for a new `sw.js`; a failure to reach the server (a `TypeError`:
/// other failures, such as a registration whose install failed, say nothing about the
/// network) shows the badge.
async fn check_for_update(reg: &ServiceWorkerRegistration, status: OfflineStatus) {
    let unreachable = match reg.update() {
        Ok(p) => JsFuture::from(p).await.err().is_some_and(|e| e.is_instance_of::<js_sys::TypeError>()),
        Err(e) => e.is_instance_of::<js_sys::TypeError>(),
    };
    status.unreachable.set(unreachable || !online());
}

/// Registers the service worker again after it failed (the retry button).
fn retry_register(status: OfflineStatus) {
    if status.sw_error.get_untracked().is_some() {
        status.sw_error.set(None);
        leptos::task::spawn_local(register(status));
    }
}

/// Lets the waiting release take over, then reloads the page (once it controls the page).
fn apply_update() {
    let Some(sw) = container() else { return };
    let reload_once = Rc::new(Cell::new(false));
    let on_change = Closure::<dyn Fn()>::new(move || {
        if !reload_once.replace(true) {
            if let Some(w) = web_sys::window() {
                let _ = w.location().reload();
            }
        }
    });
    sw.set_oncontrollerchange(Some(on_change.as_ref().unchecked_ref()));
    on_change.forget();
    let reg = sw.get_registration();
    leptos::task::spawn_local(async move {
        let Ok(reg) = JsFuture::from(reg).await else { return };
        let Some(waiting) = reg.dyn_ref::<ServiceWorkerRegistration>().and_then(|r| r.waiting()) else {
            // Nothing waits (another tab applied it already): a plain reload runs the new one.
            if let Some(w) = web_sys::window() {
                let _ = w.location().reload();
            }
            return;
        };
        let msg = Object::new();
        let _ = Reflect::set(&msg, &"type".into(), &"skip-waiting".into());
        let _ = waiting.post_message(&msg);
    });
}

/// The update offer, the offline badge and the offline-saving state; `on_retry` asks the
/// search worker to save the offline set again.
#[component]
pub fn OfflineBar<F>(
    /// What to show.
    status: OfflineStatus,
    /// Called by the retry button after saving failed.
    on_retry: F,
) -> impl IntoView
where
    F: Fn() + Copy + Send + Sync + 'static,
{
    view! {
        <div class="offline-bar" data-testid="offline-bar">
            {move || status.update_ready.get().then(|| view! {
                <span class="update" role="status" data-testid="update-ready">
                    {t().update_ready} " "
                    <button type="button" data-testid="update-reload" on:click=move |_| apply_update()>{t().reload}</button>
                </span>
            })}
            {move || status.unreachable.get().then(|| view! {
                <span class="badge badge-offline" data-testid="offline-badge">{t().offline_badge}</span>
            })}
            {move || match status.saving.get() {
                Some(OfflineState::Saving { done, total }) => Some(view! {
                    <span class="offline-saving" data-testid="offline-saving">{(t().offline_saving)(done, total)}</span>
                }.into_any()),
                Some(OfflineState::Ready { files }) if status.sw_active.get() => Some(view! {
                    <span class="badge badge-ready" data-testid="offline-ready" data-files=files.to_string()>{t().offline_ready}</span>
                }.into_any()),
                Some(OfflineState::Failed { message }) => Some(view! {
                    <span class="error" role="alert" data-testid="offline-failed">{(t().offline_failed)(&message)}</span>
                    " "
                    <button type="button" data-testid="retry-offline" on:click=move |_| { retry_register(status); on_retry() }>{t().retry}</button>
                }.into_any()),
                // The bundle is saved, but the page itself is not: still not offline.
                Some(OfflineState::Ready { .. }) => status.sw_error.get().map(|message| view! {
                    <span class="error" role="alert" data-testid="offline-failed">{(t().offline_failed)(&message)}</span>
                    " "
                    <button type="button" data-testid="retry-offline" on:click=move |_| { retry_register(status); on_retry() }>{t().retry}</button>
                }.into_any()),
                _ => None,
            }}
            {(!crate::url::read().embed).then(|| view! { <OfflinePeriod status=status /> })}
        </div>
    }
}

/// Free bytes the browser offers this site (quota less usage), where it says.
async fn storage_room() -> Option<u64> {
    let storage = web_sys::window()?.navigator().storage();
    let estimate = JsFuture::from(storage.estimate().ok()?).await.ok()?;
    let field = |name: &str| Reflect::get(&estimate, &name.into()).ok().and_then(|v| v.as_f64());
    Some((field("quota")? - field("usage").unwrap_or(0.0)).max(0.0) as u64)
}

/// Asks the browser to keep this site's storage until the user clears it
/// (`navigator.storage.persist()`); whether it agreed.
async fn persist() -> bool {
    let Some(storage) = web_sys::window().map(|w| w.navigator().storage()) else { return false };
    match storage.persist() {
        Ok(p) => JsFuture::from(p).await.ok().and_then(|v| v.as_bool()).unwrap_or(false),
        Err(_) => false,
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn non_empty(s: String) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.trim().to_string())
}

/// "Make this period available offline": a date range (from the address's filters at first)
/// or everything; its size first (from the manifest) beside what the browser offers, then, on
/// "Save", `navigator.storage.persist()` and a progress bar while the search worker
/// downloads, checks and stores the period; a refusal or a full quota is said plainly.
#[component]
fn OfflinePeriod(
    /// Where saving stands and the worker to ask.
    status: OfflineStatus,
) -> impl IntoView {
    let start = crate::url::read().filters;
    let everything = RwSignal::new(start.from.is_none() && start.to.is_none());
    let from = RwSignal::new(start.from.unwrap_or_default());
    let to = RwSignal::new(start.to.unwrap_or_default());
    let room = RwSignal::new(None::<u64>);
    let persisted = RwSignal::new(None::<bool>);
    let ask = move |save: bool| {
        let (from, to) = if everything.get_untracked() { (None, None) } else { (non_empty(from.get_untracked()), non_empty(to.get_untracked())) };
        status.post(&ToWorker::OfflinePeriod { from, to, save });
    };
    let estimate = move || {
        status.period.set(None);
        persisted.set(None);
        ask(false);
        leptos::task::spawn_local(async move { room.set(storage_room().await) });
    };
    let save = move || {
        status.period.set(Some(PeriodState::Saving { done: 0, total: 0 }));
        ask(true);
        leptos::task::spawn_local(async move { persisted.set(Some(persist().await)) });
    };
    view! {
        <details class="offline-period" data-testid="offline-period">
            <summary>{t().period_title}</summary>
            <fieldset>
                <label><input type="radio" name="offline-period" data-testid="offline-period-all"
                    prop:checked=move || everything.get() on:change=move |_| everything.set(true) />{t().period_all}</label>
                " "
                <label><input type="radio" name="offline-period" data-testid="offline-period-dates"
                    prop:checked=move || !everything.get() on:change=move |_| everything.set(false) />{t().period_dates}</label>
                " "
                <label>{t().from}<input type="date" data-testid="offline-period-from" prop:value=move || from.get()
                    on:change=move |ev| { from.set(event_target_value(&ev)); everything.set(false) } /></label>
                " "
                <label>{t().to}<input type="date" data-testid="offline-period-to" prop:value=move || to.get()
                    on:change=move |ev| { to.set(event_target_value(&ev)); everything.set(false) } /></label>
                " "
                <button type="button" data-testid="offline-period-estimate" on:click=move |_| estimate()>{t().period_estimate}</button>
            </fieldset>
            {move || match status.period.get() {
                Some(PeriodState::Estimate { months, files, bytes }) => {
                    let (first, last) = (months.first().cloned().unwrap_or_default(), months.last().cloned().unwrap_or_default());
                    let fits = room.get().is_none_or(|r| bytes <= r);
                    view! {
                        <p data-testid="offline-period-estimate-text" data-bytes=bytes.to_string() data-files=files.to_string() data-months=months.join(",")>
                            {(t().period_size)(&mb(bytes), files, &first, &last)} " "
                            {move || room.get().map(|r| if fits {
                                view! { <span data-testid="offline-period-room" data-room=r.to_string()>{(t().period_room)(&mb(r))}</span> }.into_any()
                            } else {
                                view! { <span class="error" role="alert" data-testid="offline-period-noroom" data-room=r.to_string()>{(t().period_no_room)(&mb(bytes), &mb(r))}</span> }.into_any()
                            })}
                        </p>
                        <button type="button" data-testid="offline-period-save" on:click=move |_| save()>{t().period_save}</button>
                    }.into_any()
                }
                Some(PeriodState::Saving { done, total }) => view! {
                    <label data-testid="offline-period-saving">{(t().period_saving)(&mb(done), &mb(total))}
                        <progress data-testid="offline-period-progress" max=total.max(1).to_string() value=done.to_string()></progress>
                    </label>
                }.into_any(),
                Some(PeriodState::Saved { months, files, bytes }) => view! {
                    <p class="badge-ready" role="status" data-testid="offline-period-saved" data-files=files.to_string() data-bytes=bytes.to_string() data-months=months.join(",")>
                        {(t().period_saved)(&months.first().cloned().unwrap_or_default(), &months.last().cloned().unwrap_or_default(), files, &mb(bytes))}
                    </p>
                }.into_any(),
                Some(PeriodState::Failed { message }) => view! {
                    <p class="error" role="alert" data-testid="offline-period-failed">{(t().period_failed)(&message)}</p>
                    <button type="button" data-testid="offline-period-retry" on:click=move |_| estimate()>{t().retry}</button>
                }.into_any(),
                None => ().into_any(),
            }}
            {move || {
                let saved = status.saved.get()?;
                let (count, any) = (saved.len().to_string(), !saved.is_empty());
                Some(view! {
                    <div data-testid="offline-period-list" data-count=count>
                        {any.then(|| view! { <p>{t().period_saved_list}</p> })}
                        <ul>
                            {saved.into_iter().map(|p| {
                                let dates = match (&p.from, &p.to) {
                                    (None, None) => t().period_all.to_string(),
                                    (f, to) => format!("{} – {}", f.as_deref().unwrap_or("…"), to.as_deref().unwrap_or("…")),
                                };
                                let (first, last) = (p.months.first().cloned().unwrap_or_default(), p.months.last().cloned().unwrap_or_default());
                                view! {
                                    <li data-testid="offline-period-item" data-months=p.months.join(",") data-files=p.files.to_string()
                                        data-bytes=p.bytes.to_string() data-missing=p.missing.to_string()>
                                        {(t().period_saved_item)(&dates, &first, &last, p.files, &mb(p.bytes))}
                                        {(p.missing > 0).then(|| view! { " " <span class="error">{(t().period_saved_missing)(p.missing)}</span> })}
                                    </li>
                                }
                            }).collect::<Vec<_>>()}
                        </ul>
                    </div>
                })
            }}
            {move || persisted.get().map(|granted| view! {
                <p class=if granted { "persist" } else { "persist error" } role="status" data-testid="offline-period-persist" data-persisted=granted.to_string()>
                    {if granted { t().period_persisted } else { t().period_not_persisted }}
                </p>
            })}
        </details>
    }
}
