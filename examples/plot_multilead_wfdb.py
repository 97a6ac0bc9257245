"""
Two-lead WFDB database: rhythm windows, patient-grouped CV, AF vs rest
======================================================================

A PhysioNet-style database is a folder of WFDB records (``.hea`` + ``.dat``) with
annotation files (``.atr``) whose rhythm annotations mark where each rhythm
starts (``(N``, ``(AFIB``, ...). This example

* writes a small two-lead database of that kind with ``wfdb.wrsamp``/``wrann``
  (CI has no internet): ten 3-minute records of eight patients, some with
  episodes of an irregular, AF-like rhythm (synthetic ECG of
  :func:`~sklearn_biodiff.datasets.make_synthetic_ecg`);
* reads it with :func:`~sklearn_biodiff.datasets.load_wfdb_database` into 10-s
  two-lead windows ``(n_windows, 2, n_samples)`` with their rhythm label and
  patient;
* compares two embeddings of the two-lead windows, each followed by a logistic
  regression, by AF vs rest AUROC (out-of-fold) under
  :class:`~sklearn.model_selection.StratifiedGroupKFold` (no patient in two
  folds): Scattering Transformer features computed per lead and concatenated
  (:class:`~sklearn_biodiff.feature_extraction.ScatteringFeatures`), and a
  diffusion-autoencoder embedding whose network takes both leads as input
  channels (:class:`~sklearn_biodiff.feature_extraction.DiffAEEmbedder`).

The shape rule behind it (``(n, t)`` one lead, ``(n, c, t)`` ``c`` leads) is in
the user guide, :ref:`signal_shapes`. The synthetic rhythms are far easier to tell
apart than real ones, and in this reduced mode the DiffAE trains for a few seconds
per fold: the scores show that the pipeline runs, not how the methods compare.

Full version, on a real database: download one, e.g. the MIT-BIH Atrial
Fibrillation Database (``wfdb.dl_database("afdb", "afdb")``, 23 ten-hour two-lead
records, 250 Hz) and run ``SKLEARN_BIODIFF_WFDB_DB=afdb python
examples/plot_multilead_wfdb.py``; for the MIT-BIH Arrhythmia Database
(``wfdb.dl_database("mitdb", "mitdb")``) add ``SKLEARN_BIODIFF_WFDB_LEADS=MLII,V1``
(the records without both leads are skipped and listed). The full version takes
one 10-s window per minute and trains the DiffAE for 20 epochs per fold (hours on
a CPU).
"""

# %%
# A small two-lead database
# -------------------------
# Each record is a sequence of rhythm episodes; the rhythm annotation ``+`` with
# ``aux_note="(AFIB"`` or ``"(N"`` marks where each starts. The second lead sees
# the same beats with another projection (inverted, smaller) and its own noise.
# Records 8 and 9 belong to patients 1 and 4: the header comment ``patient: ...``
# gives the group.
import os
import shutil
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import wfdb
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import RocCurveDisplay, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_biodiff.datasets import load_wfdb_database, make_synthetic_ecg
from sklearn_biodiff.feature_extraction import DiffAEEmbedder, ScatteringFeatures

FS_RECORD = 250  # Hz, as in the MIT-BIH AF Database


def episode(label, seconds, heart_rate, seed):
    """One rhythm episode of two leads, shape (2, n), in mV."""
    (x,), _ = make_synthetic_ecg(1, fs=FS_RECORD, min_seconds=seconds, max_seconds=seconds,
                                 heart_rate=heart_rate, irregularity=0.15, noise_std=0.05,
                                 weights=(0, 1) if label == "AFIB" else (1, 0),
                                 random_state=seed)
    rng = np.random.RandomState(seed + 1000)
    t = np.arange(len(x)) / FS_RECORD
    v1 = -0.6 * x + 0.04 * rng.randn(len(x)) + 0.08 * np.sin(2 * np.pi * 0.2 * t)
    return np.stack([x, v1])


# record -> (patient, [(rhythm, seconds), ...]); 3 minutes each
DATABASE = {
    "100": (0, [("N", 65), ("AFIB", 115)]),
    "101": (1, [("N", 180)]),
    "102": (2, [("AFIB", 95), ("N", 85)]),
    "103": (3, [("N", 180)]),
    "104": (4, [("N", 45), ("AFIB", 100), ("N", 35)]),
    "105": (5, [("N", 180)]),
    "106": (6, [("AFIB", 180)]),
    "107": (7, [("N", 125), ("AFIB", 55)]),
    "108": (1, [("N", 100), ("AFIB", 80)]),
    "109": (4, [("N", 180)]),
}
folder = tempfile.mkdtemp(prefix="sklearn_biodiff_wfdb_")
for k, (name, (patient, episodes)) in enumerate(DATABASE.items()):
    rate = 60 + 4 * patient  # beats per minute, one per patient
    parts = [episode(label, s, rate, seed=100 * k + j)
             for j, (label, s) in enumerate(episodes)]
    starts = np.cumsum([0] + [p.shape[1] for p in parts[:-1]])
    wfdb.wrsamp(name, fs=FS_RECORD, units=["mV", "mV"], sig_name=["MLII", "V1"],
                p_signal=np.concatenate(parts, axis=1).T, fmt=["16", "16"],
                comments=[f"patient: {patient}"], write_dir=folder)
    wfdb.wrann(name, "atr", starts, symbol=["+"] * len(starts),
               aux_note=[f"({label}" for label, _ in episodes], write_dir=folder)
with open(os.path.join(folder, "RECORDS"), "w") as f:
    f.write("\n".join(DATABASE) + "\n")

# %%
# Loading: windows, labels, patients
# ----------------------------------
# Windows of 10 s, resampled to 125 Hz; windows that straddle a rhythm change
# are dropped (``DESCR`` counts them). The full version reads a downloaded
# database instead, one window per minute.
DB = os.environ.get("SKLEARN_BIODIFF_WFDB_DB")
if DB:
    leads = os.environ.get("SKLEARN_BIODIFF_WFDB_LEADS")
    data = load_wfdb_database(DB, annotator="atr", label="rhythm", window_s=10, step_s=60,
                              leads=leads.split(",") if leads else None, fs=125,
                              on_error="skip")
else:
    data = load_wfdb_database(folder, annotator="atr", label="rhythm", window_s=10, fs=125)
shutil.rmtree(folder)  # the windows are in memory now
print(data.DESCR)
X, groups = data.signals, data.groups
y = (data.target == "AFIB").astype(int)
print(f"signals {X.shape} (windows, leads, samples), leads {data.lead_names}, "
      f"{y.sum()} AF windows of {len(y)}, {len(np.unique(groups))} patients")

# %%
fig, axes = plt.subplots(2, 1, figsize=(8, 4), sharex=True)
t = np.arange(X.shape[-1]) / data.fs
for ax, label in zip(axes, (0, 1)):
    i = int(np.flatnonzero(y == label)[0])
    for lead, name in enumerate(data.lead_names):
        ax.plot(t, X[i, lead], lw=0.7, label=name)
    ax.set(ylabel="mV", title=f"{data.target[i]} window of record {data.record[i]}")
    ax.legend(loc="upper right", fontsize=8)
axes[-1].set_xlabel("time (s)")
fig.tight_layout()

# %%
# Two embeddings of both leads, one grouped CV
# --------------------------------------------
# ``ScatteringFeatures`` computes its features for each lead and concatenates
# them, the feature names carrying the lead. It learns nothing from the data, so
# its features are computed once for all windows; only the logistic regression
# is fitted per fold. ``DiffAEEmbedder`` learns from the windows (without their
# labels), so it is trained inside each fold, on the training patients only; its
# encoder and denoiser get one input channel per lead, taken from the data.
st = ScatteringFeatures(fs=data.fs, J=7, lead_names=data.lead_names)
features = st.fit_transform(X)
names = st.get_feature_names_out()
print(f"{len(names)} ST features ({len(data.lead_names)} leads), e.g. {names[0]!r} ... "
      f"{names[-1]!r}")
diffae = DiffAEEmbedder(fs=data.fs, model_fs=data.fs, snippet_seconds=8.0, n_threads=1,
                        random_state=0, **({"max_epochs": 20} if DB else {
                            "embedding_dim": 16, "encoder_width": 16, "encoder_layers": 1,
                            "unet_channels": (8, 16), "n_timesteps": 100, "max_epochs": 3}))
models = {  # name -> (input, estimator)
    "ST + LR": (features, make_pipeline(StandardScaler(),
                                        LogisticRegression(C=0.1, max_iter=2000))),
    "DiffAE + LR": (X, make_pipeline(diffae, StandardScaler(),
                                     LogisticRegression(C=0.1, max_iter=2000))),
}

cv = StratifiedGroupKFold(n_splits=4, shuffle=True, random_state=0)
oof = {name: np.zeros(len(y)) for name in models}
for name, (inputs, est) in models.items():
    scores = []
    for train, test in cv.split(X, y, groups):
        est.fit(inputs[train], y[train])
        oof[name][test] = est.predict_proba(inputs[test])[:, 1]
        scores.append(roc_auc_score(y[test], oof[name][test]))
    print(f"{name:12s} AF vs rest AUROC per fold: {np.round(scores, 3).tolist()}")

# %%
# Out-of-fold ROC curves: every window is scored by the model of the fold that
# held its patient out.
fig, ax = plt.subplots(figsize=(4.5, 4))
for name, p in oof.items():
    RocCurveDisplay.from_predictions(y, p, name=name, ax=ax)
ax.set(title="AF vs rest, patient-grouped 4-fold CV")
fig.tight_layout()
plt.show()
