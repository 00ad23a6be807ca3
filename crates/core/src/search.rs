//! A loaded bundle ready to answer queries: the one search path that both the browser
//! worker and `skycase search` run.
//!
//! ```text
//! query text → tokenizer → MiniLM (quantized) → projection → i16 query → int8 scan → top k
//! ```
//!
//! The word-embedding table starts empty: before a query, fetch the chunks that
//! [`Searcher::missing_chunks`] names and hand them to [`Searcher::insert_chunk`] (the browser
//! does this per query, the companion for all chunks at load).
//!
//! A bundle may carry a second, multilingual encoder (multilingual-e5-small with its own
//! projection into the same joint space). [`Searcher::side_for`] picks the encoder of a query:
//! the multilingual one when the query has Hangul in it (or when
//! [`Searcher::set_prefer_multilingual`] asks for it), MiniLM otherwise. Its files load only
//! then ([`Searcher::load_multilingual`]); the chunk calls take the side.

use std::time::Duration;

use skycase_vocab::gazetteer::parse_query;
use skycase_vocab::{region_index, REGIONS};

use crate::bundle::{Manifest, MULTILINGUAL_ENCODER, MULTILINGUAL_PROJECTION, MULTILINGUAL_TOKENIZER};
use crate::embeddings::WordEmbeddings;
use crate::error::{Error, Result};
use crate::projection::Projection;
use crate::partition::{rank_parts, Partition, PartitionIndex};
use crate::rank::{rank_where, Hit, QueryVector};
use crate::shard::Shard;
use crate::strength::Calibration;
use crate::text::{MiniLm, TextEncoder, TextTokenizer};

pub use crate::filters::{months_spec, parse_months, Filters, MONTH_NAMES, SEASONS};

/// Which of a bundle's text encoders embeds a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TextSide {
    /// The bundle's main encoder (all-MiniLM-L6-v2, English).
    Primary,
    /// The optional multilingual encoder (multilingual-e5-small: Korean and English).
    Multilingual,
}

impl TextSide {
    /// Short name for messages and JSON: `minilm` or `multilingual`.
    pub fn name(self) -> &'static str {
        match self {
            TextSide::Primary => "minilm",
            TextSide::Multilingual => "multilingual",
        }
    }
}

/// True if `text` holds Hangul (syllables or jamo), which MiniLM cannot read.
pub fn has_hangul(text: &str) -> bool {
    text.chars().any(|c| matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}' | '\u{A960}'..='\u{A97F}' | '\u{D7B0}'..='\u{D7FF}'))
}

/// An encoder with its projection into the joint space.
struct TextModel {
    encoder: TextEncoder,
    projection: Option<Projection>,
}

impl TextModel {
    fn embed(&self, text: &str) -> Result<Vec<f32>> {
        let e = self.encoder.embed_query(text)?;
        match &self.projection {
            Some(p) => p.apply(&e),
            None => Ok(e),
        }
    }
}

/// The query side of a bundle plus its shards.
pub struct Searcher {
    manifest: Manifest,
    primary: TextModel,
    multilingual: Option<TextModel>,
    prefer_multilingual: bool,
    shards: Vec<Shard>,
    calibration: Option<Calibration>,
    region_binding: bool,
    anchor_weight: f32,
}

/// Weight of the named cells' anchors added to the query vector (see [`anchored`]).
pub const ANCHOR_WEIGHT: f32 = 3.0;

/// When the query names regions and phenomena (gazetteer), the mean of those cells'
/// anchors (the projected caption bullets) is added to the query vector with weight `w`
/// and the sum normalised: the words the gazetteer understood pull the query towards the
/// texts the region vectors were trained on, whatever the phrasing or language. A query
/// naming no region or no phenomenon is left as it is.
pub fn anchored(v: &[f32], c: &Calibration, regions: &[usize], phenomena: &[usize], w: f32) -> Vec<f32> {
    let cells: Vec<usize> = regions.iter().flat_map(|&r| phenomena.iter().map(move |&p| r * 5 + p)).filter(|&i| i < c.anchors.len()).collect();
    if cells.is_empty() || c.anchors[0].len() != v.len() {
        return v.to_vec();
    }
    let mut out = v.to_vec();
    for &i in &cells {
        for (o, a) in out.iter_mut().zip(&c.anchors[i]) {
            *o += w * a / cells.len() as f32;
        }
    }
    let n = out.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 && n.is_finite() {
        out.iter_mut().for_each(|x| *x /= n);
        out
    } else {
        v.to_vec()
    }
}

/// Characters of a query that are read; the encoder reads at most
/// [`crate::text::MAX_TOKENS`] tokens, far fewer than this, so the rest cannot matter.
pub const MAX_QUERY_CHARS: usize = 4096;

/// Results of one query with where the time went.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Best first.
    pub hits: Vec<Hit>,
    /// The encoder that embedded the query.
    pub side: TextSide,
    /// Tokenize + encode + project.
    pub encode: Duration,
    /// Scan + select.
    pub rank: Duration,
    /// The regions (indices into `REGIONS`) the query names and was scored on: each frame
    /// scores as the best of these regions' vectors. Empty: the query names none, and each
    /// frame scores as its best region.
    pub bound: Vec<usize>,
    /// Calibrated strength of each hit (probability that its matched region shows the
    /// phenomenon asked for), in hit order; empty when the bundle has no calibration.
    pub strengths: Vec<f32>,
    /// True when no hit is strong enough to be a case like the query: the archive holds
    /// nothing close (the hits are still the nearest cases). Also true when nothing passed
    /// the filters. Always false without a calibration, unless there are no hits.
    pub nothing_close: bool,
    /// Strength (the scale of `strengths`) of each hit the notice reads, best first: those of
    /// `hits`, or, when learnt directions moved the query ([`Prepared::undirected`]), of the
    /// ranking without them, so that the directions reorder the hits but do not make an empty
    /// cell look close. Empty when the bundle has no calibration.
    pub notice_hit_strengths: Vec<f32>,
    /// Places the query names outside the 13 regions, as written ([`Prepared::outside`]):
    /// the app and `skycase search` say so above the hits.
    pub outside: Vec<String>,
}

impl Searcher {
    /// Builds a searcher from verified bundle files. `projection` is the projection file's
    /// bytes if the manifest lists one. No word-embedding chunk is loaded yet.
    pub fn new(manifest: Manifest, tokenizer: &[u8], encoder: &[u8], projection: Option<&[u8]>, shards: Vec<Shard>) -> Result<Self> {
        Self::with_tokenizer(manifest, TextTokenizer::from_bytes(tokenizer)?, encoder, projection, shards)
    }

    /// As [`new`](Self::new), with the tokenizer already read from its file (the browser
    /// worker reads it while the encoder's bytes are still arriving).
    pub fn with_tokenizer(manifest: Manifest, tokenizer: TextTokenizer, encoder: &[u8], projection: Option<&[u8]>, shards: Vec<Shard>) -> Result<Self> {
        let words = WordEmbeddings::new(&manifest.model.word_embeddings)?;
        let encoder = TextEncoder::new(tokenizer, MiniLm::from_gguf(encoder, words)?);
        let projection = Self::projection(&manifest, &encoder, projection, "projection.safetensors")?;
        for s in &shards {
            if s.dim() != manifest.joint_dim {
                return Err(Error::format(s.period(), format!("shard vectors have {} dimensions, the manifest says {}", s.dim(), manifest.joint_dim)));
            }
        }
        Ok(Self {
            manifest,
            primary: TextModel { encoder, projection },
            multilingual: None,
            prefer_multilingual: false,
            shards,
            calibration: None,
            region_binding: true,
            anchor_weight: ANCHOR_WEIGHT,
        })
    }

    /// Adds the bundle's "nothing close" calibration (`calibration.json`, already verified
    /// against the manifest); without one, answers carry no strengths.
    pub fn set_calibration(&mut self, bytes: &[u8], name: &str) -> Result<()> {
        let c = Calibration::from_json(bytes, name)?;
        if c.joint_dim != self.manifest.joint_dim {
            return Err(Error::format(name, format!("anchors have {} dimensions, the bundle's joint space {}", c.joint_dim, self.manifest.joint_dim)));
        }
        self.calibration = Some(c);
        Ok(())
    }

    /// Turns region binding off (every frame scores as its best region whatever the query
    /// names) or back on (the default); for measuring what binding does.
    pub fn set_region_binding(&mut self, on: bool) {
        self.region_binding = on;
    }

    /// Weight of the named cells' anchors in the query vector ([`anchored`]; 0 turns it off;
    /// default [`ANCHOR_WEIGHT`]); for measuring what it does.
    pub fn set_anchor_weight(&mut self, w: f32) {
        self.anchor_weight = if w.is_finite() { w.max(0.0) } else { 0.0 };
    }

    /// The calibration, if the bundle has one.
    pub fn calibration(&self) -> Option<&Calibration> {
        self.calibration.as_ref()
    }

    /// Checks a projection against the encoder and the joint space.
    fn projection(manifest: &Manifest, encoder: &TextEncoder, bytes: Option<&[u8]>, file: &str) -> Result<Option<Projection>> {
        match bytes {
            Some(bytes) => {
                let p = Projection::from_safetensors(bytes, file)?;
                if p.in_dim() != encoder.model().dim() || p.out_dim() != manifest.joint_dim {
                    return Err(Error::format(
                        file,
                        format!("maps {}→{}, but the encoder gives {} and the manifest's joint space is {}", p.in_dim(), p.out_dim(), encoder.model().dim(), manifest.joint_dim),
                    ));
                }
                Ok(Some(p))
            }
            None if manifest.joint_dim != encoder.model().dim() => {
                Err(Error::format("manifest.json", format!("joint_dim {} differs from the encoder's {} but no projection is listed", manifest.joint_dim, encoder.model().dim())))
            }
            None => Ok(None),
        }
    }

    /// Adds the multilingual encoder from its verified files (roles `multilingual-tokenizer`,
    /// `multilingual-encoder`, `multilingual-projection`). Its projection is required: its
    /// own space is not the joint space even when the dimensions agree. No chunk is loaded yet.
    pub fn load_multilingual(&mut self, tokenizer: &[u8], encoder: &[u8], projection: &[u8]) -> Result<()> {
        let info = match (&self.manifest.multilingual, self.manifest.multilingual_model_file()) {
            (Some(info), _) => info,
            (None, Some(f)) => return Err(Error::Usage(format!("read the multilingual encoder's description ({}) first", f.path))),
            (None, None) => return Err(Error::format("manifest.json", "the bundle has no multilingual encoder")),
        };
        let words = WordEmbeddings::new(&info.word_embeddings)
            .map_err(|e| Error::format("manifest.json", format!("multilingual: {e}")))?;
        let encoder = TextEncoder::from_bundle_files(tokenizer, encoder, words)?;
        let path = self.manifest.file(MULTILINGUAL_PROJECTION)?.path.clone();
        let projection = Self::projection(&self.manifest, &encoder, Some(projection), &path)?;
        self.multilingual = Some(TextModel { encoder, projection });
        Ok(())
    }

    /// The manifest entries of the multilingual encoder's tokenizer, encoder and projection,
    /// in the order [`load_multilingual`](Self::load_multilingual) takes them.
    pub fn multilingual_files(&self) -> Result<[crate::bundle::FileEntry; 3]> {
        Ok([
            self.manifest.file(MULTILINGUAL_TOKENIZER)?.clone(),
            self.manifest.file(MULTILINGUAL_ENCODER)?.clone(),
            self.manifest.file(MULTILINGUAL_PROJECTION)?.clone(),
        ])
    }

    /// The bundle's main text encoder (before its projection into the joint space).
    pub fn text_encoder(&self) -> &TextEncoder {
        &self.primary.encoder
    }

    /// True if the bundle has a multilingual encoder.
    pub fn has_multilingual(&self) -> bool {
        self.manifest.has_multilingual()
    }

    /// The file describing the multilingual encoder, when it must be read before
    /// [`multilingual_files`](Self::multilingual_files) ([`read_multilingual_model`](Self::read_multilingual_model)).
    pub fn multilingual_model_file(&self) -> Option<&crate::bundle::FileEntry> {
        self.manifest.multilingual_model_file()
    }

    /// Reads the multilingual encoder's description (see [`Manifest::read_multilingual_model`]).
    pub fn read_multilingual_model(&mut self, bytes: &[u8]) -> Result<()> {
        self.manifest.read_multilingual_model(bytes)
    }

    /// True once [`load_multilingual`](Self::load_multilingual) has run.
    pub fn multilingual_loaded(&self) -> bool {
        self.multilingual.is_some()
    }

    /// Sends every query to the multilingual encoder (a language choice such as `?lang=ko`);
    /// without one in the bundle, queries stay with MiniLM.
    pub fn set_prefer_multilingual(&mut self, on: bool) {
        self.prefer_multilingual = on;
    }

    /// The encoder that answers `text`: the multilingual one if the bundle has it and the
    /// query holds Hangul (or it is preferred, [`set_prefer_multilingual`](Self::set_prefer_multilingual)),
    /// else MiniLM.
    pub fn side_for(&self, text: &str) -> TextSide {
        self.pick_side(text, self.prefer_multilingual)
    }

    /// As [`side_for`](Self::side_for) with the preference given per query (the worker's
    /// queries carry their own language choice).
    pub fn pick_side(&self, text: &str, prefer_multilingual: bool) -> TextSide {
        if self.has_multilingual() && (prefer_multilingual || has_hangul(text)) {
            TextSide::Multilingual
        } else {
            TextSide::Primary
        }
    }

    /// The word-embedding chunks of `side`'s encoder that `text` needs and that are not
    /// loaded yet.
    pub fn missing_chunks_on(&self, side: TextSide, text: &str) -> Result<Vec<usize>> {
        self.model(side)?.encoder.missing_chunks(text)
    }

    fn model(&self, side: TextSide) -> Result<&TextModel> {
        match side {
            TextSide::Primary => Ok(&self.primary),
            TextSide::Multilingual => self.multilingual.as_ref().ok_or_else(|| {
                Error::Usage("the multilingual encoder is not loaded yet (fetch its files, then load_multilingual)".into())
            }),
        }
    }

    /// The encoder of a side (loaded).
    pub fn encoder_of(&self, side: TextSide) -> Result<&TextEncoder> {
        Ok(&self.model(side)?.encoder)
    }

    /// The word-embedding table of a side: which chunks are loaded, and their files.
    pub fn word_embeddings_of(&self, side: TextSide) -> Result<&WordEmbeddings> {
        Ok(self.model(side)?.encoder.model().word_embeddings())
    }

    /// Adds word-embedding chunk `k` of a side, checked against the manifest.
    pub fn insert_chunk_of(&mut self, side: TextSide, k: usize, bytes: Vec<u8>) -> Result<()> {
        let model = match side {
            TextSide::Primary => &mut self.primary,
            TextSide::Multilingual => self.multilingual.as_mut().ok_or_else(|| Error::Usage("the multilingual encoder is not loaded yet".into()))?,
        };
        model.encoder.model_mut().word_embeddings_mut().insert_chunk(k, bytes)
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Query `text` as it is searched ([`crate::reading::read`]: the storm it names, the period
    /// it writes, absent weather, Korean weather without a place, unread script). The browser's
    /// worker and `skycase search` call it before anything else, so both search the same days
    /// with the same vector.
    pub fn searched(&self, text: &str, filters: &Filters) -> crate::reading::Searched {
        crate::reading::read(&self.manifest.storms, text, filters)
    }
    /// The shards, in manifest order.
    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }
    /// The main (MiniLM) text encoder.
    pub fn encoder(&self) -> &TextEncoder {
        &self.primary.encoder
    }
    /// The main encoder's word-embedding table: which chunks are loaded, and their files.
    pub fn word_embeddings(&self) -> &WordEmbeddings {
        self.primary.encoder.model().word_embeddings()
    }

    /// The word-embedding chunks of the encoder [`side_for`](Self::side_for) picks that `text`
    /// needs and that are not loaded yet (an error if that encoder is not loaded).
    pub fn missing_chunks(&self, text: &str) -> Result<Vec<usize>> {
        self.model(self.side_for(text))?.encoder.missing_chunks(text)
    }

    /// Adds chunk `k` of the main encoder's table, checked against the manifest (an error
    /// names its file).
    pub fn insert_chunk(&mut self, k: usize, bytes: Vec<u8>) -> Result<()> {
        self.insert_chunk_of(TextSide::Primary, k, bytes)
    }

    /// Number of frames across shards.
    pub fn frames(&self) -> usize {
        self.shards.iter().map(Shard::len).sum()
    }

    /// Embeds a query into the joint space, with the encoder [`side_for`](Self::side_for) picks.
    pub fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        self.model(self.side_for(text))?.embed(text)
    }

    /// Ranks frames against a joint-space vector.
    pub fn rank_vector(&self, v: &[f32], k: usize, filters: &Filters) -> Result<Vec<Hit>> {
        let q = QueryVector::new(v)?;
        let refs: Vec<&Shard> = self.shards.iter().collect();
        rank_shards(&refs, &q, k, filters, &[])
    }

    /// Answers a text query; `clock` returns milliseconds (the browser's
    /// `performance.now()`, or a native clock) so timings work on both sides.
    ///
    /// When the query names regions ([`skycase_vocab::gazetteer::parse_query`]: English or
    /// Korean names, aliases, places in or next to a region), each frame of a region-aware
    /// index scores as the best of those regions' vectors; otherwise as its best region.
    /// An empty (or whitespace-only) query is an error that says so; any other text, however
    /// long or odd, gets an answer (only its first [`MAX_QUERY_CHARS`] characters are read).
    pub fn search(&self, text: &str, k: usize, filters: &Filters, clock: impl Fn() -> f64) -> Result<Answer> {
        self.search_on(self.side_for(text), text, k, filters, clock)
    }

    /// As [`search`](Self::search) with the encoder chosen by the caller.
    pub fn search_on(&self, side: TextSide, text: &str, k: usize, filters: &Filters, clock: impl Fn() -> f64) -> Result<Answer> {
        let prepared = self.prepare(side, text, &clock)?;
        answer_shards(self.calibration_for(filters), &self.shards, prepared, k, filters, clock)
    }

    /// Embeds a query with `side`'s encoder and pulls it towards the cells it names
    /// ([`anchored`], then [`Calibration::directed`]): the first half of every search, shared by the shard scan and the
    /// partitioned index (whose plan depends on this vector).
    pub fn prepare(&self, side: TextSide, text: &str, clock: impl Fn() -> f64) -> Result<Prepared> {
        let text = match text.char_indices().nth(MAX_QUERY_CHARS) {
            Some((cut, _)) => &text[..cut],
            None => text,
        };
        if text.chars().all(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::Usage("the query is empty: type a place and the weather, e.g. \"snow over Hokkaido\"".into()));
        }
        let t0 = clock();
        let mut v = self.model(side)?.embed(text)?;
        let mut intent = parse_query(text);
        if !self.region_binding {
            intent.regions.clear();
        }
        if let Some(c) = self.calibration.as_ref().filter(|_| self.anchor_weight > 0.0) {
            v = anchored(&v, c, &intent.regions, &intent.phenomena, self.anchor_weight);
        }
        let mut undirected = None;
        if let Some(c) = self.calibration.as_ref() {
            // Learnt directions of the named cells (calibration version 3; none before). The
            // notice reads the ranking without them (`Answer::notice_hit_strengths`).
            let d = c.directed(&v, &intent.regions, &intent.phenomena);
            if d != v {
                undirected = Some(QueryVector::new(&v)?);
                v = d;
            }
        }
        let query = QueryVector::new(&v)?;
        let encode = Duration::from_secs_f64(((clock() - t0) / 1000.0).max(0.0));
        Ok(Prepared { side, vector: v, query, undirected, regions: intent.regions, phenomena: intent.phenomena, outside: intent.outside, encode })
    }

    /// A stored vector as a query ("more like this" on a partitioned index): no regions, no
    /// phenomena named.
    pub fn prepare_vector(&self, v: &[f32]) -> Result<Prepared> {
        Ok(Prepared { side: TextSide::Primary, vector: v.to_vec(), query: QueryVector::new(v)?, undirected: None, regions: Vec::new(), phenomena: Vec::new(), outside: Vec::new(), encode: Duration::ZERO })
    }

    /// The partitioned index of the bundle (`manifest.partitions`), if it has one.
    pub fn partitions(&self) -> Option<&PartitionIndex> {
        self.manifest.partitions.as_ref()
    }

    /// The vectors of the partitioned index (indices into its `vector_names`) that the
    /// ranking scores for a prepared query under `filters`: those of the regions it is bound
    /// to ([`Filters::bind`]); empty (all) when none, or without a partitioned index. The
    /// plan takes them too ([`PartitionIndex::plan_parts`]), so it fetches leaves that hold
    /// those regions' rows.
    pub fn bound_vectors(&self, prepared: &Prepared, filters: &Filters) -> Vec<usize> {
        let names: &[String] = self.partitions().map(|p| p.vector_names.as_slice()).unwrap_or_default();
        filters.bind(&prepared.regions).iter().filter_map(|&r| names.iter().position(|n| REGIONS.get(r) == Some(&n.as_str()))).collect()
    }

    /// Answers a prepared query from the partitions its plan fetched
    /// ([`PartitionIndex::plan_lists`], [`PartitionIndex::plan_parts`]); hits name the
    /// partition (`shard`: index into `parts`) and the frame's record in it.
    pub fn answer_parts(&self, prepared: Prepared, parts: &[&Partition], k: usize, filters: &Filters, clock: impl Fn() -> f64) -> Result<Answer> {
        let t1 = clock();
        let names: Vec<String> = self.partitions().map(|p| p.vector_names.clone()).unwrap_or_default();
        let bound = self.bound_vectors(&prepared, filters);
        let hits = rank_parts(parts, &prepared.query, k, filters, &bound)?;
        // The notice's ranking: the same partitions, without the learnt directions.
        let undirected = prepared.undirected.as_ref().map(|q| rank_parts(parts, q, k, filters, &bound)).transpose()?;
        let row = |h: &Hit| {
            let part = parts.get(h.shard)?;
            let r = region_index(part.vector_names().get(h.vector)?)?;
            Some((r, part.row_f32(part.find_row(h.frame, h.vector)?)))
        };
        Ok(finish_answer(self.calibration_for(filters), prepared, hits, undirected, names.len() > 1, filters, row, t1, clock()))
    }

    /// The calibration that reads answers under `filters`: none when they name an
    /// uncalibrated origin ([`crate::source::UNCALIBRATED`]), whose scores it was never fit on.
    fn calibration_for(&self, filters: &Filters) -> Option<&Calibration> {
        self.calibration.as_ref().filter(|_| !filters.source.as_ref().is_some_and(|s| s.uncalibrated()))
    }

    /// Strength of region `r` with stored vector `v` for a prepared query (what the case
    /// view's chart shows per region); `None` without a calibration. A phenomenon filter
    /// stands in for the phenomenon when the query names none, as in the answer.
    pub fn strength_for(&self, r: usize, v: &[f32], prepared: &Prepared, filters: &Filters) -> Option<f32> {
        let c = self.calibration_for(filters)?;
        Some(strength_of(c, r, v, &asked_phenomena(prepared, filters), &prepared.vector).0)
    }

    /// The "nothing close" threshold that a strength of region `r` is read against for a
    /// prepared query, on the strength scale ([`Calibration::notice_threshold`]): the lowest
    /// of the asked phenomena's (the query's nearest phenomenon in `r` when it names none), as
    /// the notice reads the best of them. `None` without a calibration.
    pub fn notice_threshold_for(&self, r: usize, prepared: &Prepared, filters: &Filters) -> Option<f32> {
        let c = self.calibration_for(filters)?;
        let asked = asked_phenomena(prepared, filters);
        let asked = if asked.is_empty() { vec![c.nearest_phenomenon(&prepared.vector, r)] } else { asked };
        asked.iter().map(|&p| c.notice_threshold(p)).reduce(f32::min)
    }

    /// "More like this": ranks by one stored vector of a frame.
    pub fn similar(&self, shard: usize, frame: usize, vector: usize, k: usize, filters: &Filters) -> Result<Vec<Hit>> {
        let s = self.shards.get(shard).ok_or_else(|| Error::Usage(format!("no shard {shard}")))?;
        if frame >= s.len() || vector >= s.vectors_per_frame() {
            return Err(Error::Usage(format!("no frame {frame} / vector {vector} in shard {}", s.period())));
        }
        self.rank_vector(&s.row_f32(frame * s.vectors_per_frame() + vector), k, filters)
    }

    /// The region name of a hit's matched vector, for region-aware shards.
    pub fn matched_region(&self, hit: &Hit) -> Option<&str> {
        let names = self.shards.get(hit.shard)?.vector_names();
        (names.len() > 1).then(|| names.get(hit.vector).map(String::as_str)).flatten()
    }
}

/// The `k` best frames of `shards` for `q` under `filters`: a frame scores as the best of
/// its vectors that the filters allow ([`Filters::allows_vector`]) among the regions it is
/// bound to ([`Filters::bind`] of the regions the query names; all if none). The one ranking
/// of the shard scan, for text queries and "more like this" alike.
pub fn rank_shards(shards: &[&Shard], q: &QueryVector, k: usize, filters: &Filters, named: &[usize]) -> Result<Vec<Hit>> {
    let bound = filters.bind(named);
    let bound_vectors = |s: usize| -> Vec<usize> {
        let names = shards[s].vector_names();
        bound.iter().filter_map(|&r| names.iter().position(|n| REGIONS.get(r) == Some(&n.as_str()))).collect()
    };
    let restricts = filters.restricts_regions();
    let allow = |s: usize, f: usize, v: usize| {
        !restricts || shards[s].vector_names().get(v).is_none_or(|name| filters.allows_vector(&shards[s].records()[f], name))
    };
    rank_where(shards, q, k, |s, f| filters.keeps(&shards[s].records()[f]), bound_vectors, allow)
}

/// The phenomena a prepared query asks for: those it names, else the phenomenon filter's.
fn asked_phenomena(prepared: &Prepared, filters: &Filters) -> Vec<usize> {
    match (&filters.phenomenon, prepared.phenomena.is_empty()) {
        (Some(p), true) => skycase_vocab::phenomenon_index(p).into_iter().collect(),
        _ => prepared.phenomena.clone(),
    }
}

/// The shard scan's answer to a prepared query ([`Searcher::search_on`]): the `k` best frames
/// of `shards` ([`rank_shards`]), and with the learnt directions a second scan without them for
/// the notice ([`Answer::notice_hit_strengths`]).
fn answer_shards(calibration: Option<&Calibration>, shards: &[Shard], prepared: Prepared, k: usize, filters: &Filters, clock: impl Fn() -> f64) -> Result<Answer> {
    let t1 = clock();
    let refs: Vec<&Shard> = shards.iter().collect();
    let hits = rank_shards(&refs, &prepared.query, k, filters, &prepared.regions)?;
    let undirected = prepared.undirected.as_ref().map(|q| rank_shards(&refs, q, k, filters, &prepared.regions)).transpose()?;
    let region_aware = shards.iter().any(|s| s.vectors_per_frame() > 1);
    let row = |h: &Hit| {
        let shard = shards.get(h.shard)?;
        let r = region_index(shard.vector_names().get(h.vector)?)?;
        Some((r, shard.row_f32(h.frame * shard.vectors_per_frame() + h.vector)))
    };
    Ok(finish_answer(calibration, prepared, hits, undirected, region_aware, filters, row, t1, clock()))
}

/// Strengths and "nothing close" of ranked hits; `row(hit)` gives the matched region and the
/// hit's stored vector. The notice reads `undirected` (the ranking without the learnt
/// directions) when there is one, else `hits`.
#[allow(clippy::too_many_arguments)]
fn finish_answer(calibration: Option<&Calibration>, prepared: Prepared, hits: Vec<Hit>, undirected: Option<Vec<Hit>>, region_aware: bool, filters: &Filters, row: impl Fn(&Hit) -> Option<(usize, Vec<f32>)>, t1: f64, t2: f64) -> Answer {
    let bound = if region_aware { filters.bind(&prepared.regions) } else { Vec::new() };
    // Per hit: the strength shown, and the one the notice reads (held to the phenomenon's
    // own threshold, `Calibration::notice_strength`).
    let phenomena = asked_phenomena(&prepared, filters);
    let both = |hits: &[Hit]| -> Vec<(f32, f32)> {
        match calibration {
            Some(c) if region_aware => hits.iter().map(|h| row(h).map(|(r, v)| strength_of(c, r, &v, &phenomena, &prepared.vector)).unwrap_or((0.0, 0.0))).collect(),
            _ => Vec::new(),
        }
    };
    let shown = both(&hits);
    let read = match &undirected {
        Some(u) => both(u),
        None => shown.clone(),
    };
    let strengths: Vec<f32> = shown.iter().map(|b| b.0).collect();
    let notice_hit_strengths: Vec<f32> = read.iter().map(|b| b.0).collect();
    let notice: Vec<f32> = read.iter().map(|b| b.1).collect();
    let nothing_close = hits.is_empty() || calibration.is_some_and(|c| !notice.is_empty() && c.nothing_close(&notice));
    let rank = Duration::from_secs_f64(((t2 - t1) / 1000.0).max(0.0));
    Answer { hits, side: prepared.side, encode: prepared.encode, rank, bound, strengths, nothing_close, notice_hit_strengths, outside: prepared.outside }
}

/// Strength of a hit whose matched region is `r` and stored vector `v`, for the phenomena
/// the query names (the best of them), or, if it names none, for the phenomenon the query
/// vector `q` is nearest to in that region; with the notice strength of the same phenomena
/// ([`Calibration::notice_strength`], the best of them).
fn strength_of(c: &Calibration, r: usize, v: &[f32], phenomena: &[usize], q: &[f32]) -> (f32, f32) {
    let nearest = [c.nearest_phenomenon(q, r)];
    let asked = if phenomena.is_empty() { &nearest[..] } else { phenomena };
    asked.iter().map(|&p| (c.strength(v, r, p), c.notice_strength(v, r, p))).fold((0.0, 0.0), |a, b| (a.0.max(b.0), a.1.max(b.1)))
}

/// A query embedded, anchored and quantized ([`Searcher::prepare`]).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The encoder that embedded it.
    pub side: TextSide,
    /// The joint-space vector (anchored, and moved by the learnt directions if any): what ranks.
    pub vector: Vec<f32>,
    /// The same, ready to rank.
    pub query: QueryVector,
    /// The query before the learnt directions ([`Calibration::directed`]), ready to rank, when
    /// they moved it: the "nothing close" notice reads its ranking. `None` otherwise.
    pub undirected: Option<QueryVector>,
    /// Regions the query names (indices into `REGIONS`).
    pub regions: Vec<usize>,
    /// Phenomena it names.
    pub phenomena: Vec<usize>,
    /// Places it names outside the 13 regions, as written
    /// ([`skycase_vocab::gazetteer::QueryIntent::outside`]).
    pub outside: Vec<String>,
    /// Time spent embedding.
    pub encode: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::shard::{FrameRecord, VectorKind};
    use skycase_vocab::PHENOMENA;

    /// One frame per caption; region `r`'s vector points at angle `angles[r]` in 2-d, so
    /// the query at angle 0 prefers the smallest angle.
    fn shard(captions: &[&str], angles: &[[f32; 13]]) -> Shard {
        let names: Vec<String> = REGIONS.iter().map(|r| r.to_string()).collect();
        let records = captions.iter().enumerate().map(|(i, c)| FrameRecord { id: format!("f{i}"), time: format!("2017-11-{:02}T00:00Z", i + 1), caption: c.to_string(), ..Default::default() }).collect();
        let rows: Vec<Vec<f32>> = angles.iter().flat_map(|a| a.iter().map(|&t| vec![t.cos(), t.sin()])).collect();
        Shard::from_f32("2017-11", names, records, 2, &rows, VectorKind::F32).unwrap()
    }

    fn caption(phenomena: [usize; 13]) -> String {
        phenomena.iter().enumerate().map(|(r, &p)| skycase_vocab::bullet(r, p)).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn the_region_filter_ranks_that_region_only() {
        // See: issue 13. Mongolia (1) answers best, Kyushu (8) worst; Region = Kyushu must
        // match through Kyushu, even when the query names Mongolia.
        let mut a = [1.0f32; 13];
        a[1] = 0.0;
        a[8] = 1.5;
        let s = shard(&[&caption([1; 13])], &[a]);
        let q = QueryVector::new(&[1.0, 0.0]).unwrap();
        let unfiltered = rank_shards(&[&s], &q, 5, &Filters::default(), &[]).unwrap();
        assert_eq!(unfiltered[0].vector, 1);
        let kyushu = Filters { region: Some(8), ..Default::default() };
        for named in [&[][..], &[1][..]] {
            let hits = rank_shards(&[&s], &q, 5, &kyushu, named).unwrap();
            assert_eq!(hits.len(), 1);
            assert_eq!(hits[0].vector, 8, "named {named:?}");
            assert!((hits[0].score - 1.5f32.cos()).abs() < 1e-6);
        }
    }

    #[test]
    fn the_phenomenon_filter_matches_through_a_region_that_has_it() {
        // Frame 0: a typhoon over the Philippine Sea (10), rain over Kyushu (8), which answers
        // the query best; frame 1: no typhoon anywhere.
        let typhoon = PHENOMENA.iter().position(|p| *p == "Typhoon").unwrap();
        let mut c0 = [1; 13];
        c0[10] = typhoon;
        c0[8] = 3;
        let mut a0 = [1.0f32; 13];
        a0[8] = 0.0;
        a0[10] = 0.5;
        let s = shard(&[&caption(c0), &caption([1; 13])], &[a0, [0.1; 13]]);
        let q = QueryVector::new(&[1.0, 0.0]).unwrap();
        assert_eq!(rank_shards(&[&s], &q, 5, &Filters::default(), &[]).unwrap()[0].vector, 8);
        let f = Filters { phenomenon: Some("Typhoon".into()), ..Default::default() };
        let hits = rank_shards(&[&s], &q, 5, &f, &[]).unwrap();
        assert_eq!(hits.iter().map(|h| (h.frame, h.vector)).collect::<Vec<_>>(), [(0, 10)]);
        // Region and phenomenon together: that region, if it has it.
        let both = Filters { region: Some(10), phenomenon: Some("Typhoon".into()), ..Default::default() };
        assert_eq!(rank_shards(&[&s], &q, 5, &both, &[]).unwrap().len(), 1);
        let kyushu_typhoon = Filters { region: Some(8), phenomenon: Some("Typhoon".into()), ..Default::default() };
        assert!(rank_shards(&[&s], &q, 5, &kyushu_typhoon, &[]).unwrap().is_empty());
    }

    #[test]
    fn the_notice_reads_the_ranking_without_the_learnt_directions() {
        // Honshu (6) × Rain (3): its Rain anchor points up, the other phenomena's right, so a
        // Honshu vector at angle θ has strength σ(10 (sin θ − cos θ)): strong above 45°. The
        // query points right; the learnt direction of the cell moves it up to about 72°.
        let (honshu, rain) = (6, 3);
        assert_eq!((REGIONS[honshu], PHENOMENA[rain]), ("Honshu (Japan)", "Rain"));
        let mut anchors = vec![vec![1.0, 0.0]; crate::strength::CELLS];
        anchors[honshu * 5 + rain] = vec![0.0, 1.0];
        let mut directions = vec![vec![0.0, 0.0]; crate::strength::CELLS];
        directions[honshu * 5 + rain] = vec![0.0, 3.0];
        let c = Calibration { version: 3, joint_dim: 2, anchors, slope: 10.0, intercept: 0.0, top: 1, threshold: 0.5, cell_bias: vec![], notice_offsets: vec![], directions, fit: Default::default() };
        // Frame 0: Honshu at 10° (nearest the query, weak); frame 1: at 70° (nearest the
        // directed query, strong).
        let s = shard(&[&caption([1; 13]), &caption([1; 13])], &[[10f32.to_radians(); 13], [70f32.to_radians(); 13]]);
        let q = [1.0f32, 0.0];
        let directed = c.directed(&q, &[honshu], &[rain]);
        assert!(directed[1] > 0.9, "{directed:?}");
        let prepared = |undirected: Option<QueryVector>| Prepared { side: TextSide::Primary, query: QueryVector::new(&directed).unwrap(), vector: directed.clone(), undirected, regions: vec![honshu], phenomena: vec![rain], outside: Vec::new(), encode: Duration::ZERO };
        let shards = std::slice::from_ref(&s);
        let a = answer_shards(Some(&c), shards, prepared(Some(QueryVector::new(&q).unwrap())), 2, &Filters::default(), || 0.0).unwrap();
        // The directions rank the strong frame first and show its strength ...
        assert_eq!(a.hits.iter().map(|h| (h.frame, h.vector)).collect::<Vec<_>>(), [(1, honshu), (0, honshu)]);
        assert!(a.strengths[0] > 0.99 && a.strengths[1] < 0.01, "{:?}", a.strengths);
        // ... but the notice reads the undirected ranking, whose first frame is the weak one.
        assert!(a.notice_hit_strengths[0] < 0.01 && a.notice_hit_strengths[1] > 0.99, "{:?}", a.notice_hit_strengths);
        assert!(a.nothing_close);
        // Read on the directed ranking, the same calibration would see a close case.
        let b = answer_shards(Some(&c), shards, prepared(None), 2, &Filters::default(), || 0.0).unwrap();
        assert_eq!((b.hits, b.strengths.clone()), (a.hits, a.strengths));
        assert_eq!(b.notice_hit_strengths, b.strengths);
        assert!(!b.nothing_close);
    }

    #[test]
    fn hangul_is_found_in_syllables_and_jamo() {
        assert!(has_hangul("한반도에 폭설"));
        assert!(has_hangul("typhoon near 제주"));
        assert!(has_hangul("ㅋㅋ"));
        assert!(has_hangul("\u{1100}\u{1161}"));
        assert!(!has_hangul("typhoon approaching Kyushu"));
        assert!(!has_hangul("台風 九州"));
        assert!(!has_hangul(""));
    }
}
