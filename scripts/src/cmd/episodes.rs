//! `skycase episodes`: how many distinct weather cases the top results of the study's 65
//! template queries hold, with and without folding episodes (issue 13's target: ≥ 15 of the
//! top 20 where the archive has that many). Ranks as `skycase search --episodes` does.

use std::path::PathBuf;

use anyhow::{bail, Result};
use skycase_core::episodes::{group, EpisodeKey, DEFAULT_GAP_HOURS, POOL_FACTOR};
use skycase_core::Filters;
use skycase_vocab::{phenomenon_of, region_index, PHENOMENA};

use crate::bundle::{load_searcher, search_partitioned};

/// Arguments of `skycase episodes`.
#[derive(clap::Args)]
pub struct Args {
    /// The bundle folder (as written by `skycase export`).
    #[arg(long, default_value = "www/bundle")]
    bundle: PathBuf,
    /// Results per query.
    #[arg(short, long, default_value_t = 20)]
    k: usize,
    /// The largest step between two frames of one episode, in hours.
    #[arg(long, default_value_t = DEFAULT_GAP_HOURS)]
    gap_hours: f64,
    /// Distinct episodes the top k must hold (where the archive has that many).
    #[arg(long, default_value_t = 15)]
    target: usize,
}

/// Episodes for template query (`r`, `p`): (episodes among the top k frames without folding,
/// episodes in the top k with folding from a pool of POOL_FACTOR·k, episodes the archive
/// holds: its frames whose caption gives region `r` phenomenon `p`, folded the same way).
fn count(searcher: &skycase_core::Searcher, args: &Args, query: &str, r: usize, p: usize) -> Result<(usize, usize, usize)> {
    type Row = (String, Option<usize>, String, String);
    let rank = |k: usize| -> Result<Vec<Row>> {
        let clock = || 0.0;
        let prepared = searcher.prepare(searcher.side_for(query), query, clock)?;
        if searcher.partitions().is_some() {
            let (answer, fetched) = search_partitioned(searcher, &args.bundle, prepared, k, &Filters::default(), None, clock)?;
            Ok(answer
                .hits
                .iter()
                .map(|h| {
                    let p = &fetched[h.shard].1;
                    let rec = &p.records()[h.frame];
                    (rec.time.clone(), p.vector_names().get(h.vector).and_then(|n| region_index(n)), rec.origin.clone(), rec.caption.clone())
                })
                .collect())
        } else {
            let answer = searcher.search(query, k, &Filters::default(), clock)?;
            Ok(answer
                .hits
                .iter()
                .map(|h| {
                    let rec = &searcher.shards()[h.shard].records()[h.frame];
                    (rec.time.clone(), searcher.matched_region(h).and_then(region_index), rec.origin.clone(), rec.caption.clone())
                })
                .collect())
        }
    };
    let episodes = |hits: &[Row]| {
        let keys: Vec<EpisodeKey> = hits.iter().map(|(t, r, o, _)| EpisodeKey { time: t, region: *r, origin: o }).collect();
        group(&keys, args.gap_hours).len()
    };
    let frames = rank(args.k)?;
    let pool = rank(args.k * POOL_FACTOR)?;
    // Every frame, once each; the relevant ones as the region's own episodes.
    let relevant: Vec<Row> = rank(usize::MAX / 2)?
        .into_iter()
        .filter(|(_, _, _, c)| phenomenon_of(c, r) == Some(PHENOMENA[p]))
        .map(|(t, _, o, c)| (t, Some(r), o, c))
        .collect();
    Ok((episodes(&frames), episodes(&pool).min(args.k), episodes(&relevant)))
}

pub fn run(args: Args) -> Result<()> {
    if !(args.gap_hours.is_finite() && args.gap_hours >= 0.0) {
        bail!("--gap-hours {}: not a number of hours ≥ 0", args.gap_hours);
    }
    let searcher = load_searcher(&args.bundle)?;
    println!("| query | distinct episodes in the top {k} frames | distinct in the top {k} with episodes | relevant episodes in the archive | met |", k = args.k);
    println!("|---|---:|---:|---:|:-:|");
    let (mut met, mut outright, mut sum_frames, mut sum_eps, mut n) = (0, 0, 0, 0, 0);
    for r in 0..skycase_vocab::REGIONS.len() {
        for p in 0..skycase_vocab::PHENOMENA.len() {
            let q = skycase_eval::queries::template_text(r, p);
            let (frames, eps, all) = count(&searcher, &args, &q, r, p)?;
            let ok = eps >= args.target.min(all);
            met += usize::from(ok);
            outright += usize::from(eps >= args.target);
            sum_frames += frames;
            sum_eps += eps;
            n += 1;
            println!("| {q} | {frames} | {eps} | {all} | {} |", if ok { "yes" } else { "no" });
        }
    }
    println!();
    println!(
        "{met} of {n} template queries meet the target (≥ {} distinct episodes in the top {}, or as many as the archive has relevant ones); {outright} of {n} hold ≥ {} outright; mean distinct: {:.1} with episodes, {:.1} without (gap {} h)",
        args.target,
        args.k,
        args.target,
        sum_eps as f64 / n as f64,
        sum_frames as f64 / n as f64,
        args.gap_hours
    );
    Ok(())
}
