//! The copied real best-track records and simulated truth agree with the captioner's
//! typhoon rule (no ../shared needed).

use std::path::PathBuf;

use skycase_caption::eval::read_truth;
use skycase_caption::{BestTrack, Phenomenon, Region};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/caption").join(name)
}

#[test]
fn damrey_is_a_tropical_storm_in_the_south_china_sea_when_the_truth_says_typhoon() {
    let bt = BestTrack::open(fixture("bst_nov2017.txt")).unwrap();
    assert_eq!(bt.storms().len(), 3);
    let truth = read_truth(&fixture("labels_sample.jsonl")).unwrap();
    let (t, cap) = truth.iter().find(|(_, c)| c.iter().any(|(_, p)| p == Phenomenon::Typhoon)).unwrap();
    assert_eq!(cap.get(Region::SouthChinaSea), Phenomenon::Typhoon);
    let fixes = bt.at(*t);
    let damrey = fixes.iter().find(|f| f.name == "DAMREY").unwrap();
    assert!([3, 4, 5].contains(&damrey.grade), "{damrey:?}");
    // South China Sea polygon spans roughly 5-23 N, 105-121 E.
    assert!((5.0..23.0).contains(&damrey.lat) && (105.0..121.0).contains(&damrey.lon), "{damrey:?}");
}
