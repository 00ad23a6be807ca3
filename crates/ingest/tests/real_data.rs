//! Readers on the full real files in ../shared/data (not in a fresh clone: these tests are
//! ignored by default; run with
//! `cargo test --release -p skycase-ingest --test real_data -- --ignored`).
use std::path::{Path, PathBuf};

const NEEDS_SHARED: &str = "needs ../shared/data/real/coms-xrit; run with: cargo test -p skycase-ingest --test real_data -- --ignored";

fn shared(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(rel);
    assert!(p.exists(), "{} not found: this test {NEEDS_SHARED}", p.display());
    p
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().and_then(|e| e.to_str()) == Some(ext)).collect();
    v.sort();
    v
}

#[test]
#[ignore = "needs ../shared/data/real/coms-xrit; run with: cargo test -p skycase-ingest --test real_data -- --ignored"]
fn coms_hrit_full_disk() {
    let d = shared("real/coms-xrit/hrit-fd");
    let mut paths = files(&d, "hrit");
    paths.reverse(); // any order
    let f = skycase_ingest::xrit::read_frame(&paths).unwrap();
    assert_eq!((f.meta.width, f.meta.height), (2750, 2750));
    assert!(f.meta.complete);
    eprintln!("{}", f.meta.id);
    // Sub-satellite point lands on the disk centre.
    let (x, y) = f.meta.nav.lonlat_to_pixel(128.2, 0.0).unwrap();
    assert!((x - 1375.0).abs() < 0.51 && (y - 1375.0).abs() < 0.51, "{x} {y}");
    let finite: Vec<f32> = f.bt.iter().copied().filter(|v| v.is_finite()).collect();
    let (mn, mx) = finite.iter().fold((f32::MAX, f32::MIN), |a, &v| (a.0.min(v), a.1.max(v)));
    eprintln!("HRIT BT {mn}..{mx}, {} valid px", finite.len());
    assert!(mn > 170.0 && mx < 345.0);
    let a = skycase_ingest::coast::coastline_alignment(&f, &skycase_ingest::coast::Coastlines::bundled(), 4, (100.0, 20.0, 150.0, 50.0));
    eprintln!("{}", skycase_ingest::coast::describe(&a, &d));
    assert_eq!((a.dx, a.dy), (0, 0));
}

#[test]
#[ignore = "needs ../shared/data/real/coms-xrit; run with: cargo test -p skycase-ingest --test real_data -- --ignored"]
fn coms_lrit_full_disk_and_enh() {
    let d = shared("real/coms-xrit");
    for (sub, ext, w, h) in [("lrit-fd", "lrit", 2200, 2200), ("lrit-enh", "lrit", 1547, 1234)] {
        let f = skycase_ingest::xrit::read_frame(&files(&d.join(sub), ext)).unwrap();
        assert_eq!((f.meta.width, f.meta.height), (w, h));
        assert!(f.meta.complete);
        let a = skycase_ingest::coast::coastline_alignment(&f, &skycase_ingest::coast::Coastlines::bundled(), 4, (100.0, 20.0, 150.0, 50.0));
        eprintln!("{} {}", f.meta.id, skycase_ingest::coast::describe(&a, &d.join(sub)));
        // LRIT FD (daytime, 8-bit) has a flat peak within one pixel; ENH (night) is sharp.
        if sub == "lrit-enh" {
            assert_eq!((a.dx, a.dy), (0, 0));
        }
        assert!(a.dx.abs() <= 1 && a.dy.abs() <= 1, "{a:?}");
        assert!(a.score_at_zero > 0.98 * a.best_score, "{a:?}");
    }
}
