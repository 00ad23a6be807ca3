//! Interface strings of the search results that say how close a case is, in one place so
//! that they can be translated together.

/// Above the results when the archive holds nothing close to the query (the same line that
/// `skycase search` prints).
pub const NOTHING_CLOSE: &str = skycase_core::strength::NOTHING_CLOSE_NOTICE;

/// Tooltip of a result's strength.
pub const STRENGTH_TITLE: &str = "calibrated strength: how likely the matched region shows what was asked for";

/// A result's calibrated strength as a short label.
pub fn strength_label(strength: f32) -> String {
    let word = if strength >= 0.7 {
        "strong match"
    } else if strength >= 0.4 {
        "possible match"
    } else {
        "weak match"
    };
    format!("{word} ({:.0} %)", strength * 100.0)
}
