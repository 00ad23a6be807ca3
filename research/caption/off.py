import sys, json, glob, os, numpy as np, datetime as dt
from PIL import Image
from scipy import ndimage
simdir, maskpng, labels = sys.argv[1], sys.argv[2], sys.argv[3]
files = sorted(glob.glob(simdir + '/frames/*.png'))
times = [dt.datetime.strptime(os.path.basename(f)[-16:-4], '%Y%m%d%H%M') for f in files]
keep = [i for i, t in enumerate(times) if t.hour % 3 == 0]
files = [files[i] for i in keep]; times = [times[i] for i in keep]
G = np.stack([np.asarray(Image.open(f)) for f in files])
valid = G[0] > 0
Gm = np.where(G == 0, 255, G)
g2bt = lambda g: 330.0 - g.astype(np.float32) * (150.0 / 255.0)
bits = np.asarray(Image.open(maskpng)).astype(np.int64)
masks = [((bits >> k) & 1 == 1) & valid for k in range(13)]
lab = {}
for line in open(labels):
    v = json.loads(line); lab[v['time'][:13]] = v
REG = ["Korean Peninsula","Mongolia","Northern China","Eastern China","Southern China","Manchuria and Primorsky Krai","Honshu (Japan)","Hokkaido (Japan)","Kyushu (Japan)","East China Sea","Philippine Sea","South China Sea","Pacific coast of Japan"]
day = np.array([(t.date() - times[0].date()).days for t in times]); hour = np.array([t.hour for t in times])
B = 24
rows = []
for i in range(len(files)):
    sel = (np.abs(day - day[i]) <= 3) & (hour == hour[i])
    ch = g2bt(Gm[sel].min(0)); b = g2bt(G[i]); b[~valid] = np.nan
    off = b - ch
    H, W = off.shape; hb, wb = H // B + 1, W // B + 1
    pad = np.full((hb * B, wb * B), np.nan, np.float32); pad[:H, :W] = off
    blk = np.nanpercentile(pad.reshape(hb, B, wb, B).transpose(0, 2, 1, 3).reshape(hb, wb, B * B), 90, axis=2)
    blk = np.where(np.isnan(blk), -99, blk)
    out = {}
    for rad in (1, 2, 3):
        bm = ndimage.maximum_filter(blk, size=2 * rad + 1)
        bm = np.clip(bm, -10, 0)
        up = np.repeat(np.repeat(bm, B, 0), B, 1)[:H, :W]
        up = ndimage.uniform_filter(up, B)
        out[rad] = ch + up
    t = lab[times[i].strftime('%Y-%m-%dT%H')]['regions']
    for k in range(13):
        m = masks[k]; x = b[m]
        r = dict(day=int(day[i]), region=k, truth=t[REG[k]]['phenomenon'], cf=t[REG[k]]['cloud_fraction'])
        for name, ref in (('h', ch), ('o1', out[1]), ('o2', out[2]), ('o3', out[3])):
            r[name] = float(np.median(ref[m] - x))
        rows.append(r)
json.dump(rows, open(sys.argv[4], 'w'))
nr = [r for r in rows if r['truth'] in ('Clear', 'Cloudy')]
for key in ('h', 'o1', 'o2', 'o3'):
    tot = [0, 0]
    for k in range(13):
        rr = [r for r in nr if r['region'] == k]
        c = np.array([r['truth'] == 'Cloudy' for r in rr]); d = np.array([r[key] for r in rr]); tr = np.array([r['day'] < 15 for r in rr])
        best = max((np.mean((d[tr] >= th) == c[tr]), th) for th in np.arange(0, 25, 0.5))
        te = np.mean((d[~tr] >= best[1]) == c[~tr])
        tot[0] += te * (~tr).sum(); tot[1] += (~tr).sum()
        print(key, k, REG[k][:10], 'train %.3f@%.1f test %.3f' % (best[0], best[1], te))
    print(key, 'TEST clear/cloudy acc', tot[0] / tot[1])
