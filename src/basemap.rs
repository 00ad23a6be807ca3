//! The basemap over result thumbnails: the bundle's `overlay.json` (coastlines and region
//! outlines per image grid, projected by `skycase export`; checked and handed to the page by
//! the search worker), drawn as SVG over each thumbnail with the matched region highlighted.
//!
//! A grid's coastlines are one path of some 15–20 kB. The page holds each grid's path once
//! ([`BasemapDefs`]: a hidden `<svg>` of `<path id="coast-N">`), and every basemap draws it
//! with `<use>`, so an answer of 20 cards parses no coastline at all: handing 20 copies of
//! the path to the DOM (decoding the strings out of wasm, then parsing them as path data)
//! was the largest part of drawing an answer (docs/benchmarks.md, 2026-12-05 h-speed).

use std::sync::Arc;

use leptos::prelude::*;
use skycase_core::overlay::{GridOverlay, Overlay};

/// Element id of a grid's coastline path in [`BasemapDefs`] (by the grid's place in the
/// overlay: grid ids are free text, element ids are not).
fn coast_id(overlay: &Overlay, grid: &GridOverlay) -> Option<String> {
    overlay.grids.values().position(|g| std::ptr::eq(g, grid)).map(|i| format!("coast-{i}"))
}

/// Every grid's coastlines, once per page, for the basemaps' `<use>`: drawn nowhere itself.
/// The path carries its own stroke-independent look (`vector-effect`, not inherited); the
/// colours come from the `<use>` that draws it (`.basemap .coast` in style.css).
#[component]
pub fn BasemapDefs(
    /// The bundle's overlay, once loaded.
    overlay: ReadSignal<Option<Arc<Overlay>>>,
) -> impl IntoView {
    move || {
        overlay.get().map(|o| {
            view! {
                <svg class="basemap-defs" aria-hidden="true" focusable="false" data-testid="basemap-defs">
                    <defs>
                        {o.grids.values().filter_map(|g| Some((coast_id(&o, g)?, g.coast.clone()))).map(|(id, d)| view! {
                            <path id=id d=d vector-effect="non-scaling-stroke" />
                        }).collect_view()}
                    </defs>
                </svg>
            }
        })
    }
}

/// Coastlines and the matched region's outline over a thumbnail, or nothing when the
/// frame's grid is not in the overlay. The coastlines are drawn from [`BasemapDefs`], which
/// the page shows wherever a basemap can appear.
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
    let coast = coast_id(&overlay, grid)?;
    let outline = region.as_ref().and_then(|r| Some((r.clone(), grid.regions.get(r)?.clone())));
    let label = match &outline {
        Some((name, _)) => format!("Map overlay: coastlines, and the matched region {name} outlined"),
        None => "Map overlay: coastlines".to_string(),
    };
    Some(view! {
        <svg class="basemap" data-testid="basemap" role="img" aria-label=label
            viewBox=format!("0 0 {} {}", grid.width, grid.height) preserveAspectRatio="none">
            <use class="coast" data-testid="coast" href=format!("#{coast}") />
            {outline.map(|(name, d)| {
                let title = name.clone();
                view! {
                    <path class="region" data-testid="matched-region" data-region=name d=d>
                        <title>{title}</title>
                    </path>
                }
            })}
        </svg>
    })
}

/// The same basemap as [`Basemap`], as HTML for a result card that the page writes as text
/// (`app::ResultList`); `esc` escapes text and attribute values. `None` where [`Basemap`]
/// draws nothing.
pub fn basemap_html(overlay: &Overlay, frame_id: &str, region: Option<&str>, esc: fn(&str) -> String) -> Option<String> {
    let grid = overlay.for_frame(frame_id)?;
    let coast = coast_id(overlay, grid)?;
    let outline = region.and_then(|r| Some((r, grid.regions.get(r)?)));
    let label = match outline {
        Some((name, _)) => format!("Map overlay: coastlines, and the matched region {name} outlined"),
        None => "Map overlay: coastlines".to_string(),
    };
    let path = outline.map(|(name, d)| {
        let name = esc(name);
        format!(r#"<path class="region" data-testid="matched-region" data-region="{name}" d="{}"><title>{name}</title></path>"#, esc(d))
    });
    Some(format!(
        r##"<svg class="basemap" data-testid="basemap" role="img" aria-label="{}" viewBox="0 0 {} {}" preserveAspectRatio="none"><use class="coast" data-testid="coast" href="#{coast}"></use>{}</svg>"##,
        esc(&label),
        grid.width,
        grid.height,
        path.unwrap_or_default()
    ))
}
