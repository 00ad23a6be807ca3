//! Messages between the page and the search worker (serialised with serde-wasm-bindgen).
//! Errors cross the boundary as strings.

use serde::{Deserialize, Serialize};
pub use skycase_core::Filters;

/// Page → worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ToWorker {
    /// Download and verify the bundle under `base` (e.g. `bundle/`), then build the encoder.
    /// `pin`: the manifest's sha256 and size as the page carries them (`"<hex> <bytes>"`, see
    /// `src/fetch.rs`); a manifest that does not match is refused. Sent again to retry after
    /// a failure: files already verified and cached are not downloaded again.
    Load {
        base: String,
        #[serde(default)]
        pin: String,
    },
    /// A bundle file the page shows (a thumbnail or the overlay), by its manifest path: the
    /// worker answers [`FromWorker::File`] with the checked bytes or why there are none.
    File { path: String },
    /// Save (again) everything a search can show offline; answered by [`FromWorker::Offline`].
    SaveOffline,
    /// "Make this period available offline" (a partitioned index): the months from `from` to
    /// `to` (`YYYY-MM-DD`, inclusive; both `None`: everything). `save: false` only sizes it;
    /// `save: true` downloads, checks and stores every partition, list file and thumbnail of
    /// it. Answered by [`FromWorker::OfflinePeriod`].
    OfflinePeriod {
        from: Option<String>,
        to: Option<String>,
        save: bool,
    },
    /// Rank frames for a text query. `lang: Some("ko")` sends it to the multilingual encoder
    /// even without Hangul (`?lang=ko`); a query with Hangul goes there anyway.
    Query {
        id: u32,
        text: String,
        k: usize,
        filters: Filters,
        #[serde(default)]
        lang: Option<String>,
        /// Weather cases, not frames: fold consecutive hits of one region (steps of at most
        /// this many hours) into episodes and answer the `k` best episodes
        /// (`skycase_core::episodes`); `None` answers every frame.
        #[serde(default)]
        episodes: Option<f64>,
    },
    /// Rank frames by similarity to one frame's own embedding ("more like this"), by the
    /// frame's id and the vector (region) to compare; the frame itself is left out.
    Similar {
        id: u32,
        frame_id: String,
        #[serde(default)]
        region: Option<String>,
        k: usize,
        filters: Filters,
        #[serde(default)]
        episodes: Option<f64>,
    },
    /// Open a case: the frame `frame_id`, the frames of the same source within `hours` of it
    /// (its loop), and, for `query` (if any), the score and strength of each of its regions;
    /// answered by [`FromWorker::Case`].
    Case {
        id: u32,
        frame_id: String,
        #[serde(default)]
        query: Option<String>,
        #[serde(default)]
        lang: Option<String>,
        #[serde(default)]
        filters: Filters,
        hours: f64,
    },
    /// Benchmark: time `reps` exact top-20 scans of a synthetic int8 shard.
    BenchRank { frames: usize, dim: usize, reps: usize },
}

/// One result as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HitOut {
    pub shard: usize,
    pub frame: usize,
    /// Which of the frame's vectors matched (its region, for region-aware shards).
    pub vector: usize,
    pub id: String,
    pub time: String,
    pub caption: String,
    pub thumb: String,
    pub score: f32,
    /// The region whose embedding matched best (region-aware shards only).
    pub region: Option<String>,
    /// Calibrated strength (probability that the matched region shows what was asked for),
    /// when the bundle has a calibration.
    #[serde(default)]
    pub strength: Option<f32>,
    /// Where the frame comes from and who captioned it, as the card says it.
    #[serde(default)]
    pub source: String,
    /// The frame's origin key (`simulated`, `kma`, …), as the source filter reads it.
    #[serde(default)]
    pub origin: String,
    /// The episode this hit is the best frame of, when the query asked for episodes.
    #[serde(default)]
    pub episode: Option<EpisodeOut>,
    /// Set by the app on every hit of an answer with the "nothing close" notice: its card
    /// then reads "nearest case", whatever its strength, so that card and notice agree.
    #[serde(default)]
    pub nearest: bool,
}

/// An episode as a card shows it (`skycase_core::episodes::Episode`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeOut {
    /// Time of its first frame.
    pub start: String,
    /// Time of its last frame.
    pub end: String,
    /// How many frames it has (the card says so; their ids are not sent).
    pub frames: usize,
}

/// One frame of a case's loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopFrame {
    pub id: String,
    pub time: String,
    pub thumb: String,
    /// Its medium image (a bundle path) where the bundle has one (`skycase export`); the
    /// case view shows that, else the thumbnail.
    #[serde(default)]
    pub medium: Option<String>,
    #[serde(default)]
    pub caption: String,
}

impl LoopFrame {
    /// The image the case view shows: the medium image, or the thumbnail without one.
    pub fn image(&self) -> &str {
        self.medium.as_deref().unwrap_or(&self.thumb)
    }
}

/// How one region of a case's frame answers the query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionScore {
    /// Region name.
    pub region: String,
    /// Cosine of the region's vector with the query (as ranking computes it).
    pub score: f32,
    /// Calibrated strength, when the bundle has a calibration.
    pub strength: Option<f32>,
}

/// A case ([`ToWorker::Case`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseOut {
    /// The frame.
    pub frame: LoopFrame,
    pub caption: String,
    pub source: String,
    pub origin: String,
    /// The frames of the same source around it, in time order (the frame included).
    pub frames: Vec<LoopFrame>,
    /// Per region, for the query; empty without one (or for an index of one vector per frame).
    pub regions: Vec<RegionScore>,
    /// The region that answers best (the match), if any.
    pub matched: Option<String>,
    /// "Nothing close" threshold and "strong" level of the strength scale, when calibrated.
    pub threshold: Option<f32>,
    pub strong: Option<f32>,
}

/// Worker → page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FromWorker {
    /// The worker's module has started and listens.
    Started,
    /// Download progress over everything needed before the first answer.
    Progress { stage: String, loaded: u64, total: u64 },
    /// The bundle is verified and the encoder built. `overlay`: the manifest path of the
    /// basemap overlay, when the bundle has one.
    Ready {
        frames: usize,
        periods: Vec<String>,
        vectors: String,
        init_ms: f64,
        bytes: u64,
        #[serde(default)]
        overlay: Option<String>,
    },
    /// A file the page asked for: `error` is `None` when its checked bytes are attached to the
    /// message as a `Uint8Array` in the field `bytes` (outside serde, so they are not copied
    /// element by element).
    File { path: String, error: Option<String> },
    /// Where saving for offline use stands.
    Offline(OfflineState),
    /// Where "make this period available offline" stands.
    OfflinePeriod(PeriodState),
    /// The periods saved for offline use in this bundle's cache (after loading, and after
    /// each save), each checked to be still there.
    SavedPeriods(Vec<SavedPeriod>),
    /// Ranked results of query `id`; `encoder` names the text encoder that embedded it
    /// (`minilm` or `multilingual`; empty for "more like this").
    /// `nothing_close`: no hit is a case like the query; the hits are the nearest ones.
    Results {
        id: u32,
        hits: Vec<HitOut>,
        encode_ms: f64,
        rank_ms: f64,
        nothing_close: bool,
        #[serde(default)]
        encoder: String,
        /// Set when part of a partitioned index could not be loaded (named in it): the hits
        /// come from the rest.
        #[serde(default)]
        warning: Option<String>,
        /// Places the query names outside the archive's 13 regions, as written
        /// (`skycase_vocab::gazetteer::QueryIntent::outside`).
        #[serde(default)]
        outside: Vec<String>,
        /// The named storm whose days the query searched (`skycase_core::storms`).
        #[serde(default)]
        storm: Option<skycase_core::storms::StormNote>,
        /// The period the query writes, whose days it searched (`skycase_core::when`).
        #[serde(default)]
        period: Option<skycase_core::when::PeriodNote>,
        /// Chinese characters or kana of the query that no encoder reads, as written
        /// (`skycase_core::reading::unread_script`).
        #[serde(default)]
        unread: Vec<String>,
    },
    /// A case ([`ToWorker::Case`]).
    Case { id: u32, case: CaseOut },
    /// Part of the answer to query `id` while the partitions of a partitioned index arrive:
    /// the best hits among the `done` of `total` partitions at hand (skypart-3: among the rows
    /// read so far whose records are at hand, `done` of `total` of round 3's row blocks and
    /// records areas). [`FromWorker::Results`] follows with the whole answer.
    Partial { id: u32, hits: Vec<HitOut>, done: usize, total: usize },
    /// Milliseconds of each benchmark scan.
    BenchRank { ms: Vec<f64> },
    /// Loading failed, or query `id` failed.
    Error { id: Option<u32>, message: String },
}

/// Saving the offline set: every file a search can show (the index, the encoder, every word
/// chunk, the thumbnails of the loaded periods and the overlay), each checked and stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OfflineState {
    /// `done` of `total` files are stored.
    Saving { done: usize, total: usize },
    /// Everything is stored and was checked to be in the cache: the app works offline.
    Ready { files: usize },
    /// Saving stopped; the message names the file and the reason.
    Failed { message: String },
}

/// A period saved for offline use, as the worker records it in the bundle's cache once
/// saving finished and every file was found there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPeriod {
    /// The dates asked for (`YYYY-MM-DD`; both `None`: everything).
    pub from: Option<String>,
    pub to: Option<String>,
    /// Its months.
    pub months: Vec<String>,
    /// Files and bytes saved.
    pub files: usize,
    pub bytes: u64,
    /// Its list files and partitions no longer in the cache when it was last checked (the
    /// browser may evict storage that is not persistent); 0: all there.
    #[serde(default)]
    pub missing: usize,
}

/// "Make this period available offline" (see [`ToWorker::OfflinePeriod`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PeriodState {
    /// What saving would download at most: the months, files (list files, partitions,
    /// thumbnails) and bytes, from the manifest alone (thumbnails at their average size).
    Estimate { months: Vec<String>, files: usize, bytes: u64 },
    /// `done` of `total` bytes are checked and stored (`total` becomes exact once the list
    /// files name the partitions and the partitions their thumbnails).
    Saving { done: u64, total: u64 },
    /// Every file of the period is checked and was found in the cache afterwards.
    Saved { months: Vec<String>, files: usize, bytes: u64 },
    /// Sizing or saving stopped; the message says why (a full quota is named so).
    Failed { message: String },
}
