"""The one place that touches kymatio.

kymatio 0.3.0's package import ``kymatio.torch`` also loads its 3-D harmonic
scattering, whose filter bank imports ``scipy.special.sph_harm`` (removed in
SciPy 1.17). We only need 1-D scattering, so we import the 1-D torch frontend
module directly: the 3-D module is never loaded and no upper bound on SciPy is
needed. ``tests/test_kymatio_compat.py`` checks both facts in a fresh interpreter.

:class:`DyadicScattering1D` runs kymatio's 1-D scattering on signals that the
caller already padded to a dyadic length, so that records of different lengths
share one filter bank (one module per padded length) and run in one batch.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
from kymatio.frontend.torch_frontend import ScatteringTorch
from kymatio.scattering1d.frontend.base_frontend import ScatteringBase1D
from kymatio.scattering1d.frontend.torch_frontend import ScatteringTorch1D
from kymatio.scattering1d.utils import compute_border_indices

__all__ = ["DyadicScattering1D", "ScatteringTorch1D", "padded_length", "scattering_meta"]


def _q_tuple(Q):
    return tuple(Q) if isinstance(Q, tuple | list) else (int(Q), 1)


@lru_cache(maxsize=4096)
def padded_length(n: int, J: int, Q, T) -> int:
    """Dyadic length kymatio pads a record of ``n`` samples to (its own rule).

    Raises ``ValueError`` from kymatio when ``n`` is too short for ``T``.
    """
    base = ScatteringBase1D(J, n, _q_tuple(Q), T, 2)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Signal support is too small")
        base.build()
    return int(base._N_padded)


def scattering_meta(J: int, Q, T, max_order: int) -> dict:
    """kymatio's description of every coefficient (order, j, xi, n, key)."""
    base = ScatteringBase1D(J, 2 ** (J + 2), _q_tuple(Q), T, max_order)
    base.build()
    return base.meta()


class DyadicScattering1D(ScatteringTorch1D):
    """kymatio scattering of inputs already padded to ``n_padded`` samples.

    No further padding is applied and every output frame is returned:
    input ``(B, n_padded)`` gives ``(B, n_coefficients, n_padded / 2**log2_T)``.

    Parameters
    ----------
    J, Q, T, max_order
        As in :class:`kymatio.torch.Scattering1D`.
    n_padded : int
        A power of two; the length of every input.
    """

    def __init__(self, J, n_padded, Q=1, T=None, max_order=2):
        ScatteringTorch.__init__(self)
        ScatteringBase1D.__init__(self, J, n_padded, _q_tuple(Q), T, max_order,
                                  None, 0, "array", "torch")
        ScatteringBase1D._instantiate_backend(self, "kymatio.scattering1d.backend.")
        with warnings.catch_warnings():
            # short records: kymatio warns that the padded support is small; the
            # frames we keep are those kymatio itself returns for such records
            warnings.filterwarnings("ignore", "Signal support is too small")
            ScatteringBase1D.build(self)
            self._N_padded = int(n_padded)
            self.pad_left = self.pad_right = 0
            self.ind_start, self.ind_end = compute_border_indices(
                self.log2_T, self.J, 0, self._N_padded
            )
            ScatteringBase1D.create_filters(self)
        self.register_filters()

    @property
    def hop(self) -> int:
        """Samples between two output frames (``2**log2_T``)."""
        return 2 ** self.log2_T


def pad_to_dyadic(x: np.ndarray, n_padded: int, hop: int) -> tuple[np.ndarray, int, int]:
    """Reflect-pad one record to ``n_padded`` samples, left pad a multiple of ``hop``.

    Returns the padded record and the first and last (excluded) output frame
    that belong to the record itself.
    """
    n = len(x)
    left = ((n_padded - n) // 2) // hop * hop
    right = n_padded - n - left
    xp = np.pad(x, (left, right), mode="reflect") if n > 1 else np.pad(x, (left, right), "edge")
    first = left // hop
    last = -(-(left + n) // hop)
    return xp, first, last
