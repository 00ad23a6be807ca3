//! A zip archive of stored (uncompressed) files, for downloading a case: its frames are PNGs
//! already (compressing them again gains nothing) and its JSON is small. Layout from PKWARE's
//! APPNOTE.TXT 6.3: per file a local header and the data, then the central directory and its
//! end record; no zip64, so at most 65 535 files and 4 GiB.

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zip needs it
/// (tests/e2e/cases.test.mjs checks every entry of a downloaded case against Node's zlib.crc32).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Packs `(name, bytes)` pairs into a zip file (names as given, UTF-8 flagged).
pub fn stored(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let u16le = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let u32le = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    for (name, data) in files {
        let offset = out.len() as u32;
        let (crc, size, name_len) = (crc32(data), data.len() as u32, name.len() as u16);
        // Local file header: signature, version 2.0, flags (bit 11: UTF-8 names), method 0
        // (stored), time, date (1980-01-01), crc, sizes, name length, extra length.
        u32le(&mut out, 0x0403_4b50);
        for x in [20, 0x0800, 0, 0, 0x0021] {
            u16le(&mut out, x);
        }
        for x in [crc, size, size] {
            u32le(&mut out, x);
        }
        u16le(&mut out, name_len);
        u16le(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        // Central directory entry: as above plus version made by, comment, disk, attributes
        // and the local header's offset.
        u32le(&mut central, 0x0201_4b50);
        for x in [20, 20, 0x0800, 0, 0, 0x0021] {
            u16le(&mut central, x);
        }
        for x in [crc, size, size] {
            u32le(&mut central, x);
        }
        for x in [name_len, 0, 0, 0, 0] {
            u16le(&mut central, x);
        }
        u32le(&mut central, 0);
        u32le(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let (cd_offset, cd_size, n) = (out.len() as u32, central.len() as u32, files.len() as u16);
    out.extend_from_slice(&central);
    // End of central directory: signature, disk numbers, entry counts, size, offset, comment.
    u32le(&mut out, 0x0605_4b50);
    for x in [0, 0, n, n] {
        u16le(&mut out, x);
    }
    u32le(&mut out, cd_size);
    u32le(&mut out, cd_offset);
    u16le(&mut out, 0);
    out
}
