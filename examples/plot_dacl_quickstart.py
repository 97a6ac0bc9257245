"""
DACL in a scikit-learn pipeline: linear probe and anomaly score
===============================================================

The whole Diffusion-Augmented Contrastive Learning pipeline of
:func:`~sklearn_biodiff.pipeline.make_dacl_pipeline` (Scattering Transformer
features -> scaler -> :class:`~sklearn_biodiff.feature_extraction.VAELatent` ->
:class:`~sklearn_biodiff.feature_extraction.DACLEmbedder` -> logistic regression)
is fitted with one ``fit(signals, y)`` on raw, variable-length ECG records and
compared with its own first stage. Besides the linear probe, DACL gives an
anomaly score without a classifier: the distance of a record's embedding to the
mean embedding of the normal training records
(:meth:`~sklearn_biodiff.feature_extraction.DACLEmbedder.decision_function`).

Task: normal vs (AF + other), noisy records dropped; patient-grouped 70/30 split
(:func:`~sklearn_biodiff.model_selection.grouped_train_test_split`).

Full version: ``SKLEARN_BIODIFF_CINC2017=/path/to/cinc2017.tar.xz python
examples/plot_dacl_quickstart.py``.
"""

# %%
import os

import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import RocCurveDisplay, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_biodiff.datasets import binary_task, load_cinc2017_sample, load_physionet2017
from sklearn_biodiff.feature_extraction import ScatteringFeatures
from sklearn_biodiff.model_selection import grouped_train_test_split
from sklearn_biodiff.pipeline import make_dacl_pipeline

ARCHIVE = os.environ.get("SKLEARN_BIODIFF_CINC2017")
data = load_physionet2017(ARCHIVE, n_jobs=2) if ARCHIVE else load_cinc2017_sample()
EPOCHS = 40 if ARCHIVE else 20

idx, y = binary_task(data.target, "normal_vs_abnormal")
records = [data.signals[i] for i in idx]
train, test = grouped_train_test_split(y, groups=data.groups[idx], test_size=0.3,
                                       random_state=0)
X_tr, X_te = [records[i] for i in train], [records[i] for i in test]
y_tr, y_te = y[train], y[test]
print(f"{len(X_tr)} training and {len(X_te)} test records")

# %%
# Fit the baseline and the DACL pipeline on the same training records.
baseline = make_pipeline(ScatteringFeatures(fs=data.fs), StandardScaler(),
                         LogisticRegression(C=0.01, max_iter=2000))
dacl = make_dacl_pipeline(scattering={"fs": data.fs},
                          vae={"max_epochs": 2 * EPOCHS, "latent_dim": 32},
                          dacl={"max_epochs": EPOCHS, "lr": 1e-3, "batch_size": 128},
                          keep_features=False, random_state=0)  # the paper's pipeline
baseline.fit(X_tr, y_tr)
dacl.fit(X_tr, y_tr)

# %%
# Three scores of the test records: two linear probes and DACL's prototype
# distance (larger = further from the normal prototype = more abnormal).
scores = {
    "ST features + LR": baseline.predict_proba(X_te)[:, 1],
    "DACL linear probe": dacl.predict_proba(X_te)[:, 1],
    "DACL prototype distance": dacl.named_steps["dacl"].decision_function(
        dacl[:-2].transform(X_te)),
}
fig, ax = plt.subplots(figsize=(4.5, 4.5))
for name, s in scores.items():
    print(f"{name:24s} AUROC {roc_auc_score(y_te, s):.3f}")
    RocCurveDisplay.from_predictions(y_te, s, name=name, ax=ax)
ax.plot([0, 1], [0, 1], "k:", lw=0.8)
ax.set_title("Normal vs abnormal, test records")
fig.tight_layout()
plt.show()
