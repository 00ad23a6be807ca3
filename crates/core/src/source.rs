//! Where a frame comes from, as the `source` filter reads it.
//!
//! Each [`FrameRecord`] carries an `origin` key (written by `skycase embed --store` from the
//! frame's reader) next to its human `source` label. The filter takes one of the keys in
//! [`ORIGINS`], or `real` for every frame that is not simulated. Keys are matched without
//! regard to ASCII case; a record without a key (a bundle exported before keys existed)
//! passes no `source` filter, so a filter never shows frames it cannot vouch for.
//!
//! Frames of an [`UNCALIBRATED`] origin (grey levels mapped to kelvin by an assumed table)
//! are ranked only when the filter names that origin: their vectors and scores are not
//! comparable with calibrated frames', and the strength calibration was never fit on them
//! (docs/pipeline.md "What the model does on real imagery"). Without a filter, or with
//! `real`, a search answers from calibrated frames only.
//!
//! ```
//! use skycase_core::source::{parse_source, SourceFilter};
//! assert_eq!(parse_source("Real"), Ok(SourceFilter::Real));
//! assert!(parse_source("kma").unwrap().keeps("kma"));
//! assert!(!parse_source("real").unwrap().keeps("simulated"));
//! assert!(!parse_source("real").unwrap().keeps("kma") && !skycase_core::source::calibrated("kma"));
//! assert!(parse_source("himawari").is_err());
//! ```

use crate::shard::FrameRecord;

/// Origin keys and what the app calls them: the simulator first, then the real readers.
pub const ORIGINS: [(&str, &str); 6] = [
    (SIMULATED, "Simulated (wxsim)"),
    ("coms", "COMS MI xRIT (HRIT/LRIT)"),
    ("kma", "KMA COMS East-Asia PNG"),
    ("gk2a", "GK-2A AMI L1B"),
    ("digital-typhoon", "Digital Typhoon (MTSAT)"),
    ("png-sidecar", "PNG archive with navigation"),
];

/// The origin key of simulated frames.
pub const SIMULATED: &str = "simulated";

/// Origins whose frames ingest marks uncalibrated (KMA's East-Asia PNG products: no grey
/// legend, an assumed grey → K table): searched only when the `source` filter names them,
/// and answered without strengths or a "nothing close" notice.
pub const UNCALIBRATED: [&str; 1] = ["kma"];

/// Whether frames of `origin` have calibrated grey levels, so that a search without a
/// `source` filter ranks them (an unknown or empty origin counts as calibrated: a bundle
/// exported before origin keys existed searches as it did).
pub fn calibrated(origin: &str) -> bool {
    !UNCALIBRATED.iter().any(|u| u.eq_ignore_ascii_case(origin))
}

/// A parsed `source` filter.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SourceFilter {
    /// Every frame that has a calibrated origin other than [`SIMULATED`].
    Real,
    /// Frames of one origin key (canonical spelling from [`ORIGINS`]).
    Origin(String),
}

impl SourceFilter {
    /// Whether a frame of origin `origin` passes.
    pub fn keeps(&self, origin: &str) -> bool {
        match self {
            _ if origin.is_empty() => false,
            SourceFilter::Real => !origin.eq_ignore_ascii_case(SIMULATED) && calibrated(origin),
            SourceFilter::Origin(key) => origin.eq_ignore_ascii_case(key),
        }
    }

    /// Whether a record passes.
    pub fn keeps_record(&self, rec: &FrameRecord) -> bool {
        self.keeps(&rec.origin)
    }

    /// Whether the filter names an [`UNCALIBRATED`] origin: its answers carry no strengths.
    pub fn uncalibrated(&self) -> bool {
        matches!(self, SourceFilter::Origin(key) if !calibrated(key))
    }

    /// The value as written in a link or on the command line.
    pub fn key(&self) -> &str {
        match self {
            SourceFilter::Real => "real",
            SourceFilter::Origin(key) => key,
        }
    }
}

/// Reads a `source` value: `real` or one of the keys of [`ORIGINS`], any ASCII case.
pub fn parse_source(value: &str) -> Result<SourceFilter, String> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("real") {
        return Ok(SourceFilter::Real);
    }
    ORIGINS
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(v))
        .map(|(key, _)| SourceFilter::Origin(key.to_string()))
        .ok_or_else(|| format!("not one of: real, {}", ORIGINS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_keeps_every_origin_but_the_simulator_and_unknown() {
        let real = SourceFilter::Real;
        for (key, _) in ORIGINS {
            assert_eq!(real.keeps(key), key != SIMULATED && !UNCALIBRATED.contains(&key), "{key}");
        }
        assert!(!real.keeps(""));
        assert!(!SourceFilter::Origin(SIMULATED.into()).keeps(""));
    }

    #[test]
    fn one_origin_keeps_only_itself() {
        let kma = parse_source(" KMA ").unwrap();
        assert_eq!(kma, SourceFilter::Origin("kma".into()));
        assert!(kma.keeps("kma") && !kma.keeps("coms") && !kma.keeps(SIMULATED));
        assert!(kma.uncalibrated() && !parse_source("coms").unwrap().uncalibrated() && !SourceFilter::Real.uncalibrated());
        assert_eq!(parse_source("Digital-Typhoon").unwrap().key(), "digital-typhoon");
        // Unfiltered, every calibrated origin (and a record without one) is searched.
        assert!(calibrated("coms") && calibrated("") && !calibrated("KMA"));
        let e = parse_source("himawari").unwrap_err();
        assert!(e.contains("real, simulated, coms, kma"), "{e}");
    }
}
