//! `skycase train`.

/// Arguments of `skycase train`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`skycase train` is not implemented yet")
}
