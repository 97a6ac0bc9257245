"""
Noise robustness: AUROC vs SNR for real ECG noise
=================================================

:class:`~sklearn_biodiff.noise.AddNoise` corrupts records at an exact
signal-to-noise ratio (``10 log10(var(signal) / mean(noise^2))``) with white
noise, real baseline wander and muscle artefact from the MIT-BIH Noise Stress
Test Database (bundled), power-line interference, or a mixture.
:func:`~sklearn_biodiff.noise.robustness_curve` scores already-fitted pipelines
on test records corrupted at each SNR, and
:func:`~sklearn_biodiff.noise.plot_robustness_curve` draws the curves.

Here the Scattering Transformer features with a linear probe are compared with
the same probe trained on noise-augmented copies of the training records
(:func:`~sklearn_biodiff.noise.augment_with_noise`).

Full version (all test records of the archive): ``SKLEARN_BIODIFF_CINC2017=
/path/to/cinc2017.tar.xz python examples/plot_noise_robustness.py``; the
benchmark ``benchmarks/bench_robustness.py`` compares every embedder.
"""

# %%
import os

import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_biodiff.datasets import binary_task, load_cinc2017_sample, load_physionet2017
from sklearn_biodiff.feature_extraction import ScatteringFeatures
from sklearn_biodiff.model_selection import grouped_train_test_split
from sklearn_biodiff.noise import (
    AddNoise,
    augment_with_noise,
    plot_robustness_curve,
    robustness_curve,
    summarize_robustness,
)

ARCHIVE = os.environ.get("SKLEARN_BIODIFF_CINC2017")
data = load_physionet2017(ARCHIVE, n_jobs=2) if ARCHIVE else load_cinc2017_sample()
idx, y = binary_task(data.target, "normal_vs_abnormal")
records = [data.signals[i] for i in idx]
train, test = grouped_train_test_split(y, groups=data.groups[idx], test_size=0.3,
                                       random_state=0)
X_tr, X_te = [records[i] for i in train], [records[i] for i in test]
y_tr, y_te = y[train], y[test]

# %%
# One record at 6 dB with each kind of noise.
x = X_te[0][: int(5 * data.fs)]
fig, axes = plt.subplots(5, 1, figsize=(8, 7), sharex=True)
axes[0].plot(x, lw=0.6, color="k")
axes[0].set_ylabel("clean")
for ax, kind in zip(axes[1:], ["gaussian", "baseline_wander", "muscle", "powerline"]):
    noisy = AddNoise(kind=kind, snr_db=6.0, fs=data.fs, random_state=0).fit_transform([x])[0]
    ax.plot(noisy, lw=0.6)
    ax.set_ylabel(kind.replace("_", "\n"), fontsize=8)
axes[-1].set_xlabel("sample (300 Hz)")
fig.tight_layout()

# %%
# Fit on clean records, and on clean + two noisy copies (white, baseline wander,
# muscle and powerline noise mixed with equal power, SNR drawn in 0-24 dB).
def st_probe():
    return make_pipeline(ScatteringFeatures(fs=data.fs), StandardScaler(),
                         LogisticRegression(C=0.01, max_iter=2000))


clean = st_probe().fit(X_tr, y_tr)
noise = AddNoise(kind=("gaussian", "baseline_wander", "muscle", "powerline"),
                 snr_db=(0.0, 24.0), fs=data.fs, random_state=0)
X_aug, y_aug, _ = augment_with_noise(X_tr, y_tr, noise, n_copies=2)
augmented = st_probe().fit(X_aug, y_aug)

# %%
result = robustness_curve({"ST + LR": clean, "ST + LR, noise-augmented": augmented},
                          X_te, y_te, kinds=("gaussian", "baseline_wander", "muscle"),
                          snrs_db=(24, 12, 6, 0) if ARCHIVE else (12, 0), fs=data.fs,
                          random_state=0)
for row in summarize_robustness(result):
    print(f"{row['estimator']:26s} {row['kind']:16s} clean {row['clean']:.3f} "
          f"area {row['area']:.3f}")
plot_robustness_curve(result, ylabel="AUROC")
plt.show()
