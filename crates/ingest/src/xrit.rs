//! COMS MI xRIT (HRIT and LRIT) image files: CGMS header records, segment assembly and
//! calibration with the file's own count → K table.
//!
//! A file is a sequence of header records, then the image data field:
//!
//! ```text
//! record:  type u8 | length u16 BE (whole record, type and length included) | content
//! type 0   primary: file type u8 | total header length u32 | data field length u64 (bits)
//! type 1   image structure: NB u8 (bits/pixel) | NC u16 | NL u16 | compression u8
//! type 2   image navigation: projection name [32] ("GEOS(128.2)") | CFAC i32 | LFAC i32 | COFF i32 | LOFF i32
//! type 3   image data function: text "CHANNEL:=IR1\n$HALFTONE:=16\n..._UNIT:=KELVIN\n0:=347.49\n1:=..."
//! type 4   annotation: file name text
//! type 5   time stamp: CCSDS CDS, P-field u8 | days since 1958-01-01 u16 | ms of day u32
//! type 128 segment identification (COMS): segment no u8 | total segments u8 | first line u16 (1-based)
//! ```
//! All integers are big-endian. The data field holds NL lines of NC pixels: HRIT has
//! NB = 16, 16-bit little-endian words each holding a 10-bit count; LRIT has NB = 8.
//! Count 0 is space (outside the disk) and table entries of 0 K mark unused counts: both
//! become NaN.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::error::{Error, Result};
use crate::frame::{bt_checksum, grid_id, Calibration, Frame, FrameMeta, MaskStatus, Source};
use crate::nav::{GeosNav, Navigation};

const FORMAT: &str = "xRIT";

/// Parsed header records of one xRIT image file.
#[derive(Debug, Clone, PartialEq)]
pub struct XritHeader {
    /// Total header length (bytes); the data field starts here.
    pub header_len: usize,
    /// Data field length in bits.
    pub data_bits: u64,
    /// Bits per pixel (8 or 16).
    pub bits_per_pixel: u8,
    /// Columns.
    pub columns: usize,
    /// Lines in this file (segment).
    pub lines: usize,
    /// Projection name, e.g. `GEOS(128.2)`.
    pub projection: String,
    /// Sub-satellite longitude parsed from the projection name.
    pub sub_lon: f64,
    /// CFAC.
    pub cfac: i32,
    /// LFAC.
    pub lfac: i32,
    /// COFF.
    pub coff: i32,
    /// LOFF.
    pub loff: i32,
    /// Channel from the image data function (`CHANNEL:=IR1`), when present.
    pub channel: Option<String>,
    /// Calibration table: index = count, value in K (0 = unused).
    pub table: Vec<f32>,
    /// Annotation text (file name as broadcast).
    pub annotation: String,
    /// Time stamp record.
    pub time: DateTime<Utc>,
    /// Segment number (1-based).
    pub segment: u8,
    /// Total segments in the image.
    pub total_segments: u8,
    /// First line of this segment in the whole image (1-based).
    pub first_line: usize,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Parse the header records of an xRIT file held in `bytes`.
pub fn parse_header(bytes: &[u8], path: &Path) -> Result<XritHeader> {
    let bad = |reason: String| Error::format(path, FORMAT, reason);
    // Primary header: type 0, length 16.
    if bytes.len() < 16 {
        return Err(bad(format!("file is {} bytes, shorter than the 16-byte primary header", bytes.len())));
    }
    if bytes[0] != 0 || be16(bytes, 1) != Some(16) {
        return Err(bad(format!("wrong magic: first record type {} length {:?}, expected primary header type 0 length 16", bytes[0], be16(bytes, 1))));
    }
    let file_type = bytes[3];
    if file_type != 0 {
        return Err(Error::unsupported(path, format!("xRIT file type {file_type} (only 0 = image data)")));
    }
    let header_len = be32(bytes, 4).unwrap_or(0);
    let header_len = usize::try_from(header_len).map_err(|_| bad(format!("header length {header_len} too large")))?;
    let data_bits = be64(bytes, 8).unwrap_or(0);
    if header_len < 16 || header_len > bytes.len() {
        return Err(bad(format!("total header length {header_len} outside 16..={} (file truncated?)", bytes.len())));
    }
    let mut structure = None;
    let mut navigation = None;
    let mut function = None;
    let mut annotation = String::new();
    let mut time = None;
    let mut segment = None;
    let mut p = 16usize;
    while p < header_len {
        let t = bytes[p];
        let len = usize::from(be16(bytes, p + 1).ok_or_else(|| bad(format!("record at byte {p} cut off")))?);
        if len < 3 || p + len > header_len {
            return Err(bad(format!("header record type {t} at byte {p} has length {len}, past the header end {header_len}")));
        }
        let c = &bytes[p + 3..p + len];
        match t {
            0 => return Err(bad(format!("second primary header at byte {p}"))),
            1 => {
                if c.len() != 6 {
                    return Err(bad(format!("image structure record length {len}, expected 9")));
                }
                structure = Some((c[0], be16(c, 1).unwrap_or(0), be16(c, 3).unwrap_or(0), c[5]));
            }
            2 => {
                if c.len() != 48 {
                    return Err(bad(format!("image navigation record length {len}, expected 51")));
                }
                let name = String::from_utf8_lossy(&c[..32]).trim_matches(|ch: char| ch == '\0' || ch == ' ').to_string();
                let i = |at| be32(c, at).map(|v| v as i32).unwrap_or(0);
                navigation = Some((name, i(32), i(36), i(40), i(44)));
            }
            3 => function = Some(c),
            4 => annotation = String::from_utf8_lossy(c).trim_end_matches('\0').to_string(),
            5 => {
                if c.len() != 7 {
                    return Err(bad(format!("time stamp record length {len}, expected 10")));
                }
                let days = be16(c, 1).unwrap_or(0);
                let ms = be32(c, 3).unwrap_or(0);
                if ms >= 86_400_000 {
                    return Err(bad(format!("time stamp milliseconds of day {ms} ≥ 86400000")));
                }
                let epoch = NaiveDate::from_ymd_opt(1958, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc());
                time = epoch.map(|e| e + Duration::days(i64::from(days)) + Duration::milliseconds(i64::from(ms)));
            }
            128 => {
                if c.len() != 4 {
                    return Err(bad(format!("segment identification record length {len}, expected 7")));
                }
                segment = Some((c[0], c[1], be16(c, 2).unwrap_or(0)));
            }
            _ => {} // key header, COMS compensation, quality: not needed here
        }
        p += len;
    }
    let (nb, nc, nl, compression) = structure.ok_or_else(|| bad("no image structure record (type 1)".into()))?;
    if compression != 0 {
        return Err(Error::unsupported(path, format!("compressed xRIT (compression flag {compression})")));
    }
    if nb != 8 && nb != 16 {
        return Err(Error::unsupported(path, format!("{nb} bits per pixel (only 8 and 16)")));
    }
    if nc == 0 || nl == 0 {
        return Err(bad(format!("empty image {nc}×{nl}")));
    }
    let expected_bits = u64::from(nb) * u64::from(nc) * u64::from(nl);
    if data_bits != expected_bits {
        return Err(bad(format!("data field length {data_bits} bits, but {nc}×{nl} pixels × {nb} bits = {expected_bits}")));
    }
    let data_len = usize::try_from(data_bits / 8).map_err(|_| bad("data field too large".into()))?;
    if bytes.len() < header_len + data_len {
        return Err(bad(format!(
            "truncated: {} bytes, header {header_len} + data {data_len} = {}",
            bytes.len(),
            header_len + data_len
        )));
    }
    let (projection, cfac, lfac, coff, loff) = navigation.ok_or_else(|| bad("no image navigation record (type 2)".into()))?;
    let sub_lon = projection
        .strip_prefix("GEOS(")
        .and_then(|s| s.strip_suffix(')'))
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|x| x.is_finite() && x.abs() <= 180.0)
        .ok_or_else(|| Error::unsupported(path, format!("projection {projection:?} (only GEOS(<lon>))")))?;
    if cfac == 0 || lfac == 0 {
        return Err(bad(format!("CFAC {cfac} / LFAC {lfac} must be non-zero")));
    }
    let function = function.ok_or_else(|| bad("no image data function record (type 3): cannot calibrate".into()))?;
    let (channel, table) = parse_function(function, nb, path)?;
    let time = time.ok_or_else(|| bad("no time stamp record (type 5)".into()))?;
    let (seg, total, first) = segment.ok_or_else(|| bad("no segment identification record (type 128)".into()))?;
    if seg == 0 || total == 0 || seg > total || first == 0 {
        return Err(bad(format!("segment {seg} of {total} starting at line {first} is inconsistent")));
    }
    Ok(XritHeader {
        header_len,
        data_bits,
        bits_per_pixel: nb,
        columns: usize::from(nc),
        lines: usize::from(nl),
        projection,
        sub_lon,
        cfac,
        lfac,
        coff,
        loff,
        channel,
        table,
        annotation,
        time,
        segment: seg,
        total_segments: total,
        first_line: usize::from(first),
    })
}

/// Parse the image data function text into (channel, count → K table).
fn parse_function(c: &[u8], nb: u8, path: &Path) -> Result<(Option<String>, Vec<f32>)> {
    let bad = |reason: String| Error::format(path, FORMAT, reason);
    let text = std::str::from_utf8(c).map_err(|_| bad("image data function is not text".into()))?;
    let mut channel = None;
    let mut unit = None;
    let mut entries = BTreeMap::new();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(":=") else { continue };
        match k {
            "CHANNEL" | "_NAME" => channel = channel.or(Some(v.to_string())),
            "_UNIT" => unit = Some(v.to_string()),
            _ if k.starts_with('$') || k.starts_with('_') => {}
            _ => {
                let count: u32 = k.parse().map_err(|_| bad(format!("calibration line {line:?}")))?;
                let kelvin: f32 = v.parse().map_err(|_| bad(format!("calibration line {line:?}")))?;
                entries.insert(count, kelvin);
            }
        }
    }
    if unit.as_deref() != Some("KELVIN") {
        return Err(Error::unsupported(path, format!("image data function unit {unit:?} (only KELVIN tables)")));
    }
    // HRIT: 16-bit words holding 10-bit counts → 1024 entries; LRIT: 256.
    let n = if nb == 16 { 1024 } else { 256 };
    let mut table = vec![0f32; n];
    for (count, kelvin) in entries {
        let i = usize::try_from(count).ok().filter(|&i| i < n).ok_or_else(|| bad(format!("calibration count {count} ≥ {n}")))?;
        table[i] = kelvin;
    }
    if table.iter().filter(|v| **v > 0.0).count() < 16 {
        return Err(bad("calibration table has fewer than 16 valid entries".into()));
    }
    Ok((channel, table))
}

/// One decoded segment: its header and the calibrated BT of its lines.
#[derive(Debug, Clone)]
pub struct Segment {
    /// File read.
    pub path: PathBuf,
    /// Header records.
    pub header: XritHeader,
    /// BT (K), `lines × columns`, NaN for space and unused counts.
    pub bt: Vec<f32>,
}

/// Decode one segment file held in `bytes`.
pub fn decode_segment(bytes: &[u8], path: &Path) -> Result<Segment> {
    let header = parse_header(bytes, path)?;
    let n = header.columns * header.lines;
    let data = &bytes[header.header_len..];
    let table = &header.table;
    let lookup = |count: usize| -> f32 {
        match table.get(count) {
            Some(&k) if count != 0 && k > 0.0 => k,
            _ => f32::NAN,
        }
    };
    let bt: Vec<f32> = if header.bits_per_pixel == 16 {
        data.chunks_exact(2).take(n).map(|w| lookup(usize::from(u16::from_le_bytes([w[0], w[1]])))).collect()
    } else {
        data.iter().take(n).map(|&c| lookup(usize::from(c))).collect()
    };
    Ok(Segment { path: path.to_path_buf(), header, bt })
}

/// Read a segment file, gunzipping `*.gz` (at most 64 MiB decompressed).
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if path.extension().and_then(|e| e.to_str()) != Some("gz") {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .take(64 << 20)
        .read_to_end(&mut out)
        .map_err(|e| Error::format(path, FORMAT, format!("gzip: {e}")))?;
    Ok(out)
}

/// Group key of a segment file name: the name without its `_NN` segment suffix (and `.gz`).
pub fn group_key(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let name = name.strip_suffix(".gz").unwrap_or(name);
    let (stem, ext) = name.rsplit_once('.')?;
    let (prefix, seg) = stem.rsplit_once('_')?;
    (seg.len() == 2 && seg.bytes().all(|b| b.is_ascii_digit())).then(|| format!("{}/{prefix}.{ext}", path.parent().map(|p| p.display().to_string()).unwrap_or_default()))
}

/// Assemble segments (any order) into one frame. Missing segments leave NaN rows and mark
/// the frame incomplete; inconsistent segment headers are an error.
pub fn assemble(mut segments: Vec<Segment>) -> Result<Frame> {
    segments.sort_by_key(|s| s.header.segment);
    let first = segments.first().ok_or_else(|| Error::format(Path::new("<no files>"), FORMAT, "no segments"))?;
    let h0 = first.header.clone();
    let p0 = first.path.clone();
    for s in &segments[1..] {
        let h = &s.header;
        let same = h.columns == h0.columns
            && h.bits_per_pixel == h0.bits_per_pixel
            && h.total_segments == h0.total_segments
            && (h.cfac, h.lfac, h.coff, h.loff) == (h0.cfac, h0.lfac, h0.coff, h0.loff)
            && h.projection == h0.projection
            && h.time == h0.time
            && h.table == h0.table;
        if !same {
            return Err(Error::format(
                &s.path,
                FORMAT,
                format!("segment {} header disagrees with segment {} ({}): columns/bits/navigation/time/calibration differ", h.segment, h0.segment, p0.display()),
            ));
        }
    }
    for w in segments.windows(2) {
        if w[0].header.segment == w[1].header.segment {
            return Err(Error::format(&w[1].path, FORMAT, format!("segment {} given twice (also {})", w[1].header.segment, w[0].path.display())));
        }
    }
    // Segments sit at their own first lines (they need not be equal: the ENH sector has
    // 309, 309, 308, 308). Consecutive segments must abut, others must not overlap.
    let total = usize::from(h0.total_segments);
    let present: Vec<u8> = segments.iter().map(|s| s.header.segment).collect();
    let missing: Vec<u8> = (1..=h0.total_segments).filter(|k| !present.contains(k)).collect();
    for w in segments.windows(2) {
        let (a, b) = (&w[0].header, &w[1].header);
        let end = a.first_line + a.lines;
        let ok = if b.segment == a.segment + 1 { b.first_line == end } else { b.first_line > end };
        if !ok {
            return Err(Error::format(
                &w[1].path,
                FORMAT,
                format!("segment {} starts at line {}, but segment {} covers lines {}..{}", b.segment, b.first_line, a.segment, a.first_line, end - 1),
            ));
        }
    }
    if segments[0].header.segment == 1 && segments[0].header.first_line != 1 {
        return Err(Error::format(&segments[0].path, FORMAT, format!("segment 1 starts at line {}, not 1", segments[0].header.first_line)));
    }
    let last = &segments[segments.len() - 1].header;
    let height = if last.segment == h0.total_segments {
        last.first_line - 1 + last.lines
    } else {
        // Missing tail: assume the remaining segments are as tall as the last one present.
        last.first_line - 1 + last.lines * (usize::from(h0.total_segments - last.segment) + 1)
    };
    let width = h0.columns;
    if width.checked_mul(height).is_none_or(|n| n > 400_000_000) {
        return Err(Error::format(&p0, FORMAT, format!("image {width}×{height} too large")));
    }
    let mut bt = vec![f32::NAN; width * height];
    for s in &segments {
        let start = (s.header.first_line - 1) * width;
        bt[start..start + s.bt.len()].copy_from_slice(&s.bt);
    }
    let hrit = h0.bits_per_pixel == 16;
    let source = if hrit { Source::ComsHrit } else { Source::ComsLrit };
    let area = area_of(&h0.annotation, &p0);
    let nav = Navigation::Geos(GeosNav {
        sub_lon: h0.sub_lon,
        cfac: f64::from(h0.cfac),
        lfac: f64::from(h0.lfac),
        coff: f64::from(h0.coff),
        loff: f64::from(h0.loff),
        first_column: first_pixel_number(&area),
        first_line: first_pixel_number(&area),
        r_eq: 6378.137,
        r_pol: 6356.7523,
        h: 42164.0,
    });
    let mut notes = vec![format!(
        "time from the header time stamp record ({}); the file name says {:?}",
        h0.time.format("%Y-%m-%d %H:%M:%S"),
        h0.annotation
    )];
    if !missing.is_empty() {
        notes.push(format!("missing segments {missing:?} of {total}: their lines are NaN"));
    }
    let meta = FrameMeta {
        id: format!("{}-{}_{}", source.short(), area, h0.time.format("%Y%m%d%H%M")),
        time: h0.time,
        source,
        channel: h0.channel.clone().unwrap_or_else(|| "IR1".into()),
        width,
        height,
        masks: MaskStatus::Available { grid_id: grid_id(width, height, &nav) },
        nav,
        calibration: Calibration::Calibrated {
            method: format!("image data function table ({} entries, {}-bit counts)", h0.table.len(), if hrit { 10 } else { 8 }),
        },
        complete: missing.is_empty(),
        storm: None,
        inputs: vec![],
        checksum: bt_checksum(&bt),
        notes,
    };
    Ok(Frame { meta, bt })
}

/// CGMS column/line number of the array's first pixel (index 0) for a COMS xRIT area.
///
/// Measured, not assumed (the CGMS text's "first pixel is 1" puts the disk 2 px off):
/// * full disk (`FD`): the Earth's limb in the real HRIT image is centred on 0-based pixel
///   (1375.0, 1375.0) with COFF = LOFF = 1374, in the LRIT image on (1099.9, 1099.9) with
///   COFF = LOFF = 1099, so index 0 is numbered −1; sliding the coastline over the HRIT
///   BT gradient peaks at zero shift with this numbering;
/// * East-Asia sector (`ENH`, no limb in view): the coastline gradient peaks one pixel
///   up-left of the FD numbering, so index 0 is numbered 0.
pub fn first_pixel_number(area: &str) -> f64 {
    if area == "enh" { 0.0 } else { -1.0 }
}

fn area_of(annotation: &str, path: &Path) -> String {
    let name = if annotation.is_empty() { path.file_name().and_then(|n| n.to_str()).unwrap_or("") } else { annotation };
    // IMG_<AREA>_<n>_<CH>_...
    name.split('_').nth(1).map(|a| a.to_ascii_lowercase()).filter(|a| a.chars().all(|c| c.is_ascii_alphanumeric())).unwrap_or_else(|| "img".into())
}

/// Read and assemble the segment files of one image.
pub fn read_frame(paths: &[PathBuf]) -> Result<Frame> {
    let mut segs = Vec::with_capacity(paths.len());
    for p in paths {
        let bytes = read_file(p)?;
        segs.push(decode_segment(&bytes, p)?);
    }
    assemble(segs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid LRIT-like segment: `nc × nl` 8-bit pixels.
    pub(crate) fn synth_segment(seg: u8, total: u8, nc: u16, nl: u16, first: u16) -> Vec<u8> {
        let mut recs: Vec<u8> = Vec::new();
        recs.extend([1, 0, 9, 8]);
        recs.extend(nc.to_be_bytes());
        recs.extend(nl.to_be_bytes());
        recs.push(0);
        let mut nav = vec![2, 0, 51];
        let mut name = b"GEOS(128.2)".to_vec();
        name.resize(32, 0);
        nav.extend(name);
        for v in [8170135i32, -8170135, 1099, 1099] {
            nav.extend(v.to_be_bytes());
        }
        recs.extend(nav);
        let mut f = String::from("CHANNEL:=IR1\n$HALFTONE:=8\n_NAME:=IR1\n_UNIT:=KELVIN\n");
        for i in 0..256 {
            f.push_str(&format!("{i}:={}\n", 330.0 - i as f64 * 0.5));
        }
        let l = 3 + f.len();
        recs.push(3);
        recs.extend((l as u16).to_be_bytes());
        recs.extend(f.bytes());
        recs.extend([5, 0, 10, 0x40, 0x4d, 0x0b, 0x00, 0x7b, 0xe6, 0xc0]);
        recs.extend([128, 0, 7, seg, total]);
        recs.extend(first.to_be_bytes());
        let header_len = 16 + recs.len();
        let bits = 8u64 * u64::from(nc) * u64::from(nl);
        let mut out = vec![0u8, 0, 16, 0];
        out.extend((header_len as u32).to_be_bytes());
        out.extend(bits.to_be_bytes());
        out.extend(recs);
        out.extend((0..usize::from(nc) * usize::from(nl)).map(|i| (i % 200 + 1) as u8));
        out
    }

    #[test]
    fn synthetic_segment_parses() {
        let b = synth_segment(1, 2, 10, 4, 1);
        let s = decode_segment(&b, Path::new("x_01.lrit")).unwrap();
        assert_eq!((s.header.columns, s.header.lines, s.header.segment), (10, 4, 1));
        assert_eq!(s.header.time.to_rfc3339(), "2012-01-01T02:15:20+00:00");
        assert_eq!(s.bt[0], 329.5); // count 1 → 330 − 0.5
    }

    #[test]
    fn truncated_and_bad_magic_are_errors() {
        let b = synth_segment(1, 2, 10, 4, 1);
        let e = decode_segment(&b[..b.len() - 1], Path::new("t_01.lrit")).unwrap_err().to_string();
        assert!(e.contains("t_01.lrit") && e.contains("truncated"), "{e}");
        let mut m = b.clone();
        m[0] = 7;
        let e = decode_segment(&m, Path::new("m_01.lrit")).unwrap_err().to_string();
        assert!(e.contains("wrong magic"), "{e}");
        for n in 0..64 {
            let _ = decode_segment(&b[..n.min(b.len())], Path::new("short"));
        }
    }

    #[test]
    fn segments_in_any_order_and_missing_ones() {
        let p = |n: u8| PathBuf::from(format!("IMG_FD_01_IR1_20120101_024020_0{n}.lrit"));
        let s1 = decode_segment(&synth_segment(1, 3, 10, 4, 1), &p(1)).unwrap();
        let s2 = decode_segment(&synth_segment(2, 3, 10, 4, 5), &p(2)).unwrap();
        let s3 = decode_segment(&synth_segment(3, 3, 10, 4, 9), &p(3)).unwrap();
        let a = assemble(vec![s3.clone(), s1.clone(), s2.clone()]).unwrap();
        let b = assemble(vec![s1.clone(), s2.clone(), s3.clone()]).unwrap();
        assert_eq!(a.meta.checksum, b.meta.checksum);
        assert!(a.meta.complete);
        assert_eq!((a.meta.width, a.meta.height), (10, 12));
        let c = assemble(vec![s1.clone(), s3.clone()]).unwrap();
        assert!(!c.meta.complete);
        assert!(c.bt[40..80].iter().all(|v| v.is_nan()), "missing segment rows are NaN, never padded");
        // Inconsistent: a segment claiming a different start line.
        let bad = decode_segment(&synth_segment(2, 3, 10, 4, 6), &p(2)).unwrap();
        let e = assemble(vec![s1.clone(), bad]).unwrap_err().to_string();
        assert!(e.contains("segment 2 starts at line 6"), "{e}");
        let dup = assemble(vec![s1.clone(), s1]).unwrap_err().to_string();
        assert!(dup.contains("given twice"), "{dup}");
    }

    #[test]
    fn group_key_strips_segment_number() {
        assert_eq!(
            group_key(Path::new("d/IMG_FD_01_IR1_20120101_024020_03.hrit")).unwrap(),
            "d/IMG_FD_01_IR1_20120101_024020.hrit"
        );
        assert_eq!(group_key(Path::new("d/foo.hrit")), None);
        assert_eq!(group_key(Path::new("d/IMG_X_1_20120101_000920_02.lrit.gz")).unwrap(), "d/IMG_X_1_20120101_000920.lrit");
    }
}
