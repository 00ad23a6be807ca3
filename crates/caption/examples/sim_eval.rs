//! Physical captioner vs the simulated archive's truth (what `skycase caption --truth`
//! does, without writing captions):
//! `cargo run --release -p skycase-caption --example sim_eval -- <store> <labels.jsonl> <besttrack> [rules.json] [report.md]`.

use std::collections::HashMap;
use std::path::PathBuf;

use skycase_caption::composite::{for_each_with_composite, Item};
use skycase_caption::eval::{read_truth, Evaluation};
use skycase_caption::frame::lonlat_grid;
use skycase_caption::physical::FrameView;
use skycase_caption::{BestTrack, PhysicalCaptioner, Rules};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 3 {
        return Err("usage: sim_eval <store> <labels.jsonl> <besttrack> [rules.json] [report.md]".into());
    }
    let store = skycase_ingest::FrameStore::open(&a[0])?;
    let truth = read_truth(&PathBuf::from(&a[1]))?;
    let bt = BestTrack::open(&a[2])?;
    let rules = match a.get(3).filter(|s| !s.is_empty()) {
        Some(p) => Rules::open(&PathBuf::from(p))?,
        None => Rules::shipped()?,
    };
    let cap = PhysicalCaptioner::new(rules)?;
    let metas = store.list()?;
    let items: Vec<Item> = metas
        .iter()
        .map(|m| Item { time: m.time, grid: skycase_ingest::frame::grid_id(m.width, m.height, &m.nav) })
        .collect();
    let mut all = Evaluation::default();
    let mut second_half = Evaluation::default();
    let mut lonlat: HashMap<String, Vec<(f32, f32)>> = HashMap::new();
    for_each_with_composite(
        &items,
        3,
        |i| store.load(&metas[i].id).map_err(|e| e.to_string()),
        |f: &skycase_ingest::Frame| f.bt.as_slice(),
        |i, r| {
            let (frame, comp) = r?;
            let m = &metas[i];
            let masks = store.masks(m).map_err(|e| e.to_string())?.ok_or("no masks")?;
            let ll = lonlat.entry(items[i].grid.clone()).or_insert_with(|| lonlat_grid(m));
            let view = FrameView {
                id: &m.id,
                time: m.time,
                width: m.width,
                height: m.height,
                bt: &frame.bt,
                region_bits: masks.bits(),
                lonlat: ll,
                clear_sky: Some(comp),
            };
            let (c, _) = cap.caption(&view, &bt.at(m.time)).map_err(|e| e.to_string())?;
            if let Some(t) = truth.get(&m.time) {
                all.add(t, &c);
                if m.time.format("%d").to_string().as_str() >= "16" {
                    second_half.add(t, &c);
                }
            }
            Ok(())
        },
    )?;
    let md = format!(
        "{}\nHeld-out half (2017-11-16..30, not used to choose thresholds): accuracy {:.3}, macro-F1 {:.3}.\n",
        all.to_markdown(),
        second_half.accuracy(),
        second_half.macro_f1()
    );
    match a.get(4) {
        Some(p) => std::fs::write(p, &md)?,
        None => println!("{md}"),
    }
    eprintln!("accuracy {:.3} macro-F1 {:.3} (second half {:.3})", all.accuracy(), all.macro_f1(), second_half.accuracy());
    Ok(())
}
