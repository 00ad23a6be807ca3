//! The study's fixed vocabulary: 13 regions (in the order of its prompt) and 5 phenomena.

/// Region names in the order the study's prompt lists them; captions keep this order.
pub const REGIONS: [&str; 13] = [
    "Korean Peninsula",
    "Mongolia",
    "Northern China",
    "Eastern China",
    "Southern China",
    "Manchuria and Primorsky Krai",
    "Honshu (Japan)",
    "Hokkaido (Japan)",
    "Kyushu (Japan)",
    "East China Sea",
    "Philippine Sea",
    "South China Sea",
    "Pacific coast of Japan",
];

/// The five phenomena a region can carry.
pub const PHENOMENA: [&str; 5] = ["Snow", "Clear", "Cloudy", "Rain", "Typhoon"];

/// Index of a region by its exact name.
pub fn region_index(name: &str) -> Option<usize> {
    REGIONS.iter().position(|r| *r == name)
}

/// Splits a caption line `- Region - Phenomenon` into its two parts.
pub fn parse_bullet(line: &str) -> Option<(&str, &str)> {
    let body = line.trim().strip_prefix('-')?.trim();
    let (region, phenomenon) = body.rsplit_once(" - ")?;
    Some((region.trim(), phenomenon.trim()))
}

/// The phenomenon a caption gives for region `index`, if any.
pub fn phenomenon_of(caption: &str, index: usize) -> Option<&str> {
    let name = REGIONS.get(index)?;
    caption.lines().filter_map(parse_bullet).find(|(r, _)| r == name).map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bullets_parse_with_parenthesised_names() {
        assert_eq!(parse_bullet("- Honshu (Japan) - Rain"), Some(("Honshu (Japan)", "Rain")));
        assert_eq!(parse_bullet("Honshu - Rain"), None);
        let caption = "- Korean Peninsula - Snow\n- Kyushu (Japan) - Cloudy";
        assert_eq!(phenomenon_of(caption, region_index("Kyushu (Japan)").unwrap()), Some("Cloudy"));
        assert_eq!(phenomenon_of(caption, 1), None);
    }
}
