"""
Patient-grouped cross-validation, scored per record and per patient
===================================================================

Records are cut into 9-second windows; all windows of a record (one patient in
CinC 2017) stay in the same fold (:func:`~sklearn_biodiff.model_selection.make_grouped_cv`),
and :func:`~sklearn_biodiff.model_selection.grouped_cross_validate` scores either
each window or each patient (mean of its windows' scores). The DACL pipeline is
compared with its own first stage, Scattering Transformer features with a linear
probe. A ``Pipeline`` ``memory`` makes the second scoring pass reuse every fitted
transformer.

Full version: ``SKLEARN_BIODIFF_CINC2017=/path/to/cinc2017.tar.xz python
examples/plot_grouped_cv.py``.
"""

# %%
import os
from tempfile import mkdtemp

import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_biodiff.datasets import binary_task, load_cinc2017_sample, load_physionet2017
from sklearn_biodiff.feature_extraction import ScatteringFeatures
from sklearn_biodiff.model_selection import grouped_cross_validate, make_grouped_cv
from sklearn_biodiff.pipeline import make_dacl_pipeline
from sklearn_biodiff.preprocessing import segment_records

ARCHIVE = os.environ.get("SKLEARN_BIODIFF_CINC2017")
data = load_physionet2017(ARCHIVE, n_jobs=2) if ARCHIVE else load_cinc2017_sample()
EPOCHS = 40 if ARCHIVE else 8

# normal vs (AF + other), noisy records dropped
idx, y = binary_task(data.target, "normal_vs_abnormal")
records = [data.signals[i] for i in idx]
windows, y_win, groups = segment_records(records, window=9 * int(data.fs), y=y,
                                         groups=data.groups[idx])
print(f"{len(records)} records -> {len(windows)} windows of 9 s")

# %%
# Two estimators, the same folds, both levels of scoring.
memory = mkdtemp(prefix="sklearn_biodiff_cv_")
estimators = {
    "ST + LR": make_pipeline(ScatteringFeatures(fs=data.fs), StandardScaler(),
                             LogisticRegression(C=0.01, max_iter=2000), memory=memory),
    "DACL": make_dacl_pipeline(scattering={"fs": data.fs},
                               vae={"max_epochs": 2 * EPOCHS},
                               dacl={"max_epochs": EPOCHS, "lr": 1e-3, "batch_size": 128},
                               memory=memory, keep_features=False, random_state=0),
}
cv = make_grouped_cv(5, random_state=0)
scores = {}
for name, est in estimators.items():
    for level in ("window", "patient"):
        res = grouped_cross_validate(est, windows, y_win, groups=groups, cv=cv,
                                     patient_level="mean" if level == "patient" else None)
        scores[name, level] = res["test_score"]
        print(f"{name:8s} {level:8s} AUROC {res['test_score'].mean():.3f} "
              f"+- {res['test_score'].std():.3f}  (fit {res['fit_time'].sum():.0f} s)")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
labels = [f"{n}\n{lvl}" for n, lvl in scores]
ax.boxplot(list(scores.values()), tick_labels=labels)
ax.set(ylabel="AUROC over 5 grouped folds", title="Window- vs patient-level scoring")
fig.tight_layout()
plt.show()
