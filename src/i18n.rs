//! Interface strings in English and Korean. The language follows the browser
//! (`navigator.languages`, first match of `ko` or `en`) unless the address says `lang=ko` or
//! `lang=en`; every string the page shows comes from one [`Strings`] table, so a translation
//! is one place to edit and a missing one is a compile error.

use std::sync::OnceLock;

use skycase_core::strength::{POSSIBLE, STRONG};
use skycase_vocab::{PHENOMENA, REGIONS};
use web_sys::UrlSearchParams;

static PAGE_LANG: OnceLock<Lang> = OnceLock::new();

/// Fixes the page's language (the first call wins) and marks `<html lang>` with it.
pub fn set_page_lang(lang: Lang) -> Lang {
    let lang = *PAGE_LANG.get_or_init(|| lang);
    if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.set_attribute("lang", lang.tag());
    }
    lang
}

/// The page's language ([`Lang::En`] until [`set_page_lang`] runs).
pub fn page_lang() -> Lang {
    PAGE_LANG.get().copied().unwrap_or_default()
}

/// The page's interface strings.
pub fn t() -> &'static Strings {
    page_lang().strings()
}

/// A language the interface speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English, the default.
    #[default]
    En,
    /// Korean.
    Ko,
}

impl Lang {
    /// The BCP 47 tag, for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }

    /// Reads a `lang` parameter value or a browser language tag (`ko-KR`, `en_GB`, `KO`):
    /// `None` for languages the interface does not speak.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "ko" | "kor" => Some(Lang::Ko),
            "en" | "eng" => Some(Lang::En),
            _ => None,
        }
    }

    /// The page's language: `lang=` in the address, else the first of the browser's
    /// preferred languages that the interface speaks, else English.
    pub fn detect(params: Option<&UrlSearchParams>) -> Lang {
        if let Some(lang) = params.and_then(|p| p.get("lang")).and_then(|v| Lang::from_tag(&v)) {
            return lang;
        }
        let Some(navigator) = web_sys::window().map(|w| w.navigator()) else { return Lang::En };
        navigator
            .languages()
            .iter()
            .filter_map(|v| v.as_string())
            .chain(navigator.language())
            .find_map(|tag| Lang::from_tag(&tag))
            .unwrap_or_default()
    }

    /// The interface strings in this language.
    pub fn strings(self) -> &'static Strings {
        match self {
            Lang::En => &EN,
            Lang::Ko => &KO,
        }
    }
}

/// Every string the page shows. Functions take the values that a sentence carries, because
/// word order differs between the languages.
pub struct Strings {
    pub tagline: &'static str,
    pub input_label: &'static str,
    pub placeholder: &'static str,
    pub search: &'static str,
    pub open_full: &'static str,
    pub results_label: &'static str,
    pub no_match: &'static str,
    /// No result, the query's period (`skycase_core::when`, as written) having none.
    pub no_period: fn(said: &str) -> String,
    pub starting: &'static str,
    pub downloading: fn(stage: &str, loaded: &str, total: &str) -> String,
    pub ready: fn(frames: usize, periods: &str, loaded: &str, seconds: f64) -> String,
    pub failed: fn(message: &str) -> String,
    pub timings: fn(count: usize, query: &str, encode: f64, rank: f64, render: f64) -> String,
    pub result_label: fn(rank: usize, time: &str, score: f32, line: &str) -> String,
    pub image_alt: fn(time: &str) -> String,
    pub score_title: &'static str,
    pub show_caption: &'static str,
    pub more_like_this: &'static str,
    pub frames_like: fn(time: &str) -> String,
    pub filters: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub months: &'static str,
    pub any: &'static str,
    pub season: &'static str,
    pub month: &'static str,
    pub month_names: [&'static str; 12],
    pub region: &'static str,
    /// The study's 13 regions, in `skycase_vocab::REGIONS` order.
    pub region_names: [&'static str; 13],
    pub phenomenon: &'static str,
    /// The five phenomena, in `skycase_vocab::PHENOMENA` order.
    pub phenomenon_names: [&'static str; 5],
    /// The source filter's label, its "every calibrated frame" and "every calibrated real
    /// frame" choices, and what follows the name of an origin searched only when chosen
    /// (`skycase_core::source::UNCALIBRATED`).
    pub source: &'static str,
    pub source_any: &'static str,
    pub source_real: &'static str,
    pub source_uncalibrated: &'static str,
    /// Shown above results whose best score is below the calibrated "relevant" level.
    pub nothing_close: &'static str,
    /// Shown above the results of a query that names places outside the 13 regions
    /// (`skycase_vocab::gazetteer::OUTSIDE`), given as written, joined.
    pub outside_map: fn(places: &str) -> String,
    /// Shown above the results of a query that names a storm of the archive
    /// (`skycase_core::storms`): its days, or that they lie outside the date filters.
    pub storm_days: fn(note: &skycase_core::storms::StormNote) -> String,
    /// Shown above the results of a query that writes a period (`skycase_core::when`): its
    /// days, or that they lie outside the date filters.
    pub period_days: fn(note: &skycase_core::when::PeriodNote) -> String,
    /// Shown above the results of a query with Chinese characters or kana, which no encoder
    /// reads (`skycase_core::reading::unread_script`; the runs as written, joined).
    pub unread: fn(runs: &str) -> String,
    /// Tooltip of a result's calibrated strength.
    pub strength_title: &'static str,
    /// A result's calibrated strength (a probability, 0–1) as a short label; `nearest`: the
    /// answer has the "nothing close" notice, so the card is one of the nearest cases.
    pub strength_label: fn(strength: f32, nearest: bool) -> String,
    // Updates, offline use and recovery (src/offline.rs, src/verified.rs).
    /// Retry button after a failed download.
    pub retry: &'static str,
    /// In place of a result's image that could not be downloaded or checked.
    pub image_unavailable: &'static str,
    /// A downloaded update waits for a reload.
    pub update_ready: &'static str,
    pub reload: &'static str,
    /// Badge: the network or the server cannot be reached.
    pub offline_badge: &'static str,
    pub offline_saving: fn(done: usize, total: usize) -> String,
    /// Shown only once every file a search can show offline is in the cache.
    pub offline_ready: &'static str,
    pub offline_failed: fn(message: &str) -> String,
    /// The service worker did not install, so the page itself is not saved.
    pub shell_not_saved: &'static str,
    /// Weather cases: episodes, the case view, why a frame matched (issue 13).
    pub case: &'static CaseStrings,
    /// Results shown while a partitioned index's partitions arrive.
    pub streaming: fn(done: usize, total: usize) -> String,
    // "Make this period available offline" (src/offline.rs, a partitioned index).
    pub period_title: &'static str,
    pub period_all: &'static str,
    pub period_dates: &'static str,
    pub period_estimate: &'static str,
    /// The size estimate: megabytes, files, first and last month.
    pub period_size: fn(mb: &str, files: usize, first: &str, last: &str) -> String,
    /// What the browser offers this site (quota less usage).
    pub period_room: fn(mb: &str) -> String,
    /// The estimate exceeds what the browser offers.
    pub period_no_room: fn(need: &str, room: &str) -> String,
    pub period_save: &'static str,
    pub period_saving: fn(done: &str, total: &str) -> String,
    pub period_saved: fn(first: &str, last: &str, files: usize, mb: &str) -> String,
    pub period_failed: fn(message: &str) -> String,
    /// `navigator.storage.persist()` granted, or refused.
    pub period_persisted: &'static str,
    pub period_not_persisted: &'static str,
    /// Heading of the periods saved earlier (listed from the browser's cache).
    pub period_saved_list: &'static str,
    /// One saved period: its dates (or everything), months, files and megabytes.
    pub period_saved_item: fn(dates: &str, first: &str, last: &str, files: usize, mb: &str) -> String,
    /// Part of a saved period is no longer in the browser's storage.
    pub period_saved_missing: fn(files: usize) -> String,
}

/// Strings of weather cases: episodes on the cards, the case view and its loop, the
/// explanation chart, the landing page and the filter messages.
pub struct CaseStrings {
    /// The landing page: what the archive holds and where it comes from.
    pub coverage: &'static str,
    pub examples_label: &'static str,
    /// Example queries (shown as buttons that run them), in the interface language. The first,
    /// the one a newcomer clicks, has strong matches in the demo month (a typhoon over the
    /// South China Sea in early November 2017); the last has none there and shows the
    /// "nothing close" notice (tests/e2e/cases.test.mjs checks both).
    pub examples: [&'static str; 6],
    /// Toggle: every frame instead of one result per episode.
    pub every_frame: &'static str,
    /// An episode on a card: its frame count and span.
    pub episode: fn(frames: usize, start: &str, end: &str) -> String,
    /// Button on a card that opens the case view.
    pub open_case: &'static str,
    pub close: &'static str,
    pub play: &'static str,
    pub pause: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
    pub download: &'static str,
    /// Downloads the loop as an animated PNG.
    pub download_animation: &'static str,
    /// The loop's position: frame `i` of `n`.
    pub frame_of: fn(i: usize, n: usize) -> String,
    pub keys_help: &'static str,
    pub colour_bar: &'static str,
    pub why_title: &'static str,
    /// Chart caption: per-region scores of this frame for the query.
    pub why_chart: &'static str,
    pub no_query: &'static str,
    pub matched_region: fn(region: &str) -> String,
    pub scale_strong: &'static str,
    pub scale_weak: &'static str,
    pub scale_nothing: &'static str,
    pub case_loading: &'static str,
    /// The full caption, with the matched line marked.
    pub caption_title: &'static str,
    /// No result passes the filters: which filters are set.
    pub empty_filters: fn(filters: &str) -> String,
    pub reversed_range: fn(from: &str, to: &str) -> String,
    pub filters_summary: fn(n: usize) -> String,
    /// The "more like this" query's text in the box.
    pub like_text: fn(time: &str, region: &str) -> String,
}

static CASE_EN: CaseStrings = CaseStrings {
    coverage: "The archive: a simulated month of hourly infrared images (November 2017, made by a weather simulator with real typhoon tracks) and real satellite frames (COMS, GK-2A, Digital Typhoon; 2007–2012; KMA's PNG products, whose grey levels are not calibrated, only when chosen as the source). Captions are per region: snow, clear, cloudy, rain or typhoon.",
    examples_label: "Try:",
    examples: ["typhoon over the South China Sea", "heavy snow over Hokkaido", "clear skies across Mongolia", "rain along the Pacific coast of Japan", "cloudy East China Sea", "typhoon approaching Kyushu"],
    every_frame: "Every frame (no episodes)",
    episode: |n, a, b| if n == 1 { format!("1 frame · {a}") } else { format!("episode: {n} frames · {a} – {b}") },
    open_case: "Open case",
    close: "Close",
    play: "Play",
    pause: "Pause",
    previous: "Previous frame",
    next: "Next frame",
    download: "Download case (zip: frames + JSON)",
    download_animation: "Download loop (animated PNG)",
    frame_of: |i, n| format!("frame {i} of {n}"),
    keys_help: "Space: play/pause · ←/→: step · Esc: close",
    colour_bar: "Brightness temperature (K): cold cloud tops are bright",
    why_title: "Why it matched",
    why_chart: "Score of each region of this frame for the query",
    no_query: "Opened without a query: no scores to show.",
    matched_region: |r| format!("Matched region: {r}"),
    scale_strong: "strong",
    scale_weak: "weak",
    scale_nothing: "nothing close",
    case_loading: "Opening the case…",
    caption_title: "Caption (matched line marked)",
    empty_filters: |f| format!("No frame matches these filters ({f}). Clear one of them to see results."),
    reversed_range: |a, b| format!("The date range ends ({b}) before it starts ({a}): not applied."),
    filters_summary: |n| if n == 0 { "Filters".to_string() } else { format!("Filters ({n})") },
    like_text: |time, region| if region.is_empty() { format!("like {time}") } else { format!("like {time}, {region}") },
};

static CASE_KO: CaseStrings = CaseStrings {
    coverage: "자료: 시간별 적외 영상 한 달(2017년 11월, 실제 태풍 경로를 쓴 기상 시뮬레이터로 만든 모의 자료)과 실제 위성 영상(COMS, GK-2A, Digital Typhoon; 2007–2012년; 밝기가 보정되지 않은 기상청 PNG 영상은 출처로 고를 때만). 설명은 지역별로 눈, 맑음, 흐림, 비, 태풍입니다.",
    examples_label: "예시:",
    examples: ["남중국해의 태풍", "홋카이도에 폭설", "몽골 전역 맑음", "일본 태평양 연안에 비", "동중국해 흐림", "규슈에 접근하는 태풍"],
    every_frame: "모든 영상 보기(사례로 묶지 않음)",
    episode: |n, a, b| if n == 1 { format!("영상 1장 · {a}") } else { format!("사례: 영상 {n}장 · {a} – {b}") },
    open_case: "사례 열기",
    close: "닫기",
    play: "재생",
    pause: "일시정지",
    previous: "이전 영상",
    next: "다음 영상",
    download: "사례 내려받기(zip: 영상 + JSON)",
    download_animation: "루프 내려받기(애니메이션 PNG)",
    frame_of: |i, n| format!("{n}장 중 {i}번째"),
    keys_help: "스페이스: 재생/일시정지 · ←/→: 한 장씩 · Esc: 닫기",
    colour_bar: "휘도 온도(K): 차가운 구름 꼭대기가 밝게 보임",
    why_title: "일치한 이유",
    why_chart: "이 영상의 지역별 질의 점수",
    no_query: "질의 없이 열었습니다: 보여 줄 점수가 없습니다.",
    matched_region: |r| format!("일치한 지역: {r}"),
    scale_strong: "강함",
    scale_weak: "약함",
    scale_nothing: "가까운 사례 없음",
    case_loading: "사례를 여는 중…",
    caption_title: "설명(일치한 줄 표시)",
    empty_filters: |f| format!("이 필터({f})에 맞는 영상이 없습니다. 필터를 하나 지워 보세요."),
    reversed_range: |a, b| format!("기간의 끝({b})이 시작({a})보다 앞섭니다: 적용하지 않았습니다."),
    filters_summary: |n| if n == 0 { "필터".to_string() } else { format!("필터 ({n})") },
    like_text: |time, region| if region.is_empty() { format!("{time}과 비슷한 영상") } else { format!("{time}, {region}과 비슷한 영상") },
};

/// English.
pub static EN: Strings = Strings {
    tagline: "Find past weather in infrared satellite images of East Asia by describing it.",
    input_label: "Describe the weather you are looking for",
    placeholder: "typhoon approaching Kyushu, heavy snow over Hokkaido…",
    search: "Search",
    open_full: "Open in skycase ↗",
    results_label: "Results",
    no_match: "No frames match the filters.",
    no_period: |said| format!("This archive holds no frames of {said}."),
    starting: "Starting the search worker…",
    downloading: |stage, loaded, total| format!("Downloading {stage}: {loaded} of {total}"),
    ready: |frames, periods, loaded, s| format!("{frames} frames ({periods}) ready · {loaded} loaded in {s:.1} s"),
    failed: |m| format!("skycase could not start: {m}"),
    timings: |n, q, e, r, d| format!("{n} results for “{q}” — encode {e:.1} ms · rank {r:.1} ms · render {d:.1} ms"),
    result_label: |rank, time, score, line| format!("Result {rank}: {time}, score {score:.3}{line}"),
    image_alt: |time| format!("Infrared image at {time}"),
    score_title: "cosine similarity",
    show_caption: "Show caption",
    more_like_this: "More like this",
    frames_like: |time| format!("frames like {time}"),
    filters: "Filters",
    from: "From ",
    to: "To ",
    months: "Months ",
    any: "any",
    season: "Season",
    month: "Month",
    month_names: ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"],
    region: "Region ",
    region_names: REGIONS,
    phenomenon: "Phenomenon ",
    source: "Source ",
    source_any: "any calibrated",
    source_real: "Real satellites (calibrated)",
    source_uncalibrated: " — uncalibrated, searched only when chosen",
    phenomenon_names: PHENOMENA,
    nothing_close: "Nothing close found in this archive — the nearest cases:",
    outside_map: skycase_vocab::gazetteer::outside_notice,
    storm_days: skycase_core::storms::StormNote::english,
    period_days: skycase_core::when::PeriodNote::english,
    unread: skycase_core::reading::unread_english,
    strength_title: "calibrated strength: how likely the matched region shows what was asked for",
    strength_label: |s, nearest| {
        let words = if nearest { "nearest case" } else if s >= STRONG { "strong match" } else if s >= POSSIBLE { "possible match" } else { "weak match" };
        format!("{words} ({:.0} %)", s * 100.0)
    },
    retry: "Retry",
    image_unavailable: "Image not available",
    update_ready: "A new version of skycase is ready.",
    reload: "Reload",
    offline_badge: "Offline",
    offline_saving: |done, total| format!("Saving for offline use: {done} of {total} files"),
    offline_ready: "Works offline",
    offline_failed: |m| format!("Not available offline: {m}"),
    shell_not_saved: "the app's own files could not be saved (its service worker did not install; is the storage full?)",
    case: &CASE_EN,
    streaming: |done, total| format!("Searching: {done} of {total} parts of the index so far…"),
    period_title: "Make a period available offline",
    period_all: "Everything",
    period_dates: "Dates",
    period_estimate: "Estimate size",
    period_size: |mb, files, first, last| format!("About {mb} in {files} files ({first} – {last})"),
    period_room: |mb| format!("This browser offers this site about {mb} more."),
    period_no_room: |need, room| format!("Probably too large: it needs about {need} and this browser offers {room}; saving stops when the storage is full."),
    period_save: "Save for offline use",
    period_saving: |done, total| format!("Saving: {done} of {total}"),
    period_saved: |first, last, files, mb| format!("{first} – {last} is available offline ({files} files, {mb})."),
    period_failed: |m| format!("Not saved for offline use: {m}"),
    period_persisted: "The browser keeps it until you clear it (persistent storage granted).",
    period_not_persisted: "The browser did not grant persistent storage: it may delete this copy when space runs low.",
    period_saved_list: "Saved for offline use in this browser:",
    period_saved_item: |dates, first, last, files, mb| format!("{dates} ({first} – {last}): {files} files, {mb}"),
    period_saved_missing: |files| format!("{files} of its files are no longer stored: save it again."),
};

/// Korean.
pub static KO: Strings = Strings {
    tagline: "동아시아 적외 위성영상에서 과거 날씨 사례를 말로 설명해 찾아보세요.",
    input_label: "찾고 싶은 날씨를 설명하세요",
    placeholder: "규슈에 접근하는 태풍, 홋카이도 폭설…",
    search: "검색",
    open_full: "skycase에서 열기 ↗",
    results_label: "검색 결과",
    no_match: "필터에 맞는 영상이 없습니다.",
    no_period: |said| format!("이 자료에는 {said}의 영상이 없습니다."),
    starting: "검색 워커를 시작하는 중…",
    downloading: |stage, loaded, total| format!("{stage} 내려받는 중: {total} 중 {loaded}"),
    ready: |frames, periods, loaded, s| format!("영상 {frames}장({periods}) 준비됨 · {loaded}, {s:.1}초"),
    failed: |m| format!("skycase를 시작할 수 없습니다: {m}"),
    timings: |n, q, e, r, d| format!("“{q}” 검색 결과 {n}건 — 인코딩 {e:.1} ms · 순위 {r:.1} ms · 표시 {d:.1} ms"),
    result_label: |rank, time, score, line| format!("{rank}위: {time}, 점수 {score:.3}{line}"),
    image_alt: |time| format!("{time} 적외 영상"),
    score_title: "코사인 유사도",
    show_caption: "설명 보기",
    more_like_this: "비슷한 영상",
    frames_like: |time| format!("{time}과 비슷한 영상"),
    filters: "필터",
    from: "시작 ",
    to: "끝 ",
    months: "월 ",
    any: "전체",
    season: "계절",
    month: "월",
    month_names: ["1월", "2월", "3월", "4월", "5월", "6월", "7월", "8월", "9월", "10월", "11월", "12월"],
    region: "지역 ",
    region_names: [
        "한반도",
        "몽골",
        "화북(중국 북부)",
        "화동(중국 동부)",
        "화남(중국 남부)",
        "만주·연해주",
        "혼슈(일본)",
        "홋카이도(일본)",
        "규슈(일본)",
        "동중국해",
        "필리핀해",
        "남중국해",
        "일본 태평양 연안",
    ],
    phenomenon: "현상 ",
    source: "출처 ",
    source_any: "보정된 자료 전체",
    source_real: "실제 위성 (보정된 자료)",
    source_uncalibrated: " — 미보정, 고를 때만 검색",
    phenomenon_names: ["눈", "맑음", "흐림", "비", "태풍"],
    nothing_close: "이 자료에는 비슷한 사례가 없습니다 — 가장 가까운 사례:",
    outside_map: |places| format!("{places}: 이 자료의 지도(동아시아 13개 지역) 밖입니다. 아래는 지도 안의 사례입니다."),
    storm_days: |note| {
        let s = &note.storm;
        let name = if s.ko.is_empty() { s.name.clone() } else { format!("{} ({})", s.ko, s.name) };
        // "2017년 제23호 태풍": the id's year, and its number in that year.
        let number = format!("{}년 제{}호", s.from.get(..4).unwrap_or(""), s.id.get(2..).unwrap_or("").trim_start_matches('0'));
        let mut line = if note.applied {
            format!("{number} 태풍 {name}: {} – {}. 아래는 그 기간의 영상입니다.", s.from, s.to)
        } else {
            format!("{number} 태풍 {name} ({} – {})은 날짜 필터 밖이라 이름 없이 검색했습니다.", s.from, s.to)
        };
        if !note.others.is_empty() {
            line.push_str(&format!(" 같은 이름의 다른 해: {} (연도를 적으면 고를 수 있습니다).", note.others.join(", ")));
        }
        line
    },
    unread: |runs| format!("{runs}: 한자와 가나는 아직 읽지 못해, 결과는 이를 빼고 찾은 것입니다. 한국어나 영어로 검색해 보세요 (예: \"홋카이도 폭설\")."),
    period_days: |note| {
        let p = &note.period;
        // "12·1·2월"
        let months = if p.months.is_empty() { String::new() } else { format!("{}월", p.months.iter().map(u32::to_string).collect::<Vec<_>>().join("·")) };
        match (note.applied, &p.from, &p.to, months.is_empty()) {
            (false, ..) => format!("질의의 기간 {}은 날짜 필터 밖이라 기간 없이 검색했습니다.", p.said),
            (true, Some(from), Some(to), true) if from == to => format!("질의의 기간 {}: 아래는 {from}의 영상입니다.", p.said),
            (true, Some(from), Some(to), true) => format!("질의의 기간 {}: 아래는 {from} – {to}의 영상입니다.", p.said),
            (true, Some(from), Some(to), false) => format!("질의의 기간 {}: 아래는 {from} – {to} 중 {months}의 영상입니다.", p.said),
            (true, _, _, false) => format!("질의의 기간 {}: 아래는 해마다 {months}의 영상입니다.", p.said),
            (true, ..) => format!("질의의 기간 {}.", p.said),
        }
    },
    strength_title: "보정된 강도: 일치한 지역이 찾는 날씨일 가능성",
    strength_label: |s, nearest| {
        let words = if nearest { "가장 가까운 사례" } else if s >= STRONG { "일치 가능성 높음" } else if s >= POSSIBLE { "일치 가능성 있음" } else { "일치 가능성 낮음" };
        format!("{words} ({:.0}%)", s * 100.0)
    },
    retry: "다시 시도",
    image_unavailable: "영상을 표시할 수 없음",
    update_ready: "skycase 새 버전이 준비되었습니다.",
    reload: "새로 고침",
    offline_badge: "오프라인",
    offline_saving: |done, total| format!("오프라인용 저장 중: 파일 {total}개 중 {done}개"),
    offline_ready: "오프라인에서 사용 가능",
    offline_failed: |m| format!("오프라인에서 사용할 수 없음: {m}"),
    shell_not_saved: "앱 자체 파일을 저장하지 못했습니다(서비스 워커가 설치되지 않음; 저장 공간이 가득 찼나요?)",
    case: &CASE_KO,
    streaming: |done, total| format!("검색 중: 색인 {total}개 부분 중 {done}개까지…"),
    period_title: "기간을 오프라인에서 사용할 수 있게 저장",
    period_all: "전체",
    period_dates: "날짜",
    period_estimate: "크기 계산",
    period_size: |mb, files, first, last| format!("약 {mb}, 파일 {files}개 ({first} – {last})"),
    period_room: |mb| format!("이 브라우저가 이 사이트에 약 {mb}를 더 허용합니다."),
    period_no_room: |need, room| format!("너무 클 수 있습니다: 약 {need}가 필요하지만 브라우저가 허용하는 공간은 {room}입니다. 저장 공간이 가득 차면 저장이 멈춥니다."),
    period_save: "오프라인용으로 저장",
    period_saving: |done, total| format!("저장 중: {total} 중 {done}"),
    period_saved: |first, last, files, mb| format!("{first} – {last} 기간을 오프라인에서 사용할 수 있습니다 (파일 {files}개, {mb})."),
    period_failed: |m| format!("오프라인용으로 저장하지 못함: {m}"),
    period_persisted: "지울 때까지 브라우저가 보관합니다 (영구 저장소 허용됨).",
    period_not_persisted: "브라우저가 영구 저장소를 허용하지 않았습니다: 공간이 부족하면 이 사본을 지울 수 있습니다.",
    period_saved_list: "이 브라우저에 오프라인용으로 저장된 기간:",
    period_saved_item: |dates, first, last, files, mb| format!("{dates} ({first} – {last}): 파일 {files}개, {mb}"),
    period_saved_missing: |files| format!("파일 {files}개가 더 이상 저장되어 있지 않습니다: 다시 저장하세요."),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_map_to_languages() {
        assert_eq!(Lang::from_tag("ko-KR"), Some(Lang::Ko));
        assert_eq!(Lang::from_tag("KO"), Some(Lang::Ko));
        assert_eq!(Lang::from_tag("en_GB"), Some(Lang::En));
        assert_eq!(Lang::from_tag("ja-JP"), None);
        assert_eq!(Lang::from_tag(""), None);
    }

    #[test]
    fn both_tables_fill_every_sentence() {
        for s in [&EN, &KO] {
            assert!((s.downloading)("x", "1.0 MB", "2.0 MB").contains("2.0 MB"));
            assert!((s.timings)(20, "q", 1.0, 2.0, 3.0).contains("20"));
            assert!(s.month_names.iter().chain(&s.region_names).chain(&s.phenomenon_names).all(|n| !n.is_empty()));
        }
    }
}
