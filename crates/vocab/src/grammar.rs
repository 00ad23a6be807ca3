//! A phrasing grammar: many ways, in English and Korean, of asking for one region × phenomenon
//! (templates × region aliases and places × phenomenon synonyms × word orders, questions and
//! terse keyword queries), for training the text side on far more than a handful of fixed
//! sentences.
//!
//! Contract:
//! - [`phrasings`] is deterministic per `(region, phenomenon, lang, n, seed)` and returns up to
//!   `n` distinct strings (fewer only when the grammar has fewer for that cell).
//! - Every phrasing names its region (or a place inside it) and its phenomenon in words that
//!   [`crate::gazetteer::parse_query`] reads back (a test checks all 130 cells × 2 languages).
//! - The study's query form ("Honshu, Japan is experiencing rain.") is never produced: the
//!   word "experiencing" is in no template, so that form stays a held-out test of phrasing.
//! - Korean particles follow the noun they attach to (`서울에`, `규슈로`, `한반도를`, `부산으로`).
//!
//! ```
//! use skycase_vocab::grammar::{phrasings, Lang};
//! let en = phrasings(7, 0, Lang::En, 5, 1);
//! assert_eq!(en.len(), 5);
//! assert_eq!(en, phrasings(7, 0, Lang::En, 5, 1));
//! let ko = phrasings(0, 0, Lang::Ko, 3, 1);
//! assert!(ko.iter().all(|s| s.chars().any(skycase_vocab::gazetteer::is_hangul)));
//! ```

use std::collections::HashSet;

/// The language of generated phrasings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English.
    En,
    /// Korean.
    Ko,
}

/// English names of each region, the study's own forms first (picked more often).
const REGION_EN: [&[&str]; 13] = [
    &["the Korean Peninsula", "Korean Peninsula", "Korea", "South Korea", "Seoul", "Busan", "Jeju", "Gangwon", "Pyongyang", "Incheon", "Daegu"],
    &["Mongolia", "Mongolia", "the Gobi", "the Gobi Desert", "Ulaanbaatar", "Ulan Bator", "Outer Mongolia", "the Mongolian steppe"],
    &["Northern China", "northern China", "north China", "the North China Plain", "Beijing", "Tianjin", "Hebei", "Shandong", "Henan", "the Yellow River basin"],
    &["Eastern China", "eastern China", "east China", "Shanghai", "the Yangtze delta", "the Yangtze River Delta", "Jiangsu", "Zhejiang", "Nanjing", "Hangzhou", "central China", "Wuhan"],
    &["Southern China", "southern China", "south China", "Guangdong", "Hong Kong", "Guangzhou", "Shenzhen", "Guangxi", "the Pearl River Delta", "Yunnan"],
    &[
        "Manchuria and Primorsky Krai",
        "Manchuria",
        "Primorye",
        "Primorsky Krai",
        "Vladivostok",
        "Heilongjiang",
        "Harbin",
        "northeast China",
        "northeastern China",
        "the Russian Far East",
        "Jilin",
        "Liaoning",
    ],
    &["Honshu, Japan", "Honshu", "Honshu (Japan)", "Tokyo", "Osaka", "the Kanto region", "Kansai", "Tohoku", "central Japan", "Nagoya", "Niigata", "mainland Japan"],
    &["Hokkaido, Japan", "Hokkaido", "Hokkaido (Japan)", "Sapporo", "Hakodate", "Asahikawa", "Kushiro"],
    &["Kyushu, Japan", "Kyushu", "Kyushu (Japan)", "Fukuoka", "Nagasaki", "Kagoshima", "Kumamoto", "southern Japan", "Miyazaki"],
    &["the East China Sea", "East China Sea", "the East China Sea", "Okinawa", "the Ryukyu Islands", "the waters around Okinawa"],
    &["the Philippine Sea", "Philippine Sea", "the Philippine Sea", "the western Pacific", "the sea east of the Philippines", "Guam", "the Northwest Pacific"],
    &["the South China Sea", "South China Sea", "the South China Sea", "the sea off Vietnam", "the Spratly Islands", "the Gulf of Tonkin"],
    &[
        "the Pacific coast of Japan",
        "Pacific coast of Japan",
        "Japan's Pacific coast",
        "Japan's Pacific side",
        "the Pacific side of Japan",
        "the ocean south of Honshu",
        "the Pacific off Japan",
        "the Sanriku coast",
    ],
];

/// How many of the first names of each region are its canonical forms.
const CANONICAL: usize = 3;

/// English phenomenon words: noun phrases, adjectives, and clauses around `{R}`.
struct PhEn {
    nouns: &'static [&'static str],
    adjs: &'static [&'static str],
    clauses: &'static [&'static str],
}

const PH_EN: [PhEn; 5] = [
    PhEn {
        nouns: &["snow", "heavy snow", "snowfall", "a snowstorm", "a blizzard", "snow showers", "sleet", "a heavy snowfall", "flurries", "snow"],
        adjs: &["snowy"],
        clauses: &[
            "it is snowing in {R}",
            "it was snowing over {R}",
            "snow falling on {R}",
            "{R} blanketed in snow",
            "{R} buried under heavy snow",
            "snow sweeping across {R}",
        ],
    },
    PhEn {
        nouns: &["clear skies", "clear sky", "sunshine", "sunny weather", "cloudless skies", "cloud-free skies", "fair weather", "blue skies", "a clear day", "no clouds"],
        adjs: &["clear", "sunny", "cloudless", "cloud-free"],
        clauses: &["the sky over {R} is clear", "{R} under clear skies", "sunshine across {R}", "not a cloud over {R}", "{R} basking in sunshine"],
    },
    PhEn {
        nouns: &["clouds", "cloud cover", "overcast skies", "thick cloud", "grey skies", "a cloud deck", "heavy clouds", "an overcast sky", "low clouds", "cloudy skies"],
        adjs: &["cloudy", "overcast", "gloomy"],
        clauses: &["{R} covered in cloud", "clouds blanketing {R}", "the sky over {R} is overcast", "{R} under thick cloud cover", "a grey, overcast day in {R}"],
    },
    PhEn {
        nouns: &["rain", "heavy rain", "showers", "a downpour", "rainfall", "a rain band", "torrential rain", "drizzle", "a rainstorm", "thunderstorms"],
        adjs: &["rainy", "wet", "showery"],
        clauses: &[
            "it is raining in {R}",
            "rain falling over {R}",
            "{R} soaked by heavy rain",
            "showers sweeping across {R}",
            "a rain band stalled over {R}",
        ],
    },
    PhEn {
        nouns: &["a typhoon", "typhoon", "a tropical cyclone", "a tropical storm", "a super typhoon", "a strong typhoon", "typhoons", "a tropical depression"],
        adjs: &[],
        clauses: &[
            "a typhoon approaching {R}",
            "typhoon making landfall in {R}",
            "{R} hit by a typhoon",
            "a tropical cyclone churning near {R}",
            "a typhoon heading toward {R}",
            "the eye of a typhoon over {R}",
        ],
    },
];

/// English templates: `{R}` region, `{N}` noun phrase, `{A}` adjective, `{C}` clause.
const TEMPLATES_EN: &[&str] = &[
    "{N} over {R}",
    "{N} in {R}",
    "{N} across {R}",
    "{N} above {R}",
    "{N} near {R}",
    "{N} around {R}",
    "{N} hitting {R}",
    "{N} moving over {R}",
    "{R} {N}",
    "{R}: {N}",
    "{R} - {N}",
    "{R} with {N}",
    "{R} under {N}",
    "{N}, {R}",
    "{N} {R}",
    "{R} weather: {N}",
    "show me {N} over {R}",
    "find {N} in {R}",
    "satellite images of {N} over {R}",
    "cases of {N} in {R}",
    "any {N} over {R}?",
    "was there {N} in {R}?",
    "when did {R} have {N}?",
    "{A} {R}",
    "{R} {A}",
    "{A} weather in {R}",
    "{A} day over {R}",
    "{A} conditions over {R}",
    "when was {R} {A}?",
    "a {A} day in {R}",
    "{C}",
    "{C}",
    "{C}",
    "show me when {C}",
    "times when {C}",
    "satellite view: {C}",
];

/// Korean names of each region, the plain names first.
const REGION_KO: [&[&str]; 13] = [
    &["한반도", "한국", "한반도", "남한", "서울", "부산", "제주도", "강원도", "대한민국", "인천", "대구"],
    &["몽골", "몽골", "몽골", "고비 사막", "울란바토르", "외몽골", "몽골 고원"],
    &["중국 북부", "화북", "화북 지방", "북중국", "베이징", "톈진", "산둥", "허베이", "북경"],
    &["중국 동부", "화동", "화동 지방", "상하이", "양쯔강 하류", "장강 하류", "난징", "항저우", "저장", "장쑤", "중국 중부"],
    &["중국 남부", "화남", "화남 지방", "남중국", "광둥", "홍콩", "광저우", "광시", "선전"],
    &["만주와 연해주", "만주", "연해주", "블라디보스토크", "하얼빈", "헤이룽장", "중국 동북부", "동북3성", "극동 러시아"],
    &["혼슈", "일본 혼슈", "혼슈", "도쿄", "오사카", "간토 지방", "간사이", "도호쿠", "나고야", "니가타", "일본 본토"],
    &["홋카이도", "일본 홋카이도", "홋카이도", "삿포로", "북해도", "하코다테"],
    &["규슈", "큐슈", "일본 규슈", "후쿠오카", "나가사키", "가고시마", "구마모토"],
    &["동중국해", "동중국해", "동지나해", "오키나와 부근 해상", "오키나와", "류큐 열도"],
    &["필리핀해", "필리핀 해", "필리핀해", "서태평양", "필리핀 동쪽 해상", "괌 부근"],
    &["남중국해", "남중국해", "남지나해", "베트남 앞바다", "남사군도 부근"],
    &["일본 태평양 연안", "태평양 연안", "일본 태평양 연안", "일본 남쪽 해상", "일본의 태평양 쪽", "태평양 쪽 바다"],
];

/// Korean phenomenon words: nouns, adnominal phrases ("눈이 내리는" + noun), and clauses
/// around `{R}` with particle slots (see [`fill_ko`]).
struct PhKo {
    nouns: &'static [&'static str],
    adnominals: &'static [&'static str],
    clauses: &'static [&'static str],
}

const PH_KO: [PhKo; 5] = [
    PhKo {
        nouns: &["눈", "폭설", "대설", "눈보라", "함박눈", "많은 눈", "강설"],
        adnominals: &["눈이 내리는", "폭설이 쏟아진", "눈이 많이 온", "눈 덮인"],
        clauses: &["{R에} 눈이 내리는 모습", "{R에} 폭설이 내린 날", "{R}{을} 덮은 눈", "{R에} 함박눈이 온 날"],
    },
    PhKo {
        nouns: &["맑음", "맑은 하늘", "화창한 날씨", "쾌청한 날씨", "구름 한 점 없는 하늘", "맑은 날씨"],
        adnominals: &["맑은", "화창한", "구름 없는", "쾌청한"],
        clauses: &["{R} 하늘이 맑은 날", "{R}의 맑은 날씨", "{R}{이} 맑았던 날", "구름 한 점 없는 {R}"],
    },
    PhKo {
        nouns: &["흐림", "구름", "흐린 하늘", "구름 많음", "짙은 구름", "흐린 날씨", "먹구름"],
        adnominals: &["흐린", "구름이 잔뜩 낀", "구름 낀", "구름에 덮인"],
        clauses: &["{R} 하늘이 흐린 날", "{R}{이} 구름에 덮인 모습", "{R}의 흐린 날씨", "{R} 상공의 짙은 구름"],
    },
    PhKo {
        nouns: &["비", "호우", "폭우", "장마", "집중호우", "소나기", "강한 비", "많은 비"],
        adnominals: &["비가 내리는", "비가 오는", "호우가 쏟아진", "장마가 이어진"],
        clauses: &["{R에} 비가 오는 날", "{R에} 호우가 쏟아진 날", "{R에} 내리는 비", "{R}{을} 적신 폭우"],
    },
    PhKo {
        nouns: &["태풍", "열대저기압", "강한 태풍", "초강력 태풍", "열대 폭풍"],
        adnominals: &["태풍이 접근하는", "태풍이 상륙한", "태풍이 지나가는"],
        clauses: &["{R}{으로} 접근하는 태풍", "{R에} 상륙한 태풍", "태풍이 {R}{을} 강타", "{R}{으로} 북상하는 태풍", "{R} 부근의 태풍"],
    },
];

/// Korean templates: `{R}` region, `{N}` noun, `{D}` adnominal, `{C}` clause; `{R에}` etc.
/// attach particles to the region, `{N이}` / `{N을}` to the noun.
const TEMPLATES_KO: &[&str] = &[
    "{R에} {N}",
    "{R에} {N}",
    "{R}의 {N}",
    "{R} {N}",
    "{R} {N}",
    "{R}에서 {N}",
    "{N} {R}",
    "{R} 지역 {N}",
    "{D} {R}",
    "{D} {R} 위성 사진",
    "{R에} {N이} 있었던 때",
    "{R에} {N이} 있었던 날은?",
    "{R} {N} 사례",
    "{R} {N} 사례 찾아줘",
    "{R} {N} 위성 영상",
    "{N} 영상 {R}",
    "{R에} {N이} 나타난 날",
    "{R} 부근 {N}",
    "{C}",
    "{C}",
    "{C}",
    "{C} 보여줘",
];

/// A deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

/// Up to `n` distinct phrasings of region `region` (index into `REGIONS`) with phenomenon
/// `phenomenon` (index into `PHENOMENA`) in `lang`, the same for the same `seed`. Out-of-range
/// indices give an empty list.
pub fn phrasings(region: usize, phenomenon: usize, lang: Lang, n: usize, seed: u64) -> Vec<String> {
    if region >= REGION_EN.len() || phenomenon >= PH_EN.len() {
        return Vec::new();
    }
    let salt = (region as u64) << 40 | (phenomenon as u64) << 32 | u64::from(lang == Lang::Ko);
    let mut rng = Rng(seed ^ salt.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(n);
    let mut tries = 0;
    while out.len() < n && tries < 60 * n + 200 {
        tries += 1;
        let text = match lang {
            Lang::En => one_en(&mut rng, region, phenomenon),
            Lang::Ko => one_ko(&mut rng, region, phenomenon),
        };
        if let Some(t) = text {
            if seen.insert(t.clone()) {
                out.push(t);
            }
        }
    }
    out
}

fn region_name<'a>(rng: &mut Rng, names: &[&'a str]) -> &'a str {
    // Canonical names about a third of the time, so the study's own forms stay well covered.
    if rng.below(3) == 0 {
        names[rng.below(CANONICAL.min(names.len()))]
    } else {
        rng.pick(names)
    }
}

fn one_en(rng: &mut Rng, region: usize, phenomenon: usize) -> Option<String> {
    let ph = &PH_EN[phenomenon];
    let template = rng.pick(TEMPLATES_EN);
    let r = region_name(rng, REGION_EN[region]);
    let mut s = template.to_string();
    if s.contains("{C}") {
        s = s.replace("{C}", rng.pick(ph.clauses));
    }
    if s.contains("{A}") {
        if ph.adjs.is_empty() {
            return None;
        }
        s = s.replace("{A}", rng.pick(ph.adjs));
    }
    if s.contains("{N}") {
        s = s.replace("{N}", rng.pick(ph.nouns));
    }
    s = fix_articles(&s.replace("{R}", r));
    Some(match rng.below(4) {
        0 => capitalise(&s),
        1 if !s.ends_with('?') => format!("{}.", capitalise(&s)),
        _ => s,
    })
}

/// "a overcast day" → "an overcast day".
fn fix_articles(s: &str) -> String {
    let words: Vec<&str> = s.split(' ').collect();
    let mut out = Vec::with_capacity(words.len());
    for (i, w) in words.iter().enumerate() {
        let vowel_next = words.get(i + 1).and_then(|n| n.chars().next()).is_some_and(|c| "aeiouAEIOU".contains(c));
        out.push(match *w {
            "a" if vowel_next => "an",
            "A" if vowel_next => "An",
            w => w,
        });
    }
    out.join(" ")
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

fn one_ko(rng: &mut Rng, region: usize, phenomenon: usize) -> Option<String> {
    let ph = &PH_KO[phenomenon];
    let template = rng.pick(TEMPLATES_KO);
    let r = region_name(rng, REGION_KO[region]);
    let mut s = template.to_string();
    if s.contains("{C}") {
        s = s.replace("{C}", rng.pick(ph.clauses));
    }
    if s.contains("{D}") {
        s = s.replace("{D}", rng.pick(ph.adnominals));
    }
    let n = rng.pick(ph.nouns);
    s = s.replace("{N이}", &attach(n, Particle::Subject)).replace("{N을}", &attach(n, Particle::Object)).replace("{N}", n);
    Some(fill_ko(&s, r))
}

/// Particles whose form depends on the final sound of the noun they follow.
#[derive(Clone, Copy)]
pub enum Particle {
    /// 이 / 가
    Subject,
    /// 을 / 를
    Object,
    /// 으로 / 로 (로 also after ㄹ)
    Direction,
}

/// Whether a Hangul syllable ends in a consonant, and whether that consonant is ㄹ.
fn final_consonant(c: char) -> (bool, bool) {
    let code = c as u32;
    if (0xAC00..=0xD7A3).contains(&code) {
        let jong = (code - 0xAC00) % 28;
        (jong != 0, jong == 8)
    } else {
        // Latin letters and digits: read as ending in a vowel.
        (false, false)
    }
}

/// `word` + the particle's form that fits its last syllable.
pub fn attach(word: &str, p: Particle) -> String {
    let (batchim, rieul) = word.chars().last().map(final_consonant).unwrap_or((false, false));
    let suffix = match p {
        Particle::Subject => ["가", "이"][usize::from(batchim)],
        Particle::Object => ["를", "을"][usize::from(batchim)],
        Particle::Direction => {
            if batchim && !rieul {
                "으로"
            } else {
                "로"
            }
        }
    };
    format!("{word}{suffix}")
}

/// Fills `{R}`, `{R에}`, `{R}{이}`, `{R}{을}`, `{R}{으로}` with region `r` and its particles.
fn fill_ko(template: &str, r: &str) -> String {
    template
        .replace("{R에}", &format!("{r}에"))
        .replace("{R}{이}", &attach(r, Particle::Subject))
        .replace("{R}{을}", &attach(r, Particle::Object))
        .replace("{R}{으로}", &attach(r, Particle::Direction))
        .replace("{R}", r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gazetteer::parse_query;

    #[test]
    fn same_seed_same_phrasings_other_seed_others() {
        for lang in [Lang::En, Lang::Ko] {
            let a = phrasings(6, 3, lang, 30, 7);
            assert_eq!(a, phrasings(6, 3, lang, 30, 7));
            assert_ne!(a, phrasings(6, 3, lang, 30, 8));
            assert_eq!(a.iter().collect::<HashSet<_>>().len(), a.len(), "distinct");
        }
    }

    #[test]
    fn every_cell_has_many_phrasings_that_parse_back_to_it() {
        for r in 0..crate::REGIONS.len() {
            for p in 0..crate::PHENOMENA.len() {
                for (lang, want) in [(Lang::En, 60), (Lang::Ko, 40)] {
                    let v = phrasings(r, p, lang, want, 2017);
                    assert_eq!(v.len(), want, "{r} {p} {lang:?}: only {}", v.len());
                    for t in &v {
                        let q = parse_query(t);
                        assert!(q.regions.contains(&r), "{t:?} → {q:?}, wanted region {r}");
                        assert_eq!(q.phenomena, vec![p], "{t:?} → {q:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_study_form_is_never_generated() {
        for r in 0..13 {
            for p in 0..5 {
                assert!(phrasings(r, p, Lang::En, 80, 1).iter().all(|t| !t.contains("experiencing")));
            }
        }
    }

    #[test]
    fn korean_particles_follow_the_final_sound() {
        assert_eq!(attach("서울", Particle::Direction), "서울로"); // ㄹ final: 로
        assert_eq!(attach("부산", Particle::Direction), "부산으로");
        assert_eq!(attach("규슈", Particle::Direction), "규슈로");
        assert_eq!(attach("한반도", Particle::Object), "한반도를");
        assert_eq!(attach("몽골", Particle::Object), "몽골을");
        assert_eq!(attach("태풍", Particle::Subject), "태풍이");
        assert_eq!(attach("비", Particle::Subject), "비가");
        assert_eq!(fill_ko("{R}{으로} 접근하는 태풍", "홍콩"), "홍콩으로 접근하는 태풍");
        assert_eq!(fix_articles("a overcast day in east China"), "an overcast day in east China");
    }

    #[test]
    fn out_of_range_cells_are_empty() {
        assert!(phrasings(13, 0, Lang::En, 5, 0).is_empty());
        assert!(phrasings(0, 5, Lang::Ko, 5, 0).is_empty());
        assert!(phrasings(0, 0, Lang::En, 0, 0).is_empty());
    }
}
