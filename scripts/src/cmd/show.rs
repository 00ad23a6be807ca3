//! `skycase show`.

/// Arguments of `skycase show`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`skycase show` is not implemented yet")
}
