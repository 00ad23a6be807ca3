//! `skycase ingest`.

/// Arguments of `skycase ingest`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`skycase ingest` is not implemented yet")
}
