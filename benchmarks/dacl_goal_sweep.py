"""What moves the DACL probe towards the issue's 0.90 goal (normal vs AF+other)?

Each candidate changes one thing of the reproduction's default (VAE latent 32, beta
1, 100 VAE epochs; DACL 40 epochs, widths (256, 128, 64), embedding 64, margin 1,
t 1-50, lr 1e-3, batch 128, random negatives) and is scored by 3-fold
StratifiedKFold on the training part of the README 70/30 split only (the test part
is not touched). JSON: ``results/dacl_goal_sweep.json``.

Run alone on the machine: ``python -m benchmarks.dacl_goal_sweep``; candidates already
in the JSON with the same change are kept, not rerun (``--rerun`` redoes all).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from joblib import Memory
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks._common import load_full_or_exit, machine, readme_split, write_json
from sklearn_biodiff.datasets import binary_task
from sklearn_biodiff.feature_extraction import (
    DACLEmbedder,
    ScatteringFeatures,
    VAELatent,
)

CANDIDATES = {
    "default": {},
    "vae_beta_0.1": {"vae": {"beta": 0.1}},
    "vae_latent_64": {"vae": {"latent_dim": 64}},
    "vae_latent_16": {"vae": {"latent_dim": 16}},
    "dacl_100_epochs": {"dacl": {"max_epochs": 100}},
    "dacl_wide_encoder": {"dacl": {"widths": (512, 256, 128), "embedding_dim": 128}},
    "no_vae_dacl_on_st": {"no_vae": True},
    "vae_beta_0.01": {"vae": {"beta": 0.01}},
    "margin_0.5": {"dacl": {"margin": 0.5}},
    "margin_2": {"dacl": {"margin": 2.0}},
    "t_late_34_50": {"dacl": {"t_min": 34, "t_max": 50}},
    "lr_1e-4_100_epochs": {"dacl": {"lr": 1e-4, "max_epochs": 100}},
    "vae_beta_0.1_margin_2_late": {"vae": {"beta": 0.1},
                                   "dacl": {"margin": 2.0, "t_min": 34, "t_max": 50}},
}


def probe(F_tr, y_tr, F_te):
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    return clf.fit(F_tr, y_tr).predict_proba(F_te)[:, 1]


def score(ST, y, a, b, cand):
    scaler = StandardScaler().fit(ST[a])
    S_a, S_b = scaler.transform(ST[a]), scaler.transform(ST[b])
    if cand.get("no_vae"):
        Z_a, Z_b = S_a.astype(np.float32), S_b.astype(np.float32)
    else:
        vae = VAELatent(**{"latent_dim": 32, "max_epochs": 100, "random_state": 0,
                           **cand.get("vae", {})}).fit(S_a)
        Z_a, Z_b = vae.transform(S_a), vae.transform(S_b)
    dacl = DACLEmbedder(**{"max_epochs": 40, "lr": 1e-3, "batch_size": 128,
                           "random_state": 0, **cand.get("dacl", {})}).fit(Z_a, y[a])
    return float(roc_auc_score(y[b], probe(dacl.transform(Z_a), y[a], dacl.transform(Z_b))))


def main():
    data = load_full_or_exit()
    memory = Memory(Path.home() / ".cache" / "sklearn_biodiff" / "bench", verbose=0)
    ST_all = ScatteringFeatures(memory=memory).fit_transform(data.signals)
    idx, y_all = binary_task(data.target, "normal_vs_abnormal")
    tr_all, _ = readme_split(data.target)
    tr = np.array(sorted(set(tr_all.tolist()) & set(idx.tolist())))
    pos = {r: k for k, r in enumerate(idx)}
    ST, y = ST_all[tr], y_all[[pos[i] for i in tr]]
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(ST, y))
    previous = {}
    path = Path(__file__).resolve().parent / "results" / "dacl_goal_sweep.json"
    if path.exists() and "--rerun" not in sys.argv:
        previous = json.loads(path.read_text()).get("candidates", {})
    out = {"machine": machine(), "protocol": "3-fold StratifiedKFold (seed 0) on the "
           "training part of the README 70/30 split, normal vs AF+other", "candidates": {}}
    for name, cand in CANDIDATES.items():
        if name in previous and previous[name]["change"] == json.loads(json.dumps(cand)):
            out["candidates"][name] = previous[name]
            continue
        t0 = time.perf_counter()
        aucs = [score(ST, y, a, b, cand) for a, b in folds]
        out["candidates"][name] = {"change": cand, "cv3_auroc_mean": float(np.mean(aucs)),
                                   "cv3_auroc_std": float(np.std(aucs)),
                                   "seconds": time.perf_counter() - t0}
        print(name, out["candidates"][name], flush=True)
        write_json("dacl_goal_sweep", out, seeds=[0])


if __name__ == "__main__":
    main()
