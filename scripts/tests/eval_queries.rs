//! docs/queries.md reproduces: its own command (the line after "Command:"), run over the
//! held-out simulated months that `data/eval/make-months` makes, writes the same report.
//!
//! Ignored by default: the four months take wxsim about 10 minutes on two quiet cores (no
//! fresh clone has them), and the run embeds their 760 frames. To run it:
//!
//! ```sh
//! data/eval/make-months /tmp/months
//! SKYCASE_MONTHS=/tmp/months cargo test --release -p skycase --test eval_queries -- --ignored
//! ```
//!
//! Needs the models that `scripts/fetch-model` installs (the README's commands run it).

use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The report's command line, with the months read from `months` and the report and cache
/// written under `scratch`: the folder it names for the months is replaced by `months`.
fn command_of(report: &str, months: &Path, scratch: &Path) -> Vec<String> {
    let line = report
        .lines()
        .skip_while(|l| !l.trim_end().ends_with("Command:"))
        .find(|l| l.trim_start().starts_with("skycase eval"))
        .expect("docs/queries.md names its command after \"Command:\"");
    let mut args: Vec<String> = line.split_whitespace().skip(1).map(str::to_string).collect();
    for i in 1..args.len() {
        match args[i - 1].as_str() {
            "--dev" | "--test" => {
                let name = Path::new(&args[i]).file_name().expect("a month's folder").to_owned();
                args[i] = months.join(name).to_string_lossy().into_owned();
            }
            "--out" => args[i] = scratch.join("queries.md").to_string_lossy().into_owned(),
            "--cache" => args[i] = scratch.join("cache").to_string_lossy().into_owned(),
            _ => {}
        }
    }
    args
}

/// The report's lines with their numbers, without its command line (which names where it
/// was written).
fn body(report: &str) -> Vec<(usize, &str)> {
    report.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim_start().starts_with("skycase eval")).collect()
}

#[test]
fn command_of_reads_the_documented_line() {
    let doc = "# x\n\nWritten by it. Command:\n\n    skycase eval --dev /a/b/dev-m --test /a/b/test-m --out docs/queries.md --cache /c --quiet\n";
    let args = command_of(doc, Path::new("/m"), Path::new("/s"));
    assert_eq!(args, ["eval", "--dev", "/m/dev-m", "--test", "/m/test-m", "--out", "/s/queries.md", "--cache", "/s/cache", "--quiet"]);
    assert_eq!(body(doc), [(1, "# x"), (2, ""), (3, "Written by it. Command:"), (4, "")]);
}

#[test]
#[ignore = "needs the held-out months: data/eval/make-months /tmp/months; then SKYCASE_MONTHS=/tmp/months cargo test --release -p skycase --test eval_queries -- --ignored"]
fn docs_queries_md_reproduces() {
    let months = PathBuf::from(std::env::var("SKYCASE_MONTHS").expect("SKYCASE_MONTHS: the folder data/eval/make-months wrote"));
    let committed = std::fs::read_to_string(Path::new(ROOT).join("docs/queries.md")).expect("docs/queries.md");
    let scratch = std::env::temp_dir().join(format!("skycase-eval-queries-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let args = command_of(&committed, &months, &scratch);
    let o = Command::new(env!("CARGO_BIN_EXE_skycase")).current_dir(ROOT).args(&args).output().expect("run skycase");
    assert!(o.status.success(), "skycase {}: {}", args.join(" "), String::from_utf8_lossy(&o.stderr));
    let written = std::fs::read_to_string(scratch.join("queries.md")).unwrap();
    let (want, got) = (body(&committed), body(&written));
    for ((line, w), (_, g)) in want.iter().zip(&got) {
        assert_eq!(w, g, "docs/queries.md line {line} differs from the rerun's ({})", scratch.display());
    }
    assert_eq!(want.len(), got.len(), "docs/queries.md and the rerun differ in length ({})", scratch.display());
    std::fs::remove_dir_all(&scratch).ok();
}
