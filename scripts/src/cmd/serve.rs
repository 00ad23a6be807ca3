//! `skycase serve`.

/// Arguments of `skycase serve`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`skycase serve` is not implemented yet")
}
