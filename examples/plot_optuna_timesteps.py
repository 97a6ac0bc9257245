"""
Tuning DACL's timestep range with Optuna
========================================

:func:`~sklearn_biodiff.model_selection.optuna_search` runs an Optuna study over
:class:`~sklearn_biodiff.model_selection.DACLSearchSpace` (``t_min <= t_max``,
margin, learning rate, VAE latent size) with patient-grouped CV, and prunes a trial
after a fold when its running mean is below the median of earlier trials. The study
lives in a SQLite file: calling again with the same ``study_name`` resumes it, and
several processes (or machines, with a PostgreSQL URL) can work on it at once.

Full version: ``SKLEARN_BIODIFF_CINC2017=/path/to/cinc2017.tar.xz python
examples/plot_optuna_timesteps.py``.
"""

# %%
import os
from pathlib import Path
from tempfile import mkdtemp

import matplotlib.pyplot as plt
import optuna

from sklearn_biodiff.datasets import binary_task, load_cinc2017_sample, load_physionet2017
from sklearn_biodiff.model_selection import DACLSearchSpace, make_grouped_cv, optuna_search
from sklearn_biodiff.pipeline import make_dacl_pipeline

ARCHIVE = os.environ.get("SKLEARN_BIODIFF_CINC2017")
data = load_physionet2017(ARCHIVE, n_jobs=2) if ARCHIVE else load_cinc2017_sample()
EPOCHS, N_TRIALS = (40, 20) if ARCHIVE else (8, 6)

idx, y = binary_task(data.target, "normal_vs_abnormal")
X = [data.signals[i] for i in idx]
groups = data.groups[idx]

# %%
work = Path(mkdtemp(prefix="sklearn_biodiff_optuna_"))
storage = f"sqlite:///{work / 'study.db'}"
pipe = make_dacl_pipeline(scattering={"fs": data.fs}, vae={"max_epochs": 2 * EPOCHS},
                          dacl={"max_epochs": EPOCHS, "batch_size": 128},
                          memory=str(work / "cache"), keep_features=False,
                          random_state=0)  # the paper's pipeline: dacl__* parameters
space = DACLSearchSpace(latent_dims=(16, 32))
result = optuna_search(pipe, X, y, space, groups=groups, cv=make_grouped_cv(3),
                       n_trials=N_TRIALS, storage=storage, study_name="dacl-t",
                       random_state=0)
print(f"best AUROC {result.best_score:.3f} with {result.best_params}")

# %%
# Resume: a new call (or another process) on the same storage adds trials.
result = optuna_search(pipe, X, y, space, groups=groups, cv=make_grouped_cv(3),
                       n_trials=2, storage=storage, study_name="dacl-t", random_state=1)
study = result.study
states = [t.state.name for t in study.trials]
print(f"{len(study.trials)} trials: {states.count('COMPLETE')} complete, "
      f"{states.count('PRUNED')} pruned")

# %%
done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8))
sc = ax1.scatter([t.params["dacl__t_min"] for t in done],
                 [t.params["dacl__t_max"] for t in done],
                 c=[t.value for t in done], cmap="viridis", s=40)
fig.colorbar(sc, ax=ax1, label="mean AUROC (3 grouped folds)")
ax1.set(xlabel="t_min", ylabel="t_max", title="sampled timestep ranges")
ax2.plot([t.number for t in done], [t.value for t in done], "o", label="trial")
best_so_far = [max(t.value for t in done if t.number <= d.number) for d in done]
ax2.plot([t.number for t in done], best_so_far, "-", label="best so far")
ax2.set(xlabel="trial", ylabel="AUROC", title="optimisation history")
ax2.legend()
fig.tight_layout()
plt.show()
