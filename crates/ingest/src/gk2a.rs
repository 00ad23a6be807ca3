//! GK-2A AMI L1B netCDF-4 (`gk2a_ami_le1b_<ch>_<area><res>ge_YYYYMMDDhhmm.nc`), read
//! with the pure-Rust `hdf5-reader` (netCDF-4 is HDF5).
//!
//! * Counts: `image_pixel_values` (u16). The top 2 bits are the data quality flag
//!   (0 good, 1 conditionally usable, 2 out of scan area, 3 error); the count is the low
//!   `number_of_valid_bits_per_pixel` bits. DQF 2 and 3 become NaN.
//! * Count → radiance: `L = DN_to_Radiance_Gain·count + DN_to_Radiance_Offset`
//!   (mW m⁻² sr⁻¹ (cm⁻¹)⁻¹).
//! * Radiance → effective temperature by inverting Planck at the channel's central
//!   wavenumber ν: `Teff = (h c ν / k) / ln(1 + 2 h c² ν³ / L)`, with `h`, `c`, `k` from the
//!   file's own attributes (`Plank_constant_h`, `light_speed`, `Boltzmann_constant_k`).
//! * Teff → Tb: `Tb = Teff_to_Tbb_c0 + c1·Teff + c2·Teff²` (file attributes).
//!
//! **IR105 wavenumber.** The file's `channel_center_wavelength` is the nominal "10.5" µm;
//! we use the AMI manual's IR105 central wavenumber, 966.153383926055 cm⁻¹ (≈ 10.3503 µm),
//! which reproduces KMA's broadcast IR105 conversion table. At the nominal 10.5 µm the
//! result is 1.4–1.6 K too cold on the real fixture.
//!
//! Navigation: GEOS from `cfac`, `lfac`, `coff`, `loff`, `sub_longitude` (radians),
//! `earth_equatorial_radius`, `earth_polar_radius`, `nominal_satellite_height` (metres,
//! distance from the Earth's centre); columns and lines are numbered from 1, which the
//! file's `image_upperleft_x/y` and `image_lowerright_x/y` scan angles confirm.

use std::path::Path;

use chrono::NaiveDateTime;
use hdf5_reader::Hdf5File;

use crate::error::{Error, Result};
use crate::frame::{bt_checksum, grid_id, Calibration, Frame, FrameMeta, MaskStatus, Source};
use crate::nav::{GeosNav, Navigation};

const FORMAT: &str = "GK-2A AMI L1B";

/// AMI IR105 central wavenumber (cm⁻¹), from the AMI manual (see the module docs).
pub const IR105_WAVENUMBER_CM: f64 = 966.153383926055;

/// Largest image accepted (full disk at 0.5 km is 22000²; IR is at most 5500²).
const MAX_PIXELS: usize = 6000 * 6000;

/// Read a GK-2A AMI L1B IR105 file.
pub fn read_frame(path: &Path) -> Result<Frame> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode(bytes, path)
}

/// Decode a GK-2A AMI L1B file held in memory.
pub fn decode(bytes: Vec<u8>, path: &Path) -> Result<Frame> {
    let bad = |reason: String| Error::format(path, FORMAT, reason);
    if bytes.len() < 8 || &bytes[..8] != b"\x89HDF\r\n\x1a\n" {
        return Err(bad("wrong magic: not a netCDF-4/HDF5 file".into()));
    }
    let file = Hdf5File::from_vec(bytes).map_err(|e| bad(format!("HDF5: {e}")))?;
    let root = file.root_group().map_err(|e| bad(format!("HDF5 root group: {e}")))?;
    let attrs = root.attributes().map_err(|e| bad(format!("HDF5 attributes: {e}")))?;
    let num = |name: &str| -> Result<f64> {
        attrs
            .iter()
            .find(|a| a.name == name)
            .and_then(|a| a.read_as_f64().ok())
            .filter(|v| v.is_finite())
            .ok_or_else(|| bad(format!("global attribute {name} missing or not a number")))
    };
    let text = |name: &str| -> Option<String> { attrs.iter().find(|a| a.name == name).and_then(|a| a.read_string().ok()) };
    let ds = file.dataset("image_pixel_values").map_err(|_| {
        let title = text("title").or_else(|| text("satellite_name")).unwrap_or_default();
        Error::unsupported(path, format!("unknown netCDF product {title:?}: no image_pixel_values variable (not GK-2A AMI L1B)"))
    })?;
    let channel = ds
        .attributes()
        .iter()
        .find(|a| a.name == "channel_name")
        .and_then(|a| a.read_string().ok())
        .unwrap_or_default();
    if channel != "IR105" {
        return Err(Error::unsupported(path, format!("GK-2A channel {channel:?} (only IR105)")));
    }
    let ds_num = |name: &str, default: f64| -> f64 {
        ds.attributes().iter().find(|a| a.name == name).and_then(|a| a.read_as_f64().ok()).unwrap_or(default)
    };
    let shape = ds.shape().to_vec();
    if shape.len() != 2 {
        return Err(bad(format!("image_pixel_values has shape {shape:?}, expected 2-D")));
    }
    let height = usize::try_from(shape[0]).map_err(|_| bad("height too large".into()))?;
    let width = usize::try_from(shape[1]).map_err(|_| bad("width too large".into()))?;
    if width == 0 || height == 0 || width.saturating_mul(height) > MAX_PIXELS {
        return Err(bad(format!("image {width}×{height} out of range")));
    }
    let attr_w = num("number_of_columns")?;
    let attr_h = num("number_of_lines")?;
    if attr_w != width as f64 || attr_h != height as f64 {
        return Err(bad(format!("image_pixel_values is {width}×{height} but attributes say {attr_w}×{attr_h}")));
    }
    let counts = ds.read_array::<u16>().map_err(|e| bad(format!("reading image_pixel_values: {e}")))?;
    let counts: Vec<u16> = counts.iter().copied().collect();
    if counts.len() != width * height {
        return Err(bad(format!("image_pixel_values has {} values for {width}×{height}", counts.len())));
    }
    let valid_bits = ds_num("number_of_valid_bits_per_pixel", 13.0);
    if !(8.0..=14.0).contains(&valid_bits) {
        return Err(bad(format!("number_of_valid_bits_per_pixel {valid_bits} outside 8..=14")));
    }
    let count_mask = (1u16 << (valid_bits as u16)) - 1;

    // Calibration from the file.
    let gain = num("DN_to_Radiance_Gain")?;
    let offset = num("DN_to_Radiance_Offset")?;
    let (c0, c1, c2) = (num("Teff_to_Tbb_c0")?, num("Teff_to_Tbb_c1")?, num("Teff_to_Tbb_c2")?);
    let (h, c, k) = (num("Plank_constant_h")?, num("light_speed")?, num("Boltzmann_constant_k")?);
    if gain == 0.0 || h <= 0.0 || c <= 0.0 || k <= 0.0 {
        return Err(bad(format!("degenerate calibration: gain {gain}, h {h}, c {c}, k {k}")));
    }
    let nu = IR105_WAVENUMBER_CM * 100.0; // m⁻¹
    let k1 = 2.0 * h * c * c * nu.powi(3); // W m⁻² sr⁻¹ (m⁻¹)⁻¹
    let k2 = h * c * nu / k; // K
    let mut bt = Vec::with_capacity(counts.len());
    let mut flagged = 0usize;
    for raw in counts {
        let dqf = raw >> 14;
        let count = raw & count_mask;
        if dqf >= 2 || count == count_mask {
            flagged += 1;
            bt.push(f32::NAN);
            continue;
        }
        // mW m⁻² sr⁻¹ (cm⁻¹)⁻¹ → W m⁻² sr⁻¹ (m⁻¹)⁻¹: ×1e-3 (mW→W) ×1e-2 (per cm⁻¹ → per m⁻¹).
        let radiance = (gain * f64::from(count) + offset) * 1e-5;
        if radiance <= 0.0 {
            bt.push(f32::NAN);
            continue;
        }
        let teff = k2 / (1.0 + k1 / radiance).ln();
        bt.push((c0 + c1 * teff + c2 * teff * teff) as f32);
    }

    // Navigation (attributes in radians and metres).
    let nav = Navigation::Geos(GeosNav {
        sub_lon: num("sub_longitude")?.to_degrees(),
        cfac: num("cfac")?,
        lfac: num("lfac")?,
        coff: num("coff")?,
        loff: num("loff")?,
        first_column: 1.0,
        first_line: 1.0,
        r_eq: num("earth_equatorial_radius")? / 1000.0,
        r_pol: num("earth_polar_radius")? / 1000.0,
        h: num("nominal_satellite_height")? / 1000.0,
    });
    if let Navigation::Geos(g) = &nav {
        if g.cfac == 0.0 || g.lfac == 0.0 || g.r_pol <= 0.0 || g.h <= g.r_eq {
            return Err(bad(format!("degenerate navigation {g:?}")));
        }
    }
    let reference = text("mission_reference_time").unwrap_or_default();
    let time = NaiveDateTime::parse_from_str(&reference, "%Y%m%d_%H%M%S")
        .map(|t| t.and_utc())
        .map_err(|_| bad(format!("mission_reference_time {reference:?} is not YYYYMMDD_hhmmss")))?;
    let area = text("observation_mode").unwrap_or_else(|| "FD".into()).to_ascii_lowercase();
    let area: String = area.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let mut notes = vec![
        format!(
            "time = mission_reference_time (nominal); scene_acquisition_time {}",
            text("scene_acquisition_time").unwrap_or_default()
        ),
        format!("IR105 central wavenumber {IR105_WAVENUMBER_CM} cm-1 (AMI manual), not the nominal 10.5 um"),
    ];
    if flagged > 0 {
        notes.push(format!("{flagged} pixels flagged out-of-scan/error by the DQF bits → NaN"));
    }
    if text("meteocore_fixture").is_some() {
        notes.push("cropped fixture (meteocore); navigation offsets rewritten for the window".into());
    }
    let source = Source::Gk2aAmiL1b;
    let meta = FrameMeta {
        id: format!("{}-{area}_{}", source.short(), time.format("%Y%m%d%H%M")),
        time,
        source,
        channel: "IR105 10.35um".into(),
        width,
        height,
        masks: MaskStatus::Available { grid_id: grid_id(width, height, &nav) },
        nav,
        calibration: Calibration::Calibrated {
            method: format!("file attributes: DN→radiance gain/offset, Planck at {IR105_WAVENUMBER_CM} cm-1, Teff→Tbb quadratic"),
        },
        complete: true,
        storm: None,
        inputs: vec![],
        checksum: bt_checksum(&bt),
        notes,
    };
    Ok(Frame { meta, bt })
}
