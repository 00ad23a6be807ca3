//! `skycase search`: ranks a bundle's frames for a query with the same code as the browser.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, Result};
use skycase_core::episodes::{group, Episode, EpisodeKey, POOL_FACTOR};
use skycase_core::filters::{FilterArgs, Filters};
use skycase_core::reading::Searched;
use skycase_vocab::{phenomenon_of, region_index, REGIONS};

use crate::bundle::{load_searcher, search_partitioned};

/// Arguments of `skycase search`.
#[derive(clap::Args)]
pub struct Args {
    /// What to look for, e.g. "typhoon approaching Kyushu".
    query: String,
    /// The bundle folder (as written by `skycase export`).
    #[arg(long, default_value = "www/bundle")]
    bundle: PathBuf,
    /// Number of results.
    #[arg(short, long, default_value_t = 20)]
    k: usize,
    /// Print JSON (one object with the hits) instead of a table.
    #[arg(long)]
    json: bool,
    /// Earliest UTC date, YYYY-MM-DD (a real calendar date; bounds are inclusive).
    #[arg(long)]
    from: Option<String>,
    /// Latest UTC date (YYYY-MM-DD).
    #[arg(long)]
    to: Option<String>,
    /// Only frames from these months: a season (DJF, MAM, JJA, SON), month numbers or
    /// names, comma-separated (e.g. "SON" or "dec,jan").
    #[arg(long)]
    months: Option<String>,
    /// Rank this region only (its name in any case, e.g. "Kyushu (Japan)"): each frame
    /// matches through this region, whatever regions the query names …
    #[arg(long)]
    region: Option<String>,
    /// … and only if the region has this phenomenon (Snow, Clear, Cloudy, Rain, Typhoon; any
    /// case); without --region, a frame matches only through a region that has it.
    #[arg(long)]
    phenomenon: Option<String>,
    /// Only frames from this source: `real` (every calibrated satellite or product, not the
    /// simulator) or one of simulated, coms, kma, gk2a, digital-typhoon, png-sidecar. Without
    /// it, every calibrated frame: KMA's PNG products (grey levels not calibrated) are searched
    /// only with `--source kma`, and answered without strengths.
    #[arg(long)]
    source: Option<String>,
    /// Query language: `ko` sends the query to the multilingual encoder even without Hangul
    /// (as the browser's `?lang=ko`); by default a query with Hangul goes there, others to MiniLM.
    #[arg(long)]
    lang: Option<String>,
    /// Weather cases, not frames: fold consecutive hits of the same region with the same phenomenon in its caption line (steps of at most
    /// --gap-hours) into one episode and list the k best episodes, each with its time span,
    /// frame count and best frame (as the browser does unless "every frame" is on).
    #[arg(long)]
    episodes: bool,
    /// With --episodes: the largest step between two frames of one episode, in hours.
    #[arg(long, default_value_t = skycase_core::episodes::DEFAULT_GAP_HOURS)]
    gap_hours: f64,
    /// On a partitioned bundle: leaves to probe (default: the manifest's); the browser's
    /// `?nprobe=` takes the same.
    #[arg(long)]
    nprobe: Option<usize>,
}

pub fn run(args: Args) -> Result<()> {
    let raw = FilterArgs { from: args.from.clone(), to: args.to.clone(), months: args.months.clone(), region: args.region.clone(), phenomenon: args.phenomenon.clone(), source: args.source.clone() };
    // The filters are checked before the bundle loads: a typo is reported at once, naming its flag.
    let filters = Filters::parse(&raw).map_err(|e| match e {
        skycase_core::Error::Filter { key, value, reason } => anyhow!("--{key} {value:?}: {reason}"),
        e => e.into(),
    })?;
    let mut searcher = load_searcher(&args.bundle)?;
    match args.lang.as_deref() {
        None | Some("en") => {}
        Some("ko") if searcher.has_multilingual() => searcher.set_prefer_multilingual(true),
        Some("ko") => anyhow::bail!("--lang ko: bundle {} has no multilingual encoder (export it with --multilingual-projection)", args.bundle.display()),
        Some(other) => anyhow::bail!("--lang '{other}' is not one of en, ko"),
    }
    if !(args.gap_hours.is_finite() && args.gap_hours >= 0.0) {
        anyhow::bail!("--gap-hours {}: not a number of hours ≥ 0", args.gap_hours);
    }
    // The query as searched, as in the browser: a storm it names and a period it writes narrow
    // the dates and leave the text embedded; Korean weather without a place is embedded in
    // English.
    let Searched { filters, note: storm, text, period, unread } = searcher.searched(&args.query, &filters);
    // Episodes are grouped from a pool of frames, so that k distinct cases remain.
    let k = if args.episodes { args.k.saturating_mul(POOL_FACTOR) } else { args.k };
    let start = Instant::now();
    let clock = move || start.elapsed().as_secs_f64() * 1e3;
    // A partitioned bundle: the plan's lists and partitions, read and verified as the browser
    // fetches them; otherwise every shard.
    let (answer, fetched) = if searcher.partitions().is_some() {
        let prepared = searcher.prepare(searcher.side_for(&text), &text, &clock)?;
        search_partitioned(&searcher, &args.bundle, prepared, k, &filters, args.nprobe, &clock)?
    } else {
        (searcher.search(&text, k, &filters, clock)?, Vec::new())
    };
    let record = |h: &skycase_core::Hit| match fetched.get(h.shard) {
        Some((_, p)) => &p.records()[h.frame],
        None => &searcher.shards()[h.shard].records()[h.frame],
    };
    let region = |h: &skycase_core::Hit| match fetched.get(h.shard) {
        Some((_, p)) => p.vector_names().get(h.vector).filter(|_| p.vector_names().len() > 1).cloned(),
        None => searcher.matched_region(h).map(str::to_string),
    };
    // The hits shown (indices into answer.hits), each with its episode when grouping.
    let shown: Vec<(usize, Option<Episode>)> = if args.episodes {
        let keys: Vec<EpisodeKey> = answer
            .hits
            .iter()
            .map(|h| {
                let rec = record(h);
                let region = region(h).and_then(|r| region_index(&r));
                EpisodeKey { time: &rec.time, region, origin: &rec.origin, phenomenon: region.and_then(|r| phenomenon_of(&rec.caption, r)) }
            })
            .collect();
        group(&keys, args.gap_hours).into_iter().take(args.k).map(|e| (e.best, Some(e))).collect()
    } else {
        (0..answer.hits.len()).map(|i| (i, None)).collect()
    };
    let rows: Vec<serde_json::Value> = shown
        .iter()
        .enumerate()
        .map(|(rank, (i, episode))| {
            let h = &answer.hits[*i];
            let rec = record(h);
            let mut row = serde_json::json!({
                "rank": rank + 1, "id": rec.id, "time": rec.time, "score": h.score,
                "region": region(h), "caption": rec.caption,
                "source": rec.source, "origin": rec.origin,
                "strength": answer.strengths.get(*i),
            });
            if let Some(e) = episode {
                row["episode"] = serde_json::json!({
                    "start": e.start, "end": e.end, "frames": e.frames(),
                    "members": e.members.iter().map(|&m| record(&answer.hits[m]).id.clone()).collect::<Vec<_>>(),
                });
            }
            row
        })
        .collect();
    let outside = &answer.outside;
    if args.json {
        let out = serde_json::json!({
            "query": args.query, "encoder": answer.side.name(), "encode_ms": answer.encode.as_secs_f64() * 1e3,
            "rank_ms": answer.rank.as_secs_f64() * 1e3, "hits": rows,
            "bound_regions": answer.bound.iter().map(|&r| REGIONS[r]).collect::<Vec<_>>(),
            "nothing_close": answer.nothing_close,
            "outside_map": outside,
            "storm": storm,
            "period": period,
            "unread": unread,
            "partitions": fetched.iter().map(|(r, _)| r.key()).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if let Some(note) = &storm {
        println!("{}", note.english());
    }
    if let Some(note) = &period {
        println!("{}", note.english());
    }
    if !unread.is_empty() {
        println!("{}", skycase_core::reading::unread_english(&unread.join(" ")));
    }
    if !outside.is_empty() {
        println!("{}", skycase_vocab::gazetteer::outside_notice(&outside.join(", ")));
    }
    if rows.is_empty() {
        match period.as_ref().filter(|p| p.applied) {
            Some(note) => println!("this archive holds no frames of {}", note.period.said),
            None => println!("no frames match the filters"),
        }
    } else if answer.nothing_close {
        println!("{}", skycase_core::strength::NOTHING_CLOSE_NOTICE);
    }
    for (row, (i, episode)) in rows.iter().zip(&shown) {
        let h = &answer.hits[*i];
        let rec = record(h);
        let matched = region(h).map(|r| format!("  [{r}]")).unwrap_or_default();
        let strength = answer.strengths.get(*i).map(|s| format!("  strength {s:.2}")).unwrap_or_default();
        let span = episode.as_ref().map(|e| format!("  episode {} – {}, {} frame{}", e.start, e.end, e.frames(), if e.frames() == 1 { "" } else { "s" })).unwrap_or_default();
        println!("{:>3}. {}  {:.4}  {}{matched}{strength}{span}", row["rank"], rec.time, h.score, rec.id);
    }
    match searcher.partitions() {
        Some(p) => eprintln!(
            "encoder {} · encode {:.1} ms · rank {:.2} ms over {} of {} partitions ({} frames in the index)",
            answer.side.name(), answer.encode.as_secs_f64() * 1e3, answer.rank.as_secs_f64() * 1e3, fetched.len(),
            p.periods.iter().map(|x| x.parts).sum::<usize>(), p.frames
        ),
        None => eprintln!("encoder {} · encode {:.1} ms · rank {:.2} ms over {} frames", answer.side.name(), answer.encode.as_secs_f64() * 1e3, answer.rank.as_secs_f64() * 1e3, searcher.frames()),
    }
    Ok(())
}
