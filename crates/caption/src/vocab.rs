//! Typed forms of the study's vocabulary ([`skycase_vocab`], which holds the names):
//! [`Region`] and [`Phenomenon`] enums whose discriminants are the indices into
//! [`skycase_vocab::REGIONS`] / [`skycase_vocab::PHENOMENA`], and a [`Caption`] (one
//! phenomenon per region) with its bullet text `- Korean Peninsula - Snow`, one line per region.
//!
//! ```
//! use skycase_caption::{Caption, Phenomenon, Region};
//! let mut c = Caption::filled(Phenomenon::Clear);
//! c.set(Region::Hokkaido, Phenomenon::Snow);
//! let text = c.to_bullets();
//! assert!(text.starts_with("- Korean Peninsula - Clear\n"));
//! assert_eq!(Caption::from_bullets(&text).unwrap(), c);
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use skycase_vocab::{bullet, PHENOMENA, REGIONS};

use crate::error::{Error, Result};

/// One of the study's 13 regions. The discriminant is the position in the prompt
/// (and in region-mask arrays).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Region {
    /// Korean Peninsula.
    KoreanPeninsula = 0,
    /// Mongolia.
    Mongolia,
    /// Northern China.
    NorthernChina,
    /// Eastern China.
    EasternChina,
    /// Southern China.
    SouthernChina,
    /// Manchuria and Primorsky Krai.
    Manchuria,
    /// Honshu (Japan).
    Honshu,
    /// Hokkaido (Japan).
    Hokkaido,
    /// Kyushu (Japan).
    Kyushu,
    /// East China Sea.
    EastChinaSea,
    /// Philippine Sea.
    PhilippineSea,
    /// South China Sea.
    SouthChinaSea,
    /// Pacific coast of Japan.
    PacificCoastJapan,
}

impl Region {
    /// All regions in the prompt's order.
    pub const ALL: [Region; 13] = [
        Region::KoreanPeninsula,
        Region::Mongolia,
        Region::NorthernChina,
        Region::EasternChina,
        Region::SouthernChina,
        Region::Manchuria,
        Region::Honshu,
        Region::Hokkaido,
        Region::Kyushu,
        Region::EastChinaSea,
        Region::PhilippineSea,
        Region::SouthChinaSea,
        Region::PacificCoastJapan,
    ];

    /// The name as written in captions, labels.jsonl and regions.geojson
    /// ([`skycase_vocab::REGIONS`]).
    pub fn name(self) -> &'static str {
        REGIONS[self.index()]
    }

    /// Position in the prompt's order (0..13).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The canonical name only (exact, case-sensitive); see
    /// [`crate::parse::region_from_answer`] for the lenient form used on MLLM answers.
    pub fn from_name(name: &str) -> Option<Region> {
        Region::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Region {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Region::from_name(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown region '{s}'")))
    }
}

/// One of the study's five weather phenomena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Phenomenon {
    /// Snow.
    Snow = 0,
    /// Clear.
    Clear,
    /// Cloudy.
    Cloudy,
    /// Rain.
    Rain,
    /// Typhoon.
    Typhoon,
}

impl Phenomenon {
    /// All phenomena in the study's order.
    pub const ALL: [Phenomenon; 5] =
        [Phenomenon::Snow, Phenomenon::Clear, Phenomenon::Cloudy, Phenomenon::Rain, Phenomenon::Typhoon];

    /// The name as written in captions ([`skycase_vocab::PHENOMENA`]).
    pub fn name(self) -> &'static str {
        PHENOMENA[self.index()]
    }

    /// Position in [`Phenomenon::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Phenomenon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Phenomenon {
    type Err = Error;
    /// The canonical name only (exact); MLLM synonyms live in [`crate::parse`].
    fn from_str(s: &str) -> Result<Self> {
        Phenomenon::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| Error::Caption(format!("unknown phenomenon '{s}'")))
    }
}

/// One phenomenon for each of the 13 regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Caption {
    labels: [Phenomenon; 13],
}

impl Caption {
    /// A caption with the labels in region order.
    pub fn new(labels: [Phenomenon; 13]) -> Self {
        Caption { labels }
    }

    /// Every region with the same phenomenon.
    pub fn filled(p: Phenomenon) -> Self {
        Caption { labels: [p; 13] }
    }

    /// The phenomenon of a region.
    pub fn get(&self, r: Region) -> Phenomenon {
        self.labels[r.index()]
    }

    /// Set the phenomenon of a region.
    pub fn set(&mut self, r: Region, p: Phenomenon) {
        self.labels[r.index()] = p;
    }

    /// Labels in region order.
    pub fn labels(&self) -> &[Phenomenon; 13] {
        &self.labels
    }

    /// `(region, phenomenon)` pairs in region order.
    pub fn iter(&self) -> impl Iterator<Item = (Region, Phenomenon)> + '_ {
        Region::ALL.into_iter().map(|r| (r, self.get(r)))
    }

    /// The study's bullet text: `- <Region> - <Phenomenon>`, 13 lines joined by `\n`,
    /// no trailing newline (as in labels.jsonl).
    pub fn to_bullets(&self) -> String {
        self.iter().map(|(r, p)| bullet(r.index(), p.index())).collect::<Vec<_>>().join("\n")
    }

    /// Parse text written by [`Caption::to_bullets`]: exactly 13 lines, canonical names,
    /// the prompt's order. Anything else is an error (MLLM answers go through
    /// [`crate::parse::parse_answer`] instead).
    pub fn from_bullets(text: &str) -> Result<Self> {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.len() != 13 {
            return Err(Error::Caption(format!("expected 13 lines, found {}", lines.len())));
        }
        let mut labels = [Phenomenon::Clear; 13];
        for (i, (line, region)) in lines.iter().zip(Region::ALL).enumerate() {
            let rest = line
                .trim()
                .strip_prefix("- ")
                .ok_or_else(|| Error::Caption(format!("line {}: no leading '- ': '{line}'", i + 1)))?;
            let (name, phen) = rest
                .rsplit_once(" - ")
                .ok_or_else(|| Error::Caption(format!("line {}: no ' - ' separator: '{line}'", i + 1)))?;
            if name != region.name() {
                return Err(Error::Caption(format!(
                    "line {}: expected region '{region}', found '{name}'",
                    i + 1
                )));
            }
            labels[i] = phen.parse()?;
        }
        Ok(Caption { labels })
    }

    /// The bullet lines of the regions `covered` marks only (a frame that covers part of
    /// the map), in region order.
    pub fn bullets_of(&self, covered: &[bool; 13]) -> String {
        self.iter().filter(|(r, _)| covered[r.index()]).map(|(r, p)| bullet(r.index(), p.index())).collect::<Vec<_>>().join("\n")
    }

    /// The line of one region, e.g. `- Hokkaido (Japan) - Snow`.
    pub fn bullet(&self, r: Region) -> String {
        bullet(r.index(), self.get(r).index())
    }
}

/// Stored as a map `{"Korean Peninsula": "Snow", ...}` in region order.
impl Serialize for Caption {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(13))?;
        for (r, p) in self.iter() {
            m.serialize_entry(r.name(), &p)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Caption {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let m = std::collections::BTreeMap::<String, Phenomenon>::deserialize(d)?;
        let mut labels = [None; 13];
        for (k, v) in m {
            let r = Region::from_name(&k)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown region '{k}'")))?;
            labels[r.index()] = Some(v);
        }
        let mut out = [Phenomenon::Clear; 13];
        for (i, l) in labels.iter().enumerate() {
            out[i] = l.ok_or_else(|| {
                serde::de::Error::custom(format!("region '{}' missing", Region::ALL[i]))
            })?;
        }
        Ok(Caption { labels: out })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIM_FIRST: &str = "- Korean Peninsula - Clear\n- Mongolia - Clear\n- Northern China - Clear\n- Eastern China - Clear\n- Southern China - Clear\n- Manchuria and Primorsky Krai - Clear\n- Honshu (Japan) - Rain\n- Hokkaido (Japan) - Clear\n- Kyushu (Japan) - Cloudy\n- East China Sea - Clear\n- Philippine Sea - Clear\n- South China Sea - Clear\n- Pacific coast of Japan - Rain";

    #[test]
    fn enums_follow_the_vocabulary_order() {
        assert_eq!(Region::ALL.len(), REGIONS.len());
        for (k, r) in Region::ALL.into_iter().enumerate() {
            assert_eq!((r.index(), Region::from_name(REGIONS[k])), (k, Some(r)));
        }
        assert_eq!(Region::PacificCoastJapan.name(), "Pacific coast of Japan");
        for (p, ph) in Phenomenon::ALL.into_iter().enumerate() {
            assert_eq!((ph.index(), ph.name().parse::<Phenomenon>().unwrap()), (p, ph));
        }
    }

    #[test]
    fn bullets_round_trip_sim_caption() {
        let c = Caption::from_bullets(SIM_FIRST).unwrap();
        assert_eq!(c.get(Region::Honshu), Phenomenon::Rain);
        assert_eq!(c.get(Region::Kyushu), Phenomenon::Cloudy);
        assert_eq!(c.to_bullets(), SIM_FIRST);
    }

    #[test]
    fn bullets_reject_wrong_order_and_count() {
        let swapped = SIM_FIRST.replacen("Korean Peninsula", "Mongolia", 1);
        assert!(Caption::from_bullets(&swapped).is_err());
        let short: String = SIM_FIRST.lines().take(12).collect::<Vec<_>>().join("\n");
        assert!(Caption::from_bullets(&short).is_err());
        assert!(Caption::from_bullets(&SIM_FIRST.replace("Rain", "Drizzle")).is_err());
    }

    #[test]
    fn json_is_a_region_map() {
        let c = Caption::from_bullets(SIM_FIRST).unwrap();
        let j = serde_json::to_string(&c).unwrap();
        assert!(j.starts_with("{\"Korean Peninsula\":\"Clear\""));
        let back: Caption = serde_json::from_str(&j).unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<Caption>("{\"Mongolia\":\"Snow\"}").is_err());
    }
}
