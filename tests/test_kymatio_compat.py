import subprocess
import sys

CODE = """
import sys
import scipy
import sklearn_biodiff._kymatio as k
import sklearn_biodiff.feature_extraction  # noqa: F401
loaded_3d = sorted(m for m in sys.modules if m.startswith("kymatio.scattering3d.filter"))
print(scipy.__version__, loaded_3d, k.ScatteringTorch1D.__name__)
"""


def test_kymatio_1d_import_never_loads_3d_module():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[1] == "[]", out
    assert out[2] == "ScatteringTorch1D"


def test_scattering_runs_with_installed_scipy():
    import torch

    from sklearn_biodiff._kymatio import ScatteringTorch1D

    S = ScatteringTorch1D(J=4, shape=256, Q=4)
    out = S(torch.randn(2, 256))
    assert out.shape[0] == 2 and torch.isfinite(out).all()
