//! `skycase decade`: writes a SYNTHETIC partitioned bundle of many months (a decade of
//! GK-2A-like 10-minute frames by default: ~526,000 frames × 13 region vectors ≈ 6.8 M
//! vectors) to test and benchmark the partitioned index at the scale it is built for.
//!
//! Nothing in it is an observation. Every frame copies a real frame of the source shard
//! (the demo month's learned image-region embeddings, data/demo/index): its caption and
//! thumbnail, and its 13 region vectors, each moved by a seasonal drift and noise:
//!
//! ```text
//! v = normalise(seed_r + a · cos(2π (month − 11) / 12) · D_r + b · sin(2π (month − 11) / 12) · E_r + σ · n / √dim)
//! ```
//!
//! with fixed random unit directions `D_r`, `E_r` per region, `n` standard normal, and the
//! seed frame drawn at random for each 6-hour episode (consecutive frames share a seed, as
//! weather persists). Frame ids start `syn-`, their source is `synthetic`. The model files
//! (encoder, tokenizer, projection, calibration, thumbnails) are copied from a real bundle,
//! so the app runs on it unchanged.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use skycase_core::partition::build::Lcg;
use skycase_core::shard::{quantize_i8, FrameRecord, Shard};
use skycase_core::Manifest;

use crate::cmd::partition::{report, Layout};
use crate::util::{read, write_atomic};

/// Arguments of `skycase decade`.
#[derive(clap::Args)]
pub struct Args {
    /// Shard of real embeddings the synthetic vectors are drawn around.
    #[arg(long, default_value = "data/demo/index/2017-11.skyshard")]
    shard: PathBuf,
    /// A bundle whose model files and thumbnails the synthetic bundle copies.
    #[arg(long, default_value = "www/bundle")]
    bundle: PathBuf,
    /// Output folder (must not exist, or be empty).
    #[arg(long)]
    out: PathBuf,
    /// First month, YYYY-MM.
    #[arg(long, default_value = "2015-01")]
    start: String,
    /// Number of months.
    #[arg(long, default_value_t = 120)]
    months: usize,
    /// Minutes between frames.
    #[arg(long, default_value_t = 10)]
    cadence: usize,
    /// Seasonal drift amplitude `a` (and `b` = a / 2).
    #[arg(long, default_value_t = 0.3)]
    drift: f32,
    /// Noise σ.
    #[arg(long, default_value_t = 0.25)]
    noise: f32,
    /// Random seed.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    #[command(flatten)]
    layout: Layout,
}

/// The generator: real seeds, per-region drift directions.
struct Generator {
    seeds: Shard,
    dim: usize,
    vpf: usize,
    d: Vec<Vec<f32>>,
    e: Vec<Vec<f32>>,
    drift: f32,
    noise: f32,
}

impl Generator {
    fn unit(rng: &mut Lcg, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        v
    }

    /// The 13 vectors of a frame in month-of-year `moy` copying seed frame `f`.
    fn frame(&self, f: usize, moy: u32, rng: &mut Lcg, out: &mut Vec<Vec<f32>>) {
        let phase = std::f32::consts::TAU * (moy as f32 - 11.0) / 12.0;
        let (a, b) = (self.drift * phase.cos() - self.drift, 0.5 * self.drift * phase.sin());
        let sigma = self.noise / (self.dim as f32).sqrt();
        for r in 0..self.vpf {
            let seed = self.seeds.row_f32(f * self.vpf + r);
            let mut v: Vec<f32> = (0..self.dim).map(|i| seed[i] + a * self.d[r][i] + b * self.e[r][i] + sigma * rng.normal()).collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            if n > 0.0 {
                v.iter_mut().for_each(|x| *x /= n);
            }
            out.push(v);
        }
    }
}

/// Days in a month.
fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

pub fn run(args: Args) -> Result<()> {
    let (y0, m0) = args
        .start
        .split_once('-')
        .and_then(|(y, m)| Some((y.parse::<u32>().ok()?, m.parse::<u32>().ok().filter(|m| (1..=12).contains(m))?)))
        .with_context(|| format!("--start {:?}: not YYYY-MM", args.start))?;
    if args.cadence == 0 || 1440 % args.cadence != 0 {
        bail!("--cadence {}: must divide a day (1440 minutes)", args.cadence);
    }
    if args.out.exists() && std::fs::read_dir(&args.out)?.next().is_some() {
        bail!("--out {}: exists and is not empty; give a new folder", args.out.display());
    }
    let seeds = Shard::from_bytes(&read(&args.shard)?, &args.shard.display().to_string())?;
    let source = Manifest::from_json(&read(&args.bundle.join("manifest.json"))?).with_context(|| format!("bundle {}", args.bundle.display()))?;
    if source.joint_dim != seeds.dim() {
        bail!("{}: vectors of {}, bundle {} has a joint space of {}", args.shard.display(), seeds.dim(), args.bundle.display(), source.joint_dim);
    }
    // The model files and thumbnails, as they are.
    for f in &source.files {
        let bytes = read(&args.bundle.join(&f.path))?;
        f.verify(&bytes).with_context(|| format!("bundle {}", args.bundle.display()))?;
        write_atomic(&args.out.join(&f.path), &bytes)?;
    }
    let multilingual = source.multilingual_info(|f| Ok(read(&args.bundle.join(&f.path)).map_err(|e| skycase_core::Error::Usage(format!("{e:#}")))?))?;
    for c in source.model.word_embeddings.chunks.iter().chain(multilingual.iter().flat_map(|m| &m.word_embeddings.chunks)) {
        write_atomic(&args.out.join(&c.path), &read(&args.bundle.join(&c.path))?)?;
    }
    let (dim, vpf) = (seeds.dim(), seeds.vectors_per_frame());
    let mut rng = Lcg::new(args.seed);
    let d = (0..vpf).map(|_| Generator::unit(&mut rng, dim)).collect();
    let e = (0..vpf).map(|_| Generator::unit(&mut rng, dim)).collect();
    let gen = Generator { seeds, dim, vpf, d, e, drift: args.drift, noise: args.noise };
    let months: Vec<(u32, u32)> = (0..args.months).map(|i| {
        let m = m0 - 1 + i as u32;
        (y0 + m / 12, m % 12 + 1)
    }).collect();
    let per_day = 1440 / args.cadence;
    let frames: usize = months.iter().map(|&(y, m)| days_in(y, m) as usize * per_day).sum();
    let rows = (frames * vpf) as u64;

    // The quantizer's sample: frames drawn from random months by the same process.
    let (lists, subs) = args.layout.sizes(rows);
    let want = args.layout.sample_for(lists * subs);
    let mut sample = Vec::with_capacity(want + vpf);
    while sample.len() < want {
        let (_, m) = months[rng.below(months.len())];
        gen.frame(rng.below(gen.seeds.len()), m, &mut rng, &mut sample);
    }
    eprintln!("SYNTHETIC decade: {} months, {frames} frames, {rows} vectors; training {lists} lists × {subs} sub-centroids on {} vectors", months.len(), sample.len());
    let mut store = crate::util::DirStore::new(&args.out);
    let mut writer = args.layout.writer(&sample, lists, subs, args.seed, gen.seeds.vector_names().to_vec(), &mut store)?;
    drop(sample);
    let bar = crate::util::progress(months.len() as u64, "months");
    let mut seed_frame = 0usize;
    for &(y, m) in &months {
        let period = format!("{y:04}-{m:02}");
        let n = days_in(y, m) as usize * per_day;
        let mut records = Vec::with_capacity(n);
        let mut scales = Vec::with_capacity(n * vpf);
        let mut data = Vec::with_capacity(n * vpf * dim);
        let mut vs = Vec::with_capacity(vpf);
        for i in 0..n {
            let minutes = i * args.cadence;
            if minutes % 360 == 0 {
                seed_frame = rng.below(gen.seeds.len());
            }
            let (day, hh, mm) = (1 + minutes / 1440, minutes % 1440 / 60, minutes % 60);
            let seed = &gen.seeds.records()[seed_frame];
            records.push(FrameRecord {
                id: format!("syn-{y:04}{m:02}{day:02}{hh:02}{mm:02}"),
                time: format!("{period}-{day:02}T{hh:02}:{mm:02}Z"),
                caption: seed.caption.clone(),
                thumb: seed.thumb.clone(),
                source: "synthetic".into(),
                // Drawn around simulated frames' vectors: never "real" to the source filter.
                origin: skycase_core::source::SIMULATED.into(),
            });
            vs.clear();
            gen.frame(seed_frame, m, &mut rng, &mut vs);
            for v in &vs {
                let (s, q) = quantize_i8(v);
                scales.push(s);
                data.extend(q);
            }
        }
        writer.add_period(&period, &records, &scales, &data)?;
        bar.inc(1);
    }
    bar.finish();
    let index = writer.finish(args.layout.plan())?;
    // The synthetic frames copy real captions onto other days: no storm of the source bundle
    // lived on them.
    let manifest = Manifest { shards: Vec::new(), partitions: Some(index), storms: Vec::new(), generator: format!("skycase {} (SYNTHETIC decade, skycase decade)", env!("CARGO_PKG_VERSION")), ..source };
    write_atomic(&args.out.join("manifest.json"), manifest.to_json().as_bytes())?;
    report(&args.out, &manifest);
    Ok(())
}

/// Arguments of `skycase recall`.
#[derive(clap::Args)]
pub struct RecallArgs {
    /// A partitioned bundle.
    #[arg(long, default_value = "www/bundle")]
    bundle: PathBuf,
    /// Leaves probed, comma-separated.
    #[arg(long, default_value = "1,2,4,8,16,32")]
    nprobe: String,
    /// Results compared.
    #[arg(short, long, default_value_t = 20)]
    k: usize,
    /// Adaptive nprobe: score margins to try (each with every --nprobe as the minimum and
    /// --probe-max as the cap); 0 is the fixed plan.
    #[arg(long, default_value = "0")]
    margins: String,
    /// The cap on leaves of an adaptive plan.
    #[arg(long, default_value_t = 32)]
    probe_max: usize,    /// Also the study's 65 template queries ("Kyushu (Japan) is experiencing a typhoon."),
    /// for a steadier mean than the eight benchmark queries.
    #[arg(long)]
    template: bool,
    /// Rank as the app does: each query bound to the regions it names (the exact scan
    /// too), with the region-aware plan (leaves holding those regions' rows). Without it,
    /// every region of a frame counts, and the plan is the unbound one.
    #[arg(long)]
    bound: bool,
    /// Also measure a product-quantized first pass (issue 11): sub-spaces per code (bytes a
    /// row), comma-separated, e.g. `8,16`. Each --nprobe then scores every row of its leaves
    /// by its PQ code, re-ranks the best --rerank rows with their exact int8 score, and
    /// counts the bytes and requests a layout with separate code, row and record areas would
    /// read (see `pq_curve`). Codes are computed here from the int8 rows; no file changes.
    #[arg(long, default_value = "")]
    pq: String,
    /// Rows re-ranked exactly after the PQ first pass, comma-separated.
    #[arg(long, default_value = "200,400")]
    rerank: String,
    /// Sample rows the PQ codebooks are trained on (every n-th non-zero row of the index).
    #[arg(long, default_value_t = 100_000)]
    pq_sample: usize,
    /// Codes relative to their leaf's sub-centroid (residuals) rather than the rows themselves.
    #[arg(long)]
    pq_residual: bool,
    /// Re-rank reads: rows of a leaf at most this many bytes apart are read by one range.
    #[arg(long, default_value_t = 4096)]
    gap: u64,
    /// The row area of a leaf ordered by this many cells (k-means of the leaf's rows), so a
    /// query's candidates in a leaf lie closer together (1: in month order).
    #[arg(long, default_value_t = 1)]
    cells: usize,
    /// A hybrid plan: the best this-many leaves of each plan are read as int8 rows (records
    /// out) and scanned exactly; only the other leaves are read as codes, and only their best
    /// --rerank rows are re-ranked.
    #[arg(long, default_value_t = 0)]
    int8_leaves: usize,
    /// A skypart-3 bundle: the rounds' settings to try, `INT8_LEAVES:RERANK` pairs or
    /// `INT8_LEAVES:RERANK:GAP` triples (GAP: round 3's requests of a leaf at most this many
    /// bytes apart are one range; default the manifest's), comma-separated (e.g.
    /// `6:20,0:50:8192`); empty: the manifest's. Each --nprobe then runs the real plan
    /// (`PartitionIndex::fetch_plan3`) on the files and counts what it reads.
    #[arg(long, default_value = "")]
    rounds: String,
    /// A skypart-3 bundle: byte budgets to try (`skycase_core::partition::Budget`), `BYTES`
    /// or `BYTES:MIN_LEAVES` (default 6), comma-separated; 0 is no budget; empty: the
    /// manifest's.
    #[arg(long, default_value = "")]
    budget: String,
    /// A skypart-3 bundle: also print, per query, its recall and where its bytes went.
    #[arg(long)]
    per_query: bool,
    /// A skypart-3 bundle: only frames on or after this UTC date, YYYY-MM-DD (the plan and
    /// the exact scan both filtered).
    #[arg(long)]
    from: Option<String>,
    /// A skypart-3 bundle: only frames on or before this UTC date, YYYY-MM-DD.
    #[arg(long)]
    to: Option<String>,
}

/// `skycase recall`: recall@k of the partitioned plan against the exact scan of every
/// partition, over nprobe, for the benchmark queries (`skycase_core::BENCH_QUERIES`), with the
/// bytes each plan reads (list files + partitions, uncompressed). The exact scan goes month
/// by month (frames never cross months, so the top k of the union of each month's top k is
/// the exact top k).
pub fn recall(args: RecallArgs) -> Result<()> {
    use skycase_core::partition::{ListFile, Partition, rank_parts};
    use skycase_core::search::TextSide;
    use skycase_core::Filters;
    let dir = &args.bundle;
    let searcher = crate::bundle::load_searcher(dir)?;
    let mut index = searcher.partitions().context("the bundle is not partitioned")?.clone();
    let margins: Vec<f32> = args.margins.split(',').map(|m| m.trim().parse::<f32>().with_context(|| format!("--margins {:?}: not a list of numbers", args.margins))).collect::<Result<_>>()?;
    let nprobes: Vec<usize> = args.nprobe.split(',').map(|n| n.trim().parse::<usize>().with_context(|| format!("--nprobe {:?}: not a list of numbers", args.nprobe))).collect::<Result<_>>()?;
    let mut texts: Vec<String> = skycase_core::BENCH_QUERIES.iter().map(|q| q.to_string()).collect();
    if args.template {
        use skycase_vocab::{PHENOMENA_PROSE, REGIONS};
        texts.extend(REGIONS.iter().flat_map(|r| PHENOMENA_PROSE.iter().map(move |p| format!("{r} is experiencing {p}."))));
    }
    let queries: Vec<_> = texts.iter().map(|q| searcher.prepare(TextSide::Primary, q, || 0.0)).collect::<skycase_core::Result<_>>()?;
    let filters = Filters { from: args.from.clone(), to: args.to.clone(), ..Default::default() };
    let bound: Vec<Vec<usize>> = queries.iter().map(|q| if args.bound { searcher.bound_vectors(q, &filters) } else { Vec::new() }).collect();
    let read_checked = |f: &skycase_core::FileEntry, at: Option<u64>| -> Result<Vec<u8>> {
        let bytes = crate::bundle::read_segment(dir, f, at)?;
        f.verify(&bytes)?;
        Ok(bytes)
    };
    // Every partition, by month.
    let mut lists = Vec::new();
    for (l, e) in index.lists.iter().enumerate() {
        let entry = skycase_core::FileEntry { path: e.path.clone(), role: "partition-list".into(), sha256: e.sha256.clone(), bytes: e.bytes };
        let lf = ListFile::from_json(&read_checked(&entry, None)?, &e.path)?;
        if lf.list != l {
            bail!("{}: is list {}, the manifest lists it as {l}", e.path, lf.list);
        }
        lists.push(lf);
    }
    let refs: Vec<&ListFile> = lists.iter().collect();
    let v3 = index.codes.is_some();
    // skypart-3: each partition's records area, by its rows area.
    let recs_of: std::collections::HashMap<(String, u64), skycase_core::partition::PartRef> =
        lists.iter().flat_map(skycase_core::partition::areas::segments).map(|(r, c)| ((r.path.clone(), r.offset), c)).collect();
    let load = |p: &skycase_core::partition::PartRef| -> Result<Partition> {
        if !v3 {
            return Ok(Partition::from_bytes(&read_checked(&p.file(), Some(p.offset))?, &p.key())?);
        }
        let rows = crate::bundle::read_segment(dir, &p.file(), Some(p.offset))?;
        p.verify(&rows)?;
        let r = &recs_of[&(p.path.clone(), p.offset)];
        let recs = crate::bundle::read_segment(dir, &r.file(), Some(r.offset))?;
        Ok(skycase_core::partition::areas::read_segment(&rows, &recs, p.rows as usize, index.dim, &p.key())?)
    };
    // Every partition (not a plan: a budget would bind one).
    let all = index.parts_in(&filters, &refs)?;
    let mut by_month: std::collections::BTreeMap<usize, Vec<_>> = std::collections::BTreeMap::new();
    for p in all {
        by_month.entry(p.period).or_default().push(p);
    }
    let bar = crate::util::progress(by_month.len() as u64, "exact scan");
    let mut exact: Vec<Vec<(String, f32)>> = vec![Vec::new(); queries.len()];
    // Every n-th non-zero row, for the PQ codebooks (`--pq`).
    let stride = (index.rows as usize / args.pq_sample.max(1)).max(1);
    let (mut sample, mut seen) = (Vec::new(), 0usize);
    for parts in by_month.values() {
        let loaded: Vec<Partition> = parts.iter().map(load).collect::<Result<_>>()?;
        let refs: Vec<&Partition> = loaded.iter().collect();
        if !args.pq.is_empty() {
            for (p, r) in parts.iter().zip(&loaded) {
                for row in 0..r.rows() {
                    let v = r.row_f32(row);
                    if v.iter().any(|&x| x != 0.0) {
                        if seen % stride == 0 {
                            sample.push((p.list, p.sub, v));
                        }
                        seen += 1;
                    }
                }
            }
        }
        for (qi, q) in queries.iter().enumerate() {
            for h in rank_parts(&refs, &q.query, args.k, &filters, &bound[qi])? {
                exact[qi].push((refs[h.shard].records()[h.frame].id.clone(), h.score));
            }
        }
        bar.inc(1);
    }
    bar.finish();
    for e in &mut exact {
        e.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        e.truncate(args.k);
    }
    if v3 {
        return rounds_curve(&args, &mut index, &texts, &queries, &bound, &exact, nprobes);
    }
    if !args.pq.is_empty() {
        return pq_curve(&args, &index, &lists, &queries, &bound, &exact, &sample, nprobes);
    }
    println!("| nprobe (min) | margin | recall@{} (mean over {} queries) | min | read per query, MB (p50 / max) | partitions (p50 / max) | requests: lists + leaf ranges (p50 / max) |", args.k, queries.len());
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (n, margin) in margins.iter().flat_map(|&m| nprobes.iter().map(move |&n| (n, m))) {
        (index.probe_margin, index.probe_max) = (margin, args.probe_max.max(n));
        let (mut recalls, mut bytes, mut files, mut requests) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (qi, q) in queries.iter().enumerate() {
            let planned = index.plan_lists(&q.query, &filters, &bound[qi], Some(n))?;
            let list_bytes: u64 = planned.iter().map(|&l| index.lists[l].bytes).sum();
            let fetched = index.fetch_plan(&q.query, &filters, &bound[qi], Some(n), &mut |f, at| read_checked(f, at).map_err(|e| skycase_core::Error::Usage(format!("{e:#}"))))?;
            let parts: Vec<&Partition> = fetched.iter().map(|(_, p)| p).collect();
            let got: Vec<String> = rank_parts(&parts, &q.query, args.k, &filters, &bound[qi])?.iter().map(|h| parts[h.shard].records()[h.frame].id.clone()).collect();
            let want: Vec<&String> = exact[qi].iter().map(|(id, _)| id).collect();
            recalls.push(got.iter().filter(|id| want.contains(id)).count() as f64 / want.len().max(1) as f64);
            bytes.push(list_bytes + fetched.iter().map(|(r, _)| r.bytes).sum::<u64>());
            files.push(fetched.len());
            let refs: Vec<_> = fetched.iter().map(|(r, _)| r.clone()).collect();
            requests.push(planned.len() + skycase_core::partition::spans(&refs, 0).len());
        }
        bytes.sort_unstable();
        files.sort_unstable();
        requests.sort_unstable();
        let mean = recalls.iter().sum::<f64>() / recalls.len() as f64;
        let min = recalls.iter().copied().fold(1.0, f64::min);
        let (bmax, fmax) = (bytes[bytes.len() - 1], files[files.len() - 1]);
        println!(
            "| {n} | {margin} | {mean:.3} | {min:.2} | {:.2} / {:.2} | {} / {fmax} | {} / {} |",
            bytes[bytes.len() / 2] as f64 / 1e6,
            bmax as f64 / 1e6,
            files[files.len() / 2],
            requests[requests.len() / 2],
            requests[requests.len() - 1]
        );
    }
    Ok(())
}

/// p50 and max of `v` (sorted here).
/// The recall curve of a skypart-3 bundle: per --nprobe and --rounds setting, the real plan
/// on the files (`fetch_plan3`), ranked as the app ranks (`rank_parts` over what it returns),
/// against the exact scan; with what it read per round (list files also as a server sends
/// them, gzip level 6, which is what a browser transfers).
fn rounds_curve(args: &RecallArgs, index: &mut skycase_core::partition::PartitionIndex, texts: &[String], queries: &[skycase_core::search::Prepared], bound: &[Vec<usize>], exact: &[Vec<(String, f32)>], nprobes: Vec<usize>) -> Result<()> {
    use skycase_core::partition::{rank_parts, Partition};
    use std::collections::HashMap;
    let dir = &args.bundle;
    let filters = skycase_core::Filters { from: args.from.clone(), to: args.to.clone(), ..Default::default() };
    let codes = index.codes.clone().context("not a skypart-3 bundle")?;
    let settings: Vec<(usize, usize, u64)> = if args.rounds.is_empty() {
        vec![(codes.int8_leaves, codes.rerank, codes.gap)]
    } else {
        args.rounds
            .split(',')
            .map(|r| {
                let parts: Vec<&str> = r.trim().split(':').collect();
                if !(2..=3).contains(&parts.len()) {
                    bail!("--rounds {r:?}: not INT8_LEAVES:RERANK or INT8_LEAVES:RERANK:GAP");
                }
                let num = |x: &str| x.parse::<u64>().with_context(|| format!("--rounds {r:?}: {x:?} is not a number"));
                Ok((num(parts[0])? as usize, num(parts[1])? as usize, parts.get(2).map_or(Ok(codes.gap), |g| num(g))?))
            })
            .collect::<Result<_>>()?
    };
    let budgets: Vec<Option<skycase_core::partition::Budget>> = if args.budget.is_empty() {
        vec![index.budget]
    } else {
        args.budget
            .split(',')
            .map(|b| {
                let (bytes, min) = b.trim().split_once(':').unwrap_or((b.trim(), "6"));
                let num = |x: &str| x.parse::<u64>().with_context(|| format!("--budget {b:?}: {x:?} is not a number"));
                let (bytes, min_leaves) = (num(bytes)?, num(min)? as usize);
                Ok((bytes > 0).then_some(skycase_core::partition::Budget { bytes, min_leaves }))
            })
            .collect::<Result<_>>()?
    };
    let mut list_gz: HashMap<String, u64> = HashMap::new();
    let mut gz_of = |path: &str| -> Result<u64> {
        if let Some(&b) = list_gz.get(path) {
            return Ok(b);
        }
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        enc.write_all(&std::fs::read(dir.join(path))?)?;
        let b = enc.finish()?.len() as u64;
        list_gz.insert(path.to_string(), b);
        Ok(b)
    };
    let header = format!(
        "| nprobe | int8 leaves | re-ranked | round 3 gap | budget, kB (min leaves) | recall@{k} mean / min ({n} queries) | MB p50 / max (raw) | MB p50 / max (lists gzip) | lists gz / leaf areas / row blocks + records / late records, kB p50 | requests p50 / max | lists / leaf ranges / block + record ranges / late record ranges, p50 (queries with late records) | rank ms p50 |",
        k = args.k,
        n = queries.len()
    );
    if !args.per_query {
        println!("{header}\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    }
    for &n in &nprobes {
        for (&(int8_leaves, rerank, gap), &budget) in settings.iter().flat_map(|s| budgets.iter().map(move |b| (s, b))) {
            let c = index.codes.as_mut().expect("checked above");
            (c.int8_leaves, c.rerank, c.gap) = (int8_leaves, rerank, gap);
            index.budget = budget;
            let budget_col = budget.map_or("none".to_string(), |b| format!("{} ({})", b.bytes / 1000, b.min_leaves));
            if args.per_query {
                println!("\nnprobe {n}, {int8_leaves}:{rerank}:{gap}, budget {budget_col}\n\n| query | recall | MB (lists gzip) | lists raw / gz, kB | leaves | leaf areas, kB | blocks + records, kB | requests |\n|---|---:|---:|---:|---:|---:|---:|---:|");
            }
            let mut runs: Vec<(f64, u64, u64, [u64; 4], usize, [usize; 4], f64)> = Vec::new();
            for (qi, q) in queries.iter().enumerate() {
                let t = std::time::Instant::now();
                let mut read = |path: &str, range: Option<(u64, u64)>| -> skycase_core::Result<Vec<u8>> {
                    let entry = skycase_core::FileEntry { path: path.to_string(), role: String::new(), sha256: String::new(), bytes: range.map_or(0, |(a, e)| e - a) };
                    crate::bundle::read_segment(dir, &entry, range.map(|r| r.0)).map_err(|e| skycase_core::Error::Usage(format!("{e:#}")))
                };
                let answer = index.fetch_plan3(&q.query, &filters, &bound[qi], Some(n), args.k, &mut read)?;
                let parts: Vec<&Partition> = answer.parts.iter().map(|(_, p)| p).collect();
                let got: Vec<String> = rank_parts(&parts, &q.query, args.k, &filters, &bound[qi])?.iter().map(|h| parts[h.shard].records()[h.frame].id.clone()).collect();
                let ms = t.elapsed().as_secs_f64() * 1e3;
                if !answer.warnings.is_empty() {
                    bail!("query {qi}: {}", answer.warnings.join("; "));
                }
                let want: Vec<&String> = exact[qi].iter().map(|(id, _)| id).collect();
                let recall = got.iter().filter(|id| want.contains(id)).count() as f64 / want.len().max(1) as f64;
                let planned = index.plan_lists(&q.query, &filters, &bound[qi], Some(n))?;
                let r = &answer.reads;
                // List files as served (gzip), where the plan read them (not by the leaf directory).
                let gz: u64 = if r.requests[0] > 0 { planned.iter().map(|&l| gz_of(&index.lists[l].path)).sum::<Result<u64>>()? } else { 0 };
                if args.per_query {
                    let planned_leaves = planned_leaf_count(index, &q.query, &filters, &bound[qi], Some(n), dir)?;
                    println!(
                        "| {} | {recall:.2} | {:.2} | {} / {} | {planned_leaves} | {} | {} | {} |",
                        texts_short(&texts[qi]),
                        (r.total_bytes() - r.bytes[0] + gz) as f64 / 1e6,
                        r.bytes[0] / 1000,
                        gz / 1000,
                        r.bytes[1] / 1000,
                        (r.bytes[2] + r.bytes[3]) / 1000,
                        r.total_requests()
                    );
                }
                runs.push((recall, r.total_bytes(), r.total_bytes() - r.bytes[0] + gz, [gz, r.bytes[1], r.bytes[2], r.bytes[3]], r.total_requests(), r.requests, ms));
            }
            let recalls: Vec<f64> = runs.iter().map(|x| x.0).collect();
            let mean = recalls.iter().sum::<f64>() / recalls.len() as f64;
            let min = recalls.iter().copied().fold(1.0, f64::min);
            let (b50, bmax) = p50_max(&mut runs.iter().map(|x| x.1).collect::<Vec<_>>());
            let (g50, gmax) = p50_max(&mut runs.iter().map(|x| x.2).collect::<Vec<_>>());
            let part = |i: usize| p50_max(&mut runs.iter().map(|x| x.3[i]).collect::<Vec<_>>()).0 / 1000;
            let (q50, qmax) = p50_max(&mut runs.iter().map(|x| x.4).collect::<Vec<_>>());
            let req = |i: usize| p50_max(&mut runs.iter().map(|x| x.5[i]).collect::<Vec<_>>()).0;
            let (ms50, _) = p50_max(&mut runs.iter().map(|x| x.6).collect::<Vec<_>>());
            let late = runs.iter().filter(|x| x.5[3] > 0).count();
            if args.per_query {
                println!("\n{header}\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            }
            println!(
                "| {n} | {int8_leaves} | {rerank} | {gap} | {budget_col} | {mean:.3} / {min:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {} / {} / {} / {} | {q50} / {qmax} | {} / {} / {} / {} ({late}) | {ms50:.1} |",
                b50 as f64 / 1e6,
                bmax as f64 / 1e6,
                g50 as f64 / 1e6,
                gmax as f64 / 1e6,
                part(0),
                part(1),
                part(2),
                part(3),
                req(0),
                req(1),
                req(2),
                req(3)
            );
        }
    }
    Ok(())
}

/// Leaves the plan of `q` takes (list files read from `dir`).
fn planned_leaf_count(index: &skycase_core::partition::PartitionIndex, q: &skycase_core::rank::QueryVector, filters: &skycase_core::Filters, bound: &[usize], nprobe: Option<usize>, dir: &std::path::Path) -> Result<usize> {
    use skycase_core::partition::ListFile;
    let lists: Vec<ListFile> = index.plan_lists(q, filters, bound, nprobe)?.into_iter().map(|l| Ok(ListFile::from_json(&std::fs::read(dir.join(&index.lists[l].path))?, &index.lists[l].path)?)).collect::<Result<_>>()?;
    let parts = index.plan_parts(q, filters, bound, &lists.iter().collect::<Vec<_>>(), nprobe)?;
    Ok(parts.iter().map(|p| p.path.as_str()).collect::<std::collections::BTreeSet<_>>().len())
}

/// A query's text cut to 40 characters, for a table.
fn texts_short(text: &str) -> String {
    let t: String = text.chars().take(40).collect();
    if t.len() < text.len() {
        format!("{t}…")
    } else {
        t
    }
}

fn p50_max<T: Copy + PartialOrd>(v: &mut [T]) -> (T, T) {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    (v[v.len() / 2], v[v.len() - 1])
}

/// `skycase recall --pq`: the recall and bytes of a PQ first pass with an exact int8 re-rank,
/// next to the current format's at the same nprobe, and of the current format with the frame
/// records out of the segments.
///
/// Bytes are counted for a layout where each segment (leaf × month) has three areas, each
/// the months of a leaf back to back: codes (a 16-byte header, then per row its `m`-byte code
/// and its vector index, padded to 4), rows (per row a scale, a frame number and the `dim`
/// int8 values) and frame records (the segment's DEFLATEd JSON records, as now). A query
/// reads the list files, the code area of each probed leaf (one range a leaf, unfiltered),
/// the rows of its best `rerank` candidates (per leaf, rows at most `--gap` bytes apart in
/// one range), and the records of the segments holding the top k. "int8, records out" is
/// the current plan with each segment's records left out (a header of 16 bytes and 9 + dim
/// bytes a row) plus the records of the top k's segments.
#[allow(clippy::too_many_arguments)]
fn pq_curve(
    args: &RecallArgs,
    index: &skycase_core::partition::PartitionIndex,
    lists: &[skycase_core::partition::ListFile],
    queries: &[skycase_core::search::Prepared],
    bound: &[Vec<usize>],
    exact: &[Vec<(String, f32)>],
    sample: &[(usize, usize, Vec<f32>)],
    nprobes: Vec<usize>,
) -> Result<()> {
    use skycase_core::partition::pq::{rerank, Pq};
    use skycase_core::partition::{rank_parts, Centroids, Partition};
    use skycase_core::Filters;
    use std::collections::HashMap;
    let dir = &args.bundle;
    let filters = Filters::default();
    let dim = index.dim;
    let ms: Vec<usize> = args.pq.split(',').map(|n| n.trim().parse::<usize>().with_context(|| format!("--pq {:?}: not a list of numbers", args.pq))).collect::<Result<_>>()?;
    let keeps: Vec<usize> = args.rerank.split(',').map(|n| n.trim().parse::<usize>().with_context(|| format!("--rerank {:?}: not a list of numbers", args.rerank))).collect::<Result<_>>()?;
    // The leaves' sub-centroids (residual codes).
    let subs: Vec<Centroids> = lists.iter().zip(&index.lists).map(|(lf, e)| Centroids::from_hex(&lf.centroids, dim, &e.path)).collect::<skycase_core::Result<_>>()?;
    let centre = |l: usize, s: usize| subs[l].row_f32(s);
    let residual = |l: usize, s: usize, v: &[f32]| -> Vec<f32> {
        if args.pq_residual {
            v.iter().zip(centre(l, s)).map(|(a, b)| a - b).collect()
        } else {
            v.to_vec()
        }
    };
    let t0 = std::time::Instant::now();
    let train: Vec<Vec<f32>> = sample.iter().map(|(l, s, v)| residual(*l, *s, v)).collect();
    let pqs: Vec<Pq> = ms.iter().map(|&m| Pq::train(&train, m, 256, 10, 7)).collect::<skycase_core::Result<_>>()?;
    eprintln!("PQ codebooks ({:?} sub-spaces, {} sample rows{}) trained in {:.1} s", ms, train.len(), if args.pq_residual { ", residuals" } else { "" }, t0.elapsed().as_secs_f64());
    let read_checked = |f: &skycase_core::FileEntry, at: Option<u64>| -> skycase_core::Result<Vec<u8>> {
        let bytes = crate::bundle::read_segment(dir, f, at).map_err(|e| skycase_core::Error::Usage(format!("{e:#}")))?;
        f.verify(&bytes)?;
        Ok(bytes)
    };
    // Records of a segment: its bytes less the header, refs, scales and rows.
    let meta_bytes = |bytes: u64, rows: u64| bytes.saturating_sub(24 + rows * 4 + rows.div_ceil(4) * 4 + rows * 4 + rows * dim as u64);
    let mut codes: Vec<HashMap<String, Vec<u8>>> = vec![HashMap::new(); ms.len()];
    // List files as a server sends them (gzip, level 6), which is what the browser transfers.
    let mut list_gz: HashMap<usize, u64> = HashMap::new();
    // Per leaf file: each row's place in its row area (rows numbered in segment order), by cell.
    let mut places: HashMap<String, Vec<u64>> = HashMap::new();
    println!(
        "| nprobe | skypart-2: recall@{k} mean / min, MB p50 / max | int8, records out: MB p50 / max | PQ bytes a row | re-ranked | PQ: recall@{k} mean / min ({n} queries) | PQ: MB p50 / max (lists + codes + rows + records) | … p50 with lists gzip | … of which lists gz / codes / rows / records, kB p50 | PQ: requests p50 / max (lists + code ranges + row ranges + record ranges) | … row ranges p50 | leaves holding candidates p50 (requests if each leaf's rows were one multi-range request) |",
        k = args.k,
        n = queries.len()
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &nprobes {
        // Per query: (recall, bytes) of the current format, records-out bytes, and per (m, keep): (recall, bytes, requests).
        let mut old: Vec<(f64, u64)> = Vec::new();
        let mut lean: Vec<u64> = Vec::new();
        let mut runs: Vec<Vec<(f64, u64, usize, [u64; 6])>> = vec![Vec::new(); ms.len() * keeps.len()];
        for (qi, q) in queries.iter().enumerate() {
            let planned = index.plan_lists(&q.query, &filters, &bound[qi], Some(n))?;
            let list_bytes: u64 = planned.iter().map(|&l| index.lists[l].bytes).sum();
            let mut gz = 0;
            for &l in &planned {
                gz += match list_gz.get(&l) {
                    Some(&b) => b,
                    None => {
                        use std::io::Write;
                        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
                        enc.write_all(&std::fs::read(dir.join(&index.lists[l].path))?)?;
                        let b = enc.finish()?.len() as u64;
                        list_gz.insert(l, b);
                        b
                    }
                };
            }
            let fetched = index.fetch_plan(&q.query, &filters, &bound[qi], Some(n), &mut |f, at| read_checked(f, at))?;
            let parts: Vec<&Partition> = fetched.iter().map(|(_, p)| p).collect();
            let want: Vec<&String> = exact[qi].iter().map(|(id, _)| id).collect();
            let recall_of = |got: &[String]| got.iter().filter(|id| want.contains(id)).count() as f64 / want.len().max(1) as f64;
            let hits = rank_parts(&parts, &q.query, args.k, &filters, &bound[qi])?;
            let got: Vec<String> = hits.iter().map(|h| parts[h.shard].records()[h.frame].id.clone()).collect();
            old.push((recall_of(&got), list_bytes + fetched.iter().map(|(r, _)| r.bytes).sum::<u64>()));
            let records_of = |segs: &std::collections::BTreeSet<usize>| segs.iter().map(|&pi| meta_bytes(fetched[pi].0.bytes, fetched[pi].0.rows as u64)).sum::<u64>();
            let hit_segs: std::collections::BTreeSet<usize> = hits.iter().map(|h| h.shard).collect();
            lean.push(list_bytes + fetched.iter().map(|(r, _)| 16 + r.rows as u64 * (dim as u64 + 9)).sum::<u64>() + records_of(&hit_segs));
            // A row's place in its leaf's row area: the rows of the leaf's segments before it.
            let mut before: Vec<u64> = vec![0; fetched.len()];
            let mut by_leaf: HashMap<&str, Vec<usize>> = HashMap::new();
            for (pi, (r, _)) in fetched.iter().enumerate() {
                by_leaf.entry(r.path.as_str()).or_default().push(pi);
            }
            for members in by_leaf.values_mut() {
                members.sort_by_key(|&pi| fetched[pi].0.offset);
                let mut acc = 0;
                for &pi in members.iter() {
                    before[pi] = acc;
                    acc += fetched[pi].0.rows as u64;
                }
            }
            let code_ranges = by_leaf.len();
            // Leaves in plan order (best first): the first --int8-leaves are scanned exactly.
            let mut leaf_rank: HashMap<&str, usize> = HashMap::new();
            for (r, _) in &fetched {
                let next = leaf_rank.len();
                leaf_rank.entry(r.path.as_str()).or_insert(next);
            }
            let in_int8 = |pi: usize| leaf_rank[fetched[pi].0.path.as_str()] < args.int8_leaves;
            for (path, members) in &by_leaf {
                if places.contains_key(*path) {
                    continue;
                }
                let rows: Vec<Vec<f32>> = members.iter().flat_map(|&pi| { let p = &fetched[pi].1; (0..p.rows()).map(move |r| p.row_f32(r)) }).collect();
                let mut order: Vec<(usize, usize)> = if args.cells > 1 {
                    let vq = Pq::train(&rows, 1, args.cells.min(256), 5, 3)?;
                    rows.iter().enumerate().map(|(i, v)| (vq.encode(v)[0] as usize, i)).collect()
                } else {
                    (0..rows.len()).map(|i| (0, i)).collect()
                };
                order.sort_unstable();
                let mut place = vec![0u64; rows.len()];
                for (at, &(_, i)) in order.iter().enumerate() {
                    place[i] = at as u64;
                }
                places.insert(path.to_string(), place);
            }
            let only = &bound[qi];
            for (mi, pq) in pqs.iter().enumerate() {
                let table = pq.query_table(&q.query);
                let qv: Vec<f32> = q.query.quantized().iter().map(|&x| x as f32 * q.query.scale()).collect();
                let mut approx: Vec<((usize, usize), f32)> = Vec::new();
                let mut scanned: Vec<((usize, usize), f32)> = Vec::new();
                for (pi, (r, p)) in fetched.iter().enumerate() {
                    if in_int8(pi) {
                        for row in 0..p.rows() {
                            if only.is_empty() || only.contains(&p.row_ref(row).1) {
                                scanned.extend(p.score_row(row, &q.query).map(|s| ((pi, row), s)));
                            }
                        }
                        continue;
                    }
                    let key = r.key();
                    let cs = codes[mi].entry(key).or_insert_with(|| (0..p.rows()).flat_map(|row| pq.encode(&residual(r.list, r.sub, &p.row_f32(row)))).collect());
                    let base: f32 = if args.pq_residual { qv.iter().zip(centre(r.list, r.sub)).map(|(a, b)| a * b).sum() } else { 0.0 };
                    for row in 0..p.rows() {
                        let vector = p.row_ref(row).1;
                        if (!only.is_empty() && !only.contains(&vector)) || p.score_row(row, &q.query).is_none() {
                            continue;
                        }
                        approx.push(((pi, row), base + pq.score(&table, &cs[row * pq.m()..(row + 1) * pq.m()])));
                    }
                }
                // Leaf areas read: codes, or int8 rows (records out) for the leaves scanned exactly.
                let code_bytes: u64 = fetched.iter().enumerate().map(|(pi, (r, _))| if in_int8(pi) { 16 + r.rows as u64 * (dim as u64 + 9) } else { 16 + (r.rows as u64 * (pq.m() as u64 + 1)).div_ceil(4) * 4 }).sum();
                for (ki, &keep) in keeps.iter().enumerate() {
                    let ranked = rerank(approx.clone(), keep, |(pi, row)| parts[pi].score_row(row, &q.query));
                    // Rows read: every candidate's, by ranges per leaf.
                    let row_bytes = dim as u64 + 8;
                    let mut at: HashMap<&str, Vec<u64>> = HashMap::new();
                    for &((pi, row), _) in &ranked {
                        let path = fetched[pi].0.path.as_str();
                        at.entry(path).or_default().push(places[path][(before[pi] + row as u64) as usize] * row_bytes);
                    }
                    let (mut rows_read, mut row_ranges) = (0u64, 0usize);
                    for offs in at.values_mut() {
                        offs.sort_unstable();
                        let mut end: Option<u64> = None;
                        for &o in offs.iter() {
                            match end {
                                Some(e) if o <= e + args.gap => {
                                    rows_read += (o + row_bytes).saturating_sub(e);
                                    end = Some(e.max(o + row_bytes));
                                }
                                _ => {
                                    rows_read += row_bytes;
                                    row_ranges += 1;
                                    end = Some(o + row_bytes);
                                }
                            }
                        }
                    }
                    let mut merged: Vec<((usize, usize), f32)> = scanned.iter().copied().chain(ranked.iter().copied()).collect();
                    merged.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                    let mut top: Vec<(String, usize)> = Vec::new();
                    for ((pi, row), _) in &merged {
                        let id = &parts[*pi].records()[parts[*pi].row_ref(*row).0].id;
                        if top.len() < args.k && !top.iter().any(|(t, _)| t == id) {
                            top.push((id.clone(), *pi));
                        }
                    }
                    let segs: std::collections::BTreeSet<usize> = top.iter().map(|(_, pi)| *pi).collect();
                    let ids: Vec<String> = top.into_iter().map(|(id, _)| id).collect();
                    let bytes = list_bytes + code_bytes + rows_read + records_of(&segs);
                    runs[mi * keeps.len() + ki].push((recall_of(&ids), bytes, planned.len() + code_ranges + row_ranges + segs.len(), [gz, code_bytes, rows_read, records_of(&segs), row_ranges as u64, at.len() as u64]));
                }
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let min = |v: &[f64]| v.iter().copied().fold(1.0, f64::min);
        let old_r: Vec<f64> = old.iter().map(|x| x.0).collect();
        let (ob50, obmax) = p50_max(&mut old.iter().map(|x| x.1).collect::<Vec<_>>());
        let (lb50, lbmax) = p50_max(&mut lean);
        let mb = |b: u64| b as f64 / 1e6;
        for (mi, &m) in ms.iter().enumerate() {
            for (ki, &keep) in keeps.iter().enumerate() {
                let run = &runs[mi * keeps.len() + ki];
                let r: Vec<f64> = run.iter().map(|x| x.0).collect();
                let (b50, bmax) = p50_max(&mut run.iter().map(|x| x.1).collect::<Vec<_>>());
                let (q50, qmax) = p50_max(&mut run.iter().map(|x| x.2).collect::<Vec<_>>());
                let part = |i: usize| p50_max(&mut run.iter().map(|x| x.3[i]).collect::<Vec<_>>()).0;
                let (gz50, _) = p50_max(&mut run.iter().map(|x| x.3[0] + x.3[1] + x.3[2] + x.3[3]).collect::<Vec<_>>());
                println!(
                    "| {n} | {:.3} / {:.2}, {:.2} / {:.2} | {:.2} / {:.2} | {} | {keep} | {:.3} / {:.2} | {:.2} / {:.2} | {:.2} | {} / {} / {} / {} | {q50} / {qmax} | {} | {} |",
                    mean(&old_r),
                    min(&old_r),
                    mb(ob50),
                    mb(obmax),
                    mb(lb50),
                    mb(lbmax),
                    m + 1,
                    mean(&r),
                    min(&r),
                    mb(b50),
                    mb(bmax),
                    mb(gz50),
                    part(0) / 1000,
                    part(1) / 1000,
                    part(2) / 1000,
                    part(3) / 1000,
                    part(4),
                    part(5)
                );
            }
        }
    }
    Ok(())
}
