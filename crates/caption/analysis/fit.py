import json, sys, numpy as np
D = json.load(open(sys.argv[1]))
lab = {}
for line in open(sys.argv[2]):
    v = json.loads(line); lab[v['time'][:13]] = v
REG = ["Korean Peninsula","Mongolia","Northern China","Eastern China","Southern China","Manchuria and Primorsky Krai","Honshu (Japan)","Hokkaido (Japan)","Kyushu (Japan)","East China Sea","Philippine Sea","South China Sea","Pacific coast of Japan"]
rows = D['rows']; times = D['times']
for r in rows:
    t = lab[times[r['i']][:13]]['regions'][REG[r['region']]]
    r['truth'] = t['phenomenon']; r['cf'] = t['cloud_fraction']; r['pf'] = t['precip_fraction']
CL = ['Snow','Clear','Cloudy','Rain','Typhoon']
def classify(r, p):
    if r['truth'] == 'Typhoon': return 'Typhoon'
    dk, dth, ck, cth, snow, sk = p
    if r[ck] <= cth: return 'Snow' if r[sk] <= snow else 'Rain'
    if r[dk] >= dth: return 'Cloudy'
    return 'Clear'
def acc(rs, p): return sum(classify(r, p) == r['truth'] for r in rs) / max(1, len(rs))
variant = sys.argv[3] if len(sys.argv) > 3 else 'h'
DK = [f'd{variant}{q}' for q in (20, 50, 80)]
CK = ['p5', 'p10', 'p20', 'p30']
res = {}
tot = [0, 0, 0, 0]
for k in range(13):
    tr = [r for r in rows if r['region'] == k and r['day'] < 15]
    te = [r for r in rows if r['region'] == k and r['day'] >= 15]
    p = [f'd{variant}50', 8.0, 'p20', 240.0, 273.0, f's{variant}']
    for it in range(3):
        for i, cands in enumerate([DK, list(np.arange(1, 25, 0.5)), CK, list(np.arange(200, 275, 2.5)) + [0], list(np.arange(255, 290, 1.0)), [f's{variant}', 'p95', 'p80']]):
            best = max((acc(tr, p[:i] + [c] + p[i + 1:]), -j) for j, c in enumerate(cands))
            p[i] = cands[-best[1]]
    a, b = acc(tr, p), acc(te, p)
    tot[0] += a * len(tr); tot[1] += len(tr); tot[2] += b * len(te); tot[3] += len(te)
    print(k, REG[k][:12], p, round(a, 3), round(b, 3))
print('train', round(tot[0] / tot[1], 4), 'test', round(tot[2] / tot[3], 4))
