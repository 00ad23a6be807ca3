import json, sys, numpy as np
REG = ["Korean Peninsula","Mongolia","Northern China","Eastern China","Southern China","Manchuria and Primorsky Krai","Honshu (Japan)","Hokkaido (Japan)","Kyushu (Japan)","East China Sea","Philippine Sea","South China Sea","Pacific coast of Japan"]
def load(fj, fl, tag):
    D = json.load(open(fj)); lab = {}
    for line in open(fl):
        v = json.loads(line); lab[v['time'][:13]] = v
    rows = D['rows']
    for r in rows:
        t = lab[D['times'][r['i']][:13]]['regions'][REG[r['region']]]
        r['truth'] = t['phenomenon']; r['set'] = tag if tag == 'dec' else ('tr' if r['day'] < 15 else 'te')
    return [r for r in rows if r['truth'] != 'Typhoon']
rows = load('nov.json', '/work/shared/data/sim-nov2017/labels.jsonl', 'nov') + load('dec.json', '/tmp/simdec/sim-dec2017-s7/labels.jsonl', 'dec')
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
}
which = sys.argv[1:] or list(groupings)
for gname in which:
    g = groupings[gname]; params = {}
    for key in sorted(set(g.values()), key=str):
        tr = [r for r in rows if r['set'] == 'tr' and g[r['region']] == key]
        p = ['dh50', 10.0, 'p20', 245.0, 273.0]
        for it in range(3):
            for i, cands in enumerate([['dh20', 'dh50', 'dh80'], list(np.arange(2, 25, 0.5)), ['p10', 'p20', 'p30'], list(np.arange(200, 275, 2.5)) + [0], list(np.arange(255, 290, 1.0))]):
                best = max((acc(tr, p[:i] + [c] + p[i + 1:]), -j) for j, c in enumerate(cands))
                p[i] = cands[-best[1]]
        params[key] = p
    out = {}
    for s in ('tr', 'te', 'dec'):
        rs = [r for r in rows if r['set'] == s]
        out[s] = round(sum(classify(r, params[g[r['region']]]) == r['truth'] for r in rs) / len(rs), 4)
    print(gname, out, {k: [x if isinstance(x, str) else float(x) for x in v] for k, v in params.items()} if gname != 'per-region' else '')
