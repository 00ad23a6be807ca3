//! The study's three results reproduced on our own held-out data, and measures beyond them:
//! [`run_study`] computes everything, [`Study::to_markdown`] writes docs/evaluation.md and
//! [`Study::write_figures`] its PNG figures.
//!
//! - **Table I**: the 65 template queries, raw hits of the top 20 per cell (and the total of
//!   1300) next to the study's, the normalised score hits / min(20, relevant) and the relevant
//!   frames per cell; scored against the simulator's truth, and again against the physical
//!   captioner's captions of the same frames ([`crate::captions`]; the study scored against
//!   MLLM captions).
//! - **Figure II**: the top 3 frames of chosen queries, matched region outlined.
//! - **Figure III**: template + paraphrase query embeddings in 2-D (PCA and t-SNE), before the
//!   projection head (raw MiniLM) and after it (joint space, image-region vectors behind).
//! - **Beyond**: recall@1/5/10 text → image and image → text, a graded score, the effect of
//!   paraphrasing and of Korean, and what the wrong hits of each cell were.
//!
//! Sources: simulated archives (`labels.jsonl` + `frames/`; the full report), or the demo
//! bundle data (`data/demo`: int8 shard, `frames.jsonl`, thumbnails) restricted to the days the
//! demo model did not train on. Ranking always goes through [`Searcher::search`] over an index
//! built as the app builds it ([`build_searcher`]).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use skycase_core::shard::Shard;
use skycase_core::Searcher;
use skycase_ingest::{Navigation, RegionMasks, Regions, Sidecar};
use skycase_train::archive::sidecar_masks;
use skycase_train::data::Sample;
use skycase_vocab::{PHENOMENA, REGIONS};

use crate::captions::physical_labels;
use crate::error::{Error, Result};
use crate::figures::{figure_three, figure_two, write_png, BackPoint, Map, Panel, QueryPoint};
use crate::index::{build_searcher, embed_archive, multilingual_side, text_side, ArchiveIndex, Checkpoint};
use crate::projection::{neighbour_overlap, pca, tsne, TsneOptions};
use crate::queries::{template_queries, Query, QuerySet, Split};
use crate::report::{MultilingualOptions, StudyTable};
use crate::score::{run_queries, summarise, CellCounts, Outcome, Summary, Truth};
use skycase_core::search::TextSide as EncoderSide;

/// Results per query, as in the study.
pub const K: usize = 20;

/// Where the frames come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Simulated archives (held-out months); they form one index.
    Archives(Vec<PathBuf>),
    /// The demo data folder (`data/demo`): its shard, frames and thumbnails, frames from day
    /// `from_day` of the month on (the demo model trained on days 1–23).
    Demo {
        /// The folder.
        dir: PathBuf,
        /// First day of month used.
        from_day: u32,
    },
}

/// What [`run_study`] does.
#[derive(Debug, Clone)]
pub struct StudyOptions {
    /// A `skycase train` output folder.
    pub checkpoint: PathBuf,
    /// The all-MiniLM-L6-v2 folder.
    pub text_model: PathBuf,
    /// The frames searched.
    pub source: Source,
    /// Folder of `queries-en.tsv` and `queries-ko.tsv` (their test halves are used).
    pub query_dir: PathBuf,
    /// Best track for the physical captioner's typhoons (archives only).
    pub besttrack: Option<PathBuf>,
    /// Score Table I against the physical captioner too (archives only).
    pub physical: bool,
    /// The multilingual encoder for Hangul queries (as the app loads it); `None`: MiniLM
    /// answers every query.
    pub multilingual: Option<MultilingualOptions>,
    /// Queries of Figure II.
    pub figure_queries: Vec<String>,
    /// Image-region vectors drawn behind Figure III (sampled evenly).
    pub background: usize,
    /// t-SNE gradient steps.
    pub tsne_iterations: usize,
    /// Cache of image vectors, the quantized encoder and physical captions.
    pub cache: Option<PathBuf>,
    /// Progress bars on stderr.
    pub progress: bool,
}

/// One searched archive.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ArchiveRow {
    /// Name.
    pub name: String,
    /// Frames used.
    pub frames: usize,
    /// First frame.
    pub start: String,
    /// Last frame.
    pub end: String,
}

/// Recall@1/5/10.
pub type Recall = [Option<f64>; 3];
/// The K of [`Recall`].
pub const RECALL_AT: [usize; 3] = [1, 5, 10];

/// One query set's results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SetResult {
    /// `template`, `en`, `ko`.
    pub name: String,
    /// Per query.
    pub outcomes: Vec<Outcome>,
    /// hits@20 summary.
    pub summary: Summary,
    /// Text → image recall@1/5/10: share of queries (with ≥ 1 relevant frame) with a relevant
    /// frame among the first K.
    pub recall: Recall,
    /// Mean graded score over queries whose cell has any share (`None` without shares).
    pub graded: Option<f64>,
    /// Graded score per query (same order as outcomes).
    pub graded_each: Vec<Option<f64>>,
}

/// A Figure II entry.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FigureTwo {
    /// The query.
    pub query: String,
    /// PNG file name.
    pub file: String,
    /// Top 3: time, score, matched region, the queried region's truth.
    pub top: Vec<(String, f32, String, String)>,
    /// The cell the query names (region, phenomenon), when it names exactly one of each, and
    /// the times of the frames whose truth has it.
    pub relevant: Option<((usize, usize), Vec<String>)>,
}

/// Figure III's numbers for one space.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SpaceStats {
    /// `raw MiniLM (384-d)` or `joint (256-d)`.
    pub space: String,
    /// Share of each query's 5 nearest other queries (cosine, full dimension) asking for the
    /// same phenomenon.
    pub same_phenomenon_at5: f64,
    /// The same for the region.
    pub same_region_at5: f64,
    /// Variance explained by PC1, PC2.
    pub pca_variance: [f64; 2],
    /// Share of 10 nearest neighbours kept by the PCA map and by the t-SNE map.
    pub kept_pca: f64,
    /// See `kept_pca`.
    pub kept_tsne: f64,
}

/// Everything measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Study {
    /// Checkpoint folder.
    pub checkpoint: PathBuf,
    /// Its hash.
    pub checkpoint_hash: String,
    /// `archives` or `demo`.
    pub source: String,
    /// What was searched.
    pub archives: Vec<ArchiveRow>,
    /// Relevant frames per cell (truth).
    pub relevant: CellCounts,
    /// Relevant frames per cell by the physical captioner's labels.
    pub relevant_physical: Option<CellCounts>,
    /// Template hits per cell against truth.
    pub hits: [[usize; 5]; 13],
    /// Template hits per cell against the physical captions.
    pub hits_physical: Option<[[usize; 5]; 13]>,
    /// Share of region labels where the physical captioner agrees with truth, and per
    /// phenomenon (recall of truth's label).
    pub physical_agreement: Option<(f64, [Option<f64>; 5])>,
    /// Whether a best track fed the physical captioner.
    pub physical_besttrack: bool,
    /// template, en (test half), ko (test half).
    pub sets: Vec<SetResult>,
    /// Image region → text recall@1/5/10 among the 65 templates, over all frame × region pairs.
    pub image_to_text: Recall,
    /// The same as a 5-way choice among the region's own 5 template queries (R@1 = accuracy).
    pub image_to_text_5way: f64,
    /// Share of frame × region pairs whose best template query names that region.
    pub image_to_text_region: f64,
    /// Frame × region pairs scored.
    pub image_regions: usize,
    /// Whether Korean queries went through multilingual-e5 (else the MiniLM path).
    pub korean_encoder: String,
    /// Whether graded shares were available.
    pub graded_available: bool,
    /// Per set: hits@20 (cells ≥ 1) and R@1/5/10 with region binding and anchoring off (the
    /// encoder and projection alone).
    pub encoder_alone: Vec<(String, Option<f64>, Recall)>,
    /// Figure II.
    pub figure_two: Vec<FigureTwo>,
    /// Figure III: before and after.
    pub spaces: Vec<SpaceStats>,
    #[serde(skip)]
    figures: Vec<(String, crate::figures::Canvas)>,
    /// Truth labels of every searched frame by id.
    #[serde(skip)]
    truth_by_id: HashMap<String, [u8; 13]>,
}

/// Per-region physical shares of each phenomenon in one frame (`labels.jsonl` fields):
/// Snow = snow_fraction, Clear = 1 − cloud_fraction, Cloudy = cloud_fraction, Rain =
/// rain_fraction, Typhoon = 1 when a storm centre is inside, else its core share, 0 without a
/// storm.
pub type Shares = [[f32; 5]; 13];

/// Reads the shares of every frame of `labels.jsonl` by time; `None` when the file has no
/// `regions` fields (a captioned store, the demo).
pub fn read_shares(path: &Path) -> Result<Option<HashMap<String, Shares>>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = HashMap::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| Error::format(path, format!("line {}: {e}", i + 1)))?;
        let Some(regions) = v.get("regions") else {
            return Ok(None);
        };
        let time = v.get("time").and_then(|t| t.as_str()).ok_or_else(|| Error::format(path, format!("line {}: no time", i + 1)))?;
        let mut s = [[0f32; 5]; 13];
        for (r, name) in REGIONS.iter().enumerate() {
            let reg = regions.get(name).ok_or_else(|| Error::format(path, format!("line {}: no regions.{name}", i + 1)))?;
            let f = |k: &str| reg.get(k).and_then(|x| x.as_f64()).map(|x| x as f32);
            let cloud = f("cloud_fraction").ok_or_else(|| Error::format(path, format!("line {}: {name} has no cloud_fraction", i + 1)))?;
            let typhoon = match reg.get("typhoon").filter(|t| !t.is_null()) {
                Some(t) if t.get("centre_inside").and_then(|c| c.as_bool()) == Some(true) => 1.0,
                Some(t) => t.get("core_share").and_then(|c| c.as_f64()).unwrap_or(0.0) as f32,
                None => 0.0,
            };
            s[r] = [f("snow_fraction").unwrap_or(0.0), 1.0 - cloud, cloud, f("rain_fraction").unwrap_or(0.0), typhoon];
        }
        out.insert(time.to_string(), s);
    }
    Ok(Some(out))
}

/// Graded score of a ranked list: mean share of the asked phenomenon in the asked region
/// over the list, divided by the mean over the `list.len()` frames with the largest share.
/// `None` when no frame has any share.
pub fn graded(list: &[f32], all: &[f32]) -> Option<f64> {
    let mut best: Vec<f32> = all.to_vec();
    best.sort_by(|a, b| b.total_cmp(a));
    best.truncate(list.len());
    let ideal: f64 = best.iter().map(|&x| x as f64).sum();
    (ideal > 0.0).then(|| list.iter().map(|&x| x as f64).sum::<f64>() / ideal)
}

/// Recall@K of outcomes with relevant frames: share with a relevant frame in the first K.
pub fn text_recall(outcomes: &[Outcome]) -> Recall {
    let with: Vec<&Outcome> = outcomes.iter().filter(|o| o.relevant > 0).collect();
    RECALL_AT.map(|k| (!with.is_empty()).then(|| with.iter().filter(|o| o.top.iter().take(k).any(|t| t.relevant)).count() as f64 / with.len() as f64))
}

fn parse_caption(caption: &str, what: &Path) -> Result<[u8; 13]> {
    let mut out = [u8::MAX; 13];
    for line in caption.lines() {
        let Some((r, p)) = line.trim().trim_start_matches("- ").rsplit_once(" - ") else {
            continue;
        };
        if let (Some(r), Some(p)) = (REGIONS.iter().position(|x| *x == r), PHENOMENA.iter().position(|x| *x == p)) {
            out[r] = p as u8;
        }
    }
    if let Some(r) = out.iter().position(|&p| p == u8::MAX) {
        return Err(Error::format(what, format!("a caption has no line for '{}'", REGIONS[r])));
    }
    Ok(out)
}

/// The demo folder as an archive: vectors from its shard (dequantized), truth from
/// `frames.jsonl`, frames from day `from_day` on. Also returns the demo's grid navigation.
fn demo_archive(dir: &Path, from_day: u32, ckpt: &Checkpoint) -> Result<(ArchiveIndex, Navigation, (usize, usize))> {
    // The demo also holds real frames of other months (their own period shards, physical
    // captions): the report reads the simulated month, whose captions are the truth.
    let index = dir.join("index");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&index)
        .map_err(|e| Error::io(&index, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "skyshard"))
        .collect();
    paths.sort();
    let mut simulated: Option<(PathBuf, Shard)> = None;
    for path in paths {
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let shard = Shard::from_bytes(&bytes, &path.display().to_string())?;
        let is_simulated = !shard.records().is_empty() && shard.records().iter().all(|r| r.origin == skycase_core::source::SIMULATED || (r.origin.is_empty() && !r.caption.is_empty()));
        if is_simulated && simulated.as_ref().is_none_or(|(_, s)| shard.len() > s.len()) {
            simulated = Some((path, shard));
        }
    }
    let (shard_path, shard) = simulated.ok_or_else(|| Error::format(&index, "no shard of simulated frames (the report scores against the simulator's truth)"))?;
    if shard.vector_names() != ckpt.vector_names().as_slice() || shard.dim() != ckpt.model.config().joint_dim {
        return Err(Error::format(&shard_path, "its vectors are not of this checkpoint's kind (names or dimension differ)"));
    }
    let frames_path = dir.join("frames.jsonl");
    let text = std::fs::read_to_string(&frames_path).map_err(|e| Error::io(&frames_path, e))?;
    let mut thumbs = HashMap::new();
    let mut grid_of = HashMap::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| Error::format(&frames_path, format!("line {}: {e}", i + 1)))?;
        if let (Some(id), Some(thumb)) = (v["id"].as_str(), v["thumb"].as_str()) {
            thumbs.insert(id.to_string(), thumb.to_string());
        }
        if let (Some(id), Some(grid)) = (v["id"].as_str(), v["grid"].as_str()) {
            grid_of.insert(id.to_string(), grid.to_string());
        }
    }
    let per = shard.vectors_per_frame();
    let mut samples = Vec::new();
    let mut vectors = Vec::new();
    for (f, rec) in shard.records().iter().enumerate() {
        let day: u32 = rec.time.get(8..10).and_then(|d| d.parse().ok()).ok_or_else(|| Error::format(&shard_path, format!("time '{}'", rec.time)))?;
        if day < from_day {
            continue;
        }
        let labels = parse_caption(&rec.caption, &shard_path)?;
        let file = thumbs.get(&rec.id).cloned().unwrap_or_else(|| rec.thumb.clone());
        samples.push(Sample { time: rec.time.clone(), file, caption: rec.caption.clone(), labels });
        for v in 0..per {
            vectors.extend(shard.row_f32(f * per + v));
        }
    }
    if samples.is_empty() {
        return Err(Error::format(&shard_path, format!("no frame from day {from_day} on")));
    }
    let grids_path = dir.join("grids.json");
    let grids: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&grids_path).map_err(|e| Error::io(&grids_path, e))?).map_err(|e| Error::format(&grids_path, e.to_string()))?;
    // The simulated frames' grid (frames.jsonl names it; older demos have one grid only).
    let grids = grids.as_object().ok_or_else(|| Error::format(&grids_path, "not an object"))?;
    let grid = shard
        .records()
        .first()
        .and_then(|r| grid_of.get(&r.id))
        .and_then(|g| grids.get(g))
        .or_else(|| grids.values().next())
        .ok_or_else(|| Error::format(&grids_path, "no grid"))?;
    let nav: Navigation = serde_json::from_value(grid["nav"].clone()).map_err(|e| Error::format(&grids_path, format!("nav: {e}")))?;
    let size = (grid["width"].as_u64().unwrap_or(0) as usize, grid["height"].as_u64().unwrap_or(0) as usize);
    let arch =
        ArchiveIndex { name: "demo".into(), root: dir.to_path_buf(), samples, names: shard.vector_names().to_vec(), dim: shard.dim(), vectors, cached: true };
    Ok((arch, nav, size))
}

fn normalise(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter().map(|x| x / n).collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Share of each row's 5 nearest other rows (cosine) with the same key.
fn same_at5(rows: &[Vec<f32>], key: &[usize]) -> f64 {
    let n = rows.len();
    if n < 6 {
        return f64::NAN;
    }
    let mut same = 0usize;
    for i in 0..n {
        let mut idx: Vec<usize> = (0..n).filter(|&j| j != i).collect();
        idx.sort_by(|&a, &b| dot(&rows[i], &rows[b]).total_cmp(&dot(&rows[i], &rows[a])));
        same += idx[..5].iter().filter(|&&j| key[j] == key[i]).count();
    }
    same as f64 / (5 * n) as f64
}

/// Runs the whole study (see the module header).
pub fn run_study(opts: &StudyOptions) -> Result<Study> {
    let ckpt = Checkpoint::open(&opts.checkpoint)?;
    // Archives, plus per archive: masks and frame size for Figure II.
    let mut demo_nav = None;
    let archives: Vec<ArchiveIndex> = match &opts.source {
        Source::Archives(roots) => {
            if roots.is_empty() {
                return Err(Error::Usage("no archive given".into()));
            }
            roots.iter().map(|r| embed_archive(&ckpt, r, opts.cache.as_deref(), opts.progress)).collect::<Result<_>>()?
        }
        Source::Demo { dir, from_day } => {
            let (a, nav, size) = demo_archive(dir, *from_day, &ckpt)?;
            demo_nav = Some((nav, size));
            vec![a]
        }
    };
    let text = text_side(&opts.text_model, opts.cache.as_deref())?;
    let ml = match &opts.multilingual {
        Some(m) => Some(multilingual_side(&m.model, &m.projection, ckpt.model.config().joint_dim)?),
        None => None,
    };
    let (searcher, origin) = build_searcher(&text, &ckpt, &archives, ml.as_ref())?;
    let truth = Truth::new(&archives, &origin);
    let where_is: HashMap<String, (usize, usize)> = archives
        .iter()
        .enumerate()
        .flat_map(|(a, arch)| arch.samples.iter().enumerate().map(move |(i, s)| (format!("{}/{}", arch.name, s.time), (a, i))))
        .collect();

    // Graded shares (archives with the simulator's physical fields).
    let mut shares: Vec<Option<HashMap<String, Shares>>> = Vec::new();
    for a in &archives {
        shares.push(match &opts.source {
            Source::Archives(_) => read_shares(&a.root.join("labels.jsonl"))?,
            Source::Demo { .. } => None,
        });
    }
    let graded_available = shares.iter().all(Option::is_some);
    let share_of =
        |a: usize, i: usize, r: usize, p: usize| -> f32 { shares[a].as_ref().and_then(|m| m.get(&archives[a].samples[i].time)).map_or(0.0, |s| s[r][p]) };

    // The query sets: templates, and the test halves of the English and Korean sets; with the
    // multilingual encoder, the Korean set also forced through MiniLM (`ko@minilm`).
    let mut sets: Vec<(QuerySet, Option<EncoderSide>)> = vec![(QuerySet { name: "template".into(), queries: template_queries() }, None)];
    let mut names = vec![("en", None), ("ko", None)];
    if ml.is_some() {
        names.push(("ko@minilm", Some(EncoderSide::Primary)));
    }
    for (name, side) in names {
        let s = QuerySet::load(&opts.query_dir, name.split('@').next().unwrap_or(name))?;
        sets.push((QuerySet { name: name.into(), queries: s.of_split(Split::Test).into_iter().cloned().collect() }, side));
    }
    let mut results = Vec::new();
    for (set, side) in &sets {
        let refs: Vec<&Query> = set.queries.iter().collect();
        let bar = if opts.progress { crate::index::bar(refs.len() as u64, &format!("{} queries", set.name)) } else { indicatif::ProgressBar::hidden() };
        let outcomes = run_queries(&searcher, &truth, &refs, K, *side, Some(&bar))?;
        bar.finish_and_clear();
        let graded_each: Vec<Option<f64>> = outcomes
            .iter()
            .map(|o| {
                if !graded_available {
                    return None;
                }
                let (r, p) = (o.query.region, o.query.phenomenon);
                let list: Vec<f32> = o.top.iter().filter_map(|t| where_is.get(&t.id)).map(|&(a, i)| share_of(a, i, r, p)).collect();
                let all: Vec<f32> = where_is.values().map(|&(a, i)| share_of(a, i, r, p)).collect();
                graded(&list, &all)
            })
            .collect();
        let g: Vec<f64> = graded_each.iter().flatten().copied().collect();
        results.push(SetResult {
            name: set.name.clone(),
            summary: summarise(&outcomes, K),
            recall: text_recall(&outcomes),
            graded: (!g.is_empty()).then(|| g.iter().sum::<f64>() / g.len() as f64),
            graded_each,
            outcomes,
        });
    }
    // The same sets with the gazetteer's help switched off: no region binding, no anchoring.
    let (mut bare, _) = build_searcher(&text, &ckpt, &archives, ml.as_ref())?;
    bare.set_region_binding(false);
    bare.set_anchor_weight(0.0);
    let mut encoder_alone = Vec::new();
    for (set, side) in &sets {
        let refs: Vec<&Query> = set.queries.iter().collect();
        let outcomes = run_queries(&bare, &truth, &refs, K, *side, None)?;
        encoder_alone.push((set.name.clone(), summarise(&outcomes, K).hits_any, text_recall(&outcomes)));
    }
    drop(bare);

    let template = &results[0];
    let mut hits = [[0usize; 5]; 13];
    for o in &template.outcomes {
        hits[o.query.region][o.query.phenomenon] = o.hits;
    }

    // Against the physical captioner's captions.
    let (mut relevant_physical, mut hits_physical, mut physical_agreement) = (None, None, None);
    if opts.physical {
        if let Source::Archives(_) = &opts.source {
            let cache = opts.cache.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("skycase-eval-{}", std::process::id())));
            let mut phys: Vec<Vec<[u8; 13]>> = Vec::new();
            for a in &archives {
                phys.push(physical_labels(&a.root, &a.samples, opts.besttrack.as_deref(), &cache, opts.progress)?);
            }
            let mut rel = [[0usize; 5]; 13];
            let (mut agree, mut total) = (0usize, 0usize);
            let mut per = [(0usize, 0usize); 5];
            for (a, arch) in archives.iter().enumerate() {
                for (i, s) in arch.samples.iter().enumerate() {
                    for r in 0..13 {
                        let (t, c) = (s.labels[r] as usize, phys[a][i][r] as usize);
                        rel[r][c] += 1;
                        total += 1;
                        per[t].1 += 1;
                        if t == c {
                            agree += 1;
                            per[t].0 += 1;
                        }
                    }
                }
            }
            let mut h = [[0usize; 5]; 13];
            for o in &template.outcomes {
                let (r, p) = (o.query.region, o.query.phenomenon);
                h[r][p] = o.top.iter().filter_map(|t| where_is.get(&t.id)).filter(|&&(a, i)| phys[a][i][r] as usize == p).count();
            }
            relevant_physical = Some(rel);
            hits_physical = Some(h);
            physical_agreement = Some((agree as f64 / total.max(1) as f64, per.map(|(a, n)| (n > 0).then(|| a as f64 / n as f64))));
        }
    }

    // Image → text among the 65 templates (f32 region vectors, plain projected queries).
    let tq: Vec<Vec<f32>> = template_queries().iter().map(|q| searcher.embed_query(&q.text).map(|v| normalise(&v))).collect::<std::result::Result<_, _>>()?;
    let (mut found, mut five, mut pairs, mut right_region) = ([0usize; 3], 0usize, 0usize, 0usize);
    for arch in &archives {
        for (i, s) in arch.samples.iter().enumerate() {
            for r in 0..13 {
                let v = normalise(arch.vector(i, r.min(arch.names.len() - 1)));
                let want = r * 5 + s.labels[r] as usize;
                let scores: Vec<f32> = tq.iter().map(|q| dot(q, &v)).collect();
                let rank = scores.iter().filter(|&&x| x > scores[want]).count();
                for (n, k) in RECALL_AT.iter().enumerate() {
                    found[n] += usize::from(rank < *k);
                }
                let own = (0..5).filter(|&p| scores[r * 5 + p] > scores[want]).count();
                five += usize::from(own == 0);
                let best = (0..scores.len()).fold(0, |b, j| if scores[j] > scores[b] { j } else { b });
                right_region += usize::from(best / 5 == r);
                pairs += 1;
            }
        }
    }
    let image_to_text = found.map(|f| (pairs > 0).then(|| f as f64 / pairs as f64));

    // Figure II.
    let mut figures = Vec::new();
    let mut figure_two_rows = Vec::new();
    let masks_of = |a: usize| -> Result<(Vec<Vec<bool>>, usize, usize)> {
        match &demo_nav {
            Some((nav, (w, h))) => {
                let rm = RegionMasks::rasterize(&Regions::bundled(), nav, *w, *h);
                Ok(((0..13).map(|k| rm.mask(k)).collect(), *w, *h))
            }
            None => {
                let meta_path = archives[a].root.join("meta.json");
                let meta = std::fs::read(&meta_path).map_err(|e| Error::io(&meta_path, e))?;
                let side = Sidecar::parse(&meta, &meta_path)?;
                Ok((sidecar_masks(&archives[a].root, &side)?, side.width, side.height))
            }
        }
    };
    let mut mask_cache: HashMap<usize, (Vec<Vec<bool>>, usize, usize)> = HashMap::new();
    for (n, q) in opts.figure_queries.iter().enumerate() {
        let answer = searcher.search(q, 3, &skycase_core::Filters::default(), || 0.0)?;
        let intent = skycase_vocab::gazetteer::parse_query(q);
        let mut panels = Vec::new();
        let mut rows = Vec::new();
        for (rank, h) in answer.hits.iter().enumerate() {
            let rec = &searcher.shards()[h.shard].records()[h.frame];
            let &(a, i) = where_is.get(&rec.id).ok_or_else(|| Error::Usage(format!("frame {} is in no archive", rec.id)))?;
            let path = archives[a].root.join(&archives[a].samples[i].file);
            let img = image::open(&path).map_err(|e| Error::format(&path, e.to_string()))?.to_luma8();
            let (w, hgt) = (img.width() as usize, img.height() as usize);
            if let std::collections::hash_map::Entry::Vacant(e) = mask_cache.entry(a) {
                e.insert(masks_of(a)?);
            }
            let (masks, mw, mh) = &mask_cache[&a];
            let matched = searcher.matched_region(h).map(str::to_string);
            let mask = matched
                .as_deref()
                .and_then(|m| REGIONS.iter().position(|r| *r == m))
                .map(|r| (0..w * hgt).map(|k| masks[r].get((k / w * mh / hgt) * mw + (k % w) * mw / w).copied().unwrap_or(false)).collect::<Vec<bool>>());
            let labels = archives[a].samples[i].labels;
            let (truth_line, relevant) = match (intent.regions.first(), intent.phenomena.first()) {
                (Some(&r), Some(&p)) => {
                    let t = PHENOMENA[labels[r] as usize];
                    (format!("truth {}: {t}", REGIONS[r]), Some(labels[r] as usize == p))
                }
                (Some(&r), None) => (format!("truth {}: {}", REGIONS[r], PHENOMENA[labels[r] as usize]), None),
                _ => ("".into(), None),
            };
            let matched_name = matched.clone().unwrap_or_else(|| "-".into());
            rows.push((rec.time.clone(), h.score, matched_name.clone(), truth_line.clone()));
            panels.push(Panel {
                gray: img.into_raw(),
                width: w,
                height: hgt,
                matched_mask: mask,
                overlay: vec![format!("#{} {}  score {:.3}", rank + 1, rec.time, h.score), format!("matched: {matched_name}")],
                lines: vec![truth_line],
                relevant,
            });
        }
        let file = format!("fig2-{}.png", n + 1);
        figures.push((file.clone(), figure_two(&format!("\"{q}\""), &panels, 400)?));
        let relevant = match (&intent.regions[..], &intent.phenomena[..]) {
            ([r], [p]) => {
                let mut times: Vec<String> =
                    archives.iter().flat_map(|a| a.samples.iter().filter(|s| s.labels[*r] as usize == *p).map(|s| s.time.clone())).collect();
                times.sort();
                Some(((*r, *p), times))
            }
            _ => None,
        };
        figure_two_rows.push(FigureTwo { query: q.clone(), file, top: rows, relevant });
    }

    // Figure III: templates + English paraphrases (all of them: no ranking is involved).
    let mut queries: Vec<Query> = template_queries();
    queries.extend(QuerySet::load(&opts.query_dir, "en")?.queries);
    let raw: Vec<Vec<f32>> = queries.iter().map(|q| searcher.encoder().embed_query(&q.text).map(|v| normalise(&v))).collect::<std::result::Result<_, _>>()?;
    let joint: Vec<Vec<f32>> = queries.iter().map(|q| searcher.embed_query(&q.text).map(|v| normalise(&v))).collect::<std::result::Result<_, _>>()?;
    let total_pairs: usize = archives.iter().map(|a| a.samples.len() * a.names.len()).sum();
    let step = (total_pairs / opts.background.max(1)).max(1);
    let mut back: Vec<(Vec<f32>, usize)> = Vec::new();
    let mut at = 0usize;
    for arch in &archives {
        for i in 0..arch.samples.len() {
            for v in 0..arch.names.len() {
                if at.is_multiple_of(step) && back.len() < opts.background {
                    let p = if arch.names.len() == 13 { arch.samples[i].labels[v] as usize } else { 2 };
                    back.push((normalise(arch.vector(i, v)), p));
                }
                at += 1;
            }
        }
    }
    let phen: Vec<usize> = queries.iter().map(|q| q.phenomenon).collect();
    let reg: Vec<usize> = queries.iter().map(|q| q.region).collect();
    let tsne_opts = TsneOptions { perplexity: 30.0, iterations: opts.tsne_iterations, seed: 7 };
    let mut spaces = Vec::new();
    for (space, rows, with_back) in [("raw MiniLM", &raw, false), ("joint space", &joint, true)] {
        let mut all: Vec<Vec<f32>> = rows.clone();
        if with_back {
            all.extend(back.iter().map(|(v, _)| v.clone()));
        }
        let (p2, var) = pca(&all)?;
        let t2 = tsne(&all, tsne_opts)?;
        let n = rows.len();
        let qp = |pts: &[[f32; 2]]| -> Vec<QueryPoint> {
            queries
                .iter()
                .enumerate()
                .map(|(i, q)| QueryPoint { at: pts[i], region: q.region, phenomenon: q.phenomenon, template: q.id.starts_with("template") })
                .collect()
        };
        let bp = |pts: &[[f32; 2]]| -> Vec<BackPoint> {
            back.iter().enumerate().filter(|_| with_back).map(|(j, (_, p))| BackPoint { at: pts[n + j], phenomenon: *p }).collect()
        };
        let dim = rows.first().map_or(0, Vec::len);
        let maps = [
            Map { title: format!("PCA (PC1 {:.0} %, PC2 {:.0} % of variance)", 100.0 * var[0], 100.0 * var[1]), queries: qp(&p2), background: bp(&p2) },
            Map { title: format!("t-SNE (perplexity {}, {} steps)", tsne_opts.perplexity, tsne_opts.iterations), queries: qp(&t2), background: bp(&t2) },
        ];
        let note = if with_back {
            format!("{} queries (65 templates large, {} paraphrases small); pale dots: {} image-region vectors coloured by truth", n, n - 65, back.len())
        } else {
            format!("{} queries (65 templates large, {} paraphrases small); images have no vectors in this space", n, n - 65)
        };
        let file = if with_back { "fig3-after.png" } else { "fig3-before.png" };
        figures.push((file.into(), figure_three(&format!("Figure III, {space} ({dim}-d)"), &maps, 520, &note)?));
        spaces.push(SpaceStats {
            space: format!("{space} ({dim}-d)"),
            same_phenomenon_at5: same_at5(rows, &phen),
            same_region_at5: same_at5(rows, &reg),
            pca_variance: var,
            kept_pca: neighbour_overlap(&all, &p2, 10),
            kept_tsne: neighbour_overlap(&all, &t2, 10),
        });
    }

    Ok(Study {
        checkpoint: opts.checkpoint.clone(),
        checkpoint_hash: ckpt.hash.clone(),
        source: match &opts.source {
            Source::Archives(_) => "archives".into(),
            Source::Demo { from_day, .. } => format!("demo (days {from_day}–end)"),
        },
        archives: archives
            .iter()
            .map(|a| ArchiveRow { name: a.name.clone(), frames: a.samples.len(), start: a.period().0.into(), end: a.period().1.into() })
            .collect(),
        relevant: truth.relevant,
        relevant_physical,
        hits,
        hits_physical,
        physical_agreement,
        physical_besttrack: opts.besttrack.is_some(),
        image_to_text,
        image_to_text_5way: five as f64 / pairs.max(1) as f64,
        image_to_text_region: right_region as f64 / pairs.max(1) as f64,
        image_regions: pairs,
        korean_encoder: korean_encoder(&searcher, opts.multilingual.as_ref()),
        graded_available,
        encoder_alone,
        figure_two: figure_two_rows,
        spaces,
        sets: results,
        figures,
        truth_by_id: where_is.iter().map(|(id, &(a, i))| (id.clone(), archives[a].samples[i].labels)).collect(),
    })
}

fn korean_encoder(s: &Searcher, m: Option<&MultilingualOptions>) -> String {
    if let (true, Some(m)) = (s.has_multilingual(), m) {
        format!("multilingual-e5-small with the projection `{}` (the bundle's second encoder, as the app picks it for Hangul)", m.projection.display())
    } else {
        "all-MiniLM-L6-v2 (no multilingual encoder in this index)".into()
    }
}

fn f2(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |v| format!("{v:.2}"))
}

fn f3(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"))
}

fn head(out: &mut String) {
    let _ = writeln!(out, "| region | {} |\n|---|{}", PHENOMENA.join(" | "), "---:|".repeat(5));
}

impl Study {
    /// Writes the figures into `dir` (PNG).
    pub fn write_figures(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for (name, c) in &self.figures {
            let p = dir.join(name);
            write_png(c, &p)?;
            out.push(p);
        }
        Ok(out)
    }

    /// Total template hits (of 1300).
    pub fn total(&self) -> usize {
        self.hits.iter().flatten().sum()
    }

    fn table_one(&self, out: &mut String, hits: &[[usize; 5]; 13], relevant: &CellCounts, study: Option<&StudyTable>, against: &str) {
        let _ = writeln!(out, "Raw hits of the top {K}, ours{} (scored against {against}):\n", if study.is_some() { " / the study's" } else { "" });
        head(out);
        for (r, name) in REGIONS.iter().enumerate() {
            let row: Vec<String> = (0..5)
                .map(|p| match study {
                    Some(s) => format!("{} / {}", hits[r][p], s.hits[r][p]),
                    None => hits[r][p].to_string(),
                })
                .collect();
            let _ = writeln!(out, "| {name} | {} |", row.join(" | "));
        }
        let total: usize = hits.iter().flatten().sum();
        let _ = writeln!(out, "\nTotal: **{total} / 1300**{}.\n", study.map_or_else(String::new, |s| format!(" (the study: {} / 1300)", s.total())));
        let _ = writeln!(out, "Normalised score hits / min({K}, relevant) · relevant frames (– where no frame is relevant):\n");
        head(out);
        let mut norm = Vec::new();
        for (r, name) in REGIONS.iter().enumerate() {
            let row: Vec<String> = (0..5)
                .map(|p| {
                    let rel = relevant[r][p];
                    if rel == 0 {
                        "– · 0".into()
                    } else {
                        let v = hits[r][p] as f64 / rel.min(K) as f64;
                        norm.push(v);
                        format!("{v:.2} · {rel}")
                    }
                })
                .collect();
            let _ = writeln!(out, "| {name} | {} |", row.join(" | "));
        }
        let reach: usize = (0..13).flat_map(|r| (0..5).map(move |p| (r, p))).map(|(r, p)| relevant[r][p].min(K)).sum();
        let _ = writeln!(
            out,
            "\nMean normalised score over the {} cells with a relevant frame: **{:.3}**; the most hits these months allow: {reach} / 1300 ({} cells have fewer than {K} relevant frames).\n",
            norm.len(),
            norm.iter().sum::<f64>() / norm.len().max(1) as f64,
            relevant.iter().flatten().filter(|&&n| n < K).count()
        );
    }

    /// The markdown of docs/evaluation.md; `command` is the exact command line, `fig_dir` the
    /// figures' folder relative to the markdown file.
    pub fn to_markdown(&self, command: &str, study: Option<&StudyTable>, fig_dir: &str) -> String {
        let mut out = String::new();
        let frames: usize = self.archives.iter().map(|a| a.frames).sum();
        let _ = writeln!(out, "# Evaluation: the study's Table I, Figures II and III, and beyond\n");
        let _ = writeln!(out, "Written by `skycase eval --report` (`crates/eval/src/study.rs`). Command:\n\n    {command}\n");
        let _ = writeln!(
            out,
            "Checkpoint `{}` (sha256 of config + weights + projection `{}…`). Every ranking goes through \
             `skycase_core::Searcher::search` over an index built as the app builds it (int8 region vectors, the exporter's \
             quantized MiniLM, region binding, anchoring), top {K}, no filters.\n",
            self.checkpoint.display(),
            &self.checkpoint_hash[..12.min(self.checkpoint_hash.len())]
        );
        let _ = writeln!(out, "| archive | first frame | last frame | frames |\n|---|---|---|---:|");
        for a in &self.archives {
            let _ = writeln!(out, "| `{}` | {} | {} | {} |", a.name, a.start, a.end, a.frames);
        }
        if self.source.starts_with("demo") {
            let _ = writeln!(
                out,
                "\n**Demo data only ({}; {frames} frames).** These are the days of the demo month (`data/demo`, simulated \
                 November 2017, a training month of the project) that the demo model did not train on; its \"nothing close\" \
                 calibration was fit on them, so this is not a clean held-out test, and the tables are small (few relevant \
                 frames per cell). Thumbnails stand in for frames in Figure II; no graded score (the demo keeps no physical \
                 fields) and no physical-captioner scoring (no full frames). The full report runs on held-out 2019 months \
                 with `--test`.",
                self.source
            );
        } else {
            let _ = writeln!(
                out,
                "\nThese are held-out simulated months ({frames} frames): no training and no model selection used them \
                 (2015–2017 train, 2018 dev, 2019 test)."
            );
        }

        // Headline numbers.
        let _ = writeln!(out, "\n## Summary\n");
        let reach: usize = self.relevant.iter().flatten().map(|&n| n.min(K)).sum();
        let _ = writeln!(
            out,
            "- Table I: **{} / 1300** hits against truth{}{}; these months allow at most {reach} (cells with fewer than {K} relevant frames).",
            self.total(),
            self.hits_physical
                .map_or_else(String::new, |h| format!(", {} / 1300 against the physical captioner's captions", h.iter().flatten().sum::<usize>())),
            study.map_or_else(String::new, |s| format!(" (the study: {} / 1300 against its MLLM's captions, on another archive)", s.total()))
        );
        let set = |name: &str| self.sets.iter().find(|s| s.name == name);
        if let Some(t) = set("template") {
            let _ = writeln!(
                out,
                "- Template queries: hits@{K} {} (mean over cells with a relevant frame), R@1/5/10 {} / {} / {}, graded {}.",
                f3(t.summary.hits_any),
                f3(t.recall[0]),
                f3(t.recall[1]),
                f3(t.recall[2]),
                f3(t.graded)
            );
        }
        for (name, what) in [
            ("en", "English paraphrases (test half)"),
            ("ko", "Korean queries (test half, the app's encoder)"),
            ("ko@minilm", "The same Korean queries through MiniLM"),
        ] {
            if let Some(s) = set(name) {
                let _ = writeln!(out, "- {what}: hits@{K} {}, R@1 {}, graded {}.", f3(s.summary.hits_any), f3(s.recall[0]), f3(s.graded));
            }
        }
        let _ = writeln!(out, "- Image → text, 5-way per region (zero-shot classification): accuracy {:.3}.", self.image_to_text_5way);
        if let [before, after, ..] = &self.spaces[..] {
            let _ = writeln!(
                out,
                "- Queries' 5 nearest neighbours asking for the same phenomenon: {:.2} in raw MiniLM, {:.2} after the projection head.",
                before.same_phenomenon_at5, after.same_phenomenon_at5
            );
        }

        // Table I.
        let _ = writeln!(out, "\n## Table I\n");
        let _ = writeln!(
            out,
            "The study's 65 queries (\"Honshu, Japan is experiencing a typhoon.\"), one per region × phenomenon; a hit is a \
             top-{K} frame whose label for the named region is the named phenomenon. The study counted hits on real COMS \
             images of November 2017 against its MLLM's captions (`data/eval/study-table1.tsv`); here, against the \
             simulator's truth, and below against our physical captioner's captions, so the comparison is of layout and \
             scale, not of one archive.\n"
        );
        let _ = writeln!(out, "### Against truth\n");
        self.table_one(&mut out, &self.hits, &self.relevant, study, "the simulator's truth labels");
        match (&self.hits_physical, &self.relevant_physical) {
            (Some(h), Some(rel)) => {
                let _ = writeln!(out, "### Against the physical captioner's captions\n");
                let _ = writeln!(
                    out,
                    "The same rankings, scored as the study scored them, against a captioner's captions: the physical captioner \
                     (`skycase caption --captioner physical`, shipped rules, ± 3-day clear-sky composite{}) captioned every \
                     frame; relevant frames are counted from its captions. The study's captioner was an MLLM; ours reads \
                     brightness temperatures.\n",
                    if self.physical_besttrack { ", typhoons from the JMA best track" } else { ", **no best track: it never says Typhoon**" }
                );
                if let Some((all, per)) = &self.physical_agreement {
                    let per: Vec<String> = PHENOMENA.iter().zip(per).map(|(n, v)| format!("{n} {}", f2(*v))).collect();
                    let _ = writeln!(
                        out,
                        "Its captions agree with truth on {:.1} % of region labels (recall of truth's label: {}).\n",
                        100.0 * all,
                        per.join(", ")
                    );
                }
                self.table_one(&mut out, h, rel, study, "the physical captioner's captions");
            }
            _ => {
                let _ = writeln!(
                    out,
                    "(Not scored against a captioner here: {}.)\n",
                    if self.source.starts_with("demo") { "the demo keeps no full frames to caption" } else { "run without --physical" }
                );
            }
        }

        // Figure II.
        let _ = writeln!(out, "## Figure II\n");
        let _ = writeln!(
            out,
            "Top 3 frames per query; the matched region (the region vector that gave the frame its score) outlined in \
             yellow; on each: rank, time, score and matched region; under each: the truth of the region the query names \
             (green when it is the phenomenon asked for, red otherwise).\n"
        );
        for f in &self.figure_two {
            let _ = writeln!(out, "**\"{}\"**\n\n![{}]({fig_dir}/{})\n", f.query, f.query, f.file);
            if let Some(((r, p), times)) = &f.relevant {
                let shown: Vec<&str> = times.iter().take(8).map(String::as_str).collect();
                let _ = writeln!(
                    out,
                    "Truth has {} × {} in {} frame(s) of these months{}{}.\n",
                    REGIONS[*r],
                    PHENOMENA[*p],
                    times.len(),
                    if times.is_empty() { "" } else { ": " },
                    shown.join(", ") + if times.len() > 8 { ", …" } else { "" }
                );
            }
            let _ = writeln!(out, "| rank | time | score | matched region | truth |\n|---:|---|---:|---|---|");
            for (i, (t, s, m, tr)) in f.top.iter().enumerate() {
                let _ = writeln!(out, "| {} | {t} | {s:.3} | {m} | {tr} |", i + 1);
            }
            let _ = writeln!(out);
        }

        // Figure III.
        let _ = writeln!(out, "## Figure III\n");
        let _ = writeln!(
            out,
            "The 65 template queries (large, outlined) and the English paraphrases of `data/eval/queries-en.tsv` (small), \
             colour = phenomenon, marker = region; left PCA, right t-SNE (exact, implemented in `crates/eval/src/projection.rs`). \
             Before the projection head (raw MiniLM, 384-d) and after it (the joint space, with image-region vectors of these \
             months behind, pale, coloured by their truth). Images have no vectors before the projection head, so the first \
             figure has no background.\n"
        );
        let _ = writeln!(out, "![before]({fig_dir}/fig3-before.png)\n\n![after]({fig_dir}/fig3-after.png)\n");
        let _ = writeln!(
            out,
            "| space | 5 nearest queries: same phenomenon | same region | PCA variance PC1 + PC2 | 10-NN kept by PCA | by t-SNE |\n|---|---:|---:|---:|---:|---:|"
        );
        for s in &self.spaces {
            let _ = writeln!(
                out,
                "| {} | {:.2} | {:.2} | {:.0} % + {:.0} % | {:.2} | {:.2} |",
                s.space,
                s.same_phenomenon_at5,
                s.same_region_at5,
                100.0 * s.pca_variance[0],
                100.0 * s.pca_variance[1],
                s.kept_pca,
                s.kept_tsne
            );
        }
        let _ = writeln!(
            out,
            "\n\"5 nearest queries\": cosine in the full space, share of each query's 5 nearest other queries asking for the \
             same phenomenon (chance ≈ 0.2) or region (≈ 0.08). \"10-NN kept\": share of each point's 10 nearest neighbours \
             (queries and background) that are still among its 10 nearest in the 2-D map.\n"
        );

        // Beyond.
        let _ = writeln!(out, "## Beyond the study\n");
        let _ = writeln!(out, "### Recall and graded score\n");
        let _ = writeln!(
            out,
            "Text → image R@K: share of queries (with ≥ 1 relevant frame) with a relevant frame among the first K. Graded: mean \
             over queries of (the mean share of the queried phenomenon in the queried region over the top {K}) / (the same \
             mean over the {K} frames with the largest share); shares from the simulator's physical fields: Snow = snow \
             fraction, Clear = 1 − cloud fraction, Cloudy = cloud fraction, Rain = rain fraction, Typhoon = 1 with the storm \
             centre inside, else the storm core's share of the region. Korean queries: {}.\n",
            self.korean_encoder
        );
        let _ = writeln!(out, "| set | queries | with relevant | R@1 | R@5 | R@10 | hits@{K} (cells ≥ 1) | graded |\n|---|---:|---:|---:|---:|---:|---:|---:|");
        for s in &self.sets {
            let with = s.outcomes.iter().filter(|o| o.relevant > 0).count();
            let _ = writeln!(
                out,
                "| {} | {} | {with} | {} | {} | {} | {} | {} |",
                s.name,
                s.outcomes.len(),
                f3(s.recall[0]),
                f3(s.recall[1]),
                f3(s.recall[2]),
                f3(s.summary.hits_any),
                f3(s.graded)
            );
        }
        let _ = writeln!(
            out,
            "\nImage → text: each frame's region vector (f32, as the model gives it) ranks the 65 template queries (projected, \
             not anchored); a hit when the query for that region and its truth phenomenon is among the first K. Over {} frame × \
             region pairs: R@1 {}, R@5 {}, R@10 {}; as a 5-way choice among the region's own 5 queries (zero-shot \
             classification): accuracy {:.3}. The best of the 65 names the frame's own region for {:.1} % of pairs: a \
             region vector already carries its region, so among 65 queries the choice is mostly among the region's own 5 \
             and R@5 is near 1 by construction; the 5-way accuracy is the informative number.\n",
            self.image_regions,
            f3(self.image_to_text[0]),
            f3(self.image_to_text[1]),
            f3(self.image_to_text[2]),
            self.image_to_text_5way,
            100.0 * self.image_to_text_region
        );

        // Paraphrasing and Korean, per phenomenon and per cell.
        let _ = writeln!(out, "### Paraphrasing and Korean\n");
        let _ = writeln!(
            out,
            "Mean normalised hits@{K} per phenomenon over cells with a relevant frame: the template, the test half of the English \
             paraphrases (`en`), the test half of the Korean queries (`ko`, each query to the encoder the app picks{}) \
             (the same cells throughout).\n",
            if self.sets.iter().any(|s| s.name == "ko@minilm") { "; `ko@minilm`: the same queries forced through MiniLM" } else { "" }
        );
        let names: Vec<&str> = self.sets.iter().map(|s| s.name.as_str()).collect();
        let _ = writeln!(out, "| phenomenon | cells | {} |\n|---|---:|{}", names.join(" | "), "---:|".repeat(names.len()));
        let cell_mean = |s: &SetResult, p: usize| -> (usize, Option<f64>) {
            let v: Vec<f64> = (0..13).filter_map(|r| s.summary.cells[r][p].score.filter(|_| self.relevant[r][p] > 0)).collect();
            (v.len(), (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64))
        };
        for (p, name) in PHENOMENA.iter().enumerate() {
            let c: Vec<(usize, Option<f64>)> = self.sets.iter().map(|s| cell_mean(s, p)).collect();
            let vals: Vec<String> = c.iter().map(|x| f3(x.1)).collect();
            let _ = writeln!(out, "| {name} | {} | {} |", c[0].0, vals.join(" | "));
        }
        let _ = writeln!(
            out,
            "\nThe search binds the regions and anchors the cells that the gazetteer (English and Korean place and weather \
             words, and English typos one edit from a listed word of six letters or more) finds in a query, with weight {} \
             against the encoder's vector (`skycase_core::search::ANCHOR_WEIGHT`), so a query the gazetteer understands ranks \
             much as its template does, whatever the encoder makes of it. With binding and anchoring off, the encoder and projection alone:\n",
            skycase_core::search::ANCHOR_WEIGHT
        );
        let _ = writeln!(out, "| set | hits@{K} (cells ≥ 1), as searched | encoder alone | R@1 as searched | encoder alone | R@10 as searched | encoder alone |\n|---|---:|---:|---:|---:|---:|---:|");
        for (s, (name, h, r)) in self.sets.iter().zip(&self.encoder_alone) {
            let _ =
                writeln!(out, "| {name} | {} | {} | {} | {} | {} | {} |", f3(s.summary.hits_any), f3(*h), f3(s.recall[0]), f3(r[0]), f3(s.recall[2]), f3(r[2]));
        }
        if self.sets.len() >= 2 {
            let mut diffs: Vec<(f64, usize, usize)> = Vec::new();
            for r in 0..13 {
                for p in 0..5 {
                    if let (Some(t), Some(e)) = (self.sets[0].summary.cells[r][p].score, self.sets[1].summary.cells[r][p].score) {
                        diffs.push((e - t, r, p));
                    }
                }
            }
            diffs.sort_by(|a, b| a.0.total_cmp(&b.0));
            let worse = diffs.iter().filter(|d| d.0 < -0.1).count();
            let better = diffs.iter().filter(|d| d.0 > 0.1).count();
            let list =
                |v: &[(f64, usize, usize)]| v.iter().map(|(d, r, p)| format!("{} × {} ({d:+.2})", REGIONS[*r], PHENOMENA[*p])).collect::<Vec<_>>().join("; ");
            let _ = writeln!(
                out,
                "\nPer cell, paraphrases vs template: {worse} of {} cells lose more than 0.1, {better} gain more than 0.1. Largest \
                 losses: {}. Largest gains: {}.\n",
                diffs.len(),
                list(&diffs[..diffs.len().min(4)]),
                list(&diffs.iter().rev().take(4).copied().collect::<Vec<_>>())
            );
        }

        // Error analysis.
        let _ = writeln!(out, "### What the wrong hits were (template queries)\n");
        let _ = writeln!(
            out,
            "For each cell: the hits, then the wrong frames of the top {K} by the truth of the named region (phenomenon × count) \
             and how many of all {K} matched through another region than the named one (with region binding a query that names \
             a region is scored on that region's vector only, so this is 0 unless the query names none). Cells with no relevant \
             frame list what came instead.\n"
        );
        let template = &self.sets[0];
        let mut confusion = [[0usize; 5]; 5];
        for o in &template.outcomes {
            for t in o.top.iter().filter(|t| !t.relevant) {
                if let Some(c) = self.caption_of(&t.id) {
                    confusion[o.query.phenomenon][c[o.query.region] as usize] += 1;
                }
            }
        }
        let _ = writeln!(
            out,
            "All cells together (cells without a relevant frame included: all their {K} are wrong): the wrong hits of each \
             phenomenon asked for, by the truth of the named region:\n"
        );
        let _ = writeln!(out, "| asked for | wrong hits | {} |\n|---|---:|{}", PHENOMENA.join(" | "), "---:|".repeat(5));
        for (p, row) in confusion.iter().enumerate() {
            let n: usize = row.iter().sum();
            let cells: Vec<String> = row.iter().map(|c| if n == 0 { "–".into() } else { format!("{c} ({:.0} %)", 100.0 * *c as f64 / n as f64) }).collect();
            let _ = writeln!(out, "| {} | {n} | {} |", PHENOMENA[p], cells.join(" | "));
        }
        let _ = writeln!(out, "\nPer cell:\n");
        let _ = writeln!(out, "| cell | relevant | hits | wrong hits: truth of the named region | matched elsewhere |\n|---|---:|---:|---|---:|");
        for o in &template.outcomes {
            let (r, p) = (o.query.region, o.query.phenomenon);
            let mut by = [0usize; 5];
            for t in o.top.iter().filter(|t| !t.relevant) {
                if let Some(c) = self.caption_of(&t.id) {
                    by[c[r] as usize] += 1;
                }
            }
            let wrong: Vec<String> = PHENOMENA.iter().zip(by).filter(|(_, n)| *n > 0).map(|(n, c)| format!("{n} {c}")).collect();
            let elsewhere = o.top.iter().filter(|t| t.matched.as_deref() != Some(REGIONS[r])).count();
            let _ = writeln!(
                out,
                "| {} × {} | {} | {} | {} | {elsewhere} |",
                REGIONS[r],
                PHENOMENA[p],
                o.relevant,
                o.hits,
                if wrong.is_empty() { "–".into() } else { wrong.join(", ") }
            );
        }
        out
    }

    fn caption_of(&self, id: &str) -> Option<[u8; 13]> {
        self.truth_by_id.get(id).copied()
    }
}
