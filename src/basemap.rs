//! The basemap over result thumbnails: the bundle's `overlay.json` (coastlines and region
//! outlines per image grid, projected by `skycase export`), drawn as SVG over each `<img>`
//! with the matched region highlighted.

use std::sync::Arc;

use leptos::prelude::*;
use skycase_core::overlay::{Overlay, OVERLAY_ROLE};
use skycase_core::Manifest;

async fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let resp = gloo_net::http::Request::get(url).send().await.map_err(|e| format!("{url}: cannot download ({e})"))?;
    if !resp.ok() {
        return Err(format!("{url}: the server answered HTTP {} {}", resp.status(), resp.status_text()));
    }
    resp.binary().await.map_err(|e| format!("{url}: download interrupted ({e})"))
}

/// Downloads and verifies the overlay the manifest under `base` lists; `None` when it lists
/// none (the frames have no navigation).
pub async fn load(base: &str) -> Result<Option<Overlay>, String> {
    let manifest = Manifest::from_json(&fetch(&format!("{base}manifest.json")).await?).map_err(|e| e.to_string())?;
    let Some(entry) = manifest.files.iter().find(|f| f.role == OVERLAY_ROLE) else { return Ok(None) };
    let bytes = fetch(&format!("{base}{}", entry.path)).await?;
    entry.verify(&bytes).map_err(|e| e.to_string())?;
    Overlay::from_json(&bytes).map(Some).map_err(|e| e.to_string())
}

/// Coastlines and the matched region's outline over a thumbnail, or nothing when the
/// frame's grid is not in the overlay.
#[component]
pub fn Basemap(
    /// The bundle's overlay.
    overlay: Arc<Overlay>,
    /// The frame under it.
    frame_id: String,
    /// The region whose embedding matched, if the index is region-aware.
    region: Option<String>,
) -> Option<impl IntoView> {
    let grid = overlay.for_frame(&frame_id)?;
    let outline = region.as_ref().and_then(|r| Some((r.clone(), grid.regions.get(r)?.clone())));
    let label = match &outline {
        Some((name, _)) => format!("Map overlay: coastlines, and the matched region {name} outlined"),
        None => "Map overlay: coastlines".to_string(),
    };
    Some(view! {
        <svg class="basemap" data-testid="basemap" role="img" aria-label=label
            viewBox=format!("0 0 {} {}", grid.width, grid.height) preserveAspectRatio="none">
            <path class="coast" d=grid.coast.clone() />
            {outline.map(|(name, d)| {
                let title = name.clone();
                view! {
                    <path class="region" data-testid="matched-region" data-region=name d=d fill-rule="evenodd">
                        <title>{title}</title>
                    </path>
                }
            })}
        </svg>
    })
}
