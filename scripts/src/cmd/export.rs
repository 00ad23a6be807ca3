//! `skycase export`.

/// Arguments of `skycase export`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`skycase export` is not implemented yet")
}
