"""scikit-learn side of the ironmage ml6 benchmark.

Reads the CSV written by the Rust example (columns: part, label, target,
10 features; part 0 = train, 1 = test), fits the four scikit-learn models with
n_jobs=2 (HistGradientBoosting: OMP_NUM_THREADS=2, set by the caller), and
prints one `model metric value` line per measurement. IRONMAGE_BENCH_MODELS
(comma-separated names, default all) selects the models; every model is fitted
IRONMAGE_BENCH_REPEATS times (default 3) and the median fit time is kept.
"""
import os, sys, time
import numpy as np
from sklearn.ensemble import (RandomForestClassifier, RandomForestRegressor,
                              HistGradientBoostingClassifier, HistGradientBoostingRegressor)
from sklearn.metrics import roc_auc_score, mean_squared_error

path, trees, depth, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
a = np.loadtxt(path, delimiter=',')
part, label, target, X = a[:, 0], a[:, 1].astype(int), a[:, 2], np.ascontiguousarray(a[:, 3:])
tr, te = part == 0, part == 1
Xtr, Xte = X[tr], X[te]
X10k = Xte[np.arange(10000) % len(Xte)]

def one_row(f):
    ts = []
    for i in range(100):
        row = Xte[i % len(Xte)][None, :]
        t = time.perf_counter(); f(row); ts.append(time.perf_counter() - t)
    return float(np.median(ts))

models = {
    'rf_cls': (RandomForestClassifier(n_estimators=trees, max_depth=depth, max_features='sqrt', random_state=0, n_jobs=2), label, 'auc'),
    'rf_reg': (RandomForestRegressor(n_estimators=trees, max_depth=depth, max_features='sqrt', random_state=0, n_jobs=2), target, 'rmse'),
    'gb_cls': (HistGradientBoostingClassifier(max_iter=iters, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, early_stopping=False, random_state=0), label, 'auc'),
    'gb_reg': (HistGradientBoostingRegressor(max_iter=iters, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, early_stopping=False, random_state=0), target, 'rmse'),
}
repeats = max(1, int(os.environ.get('IRONMAGE_BENCH_REPEATS', '3')))
wanted = os.environ.get('IRONMAGE_BENCH_MODELS', ','.join(models)).split(',')
for name, (m, y, metric) in models.items():
    if name not in wanted:
        continue
    fits = []
    for _ in range(repeats):
        t = time.perf_counter(); m.fit(Xtr, y[tr]); fits.append(time.perf_counter() - t)
    fit = float(np.median(fits))
    pred = (lambda r: m.predict_proba(r)[:, 1]) if metric == 'auc' else m.predict
    p1 = one_row(pred)
    t = time.perf_counter(); pred(X10k); p10k = time.perf_counter() - t
    p = pred(Xte)
    score = roc_auc_score(y[te], p) if metric == 'auc' else mean_squared_error(y[te], p) ** 0.5
    print(f"{name} fit_s {fit}\n{name} p1_us {p1 * 1e6}\n{name} p10k_ms {p10k * 1e3}\n{name} {metric} {score}", flush=True)
