//! Digital Typhoon storm-centred IR frames (HDF5): `YYYYMMDDHH-<TCid>-<sat>-1.h5`, one
//! dataset `infrared` (512 × 512, float64, kelvin), no navigation inside. The time and the
//! storm id come from the name, the centre from the track `<TCid>.tsv` beside it (pyphoon
//! columns: year, month, day, hour, class, latitude, longitude, …).
//!
//! **Geometry.** The files carry none. The dataset's makers describe it: each image is the
//! region about the best-track centre "map projected (Lambert Azimuthal Equal-Area
//! Projection) ... centered on the image ... usually 2600km width" (A. Kitamoto, *Typhoon
//! image collection*, agora.ex.nii.ac.jp/~kitamoto/research/typhoon/collection.html.en;
//! the kitamoto-lab/digital-typhoon README: "typhoon-centered image ... using Lambert
//! azimuthal equal-area projection referring to the best track data"). So a frame gets
//! [`StormLaea`] with the track centre at the array centre and [`PIXEL_KM`] = 5 km
//! (512 px × 5 km = 2560 km, the published ~2600 km; a 2 % scale error would misplace the
//! crop's edge by 25 km, about three canonical pixels). The assumption is in each frame's
//! notes.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use hdf5_reader::Hdf5File;

use crate::error::{Error, Result};
use crate::frame::{bt_checksum, grid_id, Calibration, Frame, FrameMeta, MaskStatus, Source, StormInfo};
use crate::nav::{Navigation, StormLaea};

const FORMAT: &str = "Digital Typhoon HDF5";

/// Pixel size (km) of a Digital Typhoon crop (see the module docs).
pub const PIXEL_KM: f64 = 5.0;

/// Plausible IR window brightness temperatures; values outside are fill → NaN.
const BT_RANGE: std::ops::RangeInclusive<f64> = 150.0..=350.0;

/// Parsed file name: (time, storm id, satellite).
pub fn parse_name(path: &Path) -> Result<(chrono::DateTime<chrono::Utc>, String, String)> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let bad = || Error::format(path, FORMAT, format!("name {stem:?} is not YYYYMMDDHH-<TCid>-<sat>-<n>"));
    let mut parts = stem.split('-');
    let (Some(t), Some(id), Some(sat)) = (parts.next(), parts.next(), parts.next()) else { return Err(bad()) };
    if t.len() != 10 || id.len() != 6 || !t.bytes().chain(id.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let num = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let (y, mo, d, h) = (num(&t[..4])?, num(&t[4..6])?, num(&t[6..8])?, num(&t[8..10])?);
    let time = NaiveDate::from_ymd_opt(y as i32, mo, d)
        .and_then(|d| d.and_hms_opt(h, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(bad)?;
    Ok((time, id.to_string(), sat.to_string()))
}

/// Track row for a storm at a time: (lat, lon, class).
pub fn track_position(track: &Path, time: chrono::DateTime<chrono::Utc>) -> Result<(f64, f64, u8)> {
    let text = std::fs::read_to_string(track).map_err(|e| Error::io(track, e))?;
    let want = time.format("%Y %m %d %H").to_string();
    for (n, line) in text.lines().enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 7 {
            return Err(Error::format(track, "Digital Typhoon track", format!("line {}: {} columns, expected ≥ 7", n + 1, cols.len())));
        }
        let key = format!("{:0>4} {:0>2} {:0>2} {:0>2}", cols[0], cols[1], cols[2], cols[3]);
        if key == want {
            let f = |i: usize| cols[i].trim().parse::<f64>().ok().filter(|v| v.is_finite());
            let (Some(cls), Some(lat), Some(lon)) = (f(4), f(5), f(6)) else {
                return Err(Error::format(track, "Digital Typhoon track", format!("line {}: bad class/lat/lon", n + 1)));
            };
            return Ok((lat, lon, cls as u8));
        }
    }
    Err(Error::format(track, "Digital Typhoon track", format!("no row for {}", time.format("%Y-%m-%d %H:00"))))
}

/// Read a Digital Typhoon frame; the track `<TCid>.tsv` must be in the same folder.
pub fn read_frame(path: &Path) -> Result<Frame> {
    let (time, storm_id, sat) = parse_name(path)?;
    let track: PathBuf = path.with_file_name(format!("{storm_id}.tsv"));
    if !track.is_file() {
        return Err(Error::unsupported(path, format!("no track file {} beside it: storm centre unknown", track.display())));
    }
    let (lat, lon, grade) = track_position(&track, time)?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |reason: String| Error::format(path, FORMAT, reason);
    if bytes.len() < 8 || &bytes[..8] != b"\x89HDF\r\n\x1a\n" {
        return Err(bad("wrong magic: not an HDF5 file".into()));
    }
    let file = Hdf5File::from_vec(bytes).map_err(|e| bad(format!("HDF5: {e}")))?;
    let ds = file.dataset("infrared").map_err(|e| bad(format!("no `infrared` dataset: {e}")))?;
    let shape = ds.shape().to_vec();
    if shape.len() != 2 || shape.iter().any(|&d| d == 0 || d > 4096) {
        return Err(bad(format!("`infrared` has shape {shape:?}, expected 2-D ≤ 4096²")));
    }
    let height = usize::try_from(shape[0]).map_err(|_| bad("height".into()))?;
    let width = usize::try_from(shape[1]).map_err(|_| bad("width".into()))?;
    let units = ds.attributes().iter().find(|a| a.name == "units").and_then(|a| a.read_string().ok());
    if units.as_deref() != Some("kelvin") {
        return Err(Error::unsupported(path, format!("`infrared` units {units:?}, expected \"kelvin\"")));
    }
    let arr = ds.read_array::<f64>().map_err(|e| bad(format!("reading `infrared`: {e}")))?;
    let (mut bt, fill) = to_kelvin(arr.iter().copied());
    if bt.len() != width * height {
        return Err(bad(format!("`infrared` has {} values for {width}×{height}", bt.len())));
    }
    let masked = crate::artefacts::mask_artefacts(&mut bt, width, height);
    let source = Source::DigitalTyphoon;
    let laea = StormLaea { pixel_km: PIXEL_KM, centre_x: (width as f64 - 1.0) / 2.0, centre_y: (height as f64 - 1.0) / 2.0 };
    let nav = Navigation::StormCentred { centre_lon: lon, centre_lat: lat, laea: Some(laea) };
    let mut notes = vec![format!(
        "satellite {sat}; storm-centred crop; geometry assumed from the dataset's description (not in the file): Lambert azimuthal equal-area about the track centre, {PIXEL_KM} km pixels"
    )];
    if fill > 0 {
        let share = 100.0 * fill as f64 / bt.len().max(1) as f64;
        notes.push(format!("incomplete: {fill} pixels ({share:.2} %) missing or outside {BT_RANGE:?} K → NaN"));
    }
    notes.extend(masked.note());
    let meta = FrameMeta {
        id: format!("{}-{storm_id}_{}", source.short(), time.format("%Y%m%d%H%M")),
        time,
        source,
        channel: "IR1 10.8um".into(),
        width,
        height,
        nav: nav.clone(),
        masks: MaskStatus::Available { grid_id: grid_id(width, height, &nav) },
        calibration: Calibration::Calibrated { method: "kelvin in the file (Digital Typhoon)".into() },
        // Any missing pixel makes the frame incomplete (it says how many in its notes); a
        // masked artefact is not missing data, and the notes say what was masked.
        complete: fill == 0,
        storm: Some(StormInfo { id: storm_id, lat, lon, grade: Some(grade) }),
        inputs: vec![],
        checksum: bt_checksum(&bt),
        notes,
    };
    Ok(Frame { meta, bt })
}

/// Brightness temperatures as stored, with values outside [`BT_RANGE`] (fill, missing scan
/// lines) as NaN; also how many there were.
fn to_kelvin(values: impl Iterator<Item = f64>) -> (Vec<f32>, usize) {
    let mut fill = 0usize;
    let bt = values
        .map(|v| {
            if BT_RANGE.contains(&v) {
                v as f32
            } else {
                fill += 1;
                f32::NAN
            }
        })
        .collect();
    (bt, fill)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_pixels_are_counted_as_fill() {
        let (bt, fill) = to_kelvin([250.0, 0.0, 400.0, f64::NAN, 150.0, 350.0].into_iter());
        assert_eq!(fill, 3);
        assert_eq!(bt.iter().filter(|v| v.is_nan()).count(), 3);
        assert_eq!((bt[0], bt[4], bt[5]), (250.0, 150.0, 350.0));
    }

    #[test]
    fn the_real_fixture_is_complete() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ingest/digital-typhoon/2007101512-200718-MTS1-1.h5");
        let f = read_frame(&path).unwrap();
        assert!(f.meta.complete, "{:?}", f.meta.notes);
        assert!(f.bt.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn a_real_hot_pixel_is_masked_and_said() {
        // The only pixel of this real frame above 305 K (PROVENANCE.md of the source folder).
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ingest/dt-artefacts/2007101118-200718-MTS1-1.h5");
        let f = read_frame(&path).unwrap();
        let masked: Vec<usize> = (0..f.bt.len()).filter(|&i| f.bt[i].is_nan()).collect();
        assert_eq!(masked, vec![373 * f.meta.width + 192]);
        assert!(f.bt.iter().filter(|v| v.is_finite()).all(|&v| v < 305.0));
        assert!(f.meta.notes.iter().any(|n| n.contains("1 isolated hot pixel")), "{:?}", f.meta.notes);
        assert!(f.meta.complete);
    }

    #[test]
    #[ignore = "needs ../shared/data/real/digital-typhoon (88 frames): cargo test --release -p skycase-ingest -- --ignored every_real_digital_typhoon"]
    fn every_real_digital_typhoon_frame_loses_only_its_documented_spikes() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/real/digital-typhoon");
        let mut total = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "h5") {
                let f = read_frame(&p).unwrap();
                let n = f.bt.iter().filter(|v| v.is_nan()).count();
                assert!(n == 0 || f.meta.notes.iter().any(|n| n.contains("hot pixel")), "{}", p.display());
                assert!(!f.meta.notes.iter().any(|n| n.contains("wedge")), "{}: {:?}", p.display(), f.meta.notes);
                total += n;
            }
        }
        // The 5 pixels above 305 K that PROVENANCE.md lists, and one 301.8 K pixel beside them.
        assert_eq!(total, 6);
    }

    #[test]
    fn names() {
        let (t, id, sat) = parse_name(Path::new("2007101512-200718-MTS1-1.h5")).unwrap();
        assert_eq!((t.to_rfc3339().as_str(), id.as_str(), sat.as_str()), ("2007-10-15T12:00:00+00:00", "200718", "MTS1"));
        assert!(parse_name(Path::new("2007101599-200718-MTS1-1.h5")).is_err());
        assert!(parse_name(Path::new("foo.h5")).is_err());
    }
}
