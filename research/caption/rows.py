"""Region-frame rows of feat.py's output joined with truth labels (for scoring only)."""
import json

REG = ["Korean Peninsula", "Mongolia", "Northern China", "Eastern China", "Southern China",
       "Manchuria and Primorsky Krai", "Honshu (Japan)", "Hokkaido (Japan)", "Kyushu (Japan)",
       "East China Sea", "Philippine Sea", "South China Sea", "Pacific coast of Japan"]


def load(features_json, labels_jsonl, tag):
    """Rows of `features_json` (feat.py) with `truth`, `cf`, `pf` from `labels_jsonl` and
    `set`: 'dec' for the second month, else 'tr' (days 1-15) / 'te' (16-end)."""
    D = json.load(open(features_json))
    lab = {}
    for line in open(labels_jsonl):
        v = json.loads(line)
        lab[v['time'][:13]] = v
    rows = D['rows']
    for r in rows:
        t = lab[D['times'][r['i']][:13]]['regions'][REG[r['region']]]
        r['truth'] = t['phenomenon']; r['cf'] = t['cloud_fraction']; r['pf'] = t['precip_fraction']
        r['set'] = tag if tag == 'dec' else ('tr' if r['day'] < 15 else 'te')
    return rows


def two_months(argv):
    """`NOV_JSON NOV_LABELS DEC_JSON DEC_LABELS` → non-typhoon rows of both months, and the rest of argv."""
    if len(argv) < 4:
        raise SystemExit('usage: NOV_JSON NOV_LABELS DEC_JSON DEC_LABELS [...] (see README.md)')
    rows = load(argv[0], argv[1], 'nov') + load(argv[2], argv[3], 'dec')
    return [r for r in rows if r['truth'] != 'Typhoon'], argv[4:]
