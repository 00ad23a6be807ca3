//! `skycase caption`.

/// Arguments of `skycase caption`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`skycase caption` is not implemented yet")
}
