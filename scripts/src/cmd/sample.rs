//! `skycase sample`.

/// Arguments of `skycase sample`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`skycase sample` is not implemented yet")
}
