//! `skycase search`.

/// Arguments of `skycase search`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`skycase search` is not implemented yet")
}
