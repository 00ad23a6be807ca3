//! `skycase episodes`: how many distinct weather cases the top results of the study's 65
//! template queries hold, with and without folding episodes (issue 13's target: ≥ 15 of the
//! top 20 where the archive has that many). Ranks as `skycase search --episodes` does.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use anyhow::{bail, Result};
use skycase_core::episodes::{group, Episode, EpisodeKey, DEFAULT_GAP_HOURS, POOL_FACTOR};
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

/// Episodes for template query (`r`, `p`).
struct Counts {
    /// Distinct episodes among the top k frames, without folding.
    frames: usize,
    /// Distinct episodes in the top k with folding (from a pool of POOL_FACTOR·k frames).
    folded: usize,
    /// Of those, the ones of region `r` with phenomenon `p` in their captions.
    folded_relevant: usize,
    /// The archive's spells those come from: a spell is an episode folded from every frame of
    /// the archive, so two results whose frames the pool of 200 does not connect (a long clear
    /// spell seen on its first and its third day) are one spell here.
    spells: usize,
    /// Episodes the archive holds: its frames whose caption gives region `r` phenomenon `p`,
    /// folded the same way.
    archive: usize,
}

fn count(searcher: &skycase_core::Searcher, args: &Args, query: &str, r: usize, p: usize) -> Result<Counts> {
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
    let all = rank(usize::MAX / 2)?;
    // Every frame's spell in each region: (region, origin, time) → spell number.
    let mut spell_of: HashMap<(usize, &str, &str), usize> = HashMap::new();
    let mut spells = 0;
    for region in 0..skycase_vocab::REGIONS.len() {
        let k: Vec<EpisodeKey> =
            all.iter().map(|(t, _, o, c)| EpisodeKey { time: t, region: Some(region), origin: o, phenomenon: phenomenon_of(c, region) }).collect();
        for e in group(&k, args.gap_hours) {
            spells += 1;
            for m in e.members {
                spell_of.insert((region, k[m].origin, k[m].time), spells);
            }
        }
    }
    let episodes = |hits: &[Row]| {
        // As `skycase search --episodes` and the browser key them: region, origin, the region's phenomenon.
        let keys: Vec<EpisodeKey> =
            hits.iter().map(|(t, r, o, c)| EpisodeKey { time: t, region: *r, origin: o, phenomenon: r.and_then(|r| phenomenon_of(c, r)) }).collect();
        let relevant = |e: &Episode| keys[e.best].region == Some(r) && keys[e.best].phenomenon == Some(PHENOMENA[p]);
        let e = group(&keys, args.gap_hours);
        let top = &e[..e.len().min(args.k)];
        let spells: HashSet<Option<usize>> = top.iter().map(|e| keys[e.best].region.and_then(|g| spell_of.get(&(g, keys[e.best].origin, keys[e.best].time)).copied())).collect();
        (e.len(), top.len(), top.iter().filter(|e| relevant(e)).count(), spells.len())
    };
    let frames = rank(args.k)?;
    let pool = rank(args.k * POOL_FACTOR)?;
    // Every frame, once each; the relevant ones as the region's own episodes.
    let relevant: Vec<Row> = all.iter().filter(|(_, _, _, c)| phenomenon_of(c, r) == Some(PHENOMENA[p])).map(|(t, _, o, c)| (t.clone(), Some(r), o.clone(), c.clone())).collect();
    let (_, folded, folded_relevant, spells) = episodes(&pool);
    Ok(Counts { frames: episodes(&frames).0, folded, folded_relevant, spells, archive: episodes(&relevant).0 })
}

pub fn run(args: Args) -> Result<()> {
    if !(args.gap_hours.is_finite() && args.gap_hours >= 0.0) {
        bail!("--gap-hours {}: not a number of hours ≥ 0", args.gap_hours);
    }
    let searcher = load_searcher(&args.bundle)?;
    println!(
        "| query | distinct episodes in the top {k} frames | distinct in the top {k} with episodes | of them, relevant | archive spells they come from | relevant episodes in the archive | met |",
        k = args.k
    );
    println!("|---|---:|---:|---:|---:|---:|:-:|");
    let (mut met, mut outright, mut sum_frames, mut sum_eps, mut sum_rel, mut sum_spells, mut n) = (0, 0, 0, 0, 0, 0, 0);
    for r in 0..skycase_vocab::REGIONS.len() {
        for p in 0..skycase_vocab::PHENOMENA.len() {
            let q = skycase_eval::queries::template_text(r, p);
            let c = count(&searcher, &args, &q, r, p)?;
            let ok = c.folded >= args.target.min(c.archive);
            met += usize::from(ok);
            outright += usize::from(c.folded >= args.target);
            sum_frames += c.frames;
            sum_eps += c.folded;
            sum_rel += c.folded_relevant;
            sum_spells += c.spells;
            n += 1;
            println!("| {q} | {} | {} | {} | {} | {} | {} |", c.frames, c.folded, c.folded_relevant, c.spells, c.archive, if ok { "yes" } else { "no" });
        }
    }
    println!();
    println!(
        "{met} of {n} template queries meet the target (≥ {} distinct episodes in the top {}, or as many as the archive has relevant ones); {outright} of {n} hold ≥ {} outright; mean distinct: {:.1} with episodes ({:.1} of them relevant, from {:.1} archive spells), {:.1} without (gap {} h)",
        args.target,
        args.k,
        args.target,
        sum_eps as f64 / n as f64,
        sum_rel as f64 / n as f64,
        sum_spells as f64 / n as f64,
        sum_frames as f64 / n as f64,
        args.gap_hours
    );
    Ok(())
}
