//! The basemap over result thumbnails: the bundle's `overlay.json` (coastlines and region
//! outlines per image grid, projected by `skycase export`; checked and handed to the page by
//! the search worker), drawn as SVG over each thumbnail with the matched region highlighted.

use std::sync::Arc;

use leptos::prelude::*;
use skycase_core::overlay::Overlay;

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
