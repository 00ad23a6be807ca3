//! An animated PNG of a case's loop, for downloading it: the loop's frames are PNGs already
//! (the bundle's thumbnails, checked against the manifest), so the animation is put together
//! from their chunks, with no decoding and no second compression. Layout from the APNG
//! specification (W3C PNG 3rd edition, §11.3.4; mozilla's original APNG spec):
//!
//! ```text
//! signature · IHDR · acTL(frames, plays = 0: forever) · [PLTE · tRNS of the first frame]
//!   frame 0: fcTL(seq 0) · IDAT…  (the first frame's own IDAT chunks: the default image)
//!   frame i: fcTL(seq)   · fdAT(seq + 1, the frame's IDAT data)
//! IEND
//! ```
//!
//! Every frame's zlib stream is used as it is, which is valid only when the frames share the
//! first frame's IHDR (size, bit depth, colour type, no interlace) and palette: a frame that
//! does not is left out, and the caller learns how many went in.

use crate::zip::crc32;

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// The chunks of one PNG that the animation needs.
struct Parsed<'a> {
    /// IHDR's 13 data bytes.
    ihdr: &'a [u8],
    /// PLTE and tRNS, as (type, data), in file order.
    palette: Vec<(&'a [u8], &'a [u8])>,
    /// The IDAT chunks' data, in order (one zlib stream split across them).
    idat: Vec<&'a [u8]>,
}

/// Splits a PNG into the chunks the animation uses; `None` for anything that is not a whole
/// PNG with an IHDR and at least one IDAT (the CRCs were checked with the file's hash).
fn parse(png: &[u8]) -> Option<Parsed<'_>> {
    let mut rest = png.strip_prefix(&SIGNATURE[..])?;
    let (mut ihdr, mut palette, mut idat) = (None, Vec::new(), Vec::new());
    // A chunk: length (4 bytes, big-endian), type (4), data (length), CRC (4).
    while rest.len() >= 12 {
        let len = usize::try_from(u32::from_be_bytes(rest[..4].try_into().ok()?)).ok()?;
        let kind = &rest[4..8];
        let end = len.checked_add(12)?;
        if rest.len() < end {
            return None;
        }
        let data = &rest[8..8 + len];
        match kind {
            b"IHDR" if len == 13 => ihdr = Some(data),
            b"PLTE" | b"tRNS" => palette.push((kind, data)),
            b"IDAT" => idat.push(data),
            b"IEND" => break,
            _ => {}
        }
        rest = &rest[end..];
    }
    let ihdr = ihdr?;
    // Interlace method (byte 12) must be 0: fdAT carries the frame's stream as it is.
    (ihdr[12] == 0 && !idat.is_empty()).then_some(Parsed { ihdr, palette, idat })
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// fcTL: sequence number, width, height, x and y offset (0), delay as a fraction of a second
/// (`delay_ms`/1000), dispose op 0 (none), blend op 0 (source: each frame replaces the last).
fn frame_control(out: &mut Vec<u8>, seq: u32, ihdr: &[u8], delay_ms: u16) {
    let mut d = Vec::with_capacity(26);
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&ihdr[..8]);
    d.extend_from_slice(&[0; 8]);
    d.extend_from_slice(&delay_ms.to_be_bytes());
    d.extend_from_slice(&1000u16.to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    chunk(out, b"fcTL", &d);
}

/// An endlessly looping APNG of `pngs`, each shown `delay_ms`, and how many frames it holds:
/// those that share the first usable frame's header and palette (module docs). `None` when no
/// frame is a usable PNG.
pub fn animate(pngs: &[Vec<u8>], delay_ms: u16) -> Option<(Vec<u8>, usize)> {
    let parsed: Vec<Parsed> = pngs.iter().filter_map(|p| parse(p)).collect();
    let first = parsed.first()?;
    let frames: Vec<&Parsed> = parsed.iter().filter(|p| p.ihdr == first.ihdr && p.palette == first.palette).collect();
    let mut out = SIGNATURE.to_vec();
    chunk(&mut out, b"IHDR", first.ihdr);
    // acTL: number of frames, number of plays (0: forever).
    let mut actl = (frames.len() as u32).to_be_bytes().to_vec();
    actl.extend_from_slice(&0u32.to_be_bytes());
    chunk(&mut out, b"acTL", &actl);
    for (kind, data) in &first.palette {
        chunk(&mut out, &[kind[0], kind[1], kind[2], kind[3]], data);
    }
    let mut seq = 0u32;
    for (i, f) in frames.iter().enumerate() {
        frame_control(&mut out, seq, first.ihdr, delay_ms);
        seq += 1;
        for data in &f.idat {
            if i == 0 {
                chunk(&mut out, b"IDAT", data);
            } else {
                // fdAT: a sequence number, then the IDAT data.
                let mut d = seq.to_be_bytes().to_vec();
                d.extend_from_slice(data);
                chunk(&mut out, b"fdAT", &d);
                seq += 1;
            }
        }
    }
    chunk(&mut out, b"IEND", &[]);
    Some((out, frames.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2×1 8-bit grey PNG whose pixels are `a`, `b`: one IDAT with a stored (uncompressed)
    /// zlib stream: header 78 01, a final stored block of the 6 bytes (filter 0, a, b), Adler-32.
    fn grey_2x1(a: u8, b: u8) -> Vec<u8> {
        let raw = [0u8, a, b];
        let (mut s1, mut s2) = (1u32, 0u32);
        for &x in &raw {
            s1 = (s1 + u32::from(x)) % 65521;
            s2 = (s2 + s1) % 65521;
        }
        let mut z = vec![0x78, 0x01, 1, 3, 0, !3u8, 0xff];
        z.extend_from_slice(&raw);
        z.extend_from_slice(&((s2 << 16) | s1).to_be_bytes());
        let mut out = SIGNATURE.to_vec();
        chunk(&mut out, b"IHDR", &[0, 0, 0, 2, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
        chunk(&mut out, b"IDAT", &z);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    /// (type, data) of every chunk, each CRC checked.
    fn chunks(png: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut rest = png.strip_prefix(&SIGNATURE[..]).expect("signature");
        let mut out = Vec::new();
        while !rest.is_empty() {
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            let crc = u32::from_be_bytes(rest[8 + len..12 + len].try_into().unwrap());
            assert_eq!(crc32(&rest[4..8 + len]), crc);
            out.push((String::from_utf8(rest[4..8].to_vec()).unwrap(), rest[8..8 + len].to_vec()));
            rest = &rest[12 + len..];
        }
        out
    }

    #[test]
    fn three_frames_make_an_animation_in_the_specified_order() {
        let (apng, n) = animate(&[grey_2x1(1, 2), grey_2x1(3, 4), grey_2x1(5, 6)], 100).unwrap();
        assert_eq!(n, 3);
        let c = chunks(&apng);
        let kinds: Vec<&str> = c.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds, ["IHDR", "acTL", "fcTL", "IDAT", "fcTL", "fdAT", "fcTL", "fdAT", "IEND"]);
        // acTL: 3 frames, 0 plays (forever).
        assert_eq!(c[1].1, [0, 0, 0, 3, 0, 0, 0, 0]);
        // Sequence numbers 0..5 across fcTL and fdAT; fcTL says 2×1 at (0, 0), 100/1000 s.
        let seqs: Vec<u32> = c.iter().filter(|(k, _)| k == "fcTL" || k == "fdAT").map(|(_, d)| u32::from_be_bytes(d[..4].try_into().unwrap())).collect();
        assert_eq!(seqs, [0, 1, 2, 3, 4]);
        assert_eq!(&c[2].1[4..], &[0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 3, 232, 0, 0]);
        // The second frame's fdAT carries its own IDAT data (pixels 3, 4) after the sequence number.
        let idat2 = &chunks(&grey_2x1(3, 4))[1].1;
        assert_eq!(&c[5].1[4..], &idat2[..]);
    }

    #[test]
    fn frames_of_another_size_or_not_png_are_left_out() {
        let mut wide = grey_2x1(1, 2);
        // Width 3 in IHDR (its CRC is not re-checked here: parse trusts the manifest's hash).
        wide[8 + 8 + 3] = 3;
        let (apng, n) = animate(&[b"junk".to_vec(), grey_2x1(1, 2), wide, grey_2x1(7, 8)], 50).unwrap();
        assert_eq!(n, 2);
        assert_eq!(chunks(&apng)[1].1[..4], [0, 0, 0, 2]);
        assert!(animate(&[], 50).is_none());
    }
}
