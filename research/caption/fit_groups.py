import json, sys, numpy as np
from rows import two_months
rows, args = two_months(sys.argv[1:])
def classify(r, p):
    dk, dth, ck, cth, snow = p
    if r[ck] <= cth: return 'Snow' if r['sh'] <= snow else 'Rain'
    if r[dk] >= dth: return 'Cloudy'
    return 'Clear'
def acc(rs, p): return sum(classify(r, p) == r['truth'] for r in rs) / max(1, len(rs))
SEA = {9, 10, 11, 12}
groupings = {
  'per-region': {k: k for k in range(13)},
  'land/sea': {k: ('sea' if k in SEA else 'land') for k in range(13)},
  'one': {k: 0 for k in range(13)},
  'sea/north/south': {k: ('sea' if k in SEA else ('north' if k in (0,1,2,5,7) else 'south')) for k in range(13)},
  'sea/north/south/japan': {k: ('sea' if k in SEA else ('north' if k in (0,1,2,5) else ('japan' if k in (6,7,8) else 'south'))) for k in range(13)},
  'sea/land/japan': {k: ('sea' if k in SEA else ('japan' if k in (6,7,8) else 'land')) for k in range(13)},
}
which = args or list(groupings)
for gname in which:
    g = groupings[gname]; params = {}
    for key in sorted(set(g.values()), key=str):
        tr = [r for r in rows if r['set'] == 'tr' and g[r['region']] == key]
        p = ['dh50', 10.0, 'p20', 245.0, 273.0]
        for it in range(3):
            for i, cands in enumerate([['dh20', 'dh50', 'dh80', 'dm50', 'da50'], list(np.arange(2, 25, 0.5)), ['p10', 'p20', 'p30'], list(np.arange(200, 275, 2.5)) + [0], list(np.arange(255, 290, 1.0))]):
                best = max((acc(tr, p[:i] + [c] + p[i + 1:]), -j) for j, c in enumerate(cands))
                p[i] = cands[-best[1]]
        params[key] = p
    out = {}
    for s in ('tr', 'te', 'dec'):
        rs = [r for r in rows if r['set'] == s]
        out[s] = round(sum(classify(r, params[g[r['region']]]) == r['truth'] for r in rs) / len(rs), 4)
    print(gname, out, {k: [x if isinstance(x, str) else float(x) for x in v] for k, v in params.items()} if gname != 'per-region' else '')
