"""How much do single IR frames say about the simulated labels? (issue 5 analysis)

Three measurements on the held-out days of a wxsim archive (default: 26-30 Nov 2017),
with the study's hit rate (hits in the top 20 / min(20, relevant), mean over the
region x phenomenon queries that have a relevant frame):

1. oracle: rank by the simulator's own region shares (precipitating share, cloudy share,
   snow vs rain) plus Gaussian error sigma -- how precisely must a method know those shares?
2. gbm: gradient-boosted trees on hand-made brightness-temperature features of each region
   (quantiles, areas below thresholds, anomaly against a clear-sky reference, hour, region;
   optionally all regions' means as context, or the features 1, 3 and 6 h earlier) trained on
   the training days -- an independent, non-neural learner on the same pixels.
3. shares: the same trees regressing the shares themselves (RMSE on the test days) and
   ranking by the regressed shares.

Run from the repository root (Python 3.11, research/requirements.txt; see research/README.md):
    python3.11 -m venv /tmp/skycase-research && /tmp/skycase-research/bin/pip install -r research/requirements.txt
    /tmp/skycase-research/bin/python research/train/ceiling.py ../shared/data/sim-nov2017 ../shared/tools/wxsim
"""
import json
import sys

import numpy as np
from PIL import Image
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

ARCHIVE = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/sim-nov2017"
WXSIM = sys.argv[2] if len(sys.argv) > 2 else "../shared/tools/wxsim"
sys.path.insert(0, WXSIM)
from wxsimlib import geo as G  # noqa: E402  (region masks exactly as the labels use them)

PH = ["Snow", "Clear", "Cloudy", "Rain", "Typhoon"]
TRAIN_LAST_DAY, TEST_FIRST_DAY = 23, 26

rows = [json.loads(l) for l in open(f"{ARCHIVE}/labels.jsonl")]
names = G.REGION_ORDER
masks = [G.Geo().region_mask[n] for n in names]
R = len(names)
days = np.array([int(r["time"][8:10]) for r in rows])
hours = np.array([int(r["time"][11:13]) for r in rows])
train, test = days <= TRAIN_LAST_DAY, days >= TEST_FIRST_DAY
Y = np.array([[PH.index(r["regions"][n]["phenomenon"]) for n in names] for r in rows])
share = lambda key: np.array([[r["regions"][n][key] for n in names] for r in rows])
P, C = share("precip_fraction"), share("cloud_fraction")
SNOWY = share("snow_fraction") >= share("rain_fraction")


def hit_rate(score, labels):
    """score[frame, region, phenomenon] -> (mean hit rate, per-query list)."""
    out = []
    for k in range(R):
        for p in range(len(PH)):
            rel = labels[:, k] == p
            if rel.any():
                top = np.argsort(-score[:, k, p], kind="stable")[:20]
                out.append((names[k], PH[p], int(rel[top].sum()), int(min(20, rel.sum()))))
    return np.mean([h / n for *_, h, n in out]), out


def share_score(p, c, snowy):
    """Signed distance of each label's rule from its threshold (labels.py of wxsim)."""
    s = np.full(p.shape + (len(PH),), -9.0)
    s[..., 0] = np.where(snowy, p - 0.2, -9)
    s[..., 3] = np.where(~snowy, p - 0.2, -9)
    s[..., 2] = np.minimum(0.2 - p, c - 0.5)
    s[..., 1] = np.minimum(0.2 - p, 0.5 - c)
    return s


print(f"{ARCHIVE}: {len(rows)} frames, train days <= {TRAIN_LAST_DAY}, test days >= {TEST_FIRST_DAY} ({test.sum()} frames)\n")
print("1. oracle: simulator shares + N(0, sigma) error")
rng = np.random.default_rng(0)
for sigma in (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.10):
    reps = [hit_rate(share_score(P[test] + rng.normal(0, sigma, P[test].shape),
                                 C[test] + rng.normal(0, sigma, C[test].shape), SNOWY[test]), Y[test])[0]
            for _ in range(50)]
    print(f"   sigma {sigma:.2f}: hit rate {np.mean(reps):.3f}")

# Brightness temperature of every frame (the PNG calibration of the archive's README).
bt = np.stack([np.where(a > 0, 330.0 - a * 150.0 / 255.0, np.nan)
               for a in (np.asarray(Image.open(f"{ARCHIVE}/{r['file']}"), dtype=np.float32) for r in rows)])
ref = np.nanpercentile(bt[train][::3], 90, axis=0)  # clear-sky reference from training days
feats = []
for m in masks:
    v, a = bt[:, m], bt[:, m] - ref[m]
    f = [np.nanmean(v, 1), np.nanstd(v, 1)] + [np.nanpercentile(v, q, axis=1) for q in (1, 5, 10, 25, 50, 75, 90)]
    f += [np.nanmean(v < t, 1) for t in range(200, 296, 5)]
    f += [np.nanmean(a, 1)] + [np.nanmean(a < -t, 1) for t in (2, 4, 6, 8, 10, 15, 20, 30)]
    feats.append(np.stack(f, 1))
F = np.stack(feats, 1)  # frame, region, feature
N = len(rows)


def design(mode):
    parts = [F]
    if mode in ("lag", "lag+context"):
        parts += [np.concatenate([F[:1].repeat(L, 0), F[:-L]]) for L in (1, 3, 6)]
    if mode in ("context", "lag+context"):
        parts.append(np.repeat(F[:, None, :, :9].reshape(N, 1, -1), R, 1))
    hr = np.repeat(hours[:, None, None], R, 1)
    reg = np.repeat(np.arange(R)[None, :, None], N, 0)
    return np.concatenate(parts + [hr, reg], 2).astype(np.float32)


print("\n2. gradient-boosted trees on region BT features (classification)")
for mode in ("single frame", "context", "lag", "lag+context"):
    X = design(mode)
    d = X.shape[2]
    clf = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, categorical_features=[d - 1], random_state=0)
    clf.fit(X[train].reshape(-1, d), Y[train].reshape(-1))
    prob = np.zeros((test.sum() * R, len(PH)))
    prob[:, clf.classes_] = clf.predict_proba(X[test].reshape(-1, d))
    prob = prob.reshape(test.sum(), R, len(PH))
    print(f"   {mode:12s}: accuracy {(prob.argmax(2) == Y[test]).mean():.3f}, hit rate {hit_rate(prob, Y[test])[0]:.3f}")

print("\n3. the same trees regressing the shares (features: context)")
X = design("context")
d = X.shape[2]
pred = {}
for key, target in (("precipitating share", P), ("cloudy share", C), ("snow vs rain", SNOWY.astype(float))):
    reg = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, categorical_features=[d - 1], random_state=0)
    reg.fit(X[train].reshape(-1, d), target[train].reshape(-1))
    pred[key] = reg.predict(X[test].reshape(-1, d)).reshape(test.sum(), R)
    print(f"   {key:20s}: test RMSE {np.sqrt(((pred[key] - target[test]) ** 2).mean()):.3f}")
hr_, per_query = hit_rate(share_score(pred["precipitating share"], pred["cloudy share"], pred["snow vs rain"] > 0.5), Y[test])
print(f"   ranking by the regressed shares: hit rate {hr_:.3f}")

print("\n4. relevant test frames within 0.03 of the threshold that decides their label")
for k, n in enumerate(names):
    for p, ph in enumerate(PH[:4]):
        rel = test & (Y[:, k] == p)
        if not rel.any():
            continue
        s = share_score(P[rel, k], C[rel, k], SNOWY[rel, k])[:, p]
        near = int((s < 0.03).sum())
        if near >= max(3, rel.sum() // 4):
            print(f"   {n:30s} {ph:7s} {near:3d} of {rel.sum():3d}")
