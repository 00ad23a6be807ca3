//! A warm `skypart-3` query natively: the worker's steps (src/worker/parts.rs) with every
//! list file and area already in memory, timed per step (docs/benchmarks.md, issue 11).
//!
//! ```sh
//! cargo run --release -p skycase-core --example warm_plan -- /work/lead-sites/f/bundle 30
//! ```
//!
//! Six query vectors made from the manifest's list centroids (no text encoder here); each is
//! asked once to read what it needs from the bundle's files (kept in memory as the worker
//! keeps them: shared bytes by key), then `reps` times more, timed. Prints, per query, the
//! p50 of each step and the answer (ids and score bits, the same on every repeat or it
//! panics), so two builds can be compared answer for answer.
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::rc::Rc;
use std::time::Instant;

use skycase_core::bundle::Manifest;
use skycase_core::filters::Filters;
use skycase_core::partition::areas::Rounds;
use skycase_core::partition::{rank_parts, write_segment_key, ListFile, PartRef};
use skycase_core::rank::QueryVector;

const STEPS: [&str; 7] = ["lists", "plan", "leaf areas", "code pass", "blocks + exact", "finish", "rank"];

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: warm_plan BUNDLE [REPS]");
    let reps: usize = args.next().map_or(20, |s| s.parse().expect("REPS is a number"));
    let manifest = Manifest::from_json(&std::fs::read(format!("{dir}/manifest.json")).unwrap()).unwrap();
    let index = manifest.partitions.expect("a partitioned bundle");
    let centroids = index.list_centroids().unwrap();
    let filters = Filters::default();
    let mut lists: HashMap<usize, Rc<ListFile>> = HashMap::new();
    let mut areas: HashMap<String, Rc<[u8]>> = HashMap::new();
    let read = |p: &PartRef| -> Vec<u8> {
        let mut f = std::fs::File::open(format!("{dir}/{}", p.path)).unwrap();
        f.seek(SeekFrom::Start(p.offset)).unwrap();
        let mut b = vec![0; p.bytes as usize];
        f.read_exact(&mut b).unwrap();
        b
    };
    for qi in 0..6 {
        let (a, b) = (centroids.row_f32(qi * 37 % centroids.len()), centroids.row_f32(qi * 91 % centroids.len()));
        let q = QueryVector::new(&a.iter().zip(&b).map(|(x, y)| x + 0.5 * y).collect::<Vec<f32>>()).unwrap();
        let mut times: Vec<[f64; 7]> = Vec::new();
        let mut answer = None;
        for rep in 0..=reps {
            let mut t = [0f64; 7];
            let mut clock = Instant::now();
            let mut lap = |t: &mut f64| {
                *t = clock.elapsed().as_secs_f64() * 1e3;
                clock = Instant::now();
            };
            let planned = index.plan_lists(&q, &filters, &[], None).unwrap();
            for &l in &planned {
                lists.entry(l).or_insert_with(|| Rc::new(ListFile::from_json(&std::fs::read(format!("{dir}/{}", index.lists[l].path)).unwrap(), "list").unwrap()));
            }
            let held: Vec<Rc<ListFile>> = planned.iter().map(|l| lists[l].clone()).collect();
            let refs: Vec<&ListFile> = held.iter().map(|l| l.as_ref()).collect();
            lap(&mut t[0]);
            let parts = index.plan_parts(&q, &filters, &[], &refs, None).unwrap();
            let mut rounds = Rounds::new(&index, &q, &filters, &[], &refs, parts).unwrap();
            lap(&mut t[1]);
            // As the worker's `get_areas`: by key, shared, read from the files the first time.
            let mut get = |wanted: &[PartRef]| -> Vec<Option<Rc<[u8]>>> {
                let mut key = String::new();
                wanted
                    .iter()
                    .map(|r| {
                        key.clear();
                        write_segment_key(&mut key, &r.path, r.offset, r.bytes);
                        Some(areas.entry(key.clone()).or_insert_with(|| Rc::from(read(r))).clone())
                    })
                    .collect()
            };
            let got = get(&rounds.leaf_areas());
            lap(&mut t[2]);
            let blocks = rounds.take_leaf_areas(&q, 20, got).unwrap();
            lap(&mut t[3]);
            let got = get(&blocks);
            let recs = rounds.take_blocks(&q, 20, &blocks, got).unwrap();
            let got = get(&recs);
            lap(&mut t[4]);
            let out = rounds.finish(&recs, got).unwrap();
            lap(&mut t[5]);
            let ps: Vec<_> = out.iter().map(|(_, p)| p).collect();
            let hits = rank_parts(&ps, &q, 20, &filters, &[]).unwrap();
            lap(&mut t[6]);
            let ids: Vec<(String, u32)> = hits.iter().map(|h| (ps[h.shard].records()[h.frame].id.clone(), h.score.to_bits())).collect();
            match &answer {
                Some(a) => assert_eq!(a, &ids, "query {qi}: a repeat answered otherwise"),
                None => answer = Some(ids),
            }
            if rep > 0 {
                times.push(t);
            }
        }
        let p50 = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let steps: Vec<String> = (0..7).map(|j| format!("{} {:.2}", STEPS[j], p50(&mut times.iter().map(|t| t[j]).collect()))).collect();
        println!("query {qi}: warm {:.2} ms p50 ({})", p50(&mut times.iter().map(|t| t.iter().sum()).collect()), steps.join(", "));
        println!("  answer {:?}", answer.unwrap());
    }
}
