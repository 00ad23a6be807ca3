//! One module per subcommand.
pub mod bench;
pub mod calibrate;
pub mod caption;
pub mod decade;
pub mod embed;
pub mod embed_store;
pub mod episodes;
pub mod eval;
pub mod export;
pub mod ingest;
pub mod pack;
pub mod partition;
pub mod search;
pub mod serve;
pub mod sheet;
pub mod show;
pub mod train;
