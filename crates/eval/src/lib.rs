//! skycase-eval: how well a checkpoint answers queries as people write them, measured on
//! simulated months no training or model selection touched, through the app's own search.
//!
//! - [`queries`]: query sets (TSV files with region, phenomenon and a fixed dev/test split;
//!   the study's 65 template queries built from the vocabulary).
//! - [`index`]: the checkpoint's image vectors of each archive (cached per checkpoint ×
//!   archive) and a [`skycase_core::Searcher`] over them built as the exported bundle is.
//! - [`score`]: normalised hits@k per query → per cell → per set, region match, "nothing close".
//! - [`calibrate`]: refits the "nothing close" calibration (logistic on training months,
//!   top and threshold on dev queries through the search).
//! - [`report`]: [`evaluate`] runs it all; [`Report::to_markdown`] writes the tables, Table I
//!   next to the study's.
//! - [`study`]: docs/evaluation.md: [`study::run_study`] reproduces the study's Table I
//!   (against truth and against the physical captioner, [`captions`]), Figures II and III
//!   ([`figures`], 2-D maps from [`projection`]) and adds recall both ways, a graded score,
//!   paraphrase and Korean effects and an error analysis.
//!
//! ```no_run
//! use std::path::PathBuf;
//! use skycase_eval::{evaluate, EvalOptions, Split};
//! let report = evaluate(&EvalOptions {
//!     checkpoint: "data/demo/model".into(),
//!     text_model: PathBuf::from(std::env::var("SKYCASE_MODEL_DIR").unwrap()),
//!     runs: vec![(Split::Dev, vec!["/work/months/dev-2018-autumn".into()])],
//!     query_dir: "data/eval".into(),
//!     sets: vec!["template".into(), "en".into(), "ko".into()],
//!     multilingual: None,
//!     k: 20,
//!     cache: None,
//!     progress: false,
//! })?;
//! let en = &report.runs[0].sets[1].summary;
//! println!("English dev hits@20 {:?}, region match {:?}", en.hits_any, en.region_match);
//! # Ok::<(), skycase_eval::Error>(())
//! ```

pub mod calibrate;
pub mod captions;
pub mod error;
pub mod figures;
pub mod index;
pub mod projection;
pub mod queries;
pub mod report;
pub mod score;
pub mod study;

pub use error::{Error, Result};
pub use index::{build_searcher, embed_archive, multilingual_side, text_side, ArchiveIndex, Checkpoint, MultilingualSide, TextSide};
pub use queries::{template_queries, Query, QuerySet, Split};
pub use report::{evaluate, read_study_table, set_encoder, EvalOptions, MultilingualOptions, Report, RunReport, SetReport, StudyTable};
pub use score::{run_queries, summarise, Outcome, Summary, Truth};
pub use study::{run_study, Source, Study, StudyOptions};
