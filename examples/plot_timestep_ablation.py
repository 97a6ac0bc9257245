"""
Timestep ablation of DACL with GridSearchCV
===========================================

The DACL paper compares views drawn from early (t = 1-16), middle (17-33), late
(34-50) and all diffusion timesteps. With
:func:`~sklearn_biodiff.model_selection.timestep_ablation_grid` this is one
``GridSearchCV`` over ``dacl__t_min``/``dacl__t_max`` with patient-grouped folds.
The pipeline's ``memory`` fits the Scattering Transformer features and the VAE
once per fold; only DACL and the probe are refitted for each range.

Full version: ``SKLEARN_BIODIFF_CINC2017=/path/to/cinc2017.tar.xz python
examples/plot_timestep_ablation.py``.
"""

# %%
import os
from tempfile import mkdtemp

import matplotlib.pyplot as plt
from sklearn.model_selection import GridSearchCV

from sklearn_biodiff.datasets import binary_task, load_cinc2017_sample, load_physionet2017
from sklearn_biodiff.model_selection import make_grouped_cv, timestep_ablation_grid
from sklearn_biodiff.pipeline import make_dacl_pipeline

ARCHIVE = os.environ.get("SKLEARN_BIODIFF_CINC2017")
data = load_physionet2017(ARCHIVE, n_jobs=2) if ARCHIVE else load_cinc2017_sample()
EPOCHS = 40 if ARCHIVE else 8

idx, y = binary_task(data.target, "normal_vs_abnormal")
X = [data.signals[i] for i in idx]
groups = data.groups[idx]

# %%
pipe = make_dacl_pipeline(scattering={"fs": data.fs}, vae={"max_epochs": 2 * EPOCHS},
                          dacl={"max_epochs": EPOCHS, "lr": 1e-3, "batch_size": 128},
                          memory=mkdtemp(prefix="sklearn_biodiff_grid_"),
                          keep_features=False, random_state=0)  # the paper's pipeline
grid = GridSearchCV(pipe, timestep_ablation_grid(n_timesteps=50),
                    cv=make_grouped_cv(5, random_state=0), scoring="roc_auc")
grid.fit(X, y, groups=groups)

names = ["early", "mid", "late", "all"]
res = grid.cv_results_
for i, name in enumerate(names):
    print(f"{name:6s} t={res['param_dacl__t_min'][i]:>2}-{res['param_dacl__t_max'][i]:<2} "
          f"AUROC {res['mean_test_score'][i]:.3f} +- {res['std_test_score'][i]:.3f}  "
          f"fit {res['mean_fit_time'][i]:.1f} s/fold")
print("best:", grid.best_params_)

# %%
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.bar(names, res["mean_test_score"], yerr=res["std_test_score"], capsize=4)
lo = (res["mean_test_score"] - res["std_test_score"]).min()
ax.set(ylim=(max(0.4, lo - 0.05), 1.0), ylabel="AUROC, 5 grouped folds",
       title="DACL timestep ablation")
fig.tight_layout()
plt.show()
