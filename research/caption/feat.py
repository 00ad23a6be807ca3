# Prototype: per-region features from sim frames (BT only) + composites. Truth labels are
# joined only for scoring, never used as features.
import sys, json, glob, os, numpy as np
from PIL import Image
from scipy import ndimage
simdir, maskpng, out = sys.argv[1], sys.argv[2], sys.argv[3]
files = sorted(glob.glob(simdir + '/frames/*.png'))
import datetime as dt
times = [dt.datetime.strptime(os.path.basename(f)[-16:-4], '%Y%m%d%H%M') for f in files]
G = np.stack([np.asarray(Image.open(f)) for f in files])  # uint8
H, W = G.shape[1:]
valid = G[0] > 0
def bt(i):
    b = 330.0 - G[i].astype(np.float32) * (150.0 / 255.0)
    b[~valid] = np.nan
    return b
bits = np.asarray(Image.open(maskpng)).astype(np.int64)
masks = [(bits >> k) & 1 == 1 for k in range(13)]
n = len(files)
day0 = times[0].date()
dayidx = np.array([(t.date() - day0).days for t in times])
hours = np.array([t.hour for t in times])
nd = dayidx.max() + 1
# daily max and per (day,hour) stored as gray min (cold=bright: max BT = min gray)
Gm = np.where(G == 0, 255, G)
daymin = np.stack([Gm[dayidx == d].min(0) for d in range(nd)])
# per-hour whole-period max -> diurnal amplitude
hrs = sorted(set(hours))
hourmin = np.stack([Gm[hours == h].min(0) for h in hrs])
amp = (hourmin.max(0).astype(np.float32) - hourmin.min(0)) * 150 / 255  # K
np.save(out + '.amp.npy', amp)
g2bt = lambda g: 330.0 - g.astype(np.float32) * (150.0 / 255.0)
rows = []
lat = None
for i in range(n):
    b = bt(i)
    d, h = dayidx[i], hours[i]
    sel = (np.abs(dayidx - d) <= 3) & (hours == h)
    c_hour = g2bt(Gm[sel].min(0))
    c_all = g2bt(daymin[max(0, d - 3):d + 4].min(0))
    # local 3x3 std
    bb = np.nan_to_num(b, nan=250.0)
    m1 = ndimage.uniform_filter(bb, 3); m2 = ndimage.uniform_filter(bb * bb, 3)
    tex = np.sqrt(np.maximum(m2 - m1 * m1, 0))
    for k in range(13):
        m = masks[k] & valid
        x = b[m]; ch = c_hour[m]; ca = c_all[m]; am = amp[m]
        r = dict(i=i, day=int(d), hour=int(h), region=k)
        r['amp'] = float(np.mean(am)); r['seafrac'] = float(np.mean(am < 4.0))
        for name, ref in (('h', ch), ('a', ca), ('m', np.where(am < 4.0, ca, ch))):
            dd = ref - x
            for q in (20, 50, 80): r[f'd{name}{q}'] = float(np.percentile(dd, q))
            r[f's{name}'] = float(np.mean(ref))
        for q in (5, 10, 20, 30, 50, 80, 95): r[f'p{q}'] = float(np.percentile(x, q))
        r['tex'] = float(np.mean(tex[m]))
        rows.append(r)
    if i % 50 == 0: print(i, file=sys.stderr)
json.dump(dict(times=[t.isoformat() for t in times], rows=rows), open(out, 'w'))
