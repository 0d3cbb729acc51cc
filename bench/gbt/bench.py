#!/usr/bin/env python3
"""GBT benchmark: ipflow's C booster against XGBoost hist, in one run.

Run with `make bench-gbt` (builds bench/gbt/bin/gbt_bench, then runs this with
Debian's /usr/bin/python3, which has python3-xgboost and python3-sklearn).

(a) Accuracy on data/logs.csv with the original pipeline. The C driver
    assembles the features and writes them to bench/gbt/out/logs_features.csv;
    this script recomputes the split, the lag and the one-hot categories on its
    own from data/logs.csv and stops unless both agree, then trains XGBoost on
    the same rows and compares test RMSE.
(b) Speed on ROWS synthetic rows x 10 features written by the C driver:
    training time (best of 3) against XGBoost hist with nthread=1, peak
    memory, prediction rows/s.
(c) Agreement: on data where every feature value has a bin of its own on
    both sides, our predictions must equal XGBoost's up to its float32
    arithmetic (same splits, missing-value directions and leaf values).

Both sides use: 20 trees, depth 5, learning rate 0.1, 32 bins, no L2
penalty, base score = mean label, at least one row per child (XGBoost's
min_child_weight=1 is one row under squared loss, whose hessian is 1).

Usage: bench.py [--rows N] [--reps N]
Results: printed, and written to bench/gbt/out/results.json.
"""
import argparse
import csv
import json
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np
import sklearn
import xgboost as xgb
from sklearn.metrics import mean_squared_error

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(TOP, "bench", "gbt", "out")
DRIVER = os.path.join(TOP, "bench", "gbt", "bin", "gbt_bench")
LOGS = os.path.join(TOP, "data", "logs.csv")
NUMERIC = ["allow", "drop", "frequency", "pkts_sent", "pkts_received",
           "bytesin", "bytesout", "unq_dst_port"]


def xgb_params(base_score):
    return {"tree_method": "hist", "objective": "reg:squarederror",
            "max_depth": 5, "eta": 0.1, "max_bin": 32, "lambda": 0.0,
            "alpha": 0.0, "gamma": 0.0, "min_child_weight": 1.0,
            "subsample": 1.0, "base_score": float(base_score),
            "nthread": 1, "seed": 0}


def run_driver(*args):
    out = subprocess.run([DRIVER, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def fnv1a64(text):
    h = 14695981039346656037
    for byte in text.encode():
        h ^= byte
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def python_pipeline():
    """The original pipeline, recomputed here from the CSV."""
    with open(LOGS, newline="") as f:
        rows = list(csv.DictReader(f))
    test = [fnv1a64(r["src_ip"] + "," + r["timestamp"]) % 4 == 0 for r in rows]
    # lag per IP ordered by timestamp (text order is time order for this format)
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["src_ip"], rows[i]["timestamp"], i))
    lag = [math.nan] * len(rows)
    for a, b in zip(order, order[1:]):
        if rows[a]["src_ip"] == rows[b]["src_ip"]:
            lag[b] = float(rows[a]["unq_dst_ip"])
    # StringIndexer frequencyDesc on the training rows, ties by string
    counts = {}
    for r, t in zip(rows, test):
        if not t:
            counts[r["src_ip"]] = counts.get(r["src_ip"], 0) + 1
    categories = sorted(counts, key=lambda c: (-counts[c], c))
    feats = []
    for i, r in enumerate(rows):
        onehot = [1.0 if r["src_ip"] == c else 0.0 for c in categories]
        feats.append(onehot + [lag[i]] + [float(r[c]) for c in NUMERIC])
    y = np.array([float(r["unq_dst_ip"]) for r in rows])
    return np.array(test), categories, np.array(feats), y


def accuracy(reps):
    ours = run_driver("accuracy", LOGS, OUT)
    data = np.genfromtxt(os.path.join(OUT, "logs_features.csv"), delimiter=",",
                         names=True, dtype=None, encoding=None)
    names = data.dtype.names
    feature_cols = names[4:]
    c_test = data["test"].astype(bool)
    c_x = np.column_stack([data[c].astype(float) for c in feature_cols])
    c_y = data["label"].astype(float)

    test, categories, x, y = python_pipeline()
    assert list(categories) == ours["categories"], (categories, ours["categories"])
    assert np.array_equal(test, c_test), "the split differs"
    assert np.array_equal(np.isnan(x), np.isnan(c_x)), "missing values differ"
    assert np.array_equal(np.nan_to_num(x, nan=-1), np.nan_to_num(c_x, nan=-1)), "features differ"
    assert np.array_equal(y, c_y), "labels differ"

    xtr, ytr, xte, yte = x[~test], y[~test], x[test], y[test]
    best = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        dtrain = xgb.DMatrix(xtr, label=ytr, missing=np.nan, nthread=1)
        booster = xgb.train(xgb_params(ytr.mean()), dtrain, num_boost_round=20)
        best = min(best, time.perf_counter() - t0)
    pred_te = booster.predict(xgb.DMatrix(xte, missing=np.nan, nthread=1))
    pred_tr = booster.predict(xgb.DMatrix(xtr, missing=np.nan, nthread=1))
    return {
        "ours": ours,
        "xgboost": {
            "rmse_test": float(math.sqrt(mean_squared_error(yte, pred_te))),
            "rmse_train": float(math.sqrt(mean_squared_error(ytr, pred_tr))),
            "train_seconds": best,
        },
        "baseline_rmse_test_mean": float(math.sqrt(np.mean((yte - ytr.mean()) ** 2))),
    }


def speed(rows, reps):
    ours = run_driver("speed", str(rows), OUT)
    x = np.fromfile(os.path.join(OUT, "synth_x.f64"), dtype="<f8").reshape(rows, 10)
    y = np.fromfile(os.path.join(OUT, "synth_y.f64"), dtype="<f8")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    best_dm = best_train = best_pred = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        d = xgb.DMatrix(x, label=y, missing=np.nan, nthread=1)
        t1 = time.perf_counter()
        booster = xgb.train(xgb_params(y.mean()), d, num_boost_round=20)
        t2 = time.perf_counter()
        best_dm = min(best_dm, t1 - t0)
        best_train = min(best_train, t2 - t1)
        del d
    for _ in range(reps):
        t0 = time.perf_counter()
        pred = booster.inplace_predict(x)
        best_pred = min(best_pred, time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "ours": ours,
        "xgboost": {
            "dmatrix_seconds": best_dm,
            "train_seconds": best_train,
            "total_seconds": best_dm + best_train,
            "predict_rows_per_second": rows / best_pred,
            "rmse_train": float(math.sqrt(np.mean((pred - y) ** 2))),
            "peak_rss_mb": peak,
            "rss_before_train_mb": rss_before,
        },
    }


def agree():
    ours = run_driver("agree", OUT)
    n, f = ours["rows"], ours["features"]
    x = np.fromfile(os.path.join(OUT, "agree_x.f64"), dtype="<f8").reshape(n, f)
    y = np.fromfile(os.path.join(OUT, "agree_y.f64"), dtype="<f8")
    pred_ours = np.fromfile(os.path.join(OUT, "agree_ours.f64"), dtype="<f8")
    booster = xgb.train(xgb_params(y.mean()), xgb.DMatrix(x, label=y, missing=np.nan, nthread=1),
                        num_boost_round=20)
    pred = booster.predict(xgb.DMatrix(x, missing=np.nan, nthread=1))
    leaves = int((booster.trees_to_dataframe().Feature == "Leaf").sum())
    return {"rows": n, "max_abs_difference": float(np.abs(pred - pred_ours).max()),
            "label_std": float(y.std()), "our_nodes": ours["nodes"], "xgboost_nodes": 2 * leaves - 20}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if not os.access(DRIVER, os.X_OK):
        sys.exit("build the driver first: make bench/gbt/bin/gbt_bench")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    acc = accuracy(args.reps)
    spd = speed(args.rows, args.reps)
    agr = agree()
    o, x = acc["ours"], acc["xgboost"]
    so, sx = spd["ours"], spd["xgboost"]
    results = {
        "versions": {"xgboost": xgb.__version__, "sklearn": sklearn.__version__,
                     "numpy": np.__version__},
        "accuracy": acc,
        "speed": spd,
        "agreement": agr,
        "ratios": {
            "rmse_test_ours_over_xgboost": o["rmse_test"] / x["rmse_test"],
            "train_time_ours_over_xgboost_total": so["train_seconds"] / sx["total_seconds"],
            "train_time_ours_over_xgboost_train_only": so["train_seconds"] / sx["train_seconds"],
            "predict_speed_ours_over_xgboost": so["predict_rows_per_second"] / sx["predict_rows_per_second"],
            "peak_rss_over_matrix": so["peak_rss_mb"] / so["matrix_mb"],
            "train_extra_over_matrix": so["train_extra_mb"] / so["matrix_mb"],
        },
    }
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=2)

    r = results["ratios"]
    print(f"xgboost {xgb.__version__}, sklearn {sklearn.__version__}, numpy {np.__version__}")
    print(f"(a) data/logs.csv: {o['train_rows']} train / {o['test_rows']} test rows, {o['features']} features")
    print(f"    test RMSE   ours {o['rmse_test']:.4f}   xgboost {x['rmse_test']:.4f}   "
          f"ratio {r['rmse_test_ours_over_xgboost']:.4f}   (predicting the mean: {acc['baseline_rmse_test_mean']:.4f})")
    print(f"    train RMSE  ours {o['rmse_train']:.4f}   xgboost {x['rmse_train']:.4f}")
    print(f"    train time  ours {o['train_seconds'] * 1000:.1f} ms   xgboost {x['train_seconds'] * 1000:.1f} ms")
    print(f"(b) synthetic: {so['rows']} rows x 10 features, best of {args.reps}")
    print(f"    train       ours {so['train_seconds']:.3f} s   xgboost {sx['train_seconds']:.3f} s "
          f"(+ DMatrix {sx['dmatrix_seconds']:.3f} s)   ratio {r['train_time_ours_over_xgboost_total']:.3f} "
          f"(train only {r['train_time_ours_over_xgboost_train_only']:.3f})")
    print(f"    train RMSE  ours {so['rmse_train']:.4f}   xgboost {sx['rmse_train']:.4f}")
    print(f"    predict     ours {so['predict_rows_per_second'] / 1e6:.2f} M rows/s   "
          f"xgboost {sx['predict_rows_per_second'] / 1e6:.2f} M rows/s (nthread=1); "
          f"ours one row per call {so['predict_one_row_rows_per_second'] / 1e6:.2f} M rows/s")
    print(f"    memory      matrix {so['matrix_mb']:.0f} MiB; our peak RSS {so['peak_rss_mb']:.0f} MiB "
          f"({r['peak_rss_over_matrix']:.2f}x the matrix, training added {so['train_extra_mb']:.0f} MiB = "
          f"{r['train_extra_over_matrix']:.2f}x); xgboost process peak {sx['peak_rss_mb']:.0f} MiB")
    print(f"(c) agreement on {agr['rows']} rows with one bin per value: max |ours - xgboost| = "
          f"{agr['max_abs_difference']:.2e} (label std {agr['label_std']:.2f}); "
          f"nodes ours {agr['our_nodes']}, xgboost {agr['xgboost_nodes']}")
    ok = agr["max_abs_difference"] < 1e-3 * agr["label_std"] and o["rmse_test"] <= x["rmse_test"] and so["predict_rows_per_second"] >= 2e6 \
        and so["peak_rss_mb"] <= 2 * so["matrix_mb"]
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
