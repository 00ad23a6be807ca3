//! `skycase storms`: the named storms of an archive, from the JMA best track, for
//! `skycase export` (`--storms`, or `storms.json` beside `frames.jsonl` or in the store), so that a query
//! naming one ("Typhoon Damrey", "태풍 기러기") searches its days
//! (`skycase_core::storms`).
//!
//! A storm is listed when at least one frame of the archive lies within its tropical life
//! (best-track records of grade 2–5, or 9: the first to the last, extratropical stages left
//! out); unnamed ones (tropical depressions) are not. Its Korean spelling comes from
//! [`KOREAN`] when the name is there.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use skycase_caption::besttrack::BestTrack;
use skycase_core::storms::Storm;
use skycase_ingest::FrameStore;

use crate::cmd::pack::DemoFrame;
use crate::util::{read, write_atomic};

/// Arguments of `skycase storms`.
#[derive(clap::Args)]
pub struct Args {
    /// JMA best-track file (`bst_all.txt` format).
    #[arg(long)]
    besttrack: PathBuf,
    /// The archive's frames (`frames.jsonl`: one JSON object with a `time` per line);
    /// default `data/demo/frames.jsonl`.
    #[arg(long, conflicts_with = "store")]
    frames: Option<PathBuf>,
    /// A frame store instead: every frame it holds.
    #[arg(long)]
    store: Option<PathBuf>,
    /// Output (JSON list of storms), `-` for standard output; default `storms.json` beside
    /// the frames or in the store, where `skycase export` looks for it.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Korean spellings of typhoon names as the Korea Meteorological Administration writes them
/// (the WMO Typhoon Committee's list, the names of 2015–2021 whose Hangul spelling is
/// settled; a name not here matches by its Latin spelling only).
pub const KOREAN: &[(&str, &str)] = &[
    ("AMPIL", "암필"), ("ATSANI", "앗사니"), ("BAILU", "바이루"), ("BAVI", "바비"), ("BOLAVEN", "볼라벤"),
    ("CHABA", "차바"), ("CHAN-HOM", "찬홈"), ("CHANTHU", "찬투"), ("CHOI-WAN", "초이완"), ("CIMARON", "시마론"),
    ("DAMREY", "담레이"), ("DANAS", "다나스"), ("DIANMU", "뎬무"), ("DOKSURI", "독수리"), ("DOLPHIN", "돌핀"),
    ("EWINIAR", "에위니아"), ("FAXAI", "파사이"), ("FENGSHEN", "펑선"), ("FRANCISCO", "프란시스코"), ("FUNG-WONG", "풍웡"),
    ("GAEMI", "개미"), ("GONI", "고니"), ("HAGIBIS", "하기비스"), ("HAGUPIT", "하구핏"), ("HAIKUI", "하이쿠이"),
    ("HAIMA", "하이마"), ("HAISHEN", "하이선"), ("HALONG", "할롱"), ("HATO", "하토"), ("IN-FA", "인파"),
    ("JANGMI", "장미"), ("JEBI", "제비"), ("JELAWAT", "저라왓"), ("JONGDARI", "종다리"), ("KAI-TAK", "카이탁"),
    ("KAJIKI", "가지키"), ("KALMAEGI", "갈매기"), ("KAMMURI", "간무리"), ("KHANUN", "카눈"), ("KIROGI", "기러기"),
    ("KOGUMA", "고구마"), ("KOMPASU", "곤파스"), ("KONG-REY", "콩레이"), ("KROSA", "크로사"), ("KUJIRA", "구지라"),
    ("LAN", "란"), ("LEKIMA", "레끼마"), ("LINFA", "린파"), ("LINGLING", "링링"), ("LIONROCK", "라이언록"),
    ("LUPIT", "루핏"), ("MA-ON", "마온"), ("MALAKAS", "말라카스"), ("MALIKSI", "말릭시"), ("MAN-YI", "마니"),
    ("MANGKHUT", "망쿳"), ("MARIA", "마리아"), ("MAYSAK", "마이삭"), ("MEARI", "메아리"), ("MEGI", "메기"),
    ("MEKKHALA", "메칼라"), ("MINDULLE", "민들레"), ("MIRINAE", "미리내"), ("MITAG", "미탁"), ("MUIFA", "무이파"),
    ("MUJIGAE", "무지개"), ("MUN", "문"), ("NALGAE", "날개"), ("NANMADOL", "난마돌"), ("NARI", "나리"),
    ("NEOGURI", "너구리"), ("NEPARTAK", "네파탁"), ("NIDA", "니다"), ("NORU", "노루"), ("NOUL", "노을"),
    ("NURI", "누리"), ("OMAIS", "오마이스"), ("PABUK", "파북"), ("PHANFONE", "판폰"), ("PODUL", "버들"),
    ("PRAPIROON", "쁘라삐룬"), ("RAI", "라이"), ("SANBA", "산바"), ("SAOLA", "사올라"), ("SARIKA", "사리카"),
    ("SINLAKU", "신라쿠"), ("SON-TINH", "손띤"), ("SONGDA", "송다"), ("SOULIK", "솔릭"), ("SURIGAE", "수리개"),
    ("TALAS", "탈라스"), ("TAPAH", "타파"), ("TEMBIN", "덴빈"), ("TORAJI", "도라지"), ("TRAMI", "짜미"),
    ("USAGI", "우사기"), ("WIPHA", "위파"), ("WUKONG", "우쿵"), ("WUTIP", "우딥"), ("YAGI", "야기"), ("YUTU", "위투"),
];

/// Whether a best-track grade is a tropical stage (2 TD, 3 TS, 4 STS, 5 TY, 9 TS or more).
fn tropical(grade: u8) -> bool {
    matches!(grade, 2..=5 | 9)
}

/// The named storms of `track` within whose tropical life at least one of `times` lies, in
/// time order.
pub fn storms_of(track: &BestTrack, times: &[DateTime<Utc>]) -> Vec<Storm> {
    let mut out: Vec<Storm> = track
        .storms()
        .iter()
        .filter(|s| s.name != "UNNAMED")
        .filter_map(|s| {
            let life: Vec<_> = s.track.iter().filter(|p| tropical(p.grade)).collect();
            let (first, last) = (life.first()?.time, life.last()?.time);
            times.iter().any(|t| (first..=last).contains(t)).then(|| Storm {
                id: s.id.clone(),
                name: s.name.clone(),
                ko: KOREAN.iter().find(|(n, _)| *n == s.name).map(|(_, k)| k.to_string()).unwrap_or_default(),
                from: first.format("%Y-%m-%d").to_string(),
                to: last.format("%Y-%m-%d").to_string(),
                grade: life.iter().map(|p| if p.grade == 9 { 3 } else { p.grade }).max().unwrap_or(2),
            })
        })
        .collect();
    out.sort_by(|a, b| a.from.cmp(&b.from).then(a.id.cmp(&b.id)));
    out
}

/// The times of the frames of `frames.jsonl`.
fn frame_times(path: &Path) -> Result<Vec<DateTime<Utc>>> {
    let text = String::from_utf8(read(path)?).with_context(|| format!("{}: not UTF-8", path.display()))?;
    let mut times = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let frame: DemoFrame = serde_json::from_str(line).with_context(|| format!("{} line {}: not a frame record", path.display(), i + 1))?;
        let t = DateTime::parse_from_rfc3339(&frame.time.replace('Z', ":00Z"))
            .or_else(|_| DateTime::parse_from_rfc3339(&frame.time))
            .with_context(|| format!("{} line {}: time {:?} is not YYYY-MM-DDTHH:MMZ", path.display(), i + 1, frame.time))?;
        times.push(t.with_timezone(&Utc));
    }
    Ok(times)
}

pub fn run(args: Args) -> Result<()> {
    let track = BestTrack::open(&args.besttrack)?;
    let (times, source, folder) = match &args.store {
        Some(store) => {
            if !store.join("frames").is_dir() {
                bail!("--store {}: not a frame store (no frames/ folder; skycase ingest makes one)", store.display());
            }
            let frames = FrameStore::open(store).with_context(|| format!("{}: not a frame store", store.display()))?;
            (frames.list()?.into_iter().map(|m| m.time).collect::<Vec<_>>(), store.clone(), store.clone())
        }
        None => {
            let path = args.frames.clone().unwrap_or_else(|| PathBuf::from("data/demo/frames.jsonl"));
            let folder = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            (frame_times(&path)?, path, folder)
        }
    };
    if times.is_empty() {
        bail!("{}: no frames", source.display());
    }
    let out = args.out.clone().unwrap_or_else(|| folder.join(crate::cmd::export::STORMS_FILE));
    let storms = storms_of(&track, &times);
    let json = serde_json::to_string_pretty(&storms)? + "\n";
    if out.as_os_str() == "-" {
        print!("{json}");
    } else {
        write_atomic(&out, json.as_bytes())?;
    }
    let (lo, hi) = (times.iter().min().expect("not empty"), times.iter().max().expect("not empty"));
    eprintln!(
        "{} named storm(s) over {} frames ({} – {}), of {} in {}: {}",
        storms.len(),
        times.len(),
        lo.format("%Y-%m-%d"),
        hi.format("%Y-%m-%d"),
        track.storms().len(),
        args.besttrack.display(),
        storms.iter().map(|s| format!("{} {}", s.id, s.name)).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Two storms of the JMA format: DAMREY's tropical life ends on 11-04, its extratropical
    /// record on 11-05 is not part of it; the unnamed one is never listed.
    const TRACK: &str = "\
66666 1723  004 0023 1723 0 6 DAMREY              20180101
17103118 002 2 104 1300 1004     000
17110100 002 5 107 1260  970     075
17110412 002 3 109 1120  996     040
17110500 002 6 110 1100 1002     000
66666 1799  002 0099 1799 0 6                     20180101
17110100 002 2 150 1300 1006     000
17110200 002 2 155 1310 1006     000
";

    #[test]
    fn a_storm_is_listed_when_a_frame_lies_within_its_tropical_life() {
        let track = BestTrack::parse(TRACK, std::path::Path::new("bst.txt")).unwrap();
        let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2017, 11, d, h, 0, 0).unwrap();
        let storms = storms_of(&track, &[at(2, 0)]);
        assert_eq!(storms.len(), 1, "{storms:?}");
        let s = &storms[0];
        assert_eq!((s.id.as_str(), s.name.as_str(), s.ko.as_str(), s.from.as_str(), s.to.as_str(), s.grade), ("1723", "DAMREY", "담레이", "2017-10-31", "2017-11-04", 5));
        assert!(storms_of(&track, &[at(4, 18)]).is_empty(), "after the last tropical record (the extratropical one does not count)");
        assert!(storms_of(&track, &[at(20, 0)]).is_empty());
    }
}
