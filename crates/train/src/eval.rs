//! Retrieval evaluation on held-out frames.
//!
//! - R@1/5/10 text→image: each frame's whole caption is a query over the frames; a hit when a
//!   frame with that exact caption is in the top k. Image→text: each frame ranks the distinct
//!   captions; a hit when its own caption is in the top k. The global model scores
//!   `cos(image, caption)`; the region-aware model scores a caption by the mean over regions
//!   of `cos(region embedding, that region's bullet)`.
//! - The study's Table I hit rate: for each region × phenomenon query in the study's phrasing
//!   ("Honshu, Japan is experiencing a typhoon."), the top 20 frames; hits = frames whose
//!   labels carry that region with that phenomenon, divided by min(20, relevant frames).
//!   Queries without relevant frames are skipped. A region-aware frame scores by its best
//!   region.

use serde::{Deserialize, Serialize};
use skycase_vocab::{PHENOMENA, REGIONS};

use crate::data::Sample;
use crate::model::{FrameEmbedding, Granularity};

/// Top results counted by the hit rate (the study's 20).
pub const TOP: usize = 20;

/// One Table I cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryHit {
    /// Region index.
    pub region: usize,
    /// Phenomenon index.
    pub phenomenon: usize,
    /// Frames whose labels carry the region with the phenomenon.
    pub relevant: usize,
    /// Of the top 20, how many are relevant.
    pub hits: usize,
    /// `hits / min(20, relevant)`.
    pub rate: f32,
}

/// The figures of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Frames evaluated.
    pub frames: usize,
    /// Text→image R@1, R@5, R@10.
    pub t2i: [f32; 3],
    /// Image→text R@1, R@5, R@10.
    pub i2t: [f32; 3],
    /// Mean Table I hit rate over queries with relevant frames.
    pub hit_rate: f32,
    /// Mean hits in the top 20 (the study reports 6.6).
    pub mean_hits: f32,
    /// Every Table I cell with relevant frames.
    pub queries: Vec<QueryHit>,
}

/// Projected text vectors the evaluation needs (all L2-normalised, joint space).
pub struct TextSide {
    /// Study query of region `r`, phenomenon `p` at `r * 5 + p`.
    pub queries: Vec<Vec<f32>>,
    /// Caption bullet of region `r`, phenomenon `p` at `r * 5 + p`.
    pub bullets: Vec<Vec<f32>>,
    /// Projected whole captions, one per distinct caption of the evaluated frames, in the
    /// order of [`distinct_captions`].
    pub captions: Vec<Vec<f32>>,
}

/// Distinct captions of `samples` in first-seen order, and each sample's index into them.
pub fn distinct_captions(samples: &[&Sample]) -> (Vec<String>, Vec<usize>) {
    let mut list: Vec<String> = Vec::new();
    let mut index = std::collections::HashMap::new();
    let of = samples
        .iter()
        .map(|s| {
            *index.entry(s.caption.clone()).or_insert_with(|| {
                list.push(s.caption.clone());
                list.len() - 1
            })
        })
        .collect();
    (list, of)
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Score of a frame for a free-text query vector.
pub fn query_score(g: Granularity, e: &FrameEmbedding, q: &[f32]) -> f32 {
    match g {
        Granularity::Global => dot(&e.global, q),
        Granularity::Region => e.regions.iter().map(|r| dot(r, q)).fold(f32::NEG_INFINITY, f32::max),
    }
}

/// Indices of the `k` best scores, best first (ties to the lower index).
fn top_k(scores: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// Evaluates embeddings `emb` of `samples` (same order).
pub fn evaluate(g: Granularity, emb: &[FrameEmbedding], samples: &[&Sample], text: &TextSide) -> Metrics {
    let n = emb.len().min(samples.len());
    let (captions, cap_of) = distinct_captions(&samples[..n]);
    // score[i][c]: frame i against distinct caption c.
    let score: Vec<Vec<f32>> = (0..n)
        .map(|i| {
            (0..captions.len())
                .map(|c| match g {
                    Granularity::Global => dot(&emb[i].global, &text.captions[c]),
                    Granularity::Region => {
                        // The caption's labels are those of any frame carrying it.
                        let j = cap_of.iter().position(|&x| x == c).unwrap_or(i);
                        let labels = samples[j].labels;
                        let s: f32 = (0..REGIONS.len())
                            .map(|r| dot(&emb[i].regions[r], &text.bullets[r * PHENOMENA.len() + labels[r] as usize]))
                            .sum();
                        s / REGIONS.len() as f32
                    }
                })
                .collect()
        })
        .collect();
    let ks = [1, 5, 10];
    let mut t2i = [0f32; 3];
    let mut i2t = [0f32; 3];
    for i in 0..n {
        let c = cap_of[i];
        let col: Vec<f32> = (0..n).map(|j| score[j][c]).collect();
        let frames = top_k(&col, 10);
        let caps = top_k(&score[i], 10);
        for (x, &k) in ks.iter().enumerate() {
            if frames.iter().take(k).any(|&j| cap_of[j] == c) {
                t2i[x] += 1.0;
            }
            if caps.iter().take(k).any(|&d| d == c) {
                i2t[x] += 1.0;
            }
        }
    }
    let denom = n.max(1) as f32;
    t2i.iter_mut().chain(i2t.iter_mut()).for_each(|v| *v /= denom);

    let mut queries = Vec::new();
    for r in 0..REGIONS.len() {
        for p in 0..PHENOMENA.len() {
            let relevant = (0..n).filter(|&i| samples[i].labels[r] as usize == p).count();
            if relevant == 0 {
                continue;
            }
            let q = &text.queries[r * PHENOMENA.len() + p];
            let scores: Vec<f32> = (0..n).map(|i| query_score(g, &emb[i], q)).collect();
            let hits = top_k(&scores, TOP).into_iter().filter(|&i| samples[i].labels[r] as usize == p).count();
            queries.push(QueryHit { region: r, phenomenon: p, relevant, hits, rate: hits as f32 / relevant.min(TOP) as f32 });
        }
    }
    let nq = queries.len().max(1) as f32;
    Metrics {
        frames: n,
        t2i,
        i2t,
        hit_rate: queries.iter().map(|q| q.rate).sum::<f32>() / nq,
        mean_hits: queries.iter().map(|q| q.hits as f32).sum::<f32>() / nq,
        queries,
    }
}

/// How image embeddings are stored in a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    /// 4 bytes per value.
    F32,
    /// 2 bytes per value.
    F16,
    /// 1 byte per value plus one f32 scale per vector (`v ≈ scale · q`, `scale = max|v|/127`).
    Int8,
}

impl Storage {
    /// All three, in the report's order.
    pub const ALL: [Storage; 3] = [Storage::F32, Storage::F16, Storage::Int8];

    /// `f32`, `f16` or `int8`.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::Int8 => "int8",
        }
    }

    /// Bytes of one stored `dim`-vector.
    pub fn bytes_per_vector(self, dim: usize) -> usize {
        match self {
            Self::F32 => 4 * dim,
            Self::F16 => 2 * dim,
            Self::Int8 => dim + 4,
        }
    }

    /// The vector as it reads back after storage.
    pub fn round_trip(self, v: &[f32]) -> Vec<f32> {
        match self {
            Self::F32 => v.to_vec(),
            Self::F16 => v.iter().map(|&x| half::f16::from_f32(x).to_f32()).collect(),
            Self::Int8 => {
                let m = v.iter().fold(0f32, |m, x| m.max(x.abs()));
                if m == 0.0 {
                    return vec![0.0; v.len()];
                }
                let s = m / 127.0;
                v.iter().map(|&x| (x / s).round().clamp(-127.0, 127.0) * s).collect()
            }
        }
    }

    /// Every vector of `emb` after storage.
    pub fn apply(self, emb: &[FrameEmbedding]) -> Vec<FrameEmbedding> {
        emb.iter()
            .map(|e| FrameEmbedding {
                global: self.round_trip(&e.global),
                regions: e.regions.iter().map(|r| self.round_trip(r)).collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(labels: [u8; 13], tag: &str) -> Sample {
        Sample { time: String::new(), file: String::new(), caption: tag.to_string(), labels }
    }

    fn unit(d: usize, k: usize) -> Vec<f32> {
        let mut v = vec![0.0; d];
        v[k] = 1.0;
        v
    }

    #[test]
    fn perfect_region_embeddings_score_one() {
        // Dimension 65: region r with phenomenon p embeds as unit vector r*5+p, as do its
        // bullet and query. Three frames, two distinct captions.
        let labs = [[1u8; 13], [3u8; 13], [1u8; 13]];
        let samples: Vec<Sample> = labs.iter().enumerate().map(|(i, l)| sample(*l, if i == 1 { "rain" } else { "clear" })).collect();
        let refs: Vec<&Sample> = samples.iter().collect();
        let emb: Vec<FrameEmbedding> = labs
            .iter()
            .map(|l| FrameEmbedding { global: unit(65, 0), regions: (0..13).map(|r| unit(65, r * 5 + l[r] as usize)).collect() })
            .collect();
        let text = TextSide { queries: (0..65).map(|i| unit(65, i)).collect(), bullets: (0..65).map(|i| unit(65, i)).collect(), captions: vec![] };
        let m = evaluate(Granularity::Region, &emb, &refs, &text);
        assert_eq!(m.t2i, [1.0; 3]);
        assert_eq!(m.i2t, [1.0; 3]);
        // 26 queries have relevant frames (13 regions × Clear, Rain), all perfect.
        assert_eq!(m.queries.len(), 26);
        assert_eq!(m.hit_rate, 1.0);
        // Clear has 2 relevant frames: hits 2 / min(20, 2).
        assert_eq!(m.queries[0].hits, 2);
    }

    #[test]
    fn storage_round_trips() {
        let v = vec![0.5f32, -0.25, 0.125, 0.0];
        assert_eq!(Storage::F32.round_trip(&v), v);
        assert_eq!(Storage::F16.round_trip(&v), v); // exact in f16
        let q = Storage::Int8.round_trip(&v);
        // scale 0.5/127: 0.25 → round(63.5) = 64 → 0.2520
        assert!((q[1] + 64.0 * 0.5 / 127.0).abs() < 1e-6, "{q:?}");
        assert_eq!(Storage::Int8.bytes_per_vector(256), 260);
        assert_eq!(Storage::Int8.round_trip(&[0.0, 0.0]), vec![0.0, 0.0]);
    }
}
