//! One image model for every grid: the same weather drawn on two grids, resampled onto the
//! canonical grid (skycase_ingest::canonical), embeds to nearly the same vectors.
//!
//! The weather is the simulated fixture frame (tests/fixtures/ingest/sim). It is drawn on
//! the KMA polar-stereographic grid (4 km) and on a coarser geostationary grid seen from
//! 140.7°E (10 km), then resampled back onto the canonical grid and embedded with a small,
//! randomly initialised model. The control is other weather: the real KMA fixture frame of
//! 2012-12-22, resampled onto the canonical grid the same way.

use std::path::{Path, PathBuf};

use candle_core::Device;
use skycase_ingest::canonical::{resample, GridSpec};
use skycase_ingest::{Frame, GeosNav, Navigation, PolarStereoNav, RegionMasks, Regions};
use skycase_train::{Granularity, ImageModel, ModelConfig};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ingest").join(rel)
}

fn small_model() -> ImageModel {
    let mut c = ModelConfig::for_frame(819, 471, Granularity::Region);
    c.stem_channels = 8;
    c.channels = 16;
    c.region_embed = 4;
    c.hidden = 32;
    c.joint_dim = 32;
    c.text_dim = 8;
    c.context_blocks = 1;
    ImageModel::new(c, 11, &Device::Cpu).unwrap()
}

/// `frame` drawn on `grid` (resampled onto it), as a frame on that grid.
fn redraw(frame: &Frame, grid: &GridSpec) -> Frame {
    resample(frame, grid).unwrap().to_frame(frame)
}

fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    1.0 - dot / (na * nb)
}

#[test]
fn the_same_weather_on_two_grids_embeds_to_nearly_the_same_vectors() {
    let canon = GridSpec::canonical();
    let sim = skycase_ingest::read_sim_frame(&fixture("sim/frames/coms_mi_le1b_ir1_ea_201711081200.png")).unwrap();
    assert!(canon.holds(&sim), "the simulated archive is on the canonical grid");
    let kma_grid = GridSpec {
        width: 1500,
        height: 1300,
        nav: Navigation::PolarStereo(PolarStereoNav { pole_x: 749.84, pole_y: -658.44, scale: 2502.85, lon0: 127.014, ecc: 0.0818191908426 }),
    };
    let Navigation::Geos(n) = &canon.nav else { unreachable!() };
    let geos_grid = GridSpec {
        width: 700,
        height: 420,
        nav: Navigation::Geos(GeosNav { sub_lon: 140.7, cfac: n.cfac * 0.8, lfac: n.lfac * 0.8, coff: 550.0, loff: 550.0, first_column: 130.0, first_line: 80.0, ..n.clone() }),
    };
    let via_polar = resample(&redraw(&sim, &kma_grid), &canon).unwrap();
    let via_geos = resample(&redraw(&sim, &geos_grid), &canon).unwrap();
    let other = skycase_ingest::kma::read_frame(&fixture("kma-png/coms_mi_le1b_ir01_ea040ps_201212220100.png")).unwrap();
    let other = resample(&other, &canon).unwrap();

    let masks = RegionMasks::rasterize(&Regions::bundled(), &canon.nav, canon.width, canon.height);
    let mask_vecs: Vec<Vec<bool>> = (0..13).map(|k| masks.mask(k)).collect();
    let model = small_model();
    let emb = model.embed_frames(&[&sim.bt, &via_polar.bt, &via_geos.bt, &other.bt], &mask_vecs).unwrap();

    // Regions every field covers (the polar grid and the real product end short of 10°N).
    let covered: Vec<usize> = (0..13)
        .filter(|&k| [&via_polar, &via_geos, &other].iter().all(|r| r.regions_covered(&masks)[k]))
        .collect();
    assert!(covered.len() >= 8, "only regions {covered:?} are covered by all fields");
    let mean = |j: usize| covered.iter().map(|&k| cosine_distance(&emb[0].regions[k], &emb[j].regions[k])).sum::<f32>() / covered.len() as f32;
    let (polar, geos, control) = (mean(1), mean(2), mean(3));
    eprintln!("mean region cosine distance to the original: via polar {polar:.5}, via geos {geos:.5}, other weather {control:.5} over {} regions", covered.len());
    assert!(control > 1e-3, "the model must tell other weather apart at all: {control}");
    assert!(polar < 0.02 * control, "via polar stereographic {polar} vs other weather {control}");
    assert!(geos < 0.02 * control, "via a coarser geostationary grid {geos} vs other weather {control}");
    // The global vector pools the whole grid, so it is grid-invariant only when the other
    // grid covers nearly all of the canonical one: the coarse geostationary grid covers 95 %
    // (measured 0.0035 vs 0.17); the polar-stereographic product, 72 %, ends short of the
    // southern and western edges (measured 0.097: partial frames need region vectors).
    let g = |j: usize| cosine_distance(&emb[0].global, &emb[j].global);
    eprintln!("global cosine distance: via polar {:.5} (coverage {:.3}), via geos {:.5} (coverage {:.3}), other weather {:.5}", g(1), via_polar.coverage(), g(2), via_geos.coverage(), g(3));
    assert!(g(2) < 0.1 * g(3), "global via geos {} vs {}", g(2), g(3));
}
