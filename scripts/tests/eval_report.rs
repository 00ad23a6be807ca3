//! `skycase eval --report` from the repository's demo data alone (what a fresh clone has):
//! docs-style markdown with Table I next to the study's, Figures II and III as PNG, and the
//! measures beyond the study; bad invocations are refused with a reason.
//!
//! Needs the model that `scripts/fetch-model` installs (the README's commands run it).

use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn skycase(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_skycase")).current_dir(ROOT).args(args).output().expect("run skycase")
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("skycase-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn report_from_the_demo_data_alone() {
    let dir = tempdir("eval-report");
    let md = dir.join("evaluation.md");
    let cache = dir.join("cache");
    let o = skycase(&[
        "eval",
        "--report",
        md.to_str().unwrap(),
        "--demo",
        "data/demo",
        "--cache",
        cache.to_str().unwrap(),
        "--background",
        "60",
        "--tsne-steps",
        "80",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&md).unwrap();
    for want in [
        "**Demo data only",
        "2017-11-24T00:00Z",
        "(the study: 430 / 1300)",
        "## Figure II",
        "![after](img/evaluation/fig3-after.png)",
        "| template | 65 |",
        "### What the wrong hits were",
    ] {
        assert!(text.contains(want), "missing '{want}' in\n{text}");
    }
    // The total printed on stdout is the one in the markdown.
    let stdout = String::from_utf8_lossy(&o.stdout);
    let total = stdout.trim().strip_prefix("Table I: ").and_then(|s| s.split(' ').next()).unwrap();
    assert!(text.contains(&format!("Total: **{total} / 1300**")), "{stdout}");
    for f in ["fig2-1.png", "fig2-2.png", "fig2-3.png", "fig3-before.png", "fig3-after.png"] {
        let p = dir.join("img/evaluation").join(f);
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(&bytes[1..4], b"PNG", "{f}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn report_refuses_dev_months_and_a_missing_source() {
    let o = skycase(&["eval", "--report", "/tmp/x.md", "--dev", "/work/months/dev-2018-autumn"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not on --dev months"));
    let o = skycase(&["eval", "--report", "/tmp/x.md"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--test archives or --demo"));
    let o = skycase(&["eval", "--report", "/tmp/x.md", "--demo", Path::new("no-such-folder").to_str().unwrap(), "--quiet", "--no-cache"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no-such-folder"), "{}", String::from_utf8_lossy(&o.stderr));
}
