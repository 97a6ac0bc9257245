"""Every script in examples/ runs end to end in its reduced mode (bundled sample)."""

import runpy
from pathlib import Path

import matplotlib
import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_in_reduced_mode(script, monkeypatch, tmp_path):
    matplotlib.use("Agg")
    monkeypatch.delenv("SKLEARN_BIODIFF_CINC2017", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    runpy.run_path(str(script), run_name="__main__")
    import matplotlib.pyplot as plt

    assert plt.get_fignums(), f"{script.name} drew no figure"
    plt.close("all")
