//! Every reader on the real fixtures in tests/fixtures/ingest (always present).
use std::io::Read;
use std::path::{Path, PathBuf};

use skycase_ingest::{Calibration, MaskStatus, Navigation};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ingest").join(rel)
}

fn gunzip(rel: &str) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(fixture(rel)).unwrap()).read_to_end(&mut out).unwrap();
    out
}

#[test]
fn hrit_segment_decodes_10_bit_counts_with_its_table() {
    let b = gunzip("xrit/IMG_FD_01_IR1_20120101_024020_01.hrit.gz");
    let p = Path::new("IMG_FD_01_IR1_20120101_024020_01.hrit");
    let s = skycase_ingest::xrit::decode_segment(&b, p).unwrap();
    let h = &s.header;
    assert_eq!((h.bits_per_pixel, h.columns, h.lines), (16, 2750, 275));
    assert_eq!((h.cfac, h.lfac, h.coff, h.loff), (10212669, -10212669, 1374, 1374));
    assert_eq!((h.segment, h.total_segments, h.first_line), (1, 10, 1));
    assert_eq!(h.table.len(), 1024);
    assert!((h.table[0] - 347.4975).abs() < 1e-3);
    assert_eq!(h.time.to_rfc3339(), "2012-01-01T02:15:20+00:00");
    // The top row is space; the north pole region is cold.
    assert!(s.bt[..2750].iter().all(|v| v.is_nan()));
    let valid: Vec<f32> = s.bt.iter().copied().filter(|v| v.is_finite()).collect();
    assert!(valid.len() > 100_000);
    assert!(valid.iter().all(|v| (180.0..320.0).contains(v)));
    // A lone segment assembles into an incomplete frame, never padded silently.
    let f = skycase_ingest::xrit::assemble(vec![s]).unwrap();
    assert!(!f.meta.complete);
    assert_eq!((f.meta.width, f.meta.height), (2750, 2750));
    assert!(f.meta.notes.iter().any(|n| n.contains("missing segments")));
}

#[test]
fn lrit_enh_segment_decodes_8_bit() {
    let b = gunzip("xrit/IMG_ENH_01_IR1_20120101_000920_02.lrit.gz");
    let s = skycase_ingest::xrit::decode_segment(&b, Path::new("IMG_ENH_01_IR1_20120101_000920_02.lrit")).unwrap();
    let h = &s.header;
    assert_eq!((h.bits_per_pixel, h.columns, h.lines, h.first_line), (8, 1547, 309, 310));
    assert_eq!((h.coff, h.loff), (773, 1010));
    assert_eq!(h.table.len(), 256);
    assert_eq!(h.time.to_rfc3339(), "2011-12-31T23:45:20+00:00");
    let valid = s.bt.iter().filter(|v| v.is_finite()).count();
    assert!(valid > 400_000, "{valid}");
}

#[test]
fn truncated_real_segment_is_refused_with_reason() {
    let b = gunzip("xrit/IMG_ENH_01_IR1_20120101_000920_02.lrit.gz");
    let p = Path::new("cut_02.lrit");
    let e = skycase_ingest::xrit::decode_segment(&b[..b.len() / 2], p).unwrap_err().to_string();
    assert!(e.contains("cut_02.lrit") && e.contains("truncated"), "{e}");
    let e = skycase_ingest::xrit::decode_segment(&b[..5000], p).unwrap_err().to_string();
    assert!(e.contains("cut_02.lrit"), "{e}");
}

#[test]
fn gk2a_matches_reference_values_and_scan_angle_corners() {
    let f = skycase_ingest::gk2a::read_frame(&fixture("gk2a/gk2a_ami_le1b_ir105_fd020ge_202609281200.nc")).unwrap();
    assert_eq!((f.meta.width, f.meta.height), (160, 96));
    assert_eq!(f.meta.time.to_rfc3339(), "2026-09-28T12:00:00+00:00");
    // meteocore's test values (count → K with the 966.153383926055 cm⁻¹ wavenumber).
    for (row, col, k) in [(0, 0, 294.396639), (47, 79, 289.640057), (47, 80, 287.569999), (60, 130, 291.433382), (95, 159, 292.409022)] {
        let v = f64::from(f.bt_at(col, row));
        assert!((v - k).abs() < 2e-3, "({row},{col}) {v} vs {k}");
    }
    let Navigation::Geos(g) = &f.meta.nav else { panic!("GEOS expected") };
    assert!((g.sub_lon - 128.2).abs() < 1e-9);
    // image_upperleft_x/y and image_lowerright_x/y (radians) of the first and last pixel.
    let scan = |px: f64, py: f64| {
        let x = (px + g.first_column - g.coff) * 65536.0 / g.cfac;
        let y = (py + g.first_line - g.loff) * 65536.0 / g.lfac;
        (x.to_radians(), y.to_radians())
    };
    let (x0, y0) = scan(0.0, 0.0);
    let (x1, y1) = scan(159.0, 95.0);
    assert!((x0 - 0.121156).abs() < 5e-6 && (y0 - 0.045052).abs() < 5e-6, "{x0} {y0}");
    assert!((x1 - 0.130060).abs() < 5e-6 && (y1 - 0.039732).abs() < 5e-6, "{x1} {y1}");
    // Round trip through lon/lat near the date line.
    let (lon, lat) = f.meta.nav.pixel_to_lonlat(80.0, 48.0).unwrap();
    assert!((lat - 15.0).abs() < 2.5 && (lon.abs() - 180.0).abs() < 3.0, "{lon} {lat}");
    let (x, y) = f.meta.nav.lonlat_to_pixel(lon, lat).unwrap();
    assert!((x - 80.0).abs() < 0.01 && (y - 48.0).abs() < 0.01);
}

#[test]
fn gk2a_truncated_or_wrong_magic() {
    let b = std::fs::read(fixture("gk2a/gk2a_ami_le1b_ir105_fd020ge_202609281200.nc")).unwrap();
    let p = Path::new("bad.nc");
    assert!(skycase_ingest::gk2a::decode(b[..b.len() / 3].to_vec(), p).unwrap_err().to_string().contains("bad.nc"));
    let e = skycase_ingest::gk2a::decode(b"CDF\x01not netcdf4".to_vec(), p).unwrap_err().to_string();
    assert!(e.contains("wrong magic"), "{e}");
}

#[test]
fn digital_typhoon_frame_from_name_and_track() {
    let f = skycase_ingest::dt::read_frame(&fixture("digital-typhoon/2007101512-200718-MTS1-1.h5")).unwrap();
    assert_eq!((f.meta.width, f.meta.height), (512, 512));
    assert_eq!(f.meta.time.to_rfc3339(), "2007-10-15T12:00:00+00:00");
    let storm = f.meta.storm.as_ref().unwrap();
    assert_eq!(storm.id, "200718");
    // Placed through the dataset's described geometry: the track centre at the array
    // centre, 5 km pixels (LAEA), so the centre pixel maps back to the track position.
    assert!(matches!(f.meta.masks, MaskStatus::Available { .. }));
    assert!(f.meta.nav.is_mapped());
    let (lon, lat) = f.meta.nav.pixel_to_lonlat(255.5, 255.5).unwrap();
    assert!((lon - storm.lon).abs() < 1e-9 && (lat - storm.lat).abs() < 1e-9, "{lon} {lat}");
    assert!(f.meta.notes.iter().any(|n| n.contains("Lambert azimuthal equal-area") && n.contains("not in the file")), "{:?}", f.meta.notes);
    // PROVENANCE file list: min 204.10, max 296.31 K.
    let (mn, mx) = f.bt.iter().fold((f32::MAX, f32::MIN), |a, &v| (a.0.min(v), a.1.max(v)));
    assert!((mn - 204.10).abs() < 0.01 && (mx - 296.31).abs() < 0.01, "{mn} {mx}");
}

#[test]
fn kma_png_masks_header_and_overlay_and_is_uncalibrated() {
    let f = skycase_ingest::kma::read_frame(&fixture("kma-png/coms_mi_le1b_ir01_ea040ps_201212220100.png")).unwrap();
    assert_eq!(f.meta.time.to_rfc3339(), "2012-12-22T01:00:00+00:00");
    assert!(matches!(f.meta.calibration, Calibration::Uncalibrated { .. }));
    assert!(f.bt[..20 * 1500].iter().all(|v| v.is_nan()), "header bar masked");
    let masked = f.bt[20 * 1500..].iter().filter(|v| v.is_nan()).count();
    assert_eq!(masked, 23_929, "exactly the yellow overlay pixels (PROVENANCE)");
    // Navigation reproduces a labelled control point: 130E 30N at (825.44, 789.46).
    let (x, y) = f.meta.nav.lonlat_to_pixel(130.0, 30.0).unwrap();
    assert!((x - 825.44).abs() < 0.5 && (y - 789.46).abs() < 0.5, "{x} {y}");
    // Natural Earth coastline vertices land on the masked burned-in coastline.
    use skycase_ingest::coast::{masked_hit_fraction, Coastlines};
    let c = Coastlines::bundled();
    let bbox = (100.0, 15.0, 150.0, 50.0);
    let at_zero = masked_hit_fraction(&f, &c, 0, 0, bbox);
    let shifted = masked_hit_fraction(&f, &c, 3, 3, bbox);
    eprintln!("KMA coastline on masked overlay: {at_zero:.3} at (0,0), {shifted:.3} shifted by (3,3)");
    assert!(at_zero > 0.9 && shifted < 0.6, "{at_zero} {shifted}");
}

#[test]
fn sim_frame_with_sidecar() {
    let f = skycase_ingest::read_sim_frame(&fixture("sim/frames/coms_mi_le1b_ir1_ea_201711081200.png")).unwrap();
    assert_eq!((f.meta.width, f.meta.height), (819, 471));
    assert_eq!(f.meta.source, skycase_ingest::Source::SimPng);
    assert_eq!(f.meta.id, "sim_201711081200");
    assert!(f.bt.iter().filter(|v| v.is_finite()).all(|v| (180.0..=329.5).contains(v)));
}

/// Byte offset of the content of the first header record of type `t`.
fn record(b: &[u8], t: u8) -> usize {
    let hl = u32::from_be_bytes(b[4..8].try_into().unwrap()) as usize;
    let mut p = 16;
    while p < hl {
        let len = u16::from_be_bytes([b[p + 1], b[p + 2]]) as usize;
        if b[p] == t {
            return p + 3;
        }
        p += len;
    }
    panic!("no record {t}");
}

#[test]
fn inconsistent_real_segment_headers_are_refused() {
    let b = gunzip("xrit/IMG_ENH_01_IR1_20120101_000920_02.lrit.gz");
    let s2 = skycase_ingest::xrit::decode_segment(&b, Path::new("IMG_ENH_01_IR1_20120101_000920_02.lrit")).unwrap();
    // Make a "segment 3" (lines 619..) whose navigation disagrees: COFF 773 → 774.
    let mut m = b.clone();
    let seg = record(&m, 128);
    m[seg] = 3;
    m[seg + 2..seg + 4].copy_from_slice(&619u16.to_be_bytes());
    let nav = record(&m, 2);
    m[nav + 40..nav + 44].copy_from_slice(&774i32.to_be_bytes());
    let p3 = Path::new("IMG_ENH_01_IR1_20120101_000920_03.lrit");
    let s3 = skycase_ingest::xrit::decode_segment(&m, p3).unwrap();
    let e = skycase_ingest::xrit::assemble(vec![s3.clone(), s2.clone()]).unwrap_err().to_string();
    assert!(e.contains("_03.lrit") && e.contains("disagrees"), "{e}");
    // Same navigation but a line gap between consecutive segments.
    let mut g = b.clone();
    let seg = record(&g, 128);
    g[seg] = 3;
    g[seg + 2..seg + 4].copy_from_slice(&620u16.to_be_bytes());
    let s3 = skycase_ingest::xrit::decode_segment(&g, p3).unwrap();
    let e = skycase_ingest::xrit::assemble(vec![s2, s3]).unwrap_err().to_string();
    assert!(e.contains("segment 3 starts at line 620"), "{e}");
}
