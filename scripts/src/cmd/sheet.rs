//! `skycase contact-sheet`: the top results of a few queries, one row per query, drawn as
//! one PNG of thumbnails (docs/img/real-contact-sheet.png), with the ranking and filters of
//! `skycase search`.
//!
//! Under each thumbnail a bar says what the frame's own caption says about the query's
//! phenomenon (the first of Snow, Clear, Cloudy, Rain, Typhoon named in the query, any case):
//! green when the matched region's caption line gives it, amber when another region's does,
//! red when no line does, grey when the query names no phenomenon. The captions are
//! whatever the bundle ships (for real frames, the physical captioner's), so the bar is
//! agreement with the captioner, not with observed weather. The table of the same hits goes
//! to stdout as Markdown (rank, time, id, source, score, matched region, bar).

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use image::{imageops, Rgb, RgbImage};
use skycase_core::filters::{FilterArgs, Filters};
use skycase_vocab::{parse_bullet, phenomenon_of, PHENOMENA, REGIONS};

use crate::bundle::load_searcher;

/// Arguments of `skycase contact-sheet`.
#[derive(clap::Args)]
pub struct Args {
    /// The queries, one row each.
    #[arg(required = true)]
    queries: Vec<String>,
    /// The bundle folder (as written by `skycase export`).
    #[arg(long, default_value = "www/bundle")]
    bundle: PathBuf,
    /// Results per query.
    #[arg(short, long, default_value_t = 6)]
    k: usize,
    /// Only frames from this source (`real`, or an origin key), as `skycase search --source`.
    #[arg(long)]
    source: Option<String>,
    /// Output PNG.
    #[arg(long)]
    out: PathBuf,
}

/// Side of a thumbnail cell (px).
const CELL: u32 = 200;
/// Gap between cells and around the sheet (px).
const GAP: u32 = 8;
/// Height of the verdict bar under a cell (px).
const BAR: u32 = 10;

/// What a frame's caption says about the query's phenomenon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// The matched region's line gives it.
    Matched,
    /// Another region's line gives it.
    Elsewhere,
    /// No line gives it.
    Absent,
    /// The query names no phenomenon.
    Unknown,
}

impl Verdict {
    fn colour(self) -> Rgb<u8> {
        match self {
            Verdict::Matched => Rgb([46, 160, 67]),
            Verdict::Elsewhere => Rgb([230, 160, 30]),
            Verdict::Absent => Rgb([210, 50, 45]),
            Verdict::Unknown => Rgb([150, 150, 150]),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Verdict::Matched => "in the matched region",
            Verdict::Elsewhere => "in another region",
            Verdict::Absent => "not in the caption",
            Verdict::Unknown => "-",
        }
    }
}

fn verdict(query: &str, caption: &str, region: Option<&str>) -> Verdict {
    let q = query.to_ascii_lowercase();
    // "cloud" finds "cloudy"; each phenomenon's word stem.
    let Some(p) = PHENOMENA.iter().find(|p| q.contains(&p.to_ascii_lowercase()[..p.len().min(5)])) else { return Verdict::Unknown };
    let k = region.and_then(|r| REGIONS.iter().position(|x| *x == r));
    if k.and_then(|k| phenomenon_of(caption, k)).is_some_and(|x| x == *p) {
        Verdict::Matched
    } else if caption.lines().filter_map(parse_bullet).any(|(_, x)| x == *p) {
        Verdict::Elsewhere
    } else {
        Verdict::Absent
    }
}

pub fn run(args: Args) -> Result<()> {
    let filters = Filters::parse(&FilterArgs { source: args.source.clone(), ..Default::default() }).map_err(|e| match e {
        skycase_core::Error::Filter { key, value, reason } => anyhow!("--{key} {value:?}: {reason}"),
        e => e.into(),
    })?;
    let searcher = load_searcher(&args.bundle)?;
    let (cols, rows) = (args.k as u32, args.queries.len() as u32);
    let mut sheet = RgbImage::from_pixel(GAP + cols * (CELL + GAP), GAP + rows * (CELL + BAR + 2 * GAP), Rgb([255, 255, 255]));
    println!("| query | # | time | frame | source | score | matched region | caption gives the phenomenon |");
    println!("|---|---:|---|---|---|---:|---|---|");
    for (row, query) in args.queries.iter().enumerate() {
        let answer = searcher.search(query, args.k, &filters, || 0.0)?;
        for (i, h) in answer.hits.iter().enumerate() {
            let rec = &searcher.shards()[h.shard].records()[h.frame];
            let region = searcher.matched_region(h);
            let v = verdict(query, &rec.caption, region);
            let path = args.bundle.join(&rec.thumb);
            let thumb = image::open(&path).with_context(|| format!("{}: thumbnail of {}", path.display(), rec.id))?.to_rgb8();
            let scale = f64::from(CELL) / f64::from(thumb.width().max(thumb.height()));
            let (w, h2) = (((f64::from(thumb.width()) * scale).round() as u32).max(1), ((f64::from(thumb.height()) * scale).round() as u32).max(1));
            let small = imageops::resize(&thumb, w, h2, imageops::FilterType::Triangle);
            let (x0, y0) = (GAP + i as u32 * (CELL + GAP), GAP + row as u32 * (CELL + BAR + 2 * GAP));
            imageops::overlay(&mut sheet, &small, i64::from(x0 + (CELL - w) / 2), i64::from(y0 + (CELL - h2) / 2));
            for y in y0 + CELL + 2..y0 + CELL + 2 + BAR {
                for x in x0..x0 + CELL {
                    sheet.put_pixel(x, y, v.colour());
                }
            }
            println!(
                "| {} | {} | {} | `{}` | {} | {:.3} | {} | {} |",
                if i == 0 { query.as_str() } else { "" },
                i + 1,
                rec.time,
                rec.id,
                rec.source.split(" · ").next().unwrap_or(""),
                h.score,
                region.unwrap_or("-"),
                v.name()
            );
        }
    }
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    let mut png = Vec::new();
    sheet.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).context("encoding the contact sheet")?;
    crate::util::write_atomic(&args.out, &png)?;
    eprintln!("{}: {} rows × {} columns", args.out.display(), rows, cols);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_read_the_caption_of_the_matched_region() {
        let cap = "- Korean Peninsula - Snow\n- East China Sea - Typhoon\n- Mongolia - Cloudy";
        assert_eq!(verdict("typhoon over the East China Sea", cap, Some("East China Sea")), Verdict::Matched);
        assert_eq!(verdict("Typhoon near Korea", cap, Some("Korean Peninsula")), Verdict::Elsewhere);
        assert_eq!(verdict("rain over Mongolia", cap, Some("Mongolia")), Verdict::Absent);
        assert_eq!(verdict("cloud over Mongolia", cap, Some("Mongolia")), Verdict::Matched);
        assert_eq!(verdict("what happened here", cap, Some("Mongolia")), Verdict::Unknown);
    }
}
