"""Every script in examples/ runs end to end in its reduced mode (bundled sample).

The three longest examples (each over a minute on two cores) are marked ``slow``, so the
default test run leaves them out; CI still runs every example, those three included, in
the Sphinx gallery build (``abort_on_example_error``), and ``pytest -m slow`` runs them
here.
"""

import runpy
from pathlib import Path

import matplotlib
import pytest

#: over a minute each in reduced mode; run by the gallery build in CI and by -m slow
SLOW = {"plot_timestep_ablation", "plot_optuna_timesteps", "plot_grouped_cv"}
EXAMPLES = [pytest.param(p, marks=pytest.mark.slow) if p.stem in SLOW else p
            for p in sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))]


def test_slow_examples_exist():
    names = {p.stem for p in (Path(__file__).resolve().parents[1] / "examples").glob("*.py")}
    assert SLOW <= names, f"renamed or removed examples in SLOW: {SLOW - names}"


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_in_reduced_mode(script, monkeypatch, tmp_path):
    matplotlib.use("Agg")
    monkeypatch.delenv("SKLEARN_BIODIFF_CINC2017", raising=False)
    monkeypatch.delenv("SKLEARN_BIODIFF_WFDB_DB", raising=False)  # full version of one
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    runpy.run_path(str(script), run_name="__main__")
    import matplotlib.pyplot as plt

    figures = [plt.figure(n) for n in plt.get_fignums()]
    assert figures, f"{script.name} drew no figure"
    for fig in figures:
        plotted = [_finite_data(ax) for ax in fig.axes]
        assert any(plotted), f"{script.name}: figure {fig.number} shows no finite data"
    plt.close("all")


def _finite_data(ax) -> bool:
    """Whether an axes shows data: a line, scatter, bar or image with finite values."""
    import numpy as np

    for line in ax.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        if y.size and np.isfinite(y).any():
            return True
    for coll in ax.collections:
        offsets = np.asarray(coll.get_offsets(), dtype=float)
        if offsets.size and np.isfinite(offsets).all() and len(offsets) > 1:
            return True
        if any(len(path.vertices) for path in coll.get_paths()):
            return True
    if any(np.isfinite(np.asarray(im.get_array(), dtype=float)).any() for im in ax.images):
        return True
    return any(patch.get_height() != 0 for patch in ax.patches if hasattr(patch, "get_height"))
