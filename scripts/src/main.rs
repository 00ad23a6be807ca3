//! `skycase`: the native companion. Each subcommand lives in `cmd/<name>.rs` with its own
//! `Args` (clap) and `run`; `main` only parses, dispatches and reports errors.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bundle;
mod cmd;
mod util;

#[derive(Parser)]
#[command(name = "skycase", version, about = "Natural-language search of weather cases in satellite imagery")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ingest satellite archive files into a frame store.
    Ingest(cmd::ingest::Args),
    /// Render a stored frame as PNG with coastlines and region outlines.
    Show(cmd::show::Args),
    /// Caption frames per region (physical captioner or an MLLM endpoint).
    Caption(cmd::caption::Args),
    /// Train the text–image alignment.
    Train(cmd::train::Args),
    /// Embed an archive's frames with a trained image model into index shards.
    Embed(cmd::embed::Args),
    /// Copy a store's image index, thumbnails and grids into a self-contained folder (data/demo).
    Pack(cmd::pack::Args),
    /// List the named storms of an archive from the JMA best track (for export: a query naming one searches its days).
    Storms(cmd::storms::Args),
    /// Write a versioned web bundle (manifest, encoder, tokenizer, shard, thumbnails).
    Export(cmd::export::Args),
    /// Turn a bundle's shards into the partitioned index fetched per query (in place).
    Partition(cmd::partition::Args),
    /// Write a SYNTHETIC partitioned decade bundle around real embeddings (for benchmarks).
    Decade(cmd::decade::Args),
    /// Recall@k of a partitioned bundle's plan against the exact scan, over nprobe.
    Recall(cmd::decade::RecallArgs),
    /// Rank a bundle's frames for a query, exactly as the browser does.
    Search(cmd::search::Args),
    /// Distinct episodes in the top results of the study's 65 template queries (issue 13).
    Episodes(cmd::episodes::Args),
    /// Draw the top results of a few queries as one PNG of thumbnails (docs/img).
    ContactSheet(cmd::sheet::Args),
    /// Retrieval on held-out months with template, English and Korean queries (report in docs/).
    Eval(cmd::eval::Args),
    /// Refit a checkpoint's "nothing close" calibration (logistic on training months, notice on dev queries).
    Calibrate(cmd::calibrate::Args),
    /// Write a checkpoint in fewer joint dimensions (its leading directions), without retraining.
    Reduce(cmd::reduce::Args),
    /// Measure native query encode and ranking latency.
    Bench(cmd::bench::Args),
    /// Serve a built app folder on 127.0.0.1.
    Serve(cmd::serve::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Rust ignores SIGPIPE, so printing into a closed pipe (`skycase search … | head`) is an
    // error every `println!` turns into a panic. Every command but the server prints to the
    // terminal or a pipe: the default action ends it quietly there, as for other Unix tools.
    // The server keeps the ignored signal, which its sockets rely on.
    #[cfg(unix)]
    if !matches!(cli.command, Command::Serve(_)) {
        // SAFETY: called once at start, before any thread exists; SIG_DFL is a valid handler.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let result = match cli.command {
        Command::Ingest(args) => cmd::ingest::run(args),
        Command::Show(args) => cmd::show::run(args),
        Command::Caption(args) => cmd::caption::run(args),
        Command::Train(args) => cmd::train::run(args),
        Command::Embed(args) => cmd::embed::run(args),
        Command::Pack(args) => cmd::pack::run(args),
        Command::Storms(args) => cmd::storms::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Partition(args) => cmd::partition::run(args),
        Command::Decade(args) => cmd::decade::run(args),
        Command::Recall(args) => cmd::decade::recall(args),
        Command::Search(args) => cmd::search::run(args),
        Command::Episodes(args) => cmd::episodes::run(args),
        Command::ContactSheet(args) => cmd::sheet::run(args),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Calibrate(args) => cmd::calibrate::run(args),
        Command::Reduce(args) => cmd::reduce::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Serve(args) => cmd::serve::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("skycase: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
