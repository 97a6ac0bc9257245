"""The one import of kymatio.

kymatio 0.3.0's package import ``kymatio.torch`` also loads its 3-D harmonic
scattering, whose filter bank imports ``scipy.special.sph_harm`` (removed in
SciPy 1.17). We only need 1-D scattering, so we import the 1-D torch frontend
module directly: the 3-D module is never loaded and no upper bound on SciPy is
needed. ``tests/test_kymatio_compat.py`` checks both facts in a fresh interpreter.
"""

from kymatio.scattering1d.frontend.torch_frontend import ScatteringTorch1D

__all__ = ["ScatteringTorch1D"]
