//! Exact nearest-neighbour ranking over shards.
//!
//! For int8 shards the query is quantized to i16 (`q ≈ s_q · Q`, error 1/65534 of its
//! largest component) and each score is `s_q · s_v · Σ Q_i V_i` with the sum in exact i32
//! arithmetic, so the browser and the companion compute bit-identical scores for the same
//! query vector. With 384-d vectors the sum stays below 384 · 32767 · 127 ≈ 1.6·10⁹ < 2³¹.
//! A frame with several vectors (one per region) scores as its best vector, or, when the
//! query is bound to some of them ([`rank_bound`]: the regions a query names), as the best
//! of those.

use crate::error::{Error, Result};
use crate::shard::{Shard, Vectors};

/// Largest dimension for which the i32 sum cannot overflow.
pub const MAX_DIM: usize = 512;

/// A query prepared for ranking.
#[derive(Debug, Clone)]
pub struct QueryVector {
    f32: Vec<f32>,
    i16: Vec<i16>,
    scale: f32,
}

impl QueryVector {
    /// Prepares a (normalised) query embedding.
    pub fn new(v: &[f32]) -> Result<Self> {
        if v.is_empty() || v.len() > MAX_DIM {
            return Err(Error::Usage(format!("query dimension {} is outside 1..={MAX_DIM}", v.len())));
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(Error::Usage("query vector has a non-finite value".into()));
        }
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = if max == 0.0 { 0.0 } else { max / 32767.0 };
        let i16 = v.iter().map(|x| if scale == 0.0 { 0 } else { (x / scale).round().clamp(-32767.0, 32767.0) as i16 }).collect();
        Ok(Self { f32: v.to_vec(), i16, scale })
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.f32.len()
    }

    /// The i16 components (`v ≈ scale · q`).
    pub fn quantized(&self) -> &[i16] {
        &self.i16
    }

    /// The scale of the i16 components.
    pub fn scale(&self) -> f32 {
        self.scale
    }
}

/// One ranked frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Index of the shard in the caller's list.
    pub shard: usize,
    /// Frame index within the shard.
    pub frame: usize,
    /// Which of the frame's vectors matched best (0 for global-only shards).
    pub vector: usize,
    /// Similarity (cosine for normalised vectors).
    pub score: f32,
}

/// Dot product of an i16 query with an i8 row, exactly, in i32.
#[inline]
pub fn dot_i16_i8(q: &[i16], v: &[i8]) -> i32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd::dot(q, v)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        q.iter().zip(v).map(|(&a, &b)| i32::from(a) * i32::from(b)).sum()
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    pub fn dot(q: &[i16], v: &[i8]) -> i32 {
        let n = q.len().min(v.len());
        let blocks = n / 16;
        let mut acc = i32x4_splat(0);
        for b in 0..blocks {
            let o = b * 16;
            // SAFETY: o + 16 ≤ n ≤ both lengths; unaligned loads are allowed in wasm.
            let (vv, q0, q1) = unsafe {
                (
                    v128_load(v.as_ptr().add(o) as *const v128),
                    v128_load(q.as_ptr().add(o) as *const v128),
                    v128_load(q.as_ptr().add(o + 8) as *const v128),
                )
            };
            acc = i32x4_add(acc, i32x4_dot_i16x8(q0, i16x8_extend_low_i8x16(vv)));
            acc = i32x4_add(acc, i32x4_dot_i16x8(q1, i16x8_extend_high_i8x16(vv)));
        }
        let mut sum = i32x4_extract_lane::<0>(acc)
            .wrapping_add(i32x4_extract_lane::<1>(acc))
            .wrapping_add(i32x4_extract_lane::<2>(acc))
            .wrapping_add(i32x4_extract_lane::<3>(acc));
        for i in blocks * 16..n {
            sum += i32::from(q[i]) * i32::from(v[i]);
        }
        sum
    }
}

/// Score of every vector of a shard, row order.
pub fn score_rows(shard: &Shard, query: &QueryVector) -> Result<Vec<f32>> {
    let d = shard.dim();
    if d != query.dim() {
        return Err(Error::Usage(format!("query has {} dimensions, shard '{}' has {d}", query.dim(), shard.period())));
    }
    Ok(match shard.vectors() {
        Vectors::Int8 { scales, data } => data
            .chunks_exact(d)
            .zip(scales)
            .map(|(row, &s)| (query.scale * s) * dot_i16_i8(&query.i16, row) as f32)
            .collect(),
        Vectors::F16(v) => v.chunks_exact(d).map(|row| row.iter().zip(&query.f32).map(|(a, b)| a.to_f32() * b).sum()).collect(),
        Vectors::F32(v) => v.chunks_exact(d).map(|row| row.iter().zip(&query.f32).map(|(a, b)| a * b).sum()).collect(),
    })
}

/// Score of row `row` of a shard (as [`score_rows`] computes it), `None` past the end or for
/// a zero row ([`empty_rows`]: a region the frame does not cover).
pub fn score_row(shard: &Shard, row: usize, query: &QueryVector) -> Option<f32> {
    let d = shard.dim();
    if d != query.dim() {
        return None;
    }
    let range = row * d..(row + 1) * d;
    match shard.vectors() {
        Vectors::Int8 { scales, data } => {
            let (s, v) = (*scales.get(row)?, data.get(range)?);
            (s != 0.0 && v.iter().any(|&x| x != 0)).then(|| (query.scale * s) * dot_i16_i8(&query.i16, v) as f32)
        }
        Vectors::F16(v) => {
            let v = v.get(range)?;
            v.iter().any(|x| x.to_f32() != 0.0).then(|| v.iter().zip(&query.f32).map(|(a, b)| a.to_f32() * b).sum())
        }
        Vectors::F32(v) => {
            let v = v.get(range)?;
            v.iter().any(|&x| x != 0.0).then(|| v.iter().zip(&query.f32).map(|(a, b)| a * b).sum())
        }
    }
}

/// Per row of a shard, whether it is the zero vector: a region the frame does not cover
/// (a sector crop, a storm-centred frame) has no vector, stored as zeros. Such a row is
/// never a match: a frame competes only with the vectors it has.
pub fn empty_rows(shard: &Shard) -> Vec<bool> {
    let d = shard.dim().max(1);
    match shard.vectors() {
        Vectors::Int8 { scales, data } => scales.iter().zip(data.chunks_exact(d)).map(|(&s, row)| s == 0.0 || row.iter().all(|&v| v == 0)).collect(),
        Vectors::F16(v) => v.chunks_exact(d).map(|row| row.iter().all(|x| x.to_f32() == 0.0)).collect(),
        Vectors::F32(v) => v.chunks_exact(d).map(|row| row.iter().all(|&x| x == 0.0)).collect(),
    }
}

/// The `k` best frames across `shards`, best first; ties go to the earlier shard and frame.
/// `keep(shard, frame)` filters frames (date range, region, phenomenon…).
pub fn rank_filtered(shards: &[&Shard], query: &QueryVector, k: usize, keep: impl Fn(usize, usize) -> bool) -> Result<Vec<Hit>> {
    rank_bound(shards, query, k, keep, |_| Vec::new())
}

/// As [`rank_filtered`], but a frame of shard `s` scores as the best of its vectors listed
/// in `bound(s)` (e.g. the regions the query names); an empty list, or one with no index
/// inside the shard's vectors, means all of them. Zero vectors ([`empty_rows`]) never
/// count; a frame with no other vector among them is not a hit.
pub fn rank_bound(
    shards: &[&Shard],
    query: &QueryVector,
    k: usize,
    keep: impl Fn(usize, usize) -> bool,
    bound: impl Fn(usize) -> Vec<usize>,
) -> Result<Vec<Hit>> {
    rank_where(shards, query, k, keep, bound, |_, _, _| true)
}

/// As [`rank_bound`], and vector `v` of frame `f` in shard `s` counts only if
/// `allow(s, f, v)` (the region and phenomenon filters: [`crate::filters::Filters::allows_vector`]);
/// a frame with no allowed vector is not a hit.
pub fn rank_where(
    shards: &[&Shard],
    query: &QueryVector,
    k: usize,
    keep: impl Fn(usize, usize) -> bool,
    bound: impl Fn(usize) -> Vec<usize>,
    allow: impl Fn(usize, usize, usize) -> bool,
) -> Result<Vec<Hit>> {
    let mut hits = Vec::new();
    for (si, shard) in shards.iter().enumerate() {
        let scores = score_rows(shard, query)?;
        let empty = empty_rows(shard);
        let vpf = shard.vectors_per_frame();
        let mut only: Vec<usize> = bound(si).into_iter().filter(|&j| j < vpf).collect();
        if only.is_empty() {
            only = (0..vpf).collect();
        }
        for (frame, per_frame) in scores.chunks_exact(vpf).enumerate() {
            if !keep(si, frame) {
                continue;
            }
            let best = only
                .iter()
                .filter(|&&j| !empty[frame * vpf + j] && allow(si, frame, j))
                .map(|&j| (j, per_frame[j]))
                .fold(None, |best: Option<(usize, f32)>, (j, s)| if best.is_none_or(|b| s > b.1) { Some((j, s)) } else { best });
            if let Some((vector, score)) = best {
                hits.push(Hit { shard: si, frame, vector, score });
            }
        }
    }
    let order = |a: &Hit, b: &Hit| b.score.total_cmp(&a.score).then(a.shard.cmp(&b.shard)).then(a.frame.cmp(&b.frame));
    if hits.len() > k && k > 0 {
        hits.select_nth_unstable_by(k - 1, order);
        hits.truncate(k);
    }
    hits.sort_by(order);
    hits.truncate(k);
    Ok(hits)
}

/// The `k` best frames across `shards`, best first.
pub fn rank(shards: &[&Shard], query: &QueryVector, k: usize) -> Result<Vec<Hit>> {
    rank_filtered(shards, query, k, |_, _| true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::{FrameRecord, VectorKind};

    fn rec(i: usize) -> FrameRecord {
        FrameRecord { id: format!("f{i}"), time: String::new(), caption: String::new(), thumb: String::new(), source: String::new(), origin: String::new() }
    }

    fn unit(angle: f32) -> Vec<f32> {
        vec![angle.cos(), angle.sin()]
    }

    #[test]
    fn ranks_by_cosine_for_every_kind() {
        let rows: Vec<Vec<f32>> = [0.9f32, 0.1, 0.5, 1.5].iter().map(|&a| unit(a)).collect();
        let records: Vec<_> = (0..4).map(rec).collect();
        for kind in [VectorKind::Int8, VectorKind::F16, VectorKind::F32] {
            let s = Shard::from_f32("p", vec!["global".into()], records.clone(), 2, &rows, kind).unwrap();
            let q = QueryVector::new(&unit(0.0)).unwrap();
            let hits = rank(&[&s], &q, 3).unwrap();
            let frames: Vec<usize> = hits.iter().map(|h| h.frame).collect();
            assert_eq!(frames, vec![1, 2, 0], "{kind:?}");
            // cos(0.1) = 0.99500
            assert!((hits[0].score - 0.1f32.cos()).abs() < 2e-2, "{kind:?} {hits:?}");
        }
    }

    #[test]
    fn a_region_without_a_vector_is_never_the_match() {
        // Frame 0 covers only region b (a zero vector for a); frame 1 covers neither.
        let rows = vec![vec![0.0, 0.0], unit(1.2), vec![0.0, 0.0], vec![0.0, 0.0]];
        for kind in [VectorKind::Int8, VectorKind::F16, VectorKind::F32] {
            let s = Shard::from_f32("p", vec!["a".into(), "b".into()], vec![rec(0), rec(1)], 2, &rows, kind).unwrap();
            assert_eq!(empty_rows(&s), [true, false, true, true], "{kind:?}");
            // A query opposite to b's vector still gets b (score < 0), never a's zero row.
            let q = QueryVector::new(&unit(1.2 + std::f32::consts::PI)).unwrap();
            let hits = rank(&[&s], &q, 5).unwrap();
            assert_eq!(hits.len(), 1, "{kind:?} {hits:?}");
            assert_eq!((hits[0].frame, hits[0].vector), (0, 1));
            assert!(hits[0].score < -0.9);
            // Bound to region a, the frame has nothing to offer.
            assert!(rank_bound(&[&s], &q, 5, |_, _| true, |_| vec![0]).unwrap().is_empty());
        }
    }

    #[test]
    fn frame_scores_as_its_best_region() {
        let rows = vec![unit(1.0), unit(0.2), unit(0.6), unit(0.5)];
        let s = Shard::from_f32("p", vec!["a".into(), "b".into()], vec![rec(0), rec(1)], 2, &rows, VectorKind::F32).unwrap();
        let hits = rank(&[&s], &QueryVector::new(&unit(0.0)).unwrap(), 2).unwrap();
        assert_eq!((hits[0].frame, hits[0].vector), (0, 1));
        assert_eq!((hits[1].frame, hits[1].vector), (1, 1));
    }

    #[test]
    fn bound_frames_score_as_their_best_bound_vector() {
        // Frame 0: vector a = cos 1.0 rad, b = cos 0.2; frame 1: a = cos 0.6, b = cos 0.5.
        let rows = vec![unit(1.0), unit(0.2), unit(0.6), unit(0.5)];
        let s = Shard::from_f32("p", vec!["a".into(), "b".into()], vec![rec(0), rec(1)], 2, &rows, VectorKind::F32).unwrap();
        let q = QueryVector::new(&unit(0.0)).unwrap();
        let only_a = rank_bound(&[&s], &q, 2, |_, _| true, |_| vec![0]).unwrap();
        assert_eq!(only_a.iter().map(|h| (h.frame, h.vector)).collect::<Vec<_>>(), [(1, 0), (0, 0)]);
        assert!((only_a[0].score - 0.6f32.cos()).abs() < 1e-6);
        // Both bound = unbound; out-of-range indices alone fall back to every vector.
        let both = rank_bound(&[&s], &q, 2, |_, _| true, |_| vec![1, 0]).unwrap();
        assert_eq!(both, rank(&[&s], &q, 2).unwrap());
        assert_eq!(rank_bound(&[&s], &q, 2, |_, _| true, |_| vec![7]).unwrap(), rank(&[&s], &q, 2).unwrap());
    }

    #[test]
    fn merges_shards_filters_and_breaks_ties_by_position() {
        let rows = vec![unit(0.3), unit(0.3)];
        let a = Shard::from_f32("a", vec!["g".into()], vec![rec(0), rec(1)], 2, &rows, VectorKind::Int8).unwrap();
        let b = a.clone();
        let q = QueryVector::new(&unit(0.0)).unwrap();
        let hits = rank(&[&a, &b], &q, 3).unwrap();
        let order: Vec<(usize, usize)> = hits.iter().map(|h| (h.shard, h.frame)).collect();
        assert_eq!(order, vec![(0, 0), (0, 1), (1, 0)]);
        let only_b = rank_filtered(&[&a, &b], &q, 5, |s, _| s == 1).unwrap();
        assert!(only_b.iter().all(|h| h.shard == 1) && only_b.len() == 2);
    }

    #[test]
    fn integer_dot_is_exact() {
        let q: Vec<i16> = (0..37).map(|i| (i * 997 % 65535 - 32767) as i16).collect();
        let v: Vec<i8> = (0..37).map(|i| (i * 31 % 255 - 127) as i8).collect();
        let expected: i64 = q.iter().zip(&v).map(|(&a, &b)| i64::from(a) * i64::from(b)).sum();
        assert_eq!(i64::from(dot_i16_i8(&q, &v)), expected);
    }

    #[test]
    fn refuses_dimension_mismatch_and_bad_queries() {
        let s = Shard::from_f32("p", vec!["g".into()], vec![rec(0)], 2, &[unit(0.0)], VectorKind::Int8).unwrap();
        assert!(rank(&[&s], &QueryVector::new(&[1.0, 0.0, 0.0]).unwrap(), 1).is_err());
        assert!(QueryVector::new(&[]).is_err());
        assert!(QueryVector::new(&[f32::NAN]).is_err());
    }
}
