# Would smoothing labels over neighbouring frames (mode over ±k frames of the same region)
# help? Reads captions written by `skycase caption` and scores against labels.jsonl.
import json, glob, sys, collections
store, labels = sys.argv[1], sys.argv[2]
truth = {}
for line in open(labels):
    v = json.loads(line); truth[v['time'][:13]] = v['caption'].splitlines()
caps = []
for f in sorted(glob.glob(store + '/captions/*.json')):
    r = json.load(open(f)); caps.append((r['time'][:13], r['caption'].splitlines()))
caps.sort()
def score(pred, lo, hi):
    ok = n = 0
    for (t, c), p in zip(caps, pred):
        d = int(t[8:10])
        if t in truth and lo <= d <= hi:
            ok += sum(a == b for a, b in zip(p, truth[t])); n += 13
    return ok / n
for k in (0, 1, 2, 3):
    pred = []
    for i in range(len(caps)):
        out = []
        for r in range(13):
            win = [caps[j][1][r] for j in range(max(0, i - k), min(len(caps), i + k + 1))]
            cnt = collections.Counter(win); best = max(cnt.values())
            own = caps[i][1][r]
            out.append(own if cnt[own] == best else cnt.most_common(1)[0][0])
        pred.append(out)
    print('±%d frames: days 1-15 %.3f, 16-end %.3f, all %.3f' % (k, score(pred, 1, 15), score(pred, 16, 31), score(pred, 1, 31)))
