//! Place and weather words in English and Korean, and [`parse_query`], which reads from a
//! free-text query which of the study's 13 regions and 5 phenomena it names.
//!
//! Contract:
//! - Matching is on a normalised copy of the query (lower case, `ū ō ā` → `u o a`, curly
//!   apostrophes straightened); only its first [`MAX_PARSE_CHARS`] characters are read (the
//!   text encoder reads fewer tokens than that anyway), so any input parses in bounded time.
//! - Leftmost-longest: at each position the longest entry that matches wins and its words
//!   are consumed, so "East China Sea" is the sea, never "east China" + "sea", and
//!   "South China Sea" never names Southern China.
//! - Latin entries match whole words: the character before and after must not be a letter
//!   or digit (a Hangul particle after a Latin name is allowed: `Seoul에`). A space or a
//!   hyphen in an entry matches any run of spaces and hyphens (`cloud-free`, `cloud free`).
//! - Hangul entries may be followed by anything (Korean attaches particles: `서울에서`,
//!   `규슈의`, `한반도로`) and, for names, may follow anything (`서일본`). A space in a
//!   Hangul entry is optional in the text (`중국 북부`, `중국북부`). Single-syllable words
//!   (`눈` snow, `비` rain) are strict: they must start a Hangul word and be followed only by
//!   a particle, so `비행기` or `준비` are not rain.
//! - Behind the hand-written lists below sits a generated fallback layer, [`GEONAMES`]: the
//!   GeoNames cities inside the study's region outlines (≥ 100 000 people, ≥ 50 000 in Korea
//!   and Japan), in English and Korean, from `research/gazetteer/geonames.py`. A hand entry
//!   beats a generated one of the same length; a generated Hangul name must start a Hangul
//!   word and be followed only by a particle, optionally after 시 (`수원시에`).
//! - A Latin word that matches nothing is read as a typo of a hand-listed word of at least six
//!   letters when it is one edit from it (a letter added, dropped or changed, two neighbours
//!   swapped; never the first letter), every such word names the same thing, and it is not an
//!   English word one edit from one ([`TYPO_GUARD`]): "Hokaido", "typhon", "Shangai" are read,
//!   "showed" (shower) and "Kansas" (Kansai) are not.
//! - A word may name several regions ("Japan": Honshu, Hokkaido, Kyushu and the Pacific
//!   coast; "Yellow Sea": the regions around it). [`QueryIntent`] lists each region and
//!   phenomenon once, in order of first mention.
//! - A direction word ([`DIRECTION_WORDS`]: "east of", "off" before the place in English,
//!   "동쪽", "앞바다" after it in Korean) moves the place it touches to the region lying that
//!   way ([`DIRECTIONS`]): "typhoon east of Taiwan" is the Philippine Sea, "대만 동쪽" too. It
//!   moves a place the size of a region or more ([`AREAS`]: "Kyushu", "Taiwan", "Korea"); a
//!   city only when the query puts it at sea ("the sea east of Shanghai", "상하이 동쪽 바다",
//!   "off Tokyo", "도쿄 앞바다"), and then only onto a sea: "snow south of Seoul" stays in
//!   Korea. Where the table names no region that way, the place is kept.
//! - A place far outside the 13 regions ([`OUTSIDE`]: "Bay of Bengal", "Florida", "유럽"; and
//!   from [`GEONAMES`], every city of half a million people or more that lies in no region,
//!   "Hanoi", "Chengdu", "방콕") binds nothing; [`QueryIntent::outside`] names it as written, so
//!   the app can say so.
//!
//! ```
//! use skycase_vocab::gazetteer::parse_query;
//! let q = parse_query("typhoon hitting the East China Sea near Okinawa");
//! assert_eq!((q.regions, q.phenomena), (vec![9], vec![4]));
//! let q = parse_query("서울에 폭설");
//! assert_eq!((q.regions, q.phenomena), (vec![0], vec![0]));
//! ```

/// Characters of a query that [`parse_query`] reads.
pub const MAX_PARSE_CHARS: usize = 2000;

/// What a query names: region and phenomenon indices (into `REGIONS` / `PHENOMENA`), each
/// once, in order of first mention. Both empty when the query names neither.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryIntent {
    /// Regions named (directly, by an alias, or by a place inside or next to them).
    pub regions: Vec<usize>,
    /// Phenomena named (by any synonym).
    pub phenomena: Vec<usize>,
    /// Places named that lie outside the study's 13 regions ([`OUTSIDE`]: "the Bay of
    /// Bengal", "Florida"), as written in the query, each once.
    pub outside: Vec<String>,
}

impl QueryIntent {
    /// True when the query names no region and no phenomenon.
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty() && self.phenomena.is_empty()
    }
}

// Region indices, in the order of `REGIONS`.
const KOREA: usize = 0;
const MONGOLIA: usize = 1;
const N_CHINA: usize = 2;
const E_CHINA: usize = 3;
const S_CHINA: usize = 4;
const MANCHURIA: usize = 5;
const HONSHU: usize = 6;
const HOKKAIDO: usize = 7;
const KYUSHU: usize = 8;
const ECS: usize = 9;
const PHIL_SEA: usize = 10;
const SCS: usize = 11;
const PACIFIC: usize = 12;

const JAPAN: &[usize] = &[HONSHU, HOKKAIDO, KYUSHU, PACIFIC];
const CHINA: &[usize] = &[N_CHINA, E_CHINA, S_CHINA];

/// Region words: each entry names one or more regions. English entries are lower case.
pub const PLACES: &[(&str, &[usize])] = &[
    // Korean Peninsula
    ("korean peninsula", &[KOREA]),
    ("korea", &[KOREA]),
    ("korean", &[KOREA]),
    ("south korea", &[KOREA]),
    ("north korea", &[KOREA]),
    ("republic of korea", &[KOREA]),
    ("seoul", &[KOREA]),
    ("busan", &[KOREA]),
    ("pusan", &[KOREA]),
    ("incheon", &[KOREA]),
    ("daegu", &[KOREA]),
    ("daejeon", &[KOREA]),
    ("gwangju", &[KOREA]),
    ("ulsan", &[KOREA]),
    ("pyongyang", &[KOREA]),
    ("jeju", &[KOREA]),
    ("cheju", &[KOREA]),
    ("gangwon", &[KOREA]),
    ("gyeonggi", &[KOREA]),
    ("chungcheong", &[KOREA]),
    ("jeolla", &[KOREA]),
    ("gyeongsang", &[KOREA]),
    ("honam", &[KOREA]),
    ("yeongnam", &[KOREA]),
    ("yeongdong", &[KOREA]),
    ("ulleungdo", &[KOREA]),
    ("ulleung island", &[KOREA]),
    ("dokdo", &[KOREA]),
    ("한반도", &[KOREA]),
    ("한국", &[KOREA]),
    ("대한민국", &[KOREA]),
    ("남한", &[KOREA]),
    ("북한", &[KOREA]),
    ("코리아", &[KOREA]),
    ("서울", &[KOREA]),
    ("부산", &[KOREA]),
    ("인천", &[KOREA]),
    ("대구", &[KOREA]),
    ("대전", &[KOREA]),
    ("광주", &[KOREA]),
    ("울산", &[KOREA]),
    ("평양", &[KOREA]),
    ("제주", &[KOREA]),
    ("강원", &[KOREA]),
    ("경기도", &[KOREA]),
    ("충청", &[KOREA]),
    ("전라", &[KOREA]),
    ("경상", &[KOREA]),
    ("영남", &[KOREA]),
    ("호남", &[KOREA]),
    ("수도권", &[KOREA]),
    // Korea's coasts and its mountain divide, as Korean forecasts name them (the east coast
    // and Yeongdong: the classic heavy-snow cases); longer than 동해 / 서해, the seas.
    ("동해안", &[KOREA]),
    ("서해안", &[KOREA]),
    ("남해안", &[KOREA]),
    ("영동", &[KOREA]),
    ("영서", &[KOREA]),
    ("울릉도", &[KOREA]),
    ("독도", &[KOREA]),
    // Mongolia
    ("mongolia", &[MONGOLIA]),
    ("mongolian", &[MONGOLIA]),
    ("outer mongolia", &[MONGOLIA]),
    ("inner mongolia", &[MONGOLIA, N_CHINA]),
    ("ulaanbaatar", &[MONGOLIA]),
    ("ulan bator", &[MONGOLIA]),
    ("ulaan baatar", &[MONGOLIA]),
    ("gobi", &[MONGOLIA]),
    ("몽골", &[MONGOLIA]),
    ("몽고", &[MONGOLIA]),
    ("외몽골", &[MONGOLIA]),
    ("내몽골", &[MONGOLIA, N_CHINA]),
    ("내몽고", &[MONGOLIA, N_CHINA]),
    ("울란바토르", &[MONGOLIA]),
    ("고비", &[MONGOLIA]),
    // Northern China
    ("northern china", &[N_CHINA]),
    ("north china", &[N_CHINA]),
    ("china's north", &[N_CHINA]),
    ("north of china", &[N_CHINA]),
    ("north china plain", &[N_CHINA]),
    ("northwest china", &[N_CHINA]),
    ("northwestern china", &[N_CHINA]),
    ("beijing", &[N_CHINA]),
    ("peking", &[N_CHINA]),
    ("tianjin", &[N_CHINA]),
    ("hebei", &[N_CHINA]),
    ("shanxi", &[N_CHINA]),
    ("shaanxi", &[N_CHINA]),
    ("shandong", &[N_CHINA]),
    ("henan", &[N_CHINA]),
    ("qingdao", &[N_CHINA]),
    ("xi'an", &[N_CHINA]),
    ("yellow river", &[N_CHINA]),
    ("huang he", &[N_CHINA]),
    ("bohai", &[N_CHINA]),
    ("화북", &[N_CHINA]),
    ("북중국", &[N_CHINA]),
    ("중국 북부", &[N_CHINA]),
    ("북부 중국", &[N_CHINA]),
    ("중국 화북", &[N_CHINA]),
    ("베이징", &[N_CHINA]),
    ("북경", &[N_CHINA]),
    ("톈진", &[N_CHINA]),
    ("천진", &[N_CHINA]),
    ("허베이", &[N_CHINA]),
    ("하북", &[N_CHINA]),
    ("산둥", &[N_CHINA]),
    ("산동", &[N_CHINA]),
    ("허난", &[N_CHINA]),
    ("칭다오", &[N_CHINA]),
    ("황허", &[N_CHINA]),
    ("황하", &[N_CHINA]),
    ("발해", &[N_CHINA]),
    ("보하이", &[N_CHINA]),
    // Eastern China (the lower and middle Yangtze: central China too)
    ("eastern china", &[E_CHINA]),
    ("east china", &[E_CHINA]),
    ("china's east", &[E_CHINA]),
    ("central china", &[E_CHINA]),
    ("southeast china", &[E_CHINA, S_CHINA]),
    ("southeastern china", &[E_CHINA, S_CHINA]),
    ("south east china", &[E_CHINA, S_CHINA]),
    ("shanghai", &[E_CHINA]),
    ("nanjing", &[E_CHINA]),
    ("hangzhou", &[E_CHINA]),
    ("suzhou", &[E_CHINA]),
    ("ningbo", &[E_CHINA]),
    ("wuhan", &[E_CHINA]),
    ("jiangsu", &[E_CHINA]),
    ("zhejiang", &[E_CHINA]),
    ("anhui", &[E_CHINA]),
    ("jiangxi", &[E_CHINA]),
    ("hubei", &[E_CHINA]),
    ("hunan", &[E_CHINA]),
    ("jiangnan", &[E_CHINA]),
    ("fujian", &[E_CHINA, S_CHINA]),
    ("xiamen", &[E_CHINA, S_CHINA]),
    ("yangtze", &[E_CHINA]),
    ("yangtze river", &[E_CHINA]),
    ("yangtze delta", &[E_CHINA]),
    ("yangtze river delta", &[E_CHINA]),
    ("chang jiang", &[E_CHINA]),
    ("changjiang", &[E_CHINA]),
    ("화동", &[E_CHINA]),
    ("화중", &[E_CHINA]),
    ("동중국", &[E_CHINA]),
    ("중국 동부", &[E_CHINA]),
    ("동부 중국", &[E_CHINA]),
    ("중국 중부", &[E_CHINA]),
    ("중국 동남부", &[E_CHINA, S_CHINA]),
    ("상하이", &[E_CHINA]),
    ("상해", &[E_CHINA]),
    ("난징", &[E_CHINA]),
    ("남경", &[E_CHINA]),
    ("항저우", &[E_CHINA]),
    ("항주", &[E_CHINA]),
    ("우한", &[E_CHINA]),
    ("장쑤", &[E_CHINA]),
    ("강소", &[E_CHINA]),
    ("저장", &[E_CHINA]),
    ("절강", &[E_CHINA]),
    ("안후이", &[E_CHINA]),
    ("푸젠", &[E_CHINA, S_CHINA]),
    ("복건", &[E_CHINA, S_CHINA]),
    ("양쯔강", &[E_CHINA]),
    ("양자강", &[E_CHINA]),
    ("장강", &[E_CHINA]),
    // Southern China
    ("southern china", &[S_CHINA]),
    ("south china", &[S_CHINA]),
    ("china's south", &[S_CHINA]),
    ("southwest china", &[S_CHINA]),
    ("southwestern china", &[S_CHINA]),
    ("guangdong", &[S_CHINA]),
    ("canton", &[S_CHINA]),
    ("guangzhou", &[S_CHINA]),
    ("shenzhen", &[S_CHINA]),
    ("hong kong", &[S_CHINA]),
    ("hongkong", &[S_CHINA]),
    ("macau", &[S_CHINA]),
    ("macao", &[S_CHINA]),
    ("guangxi", &[S_CHINA]),
    ("nanning", &[S_CHINA]),
    ("yunnan", &[S_CHINA]),
    ("guizhou", &[S_CHINA]),
    ("pearl river", &[S_CHINA]),
    ("pearl river delta", &[S_CHINA]),
    ("hainan", &[S_CHINA, SCS]),
    ("화남", &[S_CHINA]),
    ("남중국", &[S_CHINA]),
    ("중국 남부", &[S_CHINA]),
    ("남부 중국", &[S_CHINA]),
    ("광둥", &[S_CHINA]),
    ("광동", &[S_CHINA]),
    ("광저우", &[S_CHINA]),
    ("홍콩", &[S_CHINA]),
    ("선전", &[S_CHINA]),
    ("심천", &[S_CHINA]),
    ("마카오", &[S_CHINA]),
    ("광시", &[S_CHINA]),
    ("윈난", &[S_CHINA]),
    ("주강", &[S_CHINA]),
    ("하이난", &[S_CHINA, SCS]),
    // Manchuria and Primorsky Krai
    ("manchuria", &[MANCHURIA]),
    ("manchurian", &[MANCHURIA]),
    ("manchuria and primorsky krai", &[MANCHURIA]),
    ("primorye", &[MANCHURIA]),
    ("primorsky", &[MANCHURIA]),
    ("primorsky krai", &[MANCHURIA]),
    ("primorsky territory", &[MANCHURIA]),
    ("primorie", &[MANCHURIA]),
    ("maritime province", &[MANCHURIA]),
    ("maritime krai", &[MANCHURIA]),
    ("vladivostok", &[MANCHURIA]),
    ("khabarovsk", &[MANCHURIA]),
    ("nakhodka", &[MANCHURIA]),
    ("ussuriysk", &[MANCHURIA]),
    ("amur", &[MANCHURIA]),
    ("heilongjiang", &[MANCHURIA]),
    ("jilin", &[MANCHURIA]),
    ("liaoning", &[MANCHURIA]),
    ("harbin", &[MANCHURIA]),
    ("changchun", &[MANCHURIA]),
    ("shenyang", &[MANCHURIA]),
    ("dalian", &[MANCHURIA]),
    ("dongbei", &[MANCHURIA]),
    ("northeast china", &[MANCHURIA]),
    ("northeastern china", &[MANCHURIA]),
    ("north east china", &[MANCHURIA]),
    ("china's northeast", &[MANCHURIA]),
    ("russian far east", &[MANCHURIA]),
    ("far east russia", &[MANCHURIA]),
    ("far east of russia", &[MANCHURIA]),
    ("만주", &[MANCHURIA]),
    ("연해주", &[MANCHURIA]),
    ("프리모르스키", &[MANCHURIA]),
    ("프리모리예", &[MANCHURIA]),
    ("블라디보스토크", &[MANCHURIA]),
    ("블라디보스톡", &[MANCHURIA]),
    ("하바롭스크", &[MANCHURIA]),
    ("하얼빈", &[MANCHURIA]),
    ("헤이룽장", &[MANCHURIA]),
    ("흑룡강", &[MANCHURIA]),
    ("지린", &[MANCHURIA]),
    ("길림", &[MANCHURIA]),
    ("랴오닝", &[MANCHURIA]),
    ("요녕", &[MANCHURIA]),
    ("선양", &[MANCHURIA]),
    ("심양", &[MANCHURIA]),
    ("창춘", &[MANCHURIA]),
    ("다롄", &[MANCHURIA]),
    ("대련", &[MANCHURIA]),
    ("중국 동북부", &[MANCHURIA]),
    ("동북 3성", &[MANCHURIA]),
    ("동북3성", &[MANCHURIA]),
    ("극동 러시아", &[MANCHURIA]),
    ("러시아 극동", &[MANCHURIA]),
    // Honshu
    ("honshu", &[HONSHU]),
    ("honshu, japan", &[HONSHU]),
    ("honshu (japan)", &[HONSHU]),
    ("mainland japan", &[HONSHU]),
    ("main island of japan", &[HONSHU]),
    ("japan's main island", &[HONSHU]),
    ("central japan", &[HONSHU]),
    ("mount fuji", &[HONSHU]),
    ("mt fuji", &[HONSHU]),
    ("mt. fuji", &[HONSHU]),
    ("fuji", &[HONSHU]),
    ("japan alps", &[HONSHU]),
    ("japanese alps", &[HONSHU]),
    ("후지산", &[HONSHU]),
    ("일본 알프스", &[HONSHU]),
    ("eastern japan", &[HONSHU]),
    ("east japan", &[HONSHU]),
    ("northeast japan", &[HONSHU]),
    ("northeastern japan", &[HONSHU]),
    ("tokyo", &[HONSHU]),
    ("osaka", &[HONSHU]),
    ("kyoto", &[HONSHU]),
    ("nagoya", &[HONSHU]),
    ("yokohama", &[HONSHU]),
    ("kobe", &[HONSHU]),
    ("sendai", &[HONSHU]),
    ("hiroshima", &[HONSHU]),
    ("niigata", &[HONSHU]),
    ("shizuoka", &[HONSHU]),
    ("fukushima", &[HONSHU]),
    ("kanto", &[HONSHU]),
    ("kansai", &[HONSHU]),
    ("kinki", &[HONSHU]),
    ("chubu", &[HONSHU]),
    ("tohoku", &[HONSHU]),
    ("hokuriku", &[HONSHU]),
    ("chugoku", &[HONSHU]),
    ("tokai", &[HONSHU]),
    ("shikoku", &[HONSHU, PACIFIC]),
    ("혼슈", &[HONSHU]),
    ("본섬", &[HONSHU]),
    ("일본 본토", &[HONSHU]),
    ("도쿄", &[HONSHU]),
    ("동경", &[HONSHU]),
    ("오사카", &[HONSHU]),
    ("교토", &[HONSHU]),
    ("나고야", &[HONSHU]),
    ("요코하마", &[HONSHU]),
    ("고베", &[HONSHU]),
    ("센다이", &[HONSHU]),
    ("히로시마", &[HONSHU]),
    ("니가타", &[HONSHU]),
    ("시즈오카", &[HONSHU]),
    ("후쿠시마", &[HONSHU]),
    ("간토", &[HONSHU]),
    ("관동", &[HONSHU]),
    ("간사이", &[HONSHU]),
    ("관서", &[HONSHU]),
    ("긴키", &[HONSHU]),
    ("도호쿠", &[HONSHU]),
    ("호쿠리쿠", &[HONSHU]),
    ("도카이", &[HONSHU]),
    ("동일본", &[HONSHU]),
    ("시코쿠", &[HONSHU, PACIFIC]),
    // Hokkaido
    ("hokkaido", &[HOKKAIDO]),
    ("hokkaido, japan", &[HOKKAIDO]),
    ("hokkaido (japan)", &[HOKKAIDO]),
    ("northern japan", &[HOKKAIDO, HONSHU]),
    ("north japan", &[HOKKAIDO, HONSHU]),
    ("sapporo", &[HOKKAIDO]),
    ("hakodate", &[HOKKAIDO]),
    ("asahikawa", &[HOKKAIDO]),
    ("kushiro", &[HOKKAIDO]),
    ("sakhalin", &[HOKKAIDO, MANCHURIA]),
    ("sea of okhotsk", &[HOKKAIDO]),
    ("okhotsk", &[HOKKAIDO]),
    ("홋카이도", &[HOKKAIDO]),
    ("훗카이도", &[HOKKAIDO]),
    ("홋가이도", &[HOKKAIDO]),
    ("훗가이도", &[HOKKAIDO]),
    ("북해도", &[HOKKAIDO]),
    ("삿포로", &[HOKKAIDO]),
    ("하코다테", &[HOKKAIDO]),
    ("아사히카와", &[HOKKAIDO]),
    ("북일본", &[HOKKAIDO, HONSHU]),
    ("사할린", &[HOKKAIDO, MANCHURIA]),
    ("오호츠크", &[HOKKAIDO]),
    // Kyushu
    ("kyushu", &[KYUSHU]),
    ("kyushu, japan", &[KYUSHU]),
    ("kyushu (japan)", &[KYUSHU]),
    ("kiushu", &[KYUSHU]),
    ("southern japan", &[KYUSHU]),
    ("south japan", &[KYUSHU]),
    ("southwest japan", &[KYUSHU, HONSHU]),
    ("southwestern japan", &[KYUSHU, HONSHU]),
    ("western japan", &[KYUSHU, HONSHU]),
    ("west japan", &[KYUSHU, HONSHU]),
    ("fukuoka", &[KYUSHU]),
    ("hakata", &[KYUSHU]),
    ("kitakyushu", &[KYUSHU]),
    ("nagasaki", &[KYUSHU]),
    ("kagoshima", &[KYUSHU]),
    ("kumamoto", &[KYUSHU]),
    ("oita", &[KYUSHU]),
    ("miyazaki", &[KYUSHU]),
    ("sakurajima", &[KYUSHU]),
    // The island between Korea and Kyushu (GeoNames' Tsushima is a city of Aichi, Honshu).
    ("tsushima", &[KYUSHU, KOREA]),
    ("tsushima strait", &[KYUSHU, KOREA]),
    ("korea strait", &[KYUSHU, KOREA]),
    ("큐슈", &[KYUSHU]),
    ("규슈", &[KYUSHU]),
    ("규우슈우", &[KYUSHU]),
    ("큐우슈우", &[KYUSHU]),
    ("후쿠오카", &[KYUSHU]),
    ("나가사키", &[KYUSHU]),
    ("가고시마", &[KYUSHU]),
    ("구마모토", &[KYUSHU]),
    ("오이타", &[KYUSHU]),
    ("미야자키", &[KYUSHU]),
    ("서일본", &[KYUSHU, HONSHU]),
    ("남일본", &[KYUSHU]),
    ("대한해협", &[KYUSHU, KOREA]),
    ("대마도", &[KYUSHU, KOREA]),
    ("쓰시마", &[KYUSHU, KOREA]),
    // Japan as a whole, and its seas
    ("japan", JAPAN),
    ("japanese", JAPAN),
    ("japanese islands", JAPAN),
    ("japanese archipelago", JAPAN),
    ("일본", JAPAN),
    ("일본 열도", JAPAN),
    ("sea of japan", &[HONSHU, HOKKAIDO, KOREA]),
    ("japan sea", &[HONSHU, HOKKAIDO, KOREA]),
    ("east sea", &[HONSHU, HOKKAIDO, KOREA]),
    ("동해", &[HONSHU, HOKKAIDO, KOREA]),
    ("일본해", &[HONSHU, HOKKAIDO, KOREA]),
    ("yellow sea", &[KOREA, N_CHINA, ECS]),
    ("west sea", &[KOREA, N_CHINA, ECS]),
    ("황해", &[KOREA, N_CHINA, ECS]),
    ("서해", &[KOREA, N_CHINA, ECS]),
    // China as a whole
    ("china", CHINA),
    ("chinese", CHINA),
    ("mainland china", CHINA),
    ("중국", CHINA),
    ("중국 대륙", CHINA),
    // East China Sea
    ("east china sea", &[ECS]),
    ("eastern china sea", &[ECS]),
    ("east chinese sea", &[ECS]),
    ("okinawa", &[ECS]),
    ("ryukyu", &[ECS]),
    ("ryukyus", &[ECS]),
    ("ryukyu islands", &[ECS]),
    ("amami", &[ECS]),
    // Taiwan touches three seas: GeoNames' Taipei and Keelung lie by the East China Sea and
    // the Philippine Sea, Taichung and Taitung by the Philippine Sea, Kaohsiung by the South
    // China Sea (geonames.tsv, read against the region outlines).
    ("taiwan", &[ECS, PHIL_SEA, SCS]),
    ("taiwan strait", &[ECS, E_CHINA]),
    ("china sea", &[ECS, SCS]),
    ("동중국해", &[ECS]),
    ("동지나해", &[ECS]),
    ("오키나와", &[ECS]),
    ("류큐", &[ECS]),
    ("대만", &[ECS, PHIL_SEA, SCS]),
    ("타이완", &[ECS, PHIL_SEA, SCS]),
    ("대만 해협", &[ECS, E_CHINA]),
    // Philippine Sea
    ("philippine sea", &[PHIL_SEA]),
    ("philippines sea", &[PHIL_SEA]),
    ("western pacific", &[PHIL_SEA]),
    ("west pacific", &[PHIL_SEA]),
    ("northwest pacific", &[PHIL_SEA]),
    ("northwestern pacific", &[PHIL_SEA]),
    ("east of the philippines", &[PHIL_SEA]),
    ("philippines", &[PHIL_SEA, SCS]),
    ("philippine", &[PHIL_SEA, SCS]),
    ("luzon", &[PHIL_SEA, SCS]),
    ("guam", &[PHIL_SEA]),
    ("ogasawara", &[PHIL_SEA]),
    ("bonin islands", &[PHIL_SEA]),
    ("필리핀해", &[PHIL_SEA]),
    ("필리핀 해", &[PHIL_SEA]),
    ("필리핀 동쪽", &[PHIL_SEA]),
    ("서태평양", &[PHIL_SEA]),
    ("북서태평양", &[PHIL_SEA]),
    ("필리핀", &[PHIL_SEA, SCS]),
    ("루손", &[PHIL_SEA, SCS]),
    ("괌", &[PHIL_SEA]),
    ("오가사와라", &[PHIL_SEA]),
    // South China Sea
    ("south china sea", &[SCS]),
    ("southern china sea", &[SCS]),
    ("south chinese sea", &[SCS]),
    ("gulf of tonkin", &[SCS]),
    ("spratly", &[SCS]),
    ("spratlys", &[SCS]),
    ("paracel", &[SCS]),
    ("paracels", &[SCS]),
    ("vietnam", &[SCS]),
    ("viet nam", &[SCS]),
    ("남중국해", &[SCS]),
    ("남지나해", &[SCS]),
    ("베트남", &[SCS]),
    ("통킹만", &[SCS]),
    ("남사군도", &[SCS]),
    ("서사군도", &[SCS]),
    // Pacific coast of Japan
    ("pacific coast of japan", &[PACIFIC]),
    ("pacific coast of honshu", &[PACIFIC]),
    ("japan's pacific coast", &[PACIFIC]),
    ("japan's pacific side", &[PACIFIC]),
    ("japanese pacific coast", &[PACIFIC]),
    ("pacific side of japan", &[PACIFIC]),
    ("pacific coast", &[PACIFIC]),
    ("pacific side", &[PACIFIC]),
    ("pacific ocean", &[PACIFIC]),
    ("pacific", &[PACIFIC]),
    ("south of japan", &[PACIFIC]),
    ("south of honshu", &[PACIFIC]),
    ("off japan", &[PACIFIC]),
    ("off the coast of japan", &[PACIFIC]),
    ("sanriku", &[PACIFIC]),
    ("boso", &[PACIFIC]),
    ("izu", &[PACIFIC]),
    ("kii peninsula", &[PACIFIC, HONSHU]),
    ("태평양 연안", &[PACIFIC]),
    ("일본 태평양 연안", &[PACIFIC]),
    ("일본의 태평양 연안", &[PACIFIC]),
    ("일본 태평양 쪽", &[PACIFIC]),
    ("태평양 쪽", &[PACIFIC]),
    ("태평양측", &[PACIFIC]),
    ("태평양 측", &[PACIFIC]),
    ("태평양", &[PACIFIC]),
    ("일본 남쪽 해상", &[PACIFIC]),
    ("일본 남해상", &[PACIFIC]),
    ("산리쿠", &[PACIFIC]),
    ("이즈", &[PACIFIC]),
];

/// Where a place lies from the place a direction word touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    East,
    West,
    South,
    North,
    /// At sea next to it ("off Tokyo", "도쿄 앞바다").
    Off,
    NorthEast,
    NorthWest,
    SouthEast,
    SouthWest,
}

impl Direction {
    /// The columns of [`DIRECTIONS`] it reads: one, or a diagonal's two (the regions either
    /// way: south-east of Taiwan is the Philippine Sea, north-east of Korea Manchuria or Honshu).
    fn columns(self) -> &'static [usize] {
        match self {
            Direction::East => &[0],
            Direction::West => &[1],
            Direction::South => &[2],
            Direction::North => &[3],
            Direction::Off => &[4],
            Direction::NorthEast => &[3, 0],
            Direction::NorthWest => &[3, 1],
            Direction::SouthEast => &[2, 0],
            Direction::SouthWest => &[2, 1],
        }
    }
}

/// Direction words. English ones come before the place ("east of Taiwan", "off the coast of
/// Vietnam"), Korean ones after it ("대만 동쪽", "도쿄 앞바다").
pub const DIRECTION_WORDS: &[(&str, Direction)] = &[
    ("east of", Direction::East),
    ("west of", Direction::West),
    ("south of", Direction::South),
    ("north of", Direction::North),
    ("northeast of", Direction::NorthEast),
    ("north east of", Direction::NorthEast),
    ("northwest of", Direction::NorthWest),
    ("north west of", Direction::NorthWest),
    ("southeast of", Direction::SouthEast),
    ("south east of", Direction::SouthEast),
    ("southwest of", Direction::SouthWest),
    ("south west of", Direction::SouthWest),
    ("off", Direction::Off),
    ("동쪽", Direction::East),
    ("서쪽", Direction::West),
    ("남쪽", Direction::South),
    ("북쪽", Direction::North),
    ("북동쪽", Direction::NorthEast),
    ("동북쪽", Direction::NorthEast),
    ("북서쪽", Direction::NorthWest),
    ("서북쪽", Direction::NorthWest),
    ("남동쪽", Direction::SouthEast),
    ("동남쪽", Direction::SouthEast),
    ("남서쪽", Direction::SouthWest),
    ("서남쪽", Direction::SouthWest),
    ("앞바다", Direction::Off),
    ("근해", Direction::Off),
];

/// Per region (in `REGIONS` order), the region lying east, west, south and north of it and
/// the sea off its coast (`None`: off the study's map, or no one region that way). Read from
/// the regions' outlines: Taiwan's regions (East and South China Sea) both have the Philippine
/// Sea to the east; Kyushu has the East China Sea to the west and south.
pub const DIRECTIONS: [[Option<usize>; 5]; 13] = {
    let n = None;
    [
        // east, west, south, north, off
        [Some(HONSHU), Some(N_CHINA), Some(ECS), Some(MANCHURIA), n],  // Korean Peninsula
        [Some(MANCHURIA), n, Some(N_CHINA), n, n],                     // Mongolia
        [Some(KOREA), n, Some(E_CHINA), Some(MONGOLIA), n],            // Northern China
        [Some(ECS), n, Some(S_CHINA), Some(N_CHINA), Some(ECS)],       // Eastern China
        [Some(ECS), n, Some(SCS), Some(E_CHINA), Some(SCS)],           // Southern China
        [Some(HOKKAIDO), Some(MONGOLIA), Some(KOREA), n, n],           // Manchuria and Primorsky Krai
        [Some(PACIFIC), Some(KYUSHU), Some(PACIFIC), Some(HOKKAIDO), Some(PACIFIC)], // Honshu
        [Some(PACIFIC), Some(MANCHURIA), Some(HONSHU), n, n],          // Hokkaido
        [Some(PACIFIC), Some(ECS), Some(ECS), Some(KOREA), n],         // Kyushu
        [Some(PHIL_SEA), Some(E_CHINA), n, Some(KOREA), Some(ECS)],    // East China Sea
        [n, Some(SCS), n, Some(PACIFIC), Some(PHIL_SEA)],              // Philippine Sea
        [Some(PHIL_SEA), n, n, Some(S_CHINA), Some(SCS)],              // South China Sea
        [n, n, Some(PHIL_SEA), Some(HONSHU), Some(PACIFIC)],           // Pacific coast of Japan
    ]
};

/// Places far outside the study's 13 regions (other continents, oceans and countries), in
/// English and Korean: a query naming one is told so above its results (the archive covers
/// East Asia only). `*` marks a strict Hangul word, as in [`WEATHER`] (`인도` is also a
/// sidewalk). Places at the regions' edges (Siberia, Tibet, Thailand, Borneo) are not listed,
/// nor words weather uses for air that reaches East Asia ("Arctic air", 북극 한파), nor Korean
/// names that are common words too (이란, 파리, 자바).
pub const OUTSIDE: &[&str] = &[
    "bay of bengal", "bengal", "india", "indian ocean", "arabian sea", "bangladesh", "nepal", "himalaya", "himalayas",
    "pakistan", "sri lanka", "middle east", "iran", "europe", "england", "britain", "london", "france", "paris",
    "germany", "italy", "spain", "africa", "madagascar", "australia", "new zealand", "indonesia", "sumatra",
    "america", "north america", "south america", "united states", "florida", "texas", "louisiana", "california",
    "hawaii", "alaska", "canada", "mexico", "gulf of mexico", "caribbean", "atlantic", "atlantic ocean", "brazil",
    "antarctica",
    "벵골만", "*인도", "인도양", "아라비아해", "방글라데시", "네팔", "히말라야", "파키스탄", "스리랑카", "중동", "유럽",
    "영국", "런던", "프랑스", "독일", "이탈리아", "스페인", "아프리카", "호주", "오스트레일리아", "뉴질랜드",
    "인도네시아", "수마트라", "미국", "북미", "남미", "아메리카", "플로리다", "텍사스", "캘리포니아", "하와이",
    "알래스카", "캐나다", "멕시코", "멕시코만", "카리브해", "대서양", "브라질", "남극",
];

/// The weather a Korean query asks for, in English, when it names no region and no place
/// outside the map ("태풍" → "typhoon", "폭설 온 날" → "snow", "태풍 때 폭우" → "typhoon and
/// rain"); `None` for any other query. The multilingual encoder reads Korean text without a
/// place as Korea: alone, "태풍" ranked the Korean Peninsula first, under "nothing close",
/// while "typhoon" ranks typhoons wherever they are. The search embeds this instead
/// (`skycase_core::search::Searcher::searched`); no query of the Korean evaluation sets is one
/// (each names its region).
pub fn english_weather(text: &str) -> Option<String> {
    if !text.chars().any(is_hangul) {
        return None;
    }
    let intent = parse_query(text);
    if !intent.regions.is_empty() || !intent.outside.is_empty() || intent.phenomena.is_empty() {
        return None;
    }
    Some(intent.phenomena.iter().map(|&p| crate::PHENOMENA[p].to_ascii_lowercase()).collect::<Vec<_>>().join(" and "))
}

/// What the app (in English) and `skycase search` say above the results of a query that names
/// places outside the 13 regions (`places`: [`QueryIntent::outside`] joined by ", ").
pub fn outside_notice(places: &str) -> String {
    format!("{places}: outside this archive's map, which covers 13 regions of East Asia. The results are cases inside it.")
}

/// The study's seas: where a direction lands when the query puts the place at sea.
const SEAS: [usize; 4] = [ECS, PHIL_SEA, SCS, PACIFIC];

/// Place entries the size of a region or more, which a direction word moves whole ("west of
/// Kyushu"); other places (cities, sub-areas) it moves only at sea.
pub const AREAS: &[&str] = &[
    "korean peninsula", "korea", "south korea", "north korea", "한반도", "한국", "대한민국", "남한", "북한",
    "mongolia", "몽골",
    "northern china", "north china", "eastern china", "east china", "southern china", "south china", "china", "mainland china", "중국",
    "manchuria", "만주",
    "japan", "일본", "honshu", "혼슈", "hokkaido", "홋카이도", "훗카이도", "홋가이도", "북해도", "kyushu", "규슈", "큐슈", "규우슈우", "큐우슈우",
    "east china sea", "동중국해", "okinawa", "오키나와", "ryukyu islands", "류큐", "taiwan", "대만", "타이완",
    "philippine sea", "필리핀해", "philippines", "필리핀", "luzon", "루손",
    "south china sea", "남중국해", "vietnam", "베트남",
];

/// Words that may stand between an English direction word and its place ("east of the
/// coast of Luzon").
const DIRECTION_FILLER: &[&str] = &["the", "coast", "coasts", "shore", "shores", "of", "island", "islands"];

/// English words that put what follows at sea ("the sea east of Shanghai"), right before the
/// direction word; Korean ones right after it ("상하이 동쪽 바다").
const AT_SEA_EN: &[&str] = &["sea", "seas", "ocean", "waters", "water"];
const AT_SEA_KO: &[&str] = &["바다", "해상", "해역", "먼바다"];

// Phenomenon indices, in the order of `PHENOMENA`.
const SNOW: usize = 0;
const CLEAR: usize = 1;
const CLOUDY: usize = 2;
const RAIN: usize = 3;
const TYPHOON: usize = 4;

/// Weather words: each entry names one phenomenon. `*` marks a strict Hangul word (starts a
/// Hangul word, followed only by a particle); the `*` is not part of the word.
pub const WEATHER: &[(&str, usize)] = &[
    // Snow
    ("snow", SNOW),
    ("snows", SNOW),
    ("snowy", SNOW),
    ("snowing", SNOW),
    ("snowed", SNOW),
    ("snowfall", SNOW),
    ("snowfalls", SNOW),
    ("snowstorm", SNOW),
    ("snowstorms", SNOW),
    ("snow storm", SNOW),
    ("snow showers", SNOW),
    ("snow shower", SNOW),
    ("snow clouds", SNOW),
    ("snow-covered", SNOW),
    ("snowcover", SNOW),
    ("blizzard", SNOW),
    ("blizzards", SNOW),
    ("sleet", SNOW),
    ("flurries", SNOW),
    ("whiteout", SNOW),
    ("*눈", SNOW),
    ("폭설", SNOW),
    ("대설", SNOW),
    ("눈보라", SNOW),
    ("함박눈", SNOW),
    ("강설", SNOW),
    ("눈발", SNOW),
    ("눈이 내", SNOW),
    ("눈 내", SNOW),
    ("눈이 오", SNOW),
    ("눈 오", SNOW),
    ("눈이 와", SNOW),
    ("눈구름", SNOW),
    // Compounds that end in 눈 or 비 (not at a word's start, so not the strict single syllables).
    ("진눈깨비", SNOW),
    ("싸락눈", SNOW),
    ("첫눈", SNOW),
    ("눈폭풍", SNOW),
    // Clear
    ("clear", CLEAR),
    ("clearer", CLEAR),
    ("clear sky", CLEAR),
    ("clear skies", CLEAR),
    ("clear weather", CLEAR),
    ("clearing", CLEAR),
    ("sunny", CLEAR),
    ("sunshine", CLEAR),
    ("sun", CLEAR),
    ("cloudless", CLEAR),
    ("cloud free", CLEAR),
    ("cloudfree", CLEAR),
    ("free of cloud", CLEAR),
    ("free of clouds", CLEAR),
    ("no cloud", CLEAR),
    ("no clouds", CLEAR),
    ("without clouds", CLEAR),
    ("without a cloud", CLEAR),
    ("not a cloud", CLEAR),
    ("fair weather", CLEAR),
    ("fine weather", CLEAR),
    ("blue sky", CLEAR),
    ("blue skies", CLEAR),
    ("맑", CLEAR),
    ("화창", CLEAR),
    ("쾌청", CLEAR),
    ("청명", CLEAR),
    ("청천", CLEAR),
    ("햇볕", CLEAR),
    ("햇살", CLEAR),
    ("구름 없", CLEAR),
    ("구름이 없", CLEAR),
    ("구름 한 점 없", CLEAR),
    ("구름 한점 없", CLEAR),
    ("파란 하늘", CLEAR),
    // Cloudy
    ("cloudy", CLOUDY),
    ("clouds", CLOUDY),
    ("cloud", CLOUDY),
    ("clouded", CLOUDY),
    ("cloud cover", CLOUDY),
    ("cloud-covered", CLOUDY),
    ("cloud deck", CLOUDY),
    ("overcast", CLOUDY),
    ("grey skies", CLOUDY),
    ("gray skies", CLOUDY),
    ("grey sky", CLOUDY),
    ("gray sky", CLOUDY),
    ("gloomy", CLOUDY),
    ("dull", CLOUDY),
    ("stratus", CLOUDY),
    ("murky", CLOUDY),
    ("흐림", CLOUDY),
    ("흐린", CLOUDY),
    ("흐리", CLOUDY),
    ("흐렸", CLOUDY),
    ("흐려", CLOUDY),
    ("구름", CLOUDY),
    ("먹구름", CLOUDY),
    ("운량", CLOUDY),
    ("잔뜩 낀", CLOUDY),
    // Rain
    ("rain", RAIN),
    ("rains", RAIN),
    ("rainy", RAIN),
    ("raining", RAIN),
    ("rained", RAIN),
    ("rainfall", RAIN),
    ("rainstorm", RAIN),
    ("rainstorms", RAIN),
    ("rain storm", RAIN),
    ("rain band", RAIN),
    ("rainband", RAIN),
    ("rain clouds", RAIN),
    ("rain showers", RAIN),
    ("showers", RAIN),
    ("shower", RAIN),
    ("showery", RAIN),
    ("downpour", RAIN),
    ("downpours", RAIN),
    ("drizzle", RAIN),
    ("drizzly", RAIN),
    ("deluge", RAIN),
    ("torrential", RAIN),
    ("precipitation", RAIN),
    ("wet", RAIN),
    ("monsoon", RAIN),
    ("thunderstorm", RAIN),
    ("thunderstorms", RAIN),
    ("thundershowers", RAIN),
    ("baiu", RAIN),
    ("meiyu", RAIN),
    ("mei-yu", RAIN),
    ("plum rain", RAIN),
    ("*비", RAIN),
    ("비가 내", RAIN),
    ("비 내", RAIN),
    ("비가 오", RAIN),
    ("비 오", RAIN),
    ("비가 와", RAIN),
    ("비구름", RAIN),
    ("빗줄기", RAIN),
    ("빗방울", RAIN),
    ("호우", RAIN),
    ("폭우", RAIN),
    ("집중호우", RAIN),
    ("장마", RAIN),
    ("소나기", RAIN),
    ("강우", RAIN),
    ("우천", RAIN),
    ("뇌우", RAIN),
    ("강수", RAIN),
    ("장맛비", RAIN),
    ("소낙비", RAIN),
    ("가랑비", RAIN),
    ("이슬비", RAIN),
    ("보슬비", RAIN),
    ("장대비", RAIN),
    ("봄비", RAIN),
    ("여름비", RAIN),
    ("가을비", RAIN),
    ("겨울비", RAIN),
    ("천둥", RAIN),
    ("번개", RAIN),
    // Typhoon
    ("typhoon", TYPHOON),
    ("typhoons", TYPHOON),
    ("super typhoon", TYPHOON),
    ("tropical cyclone", TYPHOON),
    ("tropical cyclones", TYPHOON),
    ("tropical storm", TYPHOON),
    ("tropical storms", TYPHOON),
    ("tropical depression", TYPHOON),
    ("cyclone", TYPHOON),
    ("cyclones", TYPHOON),
    ("hurricane", TYPHOON),
    ("storm", TYPHOON),
    ("storms", TYPHOON),
    ("태풍", TYPHOON),
    ("열대저기압", TYPHOON),
    ("열대 저기압", TYPHOON),
    ("열대성 저기압", TYPHOON),
    ("열대폭풍", TYPHOON),
    ("열대 폭풍", TYPHOON),
    ("열대성 폭풍", TYPHOON),
    ("폭풍", TYPHOON),
];

/// Korean particles (and particle-like endings) that may follow a strict Hangul word.
const PARTICLES: &[&str] = &[
    "", "이", "가", "은", "는", "을", "를", "에", "의", "도", "와", "과", "로", "으로", "에서", "이나", "나", "만", "까지", "부터", "처럼", "이랑",
    "랑", "하고", "뿐", "조차", "마저", "이다", "였", "이었", "요", "예요", "이에요",
];

/// A Hangul syllable or jamo.
pub fn is_hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}')
}

/// A word character for Latin boundaries: letters and digits other than Hangul (a Hangul
/// particle may follow a Latin name).
fn is_word(c: char) -> bool {
    c.is_alphanumeric() && !is_hangul(c)
}

/// The text [`parse_query`] matches on: lower case, macrons dropped, curly apostrophes
/// straightened, every other whitespace or control character a space; at most
/// [`MAX_PARSE_CHARS`] characters.
pub fn normalise(text: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(text.len().min(MAX_PARSE_CHARS));
    for c in text.chars().take(MAX_PARSE_CHARS) {
        let c = match c {
            'ū' | 'Ū' | 'ú' | 'ù' | 'û' => 'u',
            'ō' | 'Ō' | 'ó' | 'ò' | 'ô' => 'o',
            'ā' | 'Ā' | 'á' | 'à' | 'â' => 'a',
            '’' | '‘' | '`' | '´' => '\'',
            c if c.is_whitespace() || c.is_control() => ' ',
            c => c,
        };
        out.extend(c.to_lowercase());
    }
    out
}

/// The fallback layer of city names: GeoNames cities inside the study's regions, and the
/// cities of half a million people or more outside them, generated by
/// `research/gazetteer/geonames.py` (its header says how; GeoNames, CC-BY 4.0). Lines are
/// `name<TAB>regions`, regions comma-separated indices, or `-` for a city outside every region;
/// `#` lines are comments. Names the hand lists above already hold, common English words and
/// ambiguous names are left out there.
pub const GEONAMES: &str = include_str!("geonames.tsv");

/// The generated places ([`GEONAMES`]) as `(name, regions)`; `regions` is empty for a city
/// outside every region ("hanoi", "방콕").
pub fn generated_places() -> impl Iterator<Item = (&'static str, Vec<usize>)> {
    GEONAMES.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).filter_map(|l| {
        let (name, rs) = l.split_once('\t')?;
        let rs = if rs == "-" { Vec::new() } else { rs.split(',').map(|r| r.parse().ok()).collect::<Option<Vec<usize>>>()? };
        Some((name, rs))
    })
}

/// English words one edit from a typo target, which [`parse_query`] never reads as a typo
/// ("showed" is not "shower"), generated by `research/gazetteer/typo_guard.py`; `#` lines are
/// comments.
pub const TYPO_GUARD: &str = include_str!("typo_guard.txt");

/// Letters a hand-listed Latin word needs to be a typo target.
const TYPO_TARGET_MIN: usize = 6;
/// Letters a query word needs to be read as a typo.
const TYPO_WORD_MIN: usize = 5;

fn typo_guard() -> &'static std::collections::HashSet<&'static str> {
    static GUARD: std::sync::OnceLock<std::collections::HashSet<&'static str>> = std::sync::OnceLock::new();
    GUARD.get_or_init(|| TYPO_GUARD.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect())
}

/// Whether a hand-listed word can be read from a typo: Latin letters only, at least
/// [`TYPO_TARGET_MIN`] of them (research/gazetteer/typo_guard.py uses the same rule).
fn is_typo_target(word: &[char]) -> bool {
    word.len() >= TYPO_TARGET_MIN && word.iter().all(|c| c.is_ascii_lowercase())
}

/// Whether `a` and `b` are one edit apart (a letter added, dropped or changed, or two
/// neighbours swapped) and start with the same letter.
fn one_edit(a: &[char], b: &[char]) -> bool {
    if a == b || a.is_empty() || a.first() != b.first() || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let i = short.iter().zip(long).position(|(x, y)| x != y).unwrap_or(short.len());
    if short.len() < long.len() {
        return short[i..] == long[i + 1..];
    }
    short[i + 1..] == long[i + 1..] || (i + 1 < short.len() && short[i] == long[i + 1] && short[i + 1] == long[i] && short[i + 2..] == long[i + 2..])
}

/// The typo reading of the word starting at `text[at]`: its length and what it names. The
/// word has at least [`TYPO_WORD_MIN`] Latin letters, is not in [`TYPO_GUARD`], and is one
/// edit from hand-listed words of at least [`TYPO_TARGET_MIN`] letters that all name the
/// same thing ("Hokaido", "typhon", "Shangai").
fn typo_at(text: &[char], at: usize) -> Option<(usize, Kind)> {
    if at.checked_sub(1).is_some_and(|b| is_word(text[b])) {
        return None;
    }
    let n = text[at..].iter().take_while(|c| c.is_ascii_lowercase()).count();
    if n < TYPO_WORD_MIN || text.get(at + n).is_some_and(|&c| is_word(c)) {
        return None;
    }
    let word = &text[at..at + n];
    if typo_guard().contains(word.iter().collect::<String>().as_str()) {
        return None;
    }
    let targets = entries().get(&word[0])?.iter().filter(|e| !e.generated && e.kind != Kind::Outside && is_typo_target(&e.chars));
    let mut found = None;
    for e in targets.filter(|e| one_edit(word, &e.chars)) {
        match found {
            Some(k) if k != e.kind => return None,
            _ => found = Some(e.kind),
        }
    }
    found.map(|k| (n, k))
}

/// One vocabulary entry ready for matching.
struct Entry {
    chars: Vec<char>,
    hangul: bool,
    strict: bool,
    /// From [`GEONAMES`]: loses to a hand entry of the same length; a Hangul one must start a
    /// Hangul word and be followed by a particle, optionally after 시 ("city").
    generated: bool,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Place(&'static [usize]),
    Weather(usize),
    Direction(Direction),
    /// A place outside the 13 regions ([`OUTSIDE`]).
    Outside,
}

/// All entries, hand-written first, grouped by their first character.
fn entries() -> &'static std::collections::HashMap<char, Vec<Entry>> {
    static ENTRIES: std::sync::OnceLock<std::collections::HashMap<char, Vec<Entry>>> = std::sync::OnceLock::new();
    ENTRIES.get_or_init(|| {
        let make = |word: &str, kind, generated| {
            let strict = word.starts_with('*');
            let chars: Vec<char> = word.trim_start_matches('*').chars().collect();
            let hangul = chars.iter().any(|&c| is_hangul(c));
            Entry { chars, hangul, strict, generated, kind }
        };
        // The generated region lists, one static slice per distinct list.
        let mut interned: Vec<&'static [usize]> = Vec::new();
        let mut intern = |rs: Vec<usize>| -> &'static [usize] {
            match interned.iter().find(|&&x| x == rs.as_slice()) {
                Some(&x) => x,
                None => {
                    let x: &'static [usize] = Box::leak(rs.into_boxed_slice());
                    interned.push(x);
                    x
                }
            }
        };
        let hand = PLACES
            .iter()
            .map(|&(w, r)| make(w, Kind::Place(r), false))
            .chain(WEATHER.iter().map(|&(w, p)| make(w, Kind::Weather(p), false)))
            .chain(DIRECTION_WORDS.iter().map(|&(w, d)| make(w, Kind::Direction(d), false)))
            .chain(OUTSIDE.iter().map(|&w| make(w, Kind::Outside, false)));
        let generated: Vec<Entry> = generated_places()
            .filter(|(_, rs)| rs.iter().all(|&r| r < crate::REGIONS.len()))
            .map(|(w, rs)| if rs.is_empty() { make(w, Kind::Outside, true) } else { make(w, Kind::Place(intern(rs)), true) })
            .collect();
        let mut by_first: std::collections::HashMap<char, Vec<Entry>> = std::collections::HashMap::new();
        for e in hand.chain(generated) {
            if let Some(&c) = e.chars.first() {
                by_first.entry(c).or_default().push(e);
            }
        }
        by_first
    })
}

/// Length in text characters of `entry` matched at `text[at..]`, if it matches there.
fn match_at(entry: &Entry, text: &[char], at: usize) -> Option<usize> {
    let gap = |c: char| c == ' ' || c == '-';
    let mut i = at;
    let mut k = 0;
    while k < entry.chars.len() {
        let e = entry.chars[k];
        if gap(e) {
            // A gap in the entry: any run of spaces or hyphens (Latin: at least one).
            let start = i;
            while i < text.len() && gap(text[i]) {
                i += 1;
            }
            if i == start && !entry.hangul {
                return None;
            }
            k += 1;
            continue;
        }
        if text.get(i) != Some(&e) {
            return None;
        }
        i += 1;
        k += 1;
    }
    let before = at.checked_sub(1).map(|b| text[b]);
    let after = text.get(i).copied();
    if entry.hangul {
        if entry.generated {
            if before.is_some_and(is_hangul) {
                return None;
            }
            let rest: String = text[i..].iter().take_while(|&&c| is_hangul(c)).collect();
            let rest = rest.strip_prefix('시').unwrap_or(&rest);
            if !PARTICLES.contains(&rest) {
                return None;
            }
        } else if entry.strict {
            if before.is_some_and(is_hangul) {
                return None;
            }
            let rest: String = text[i..].iter().take_while(|&&c| is_hangul(c)).collect();
            if !PARTICLES.contains(&rest.as_str()) {
                return None;
            }
        }
    } else if before.is_some_and(is_word) || after.is_some_and(is_word) {
        return None;
    }
    Some(i - at)
}

/// The regions and phenomena `text` names (see the module header for the rules).
pub fn parse_query(raw: &str) -> QueryIntent {
    let text = normalise(raw);
    let found = mentions(&text);
    let places = apply_directions(&text, &found);
    let mut intent = QueryIntent::default();
    let push = |v: &mut Vec<usize>, x: usize| {
        if !v.contains(&x) {
            v.push(x);
        }
    };
    // Broad words ("Japan", "China") give way to a region inside them named in the same
    // query: "rain in Tokyo, Japan" is about Honshu, not all of Japan.
    let mut broad: Vec<&[usize]> = Vec::new();
    for (m, rs) in found.iter().zip(&places) {
        match (m.kind, rs) {
            (Kind::Place(original), Some(rs)) if rs.as_slice() == original && is_broad(original) => broad.push(original),
            (Kind::Place(_), Some(rs)) => rs.iter().for_each(|&r| push(&mut intent.regions, r)),
            (Kind::Weather(p), _) => push(&mut intent.phenomena, p),
            (Kind::Outside, _) => {
                // As written: the normalised text has one character per character of `raw`.
                let name: String = raw.chars().skip(m.start).take(m.end - m.start).collect();
                if !intent.outside.iter().any(|o| o.to_lowercase() == name.to_lowercase()) {
                    intent.outside.push(name);
                }
            }
            _ => {}
        }
    }
    for rs in broad {
        if !rs.iter().any(|r| intent.regions.contains(r)) {
            rs.iter().for_each(|&r| push(&mut intent.regions, r));
        }
    }
    intent
}

/// Every word of the normalised `text` ([`normalise`]) that an entry matches, in order
/// (leftmost-longest; see the module header).
fn mentions(text: &[char]) -> Vec<Mention> {
    let mut found: Vec<Mention> = Vec::new();
    let mut at = 0;
    while at < text.len() {
        if text[at] == ' ' {
            at += 1;
            continue;
        }
        // Longest first; at equal length a hand entry beats a generated one.
        let best = entries()
            .get(&text[at])
            .into_iter()
            .flatten()
            .filter_map(|e| match_at(e, text, at).map(|n| (n, !e.generated, e.kind)))
            .max_by_key(|&(n, hand, _)| (n, hand))
            .map(|(n, _, kind)| (n, kind))
            .or_else(|| typo_at(text, at));
        match best {
            Some((n, kind)) => {
                found.push(Mention { kind, start: at, end: at + n.max(1) });
                at += n.max(1);
            }
            None => at += 1,
        }
    }
    found
}

/// The weather words of the normalised `text` ([`normalise`]), in order: `(start, end,
/// phenomenon)`, in characters.
pub(crate) fn weather_mentions(text: &[char]) -> Vec<(usize, usize, usize)> {
    mentions(text).into_iter().filter_map(|m| if let Kind::Weather(p) = m.kind { Some((m.start, m.end, p)) } else { None }).collect()
}

/// A matched word: what it names and its span in the normalised text.
struct Mention {
    kind: Kind,
    start: usize,
    end: usize,
}

/// The regions each place of `found` names once direction words have moved it (`None` for
/// other mentions; see the module header).
fn apply_directions(text: &[char], found: &[Mention]) -> Vec<Option<Vec<usize>>> {
    let mut out: Vec<Option<Vec<usize>>> = found.iter().map(|m| if let Kind::Place(rs) = m.kind { Some(rs.to_vec()) } else { None }).collect();
    let words = |a: usize, b: usize| -> String { text[a..b].iter().collect() };
    for (i, m) in found.iter().enumerate() {
        let Kind::Direction(d) = m.kind else { continue };
        let korean = text[m.start..m.end].iter().any(|&c| is_hangul(c));
        // The place it touches: the next mention in English, the previous one in Korean.
        let (place, at_sea) = if korean {
            let Some(p) = i.checked_sub(1) else { continue };
            let gap = words(found[p].end, m.start);
            if !gap.trim().is_empty() && gap.trim() != "의" {
                continue;
            }
            let after = words(m.end, text.len());
            (p, AT_SEA_KO.iter().any(|w| after.trim_start().starts_with(w)))
        } else {
            let p = i + 1;
            if p >= found.len() || !words(m.end, found[p].start).split_whitespace().all(|w| DIRECTION_FILLER.contains(&w)) {
                continue;
            }
            let before = words(0, m.start);
            (p, before.split_whitespace().next_back().is_some_and(|w| AT_SEA_EN.contains(&w)))
        };
        let Kind::Place(rs) = found[place].kind else { continue };
        let at_sea = at_sea || d == Direction::Off;
        if !at_sea && !AREAS.contains(&words(found[place].start, found[place].end).as_str()) {
            continue;
        }
        let mut moved: Vec<usize> = Vec::new();
        for &r in rs {
            for &c in d.columns() {
                if let Some(t) = DIRECTIONS[r][c].filter(|t| !at_sea || SEAS.contains(t)) {
                    if !moved.contains(&t) {
                        moved.push(t);
                    }
                }
            }
        }
        if !moved.is_empty() {
            out[place] = Some(moved);
        }
    }
    out
}

/// Whether a place entry is a country-wide word ("Japan", "China") rather than a place.
fn is_broad(regions: &[usize]) -> bool {
    regions == JAPAN || regions == CHINA
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_edit_is_one_insertion_deletion_substitution_or_swap() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        for (a, b, want) in [
            ("hokaido", "hokkaido", true),
            ("hokkaido", "hokaido", true),
            ("shamghai", "shanghai", true),
            ("mongloia", "mongolia", true),
            ("typhoonn", "typhoon", true),
            ("hokkaido", "hokkaido", false),
            ("yokkaido", "hokkaido", false),
            ("hokaidoo", "hokkaido", false),
            ("mnogolia", "mongolia", true),
            ("mgnoolia", "mongolia", false),
        ] {
            assert_eq!(one_edit(&c(a), &c(b)), want, "{a} / {b}");
        }
    }

    #[test]
    fn the_typo_guard_holds_only_words_one_edit_from_a_target() {
        // The generated list matches the rule here: every word is one edit from a hand-listed
        // target and is no entry itself (else it would be read, or never reach the guard).
        let targets: Vec<Vec<char>> = PLACES
            .iter()
            .map(|&(w, _)| w)
            .chain(WEATHER.iter().map(|&(w, _)| w))
            .map(|w| w.chars().collect::<Vec<char>>())
            .filter(|w| is_typo_target(w))
            .collect();
        assert!(typo_guard().len() > 50);
        for w in typo_guard() {
            let chars: Vec<char> = w.chars().collect();
            assert!(targets.iter().any(|t| one_edit(&chars, t)), "{w}: one edit from no target");
            assert!(targets.iter().all(|t| *t != chars), "{w}: a hand entry");
        }
    }

    /// `case!(name, "query", [regions], [phenomena])`: one query per line.
    macro_rules! case {
        ($name:ident, $q:expr, [$($r:expr),*], [$($p:expr),*]) => {
            #[test]
            fn $name() {
                let got = parse_query($q);
                assert_eq!(got, QueryIntent { regions: vec![$($r),*], phenomena: vec![$($p),*], outside: Vec::new() }, "{:?}", $q);
            }
        };
    }

    #[test]
    fn places_outside_the_regions_are_named_as_written_and_bind_nothing() {
        let q = parse_query("typhoon in the Bay of Bengal, like the one off Florida");
        assert_eq!((q.regions, q.phenomena, q.outside), (vec![], vec![TYPHOON], vec!["Bay of Bengal".to_string(), "Florida".to_string()]));
        let q = parse_query("인도양과 인도의 폭우, 인도양");
        assert_eq!(q.outside, ["인도양", "인도"]);
        // 인도 is strict: a sidewalk in a longer word is no India; Indiana is no India either.
        assert!(parse_query("인도네시아").outside == ["인도네시아"] && parse_query("보행자인도").outside.is_empty());
        assert!(parse_query("snow in Indiana").outside.is_empty());
        assert!(parse_query("arctic air over Korea").outside.is_empty() && parse_query("북극 한파").outside.is_empty());
        // With a region named too, both are read.
        let q = parse_query("rain over Kyushu and India");
        assert_eq!((q.regions, q.outside), (vec![KYUSHU], vec!["India".to_string()]));
        // Not typo targets: "germane" is no Germany, and "Hokaido" still Hokkaido.
        assert!(parse_query("germane").outside.is_empty());
        assert_eq!(parse_query("Hokaido").regions, [HOKKAIDO]);
    }

    #[test]
    fn large_cities_outside_the_regions_are_named_as_outside() {
        // From geonames.tsv's `-` rows: cities of >= 500 000 people in no region, in English
        // and in Korean, also just beyond an outline (Hanoi, Chengdu) and far away (Moscow).
        for (q, place) in [
            ("rain in Hanoi", "Hanoi"),
            ("heavy rain in Chongqing", "Chongqing"),
            ("snow in Irkutsk", "Irkutsk"),
            ("typhoon hitting Bangkok", "Bangkok"),
            ("blizzard in Moscow", "Moscow"),
            ("하노이 비", "하노이"),
            ("방콕에 폭우", "방콕"),
            ("모스크바의 폭설", "모스크바"),
        ] {
            let got = parse_query(q);
            assert_eq!((got.regions.len(), got.outside.as_slice()), (0, [place.to_string()].as_slice()), "{q}");
            assert_eq!(got.phenomena.len(), 1, "{q}");
        }
        // A city a region holds stays a place there; a name shared with one inside (Taichung,
        // a district within the outlines) is not outside; a common word is neither ("그럴 리가"
        // is no Riga, 서리 is frost, not Surrey).
        assert_eq!(parse_query("rain in Taichung").regions, [PHIL_SEA]);
        assert!(parse_query("타이중 비").outside.is_empty());
        assert!(parse_query("그럴 리가 없는 폭설").outside.is_empty());
        assert!(parse_query("서리가 내린 맑은 날").outside.is_empty());
        // Korean weather with a city off the map keeps its text for the multilingual encoder
        // (and the notice), not the English weather word alone.
        assert_eq!(english_weather("하노이 비"), None);
    }

    /// Queries about the 13 regions, written by people (the evaluation sets) or by the training
    /// grammar, name nothing outside: the generated outside layer reads no ordinary word as a
    /// far city.
    #[test]
    fn queries_about_the_regions_name_nothing_outside() {
        for (file, query) in crate::eval_queries() {
            assert_eq!(parse_query(&query).outside, Vec::<String>::new(), "{file}: {query}");
        }
        for lang in [crate::grammar::Lang::En, crate::grammar::Lang::Ko] {
            for r in 0..crate::REGIONS.len() {
                for p in 0..crate::PHENOMENA.len() {
                    for q in crate::grammar::phrasings(r, p, lang, 40, 7) {
                        assert_eq!(parse_query(&q).outside, Vec::<String>::new(), "{q}");
                    }
                }
            }
        }
    }

    // Direction words: a region-sized place moves that way; a city only at sea, onto a sea.
    case!(east_of_taiwan, "typhoon east of Taiwan", [PHIL_SEA], [TYPHOON]);
    case!(west_of_luzon, "thunderstorms west of Luzon", [SCS], [RAIN]);
    case!(west_of_kyushu_sea, "clear skies above the sea west of Kyushu", [ECS], [CLEAR]);
    case!(sea_east_of_shanghai, "cloudy sky over the sea east of Shanghai", [ECS], [CLOUDY]);
    case!(east_of_shanghai_on_land, "rain east of Shanghai", [E_CHINA], [RAIN]);
    case!(south_of_seoul_stays, "snow south of Seoul", [KOREA], [SNOW]);
    case!(south_of_korea, "a typhoon south of Korea", [ECS], [TYPHOON]);
    case!(east_of_mongolia, "clear skies east of Mongolia", [MANCHURIA], [CLEAR]);
    case!(off_tokyo, "heavy rain off Tokyo", [PACIFIC], [RAIN]);
    case!(off_coast_of_vietnam, "overcast skies off the coast of Vietnam", [SCS], [CLOUDY]);
    case!(off_not_touching, "showers tapering off over Kyushu", [KYUSHU], [RAIN]);
    case!(nothing_that_way_keeps_the_place, "snow north of Hokkaido", [HOKKAIDO], [SNOW]);
    case!(direction_entries_still_win, "rain in south korea and north of china", [KOREA, N_CHINA], [RAIN]);
    case!(ko_east_of_taiwan, "대만 동쪽 해상의 태풍", [PHIL_SEA], [TYPHOON]);
    case!(ko_south_of_honshu, "혼슈 남쪽 바다에 비구름", [PACIFIC], [RAIN]);
    case!(ko_off_tokyo, "도쿄 앞바다 태풍", [PACIFIC], [TYPHOON]);
    case!(ko_of_particle, "규슈의 서쪽 바다 맑음", [ECS], [CLEAR]);
    case!(ko_city_on_land_stays, "서울 남쪽에 폭설", [KOREA], [SNOW]);
    case!(southeast_of_taiwan, "typhoon southeast of Taiwan", [PHIL_SEA], [TYPHOON]);
    case!(near_taiwan_three_seas, "typhoon near Taiwan", [ECS, PHIL_SEA, SCS], [TYPHOON]);
    case!(north_east_of_korea_either_way, "snow north-east of Korea", [MANCHURIA, HONSHU], [SNOW]);
    case!(ko_southeast_of_taiwan, "대만 남동쪽 해상 태풍", [PHIL_SEA], [TYPHOON]);
    case!(ko_old_spellings, "홋가이도 폭설, 규우슈우 비", [HOKKAIDO, KYUSHU], [SNOW, RAIN]);
    case!(mount_fuji, "snow on Mount Fuji", [HONSHU], [SNOW]);
    case!(fujian_is_not_fuji, "rain in Fujian", [E_CHINA, S_CHINA], [RAIN]);

    #[test]
    fn direction_areas_are_place_entries_and_the_table_points_elsewhere() {
        for a in AREAS {
            assert!(PLACES.iter().any(|(w, _)| w == a), "{a}: not a place entry");
        }
        for (r, row) in DIRECTIONS.iter().enumerate() {
            // A region is never its own neighbour; "off" a sea is that sea.
            for (d, t) in row.iter().enumerate() {
                assert!(t.is_none_or(|t| t != r || (d == Direction::Off as usize && SEAS.contains(&r))), "{r} {d}");
            }
        }
    }

    // English: canonical names, aliases, sub-areas, neighbours.
    case!(canonical_study_form, "Honshu, Japan is experiencing rain.", [HONSHU], [RAIN]);
    case!(canonical_bullet, "- Manchuria and Primorsky Krai - Snow", [MANCHURIA], [SNOW]);
    case!(korea_typhoon, "typhoon hitting Korea", [KOREA], [TYPHOON]);
    case!(seoul_blizzard, "blizzard in Seoul", [KOREA], [SNOW]);
    case!(busan_downpour, "Downpour over Busan?", [KOREA], [RAIN]);
    case!(tokyo_overcast, "overcast Tokyo", [HONSHU], [CLOUDY]);
    case!(kanto_macron, "snowfall in Kantō and Tōkyō", [HONSHU], [SNOW]);
    case!(sapporo_snow, "heavy snow over Sapporo", [HOKKAIDO], [SNOW]);
    case!(nagasaki_showers, "showers near Nagasaki", [KYUSHU], [RAIN]);
    case!(primorye_clear, "cloud-free Primorye", [MANCHURIA], [CLEAR]);
    case!(cloud_free_spaced, "cloud free skies over Vladivostok", [MANCHURIA], [CLEAR]);
    case!(heilongjiang_snow, "snow in Heilongjiang", [MANCHURIA], [SNOW]);
    case!(northeast_china_is_manchuria, "north-east China snowstorm", [MANCHURIA], [SNOW]);
    case!(north_china_clear, "clear skies over north China", [N_CHINA], [CLEAR]);
    case!(beijing_sunny, "sunny Beijing", [N_CHINA], [CLEAR]);
    case!(yangtze_delta_overcast, "overcast skies above the Yangtze delta region", [E_CHINA], [CLOUDY]);
    case!(shanghai_rain, "rain band moving over Shanghai", [E_CHINA], [RAIN]);
    case!(guangdong_hong_kong, "Guangdong and Hong Kong under clouds", [S_CHINA], [CLOUDY]);
    case!(gobi_clear, "clear sky above the Gobi", [MONGOLIA], [CLEAR]);
    case!(ulaanbaatar_snow, "snow in Ulaanbaatar", [MONGOLIA], [SNOW]);
    case!(pacific_side, "rain on Japan's Pacific side", [PACIFIC], [RAIN]);
    case!(pacific_coast_curly, "rain on Japan’s Pacific coast", [PACIFIC], [RAIN]);
    case!(philippine_sea_cyclone, "tropical cyclone in the Philippine Sea", [PHIL_SEA], [TYPHOON]);
    case!(scs_typhoon, "typhoon over the South China Sea", [SCS], [TYPHOON]);
    case!(okinawa, "storm near Okinawa", [ECS], [TYPHOON]);
    // Typos: one edit from a hand-listed word of six letters or more, first letter kept.
    case!(typo_dropped_letter, "heavy snow over Hokaido", [HOKKAIDO], [SNOW]);
    case!(typo_weather_word, "typhon near Okinawa", [ECS], [TYPHOON]);
    case!(typo_swapped_letters, "clear skies over Mongloia", [MONGOLIA], [CLEAR]);
    case!(typo_changed_letter, "rain in Shamghai", [E_CHINA], [RAIN]);
    case!(typo_not_an_english_word, "the satellite showed clouds over Seoul", [KOREA], [CLOUDY]);
    case!(typo_not_kansas, "snow in Kansas", [], [SNOW]);
    case!(typo_not_the_first_letter, "rain in Yokkaido", [], [RAIN]);
    case!(typo_not_a_short_target, "rain in Seuol", [], [RAIN]);
    case!(typo_two_readings_none, "snower in Seoul", [KOREA], []);
    // Ambiguity: longest match wins.
    case!(ecs_not_eastern_china, "cloudy East China Sea", [ECS], [CLOUDY]);
    case!(eastern_china_not_sea, "rain over east China", [E_CHINA], [RAIN]);
    case!(south_china_not_sea, "clear south China", [S_CHINA], [CLEAR]);
    case!(japan_is_four_regions, "snow in Japan", [HONSHU, HOKKAIDO, KYUSHU, PACIFIC], [SNOW]);
    case!(china_is_three_regions, "rain in China", [N_CHINA, E_CHINA, S_CHINA], [RAIN]);
    case!(sea_of_japan_not_japan, "snow clouds over the Sea of Japan", [HONSHU, HOKKAIDO, KOREA], [SNOW]);
    case!(no_clouds_is_clear, "no clouds over Kyushu", [KYUSHU], [CLEAR]);
    case!(snow_showers_not_rain, "snow showers in Hokkaido", [HOKKAIDO], [SNOW]);
    case!(two_regions_in_order, "snow in Manchuria and the Korean Peninsula", [MANCHURIA, KOREA], [SNOW]);
    case!(compound, "a typhoon over the South China Sea with clear skies in Mongolia", [SCS, MONGOLIA], [TYPHOON, CLEAR]);
    case!(japan_gives_way_to_tokyo, "rain in Tokyo, Japan", [HONSHU], [RAIN]);
    case!(china_gives_way_to_beijing, "Beijing, China: clear", [N_CHINA], [CLEAR]);
    case!(ko_japan_gives_way, "일본 삿포로 눈", [HOKKAIDO], [SNOW]);
    case!(terse, "kyushu rain", [KYUSHU], [RAIN]);
    case!(upper_case, "TYPHOON KYUSHU", [KYUSHU], [TYPHOON]);
    case!(whole_words_only, "Koreatown sunday", [], []);
    case!(nothing_named, "satellite picture", [], []);
    // Korean, with particles attached.
    case!(ko_peninsula_snow, "한반도에 폭설", [KOREA], [SNOW]);
    case!(ko_kyushu_rain, "규슈에 비", [KYUSHU], [RAIN]);
    case!(ko_kyushu_alt, "큐슈의 호우", [KYUSHU], [RAIN]);
    case!(ko_rain_compound, "규슈에 장맛비가", [KYUSHU], [RAIN]);
    case!(paracels_plural, "clouds over the Paracels", [SCS], [CLOUDY]);
    case!(ko_thunder, "도쿄 천둥번개", [HONSHU], [RAIN]);
    case!(ko_sleet_compound, "서울 진눈깨비", [KOREA], [SNOW]);
    case!(ko_snowstorm_not_typhoon, "홋카이도 눈폭풍", [HOKKAIDO], [SNOW]);
    case!(ko_seoul_from, "서울에서 눈이 내리는 날", [KOREA], [SNOW]);
    case!(ko_tokyo_honshu, "도쿄 흐림", [HONSHU], [CLOUDY]);
    case!(ko_sapporo, "삿포로로 폭설", [HOKKAIDO], [SNOW]);
    case!(ko_manchuria, "만주와 연해주의 맑은 하늘", [MANCHURIA], [CLEAR]);
    case!(ko_north_china, "화북 지방 맑음", [N_CHINA], [CLEAR]);
    case!(ko_china_north_nospace, "중국북부 흐림", [N_CHINA], [CLOUDY]);
    case!(ko_east_china, "화동에 장마", [E_CHINA], [RAIN]);
    case!(ko_ecs_not_east_china, "동중국해에 태풍", [ECS], [TYPHOON]);
    case!(ko_scs_not_south_china, "남중국해로 북상하는 태풍", [SCS], [TYPHOON]);
    case!(ko_south_china, "화남 지역 구름", [S_CHINA], [CLOUDY]);
    case!(ko_mongolia, "몽골 맑음", [MONGOLIA], [CLEAR]);
    case!(ko_phil_sea, "필리핀해 태풍", [PHIL_SEA], [TYPHOON]);
    case!(ko_pacific, "일본 태평양 연안에 비", [PACIFIC], [RAIN]);
    case!(ko_japan, "일본에 눈", [HONSHU, HOKKAIDO, KYUSHU, PACIFIC], [SNOW]);
    case!(ko_rain_particle, "부산 비가 온 날", [KOREA], [RAIN]);
    case!(ko_bi_inside_word_is_not_rain, "비행기에서 본 서울", [KOREA], []);
    case!(ko_bi_suffix_is_not_rain, "준비된 홋카이도 사진", [HOKKAIDO], []);
    case!(ko_nun_inside_word_is_not_snow, "오키나와 관광", [ECS], []);
    case!(ko_cloudless, "구름 한 점 없는 규슈", [KYUSHU], [CLEAR]);
    case!(ko_typhoon_long, "열대 저기압이 오키나와 부근", [ECS], [TYPHOON]);
    case!(mixed_scripts, "Seoul에 폭설", [KOREA], [SNOW]);
    case!(mixed_scripts_2, "홋카이도 snow", [HOKKAIDO], [SNOW]);
    // Korea's coasts and Yeongdong are Korea, not the seas named 동해 / 서해.
    case!(ko_east_coast, "동해안 폭설", [KOREA], [SNOW]);
    case!(ko_west_coast, "서해안에 눈", [KOREA], [SNOW]);
    case!(ko_east_sea_still_the_sea, "동해 흐림", [HONSHU, HOKKAIDO, KOREA], [CLOUDY]);
    case!(ko_yeongdong, "영동 지방 폭설", [KOREA], [SNOW]);
    case!(ko_ulleungdo, "울릉도에 눈", [KOREA], [SNOW]);
    case!(yeongdong_en, "heavy snow in Yeongdong", [KOREA], [SNOW]);
    // Tsushima the island, not GeoNames' city of that name in Aichi (Honshu).
    case!(tsushima_island, "rain over Tsushima", [KYUSHU, KOREA], [RAIN]);
    case!(ko_tsushima, "대마도 부근 태풍", [KYUSHU, KOREA], [TYPHOON]);

    #[test]
    fn every_entry_names_a_valid_index_and_no_entry_is_listed_twice() {
        let mut seen = std::collections::HashSet::new();
        for (w, rs) in PLACES {
            assert!(!rs.is_empty() && rs.iter().all(|&r| r < crate::REGIONS.len()), "{w}");
            assert!(seen.insert(*w), "{w} listed twice");
            assert_eq!(w.to_lowercase(), *w, "{w} must be lower case");
        }
        for (w, p) in WEATHER {
            assert!(*p < crate::PHENOMENA.len(), "{w}");
            assert!(seen.insert(*w), "{w} listed twice");
        }
    }

    // Generated places (GeoNames, `geonames.tsv`): not in the hand lists.
    case!(geo_kaohsiung, "typhoon near Kaohsiung", [SCS], [TYPHOON]);
    case!(geo_hefei, "heavy rain in Hefei", [E_CHINA], [RAIN]);
    case!(geo_qiqihar, "snow over Qiqihar", [MANCHURIA], [SNOW]);
    case!(geo_obihiro, "Obihiro snowfall", [HOKKAIDO], [SNOW]);
    case!(geo_sasebo, "clear skies at Sasebo", [KYUSHU], [CLEAR]);
    case!(geo_hohhot, "overcast Hohhot", [N_CHINA], [CLOUDY]);
    case!(geo_naha_between_two_seas, "storm near Naha", [ECS, PHIL_SEA], [TYPHOON]);
    case!(geo_ko_suwon, "수원에 눈", [KOREA], [SNOW]);
    case!(geo_ko_changwon_si, "창원시에 비", [KOREA], [RAIN]);
    case!(geo_ko_manila, "마닐라 태풍", [SCS], [TYPHOON]);
    case!(geo_ko_inside_a_word_is_not_a_place, "이수원에 비", [], [RAIN]);
    case!(geo_hand_beats_generated, "snow in Sendai", [HONSHU], [SNOW]);
    case!(geo_japan_gives_way_to_kanazawa, "Kanazawa, Japan: snow", [HONSHU], [SNOW]);
    // Common English (and Korean) words that are also cities are not places: Saga (Kyushu),
    // Soul (an alternate of Seoul), 후에 (Huế).
    case!(geo_common_word_saga, "a saga of rain", [], [RAIN]);
    case!(geo_common_word_soul, "rain for the soul", [], [RAIN]);
    case!(geo_ko_common_word, "이틀 후에 비", [], [RAIN]);
    // Words that the frequency filter of `geonames.py` keeps out (an English word in lower case
    // in Debian's wamerican, Zipf >= 3 in English without a city of a million behind it, Korean
    // Zipf >= 5): Bade (Taoyuan), Angeles City (via "Los Angeles"), Osu, Chino, 위해 (Weihai;
    // "for the sake of"). Before the filter each of these bound a region.
    case!(geo_frequent_word_bade, "she bade the rain farewell", [], [RAIN]);
    case!(geo_frequent_word_angeles, "heavy rain in the angeles forest", [], [RAIN]);
    case!(geo_frequent_word_osu, "snow at OSU", [], [SNOW]);
    case!(geo_frequent_word_chino, "rain on my chino pants", [], [RAIN]);
    case!(geo_ko_frequent_word, "주말 여행을 위해 맑은 날", [], [CLEAR]);
    // A famous city keeps a frequent name, and a real place that is not a word still binds.
    case!(geo_famous_city_manila, "typhoon near Manila", [SCS], [TYPHOON]);
    case!(geo_place_not_a_word_nagano, "snow in Nagano", [HONSHU], [SNOW]);
    case!(geo_place_not_a_word_nara, "rain over Nara", [HONSHU], [RAIN]);

    #[test]
    fn generated_places_are_valid_and_not_hand_listed() {
        assert!(GEONAMES.contains("CC-BY 4.0") && GEONAMES.contains("sha256"), "provenance header");
        let hand: std::collections::HashSet<&str> =
            PLACES.iter().map(|p| p.0).chain(WEATHER.iter().map(|w| w.0.trim_start_matches('*'))).chain(OUTSIDE.iter().map(|w| w.trim_start_matches('*'))).collect();
        let mut seen = std::collections::HashSet::new();
        let mut n = 0;
        let (mut n_outside, lines) = (0, GEONAMES.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).count());
        for (w, rs) in generated_places() {
            assert!(rs.iter().all(|&r| r < crate::REGIONS.len()), "{w}");
            n_outside += rs.is_empty() as usize;
            assert!(!hand.contains(w), "{w} is hand-listed");
            assert!(seen.insert(w), "{w} listed twice");
            assert_eq!(w.to_lowercase(), w, "{w} must be lower case");
            assert!(w.chars().filter(|c| c.is_alphabetic()).count() >= if w.chars().any(is_hangul) { 2 } else { 3 }, "{w}");
            n += 1;
        }
        assert_eq!(n, lines, "every line parses");
        assert!(n - n_outside > 1000 && n_outside > 500, "{n} generated places, {n_outside} of them outside");
    }

    #[test]
    fn every_canonical_name_parses_to_its_region() {
        for (r, name) in crate::REGIONS.iter().enumerate() {
            assert_eq!(parse_query(name).regions, vec![r], "{name}");
        }
        for (p, name) in crate::PHENOMENA.iter().enumerate() {
            assert_eq!(parse_query(name).phenomena, vec![p], "{name}");
        }
    }

    #[test]
    fn bad_input_parses_to_nothing_quickly() {
        assert!(parse_query("").is_empty());
        assert!(parse_query("   \t\n ").is_empty());
        assert!(parse_query("🌧️🌀☀️").is_empty());
        assert!(parse_query("\u{0}\u{7}\u{1b}[31m").is_empty());
        let long = "snow over Hokkaido ".repeat(6000); // ≈ 114 kB
        let t = std::time::Instant::now();
        let q = parse_query(&long);
        assert_eq!((q.regions, q.phenomena), (vec![HOKKAIDO], vec![SNOW]));
        assert!(t.elapsed().as_secs_f32() < 2.0, "{:?}", t.elapsed());
        // Control characters separate words like spaces.
        assert_eq!(parse_query("snow\u{0}Hokkaido").regions, vec![HOKKAIDO]);
    }

    #[test]
    fn korean_weather_without_a_place_is_said_in_english() {
        assert_eq!(english_weather("태풍").as_deref(), Some("typhoon"));
        assert_eq!(english_weather("폭설 온 날").as_deref(), Some("snow"));
        assert_eq!(english_weather("태풍 때 폭우").as_deref(), Some("typhoon and rain"));
        assert_eq!(english_weather("한반도에 폭설"), None, "a region named");
        assert_eq!(english_weather("인도양 태풍"), None, "a place outside the map: its notice needs the text");
        assert_eq!(english_weather("안녕하세요"), None, "no weather");
        assert_eq!(english_weather("typhoon"), None, "English stays as written");
    }
}
