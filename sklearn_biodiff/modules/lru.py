"""Linear Recurrent Unit (Orvieto et al., 2023) with a blocked parallel scan.

Scans, fastest first: :func:`blocked_scan_channels_first` (the default of
:class:`LRU`: Toeplitz products inside blocks of 16 steps as four real batched
GEMMs on contiguous operands, a log-depth scan across blocks, operators cached
while the weights do not change), :func:`chunked_scan_channels_first` (the
implementation before issue 34, kept as the reference the tests and
``benchmarks/bench_compute_bound.py`` compare against), :func:`linear_scan`
(log-depth elementwise) and :func:`sequential_scan` (a loop, tests only).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

__all__ = ["LRU", "LRUBlock", "ScanOperators", "Workspace", "blocked_scan_channels_first",
           "chunked_scan", "chunked_scan_channels_first", "linear_scan", "scan_operators",
           "sequential_scan"]

#: steps per block of :func:`blocked_scan_channels_first` (measured: 16 beats 8 and 32
#: on one CPU core for widths 32-128, see ``benchmarks/bench_compute_bound.py``)
BLOCK = 16


def _autocast_on(x: torch.Tensor) -> bool:
    """Whether autocast (mixed precision) is active for ``x``'s device."""
    try:
        return torch.is_autocast_enabled(x.device.type)
    except TypeError:  # torch < 2.4
        return (torch.is_autocast_cpu_enabled() if x.device.type == "cpu"
                else torch.is_autocast_enabled())


def linear_scan(lam: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``h_t = lam * h_{t-1} + b_t`` (``h_0 = b_0``) for every ``t``, in log2(L) steps.

    A Hillis-Steele scan: after step ``k`` each ``h_t`` sums ``lam**j b_{t-j}`` for
    ``j < 2**k``; no Python loop over time.

    Parameters
    ----------
    lam : Tensor of shape (H,)
        Diagonal of the recurrence (complex or real).
    b : Tensor of shape (B, L, H)

    Returns
    -------
    Tensor of shape (B, L, H)

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.modules.lru import linear_scan
    >>> linear_scan(torch.tensor([0.5]), torch.ones(1, 4, 1))[0, :, 0].tolist()
    [1.0, 1.5, 1.75, 1.875]
    """
    h = b
    a = lam
    d = 1
    n = b.shape[1]
    while d < n:
        h = torch.cat([h[:, :d], h[:, d:] + a * h[:, :-d]], dim=1)
        a = a * a
        d *= 2
    return h


def chunked_scan(log_lam: torch.Tensor, b: torch.Tensor, chunk: int = 32) -> torch.Tensor:
    """Same recurrence as :func:`linear_scan`, by chunks: matmuls inside, a scan across.

    Inside each chunk of ``K = chunk`` steps the recurrence is a product with an
    upper-triangular Toeplitz matrix, ``h_i = sum_{j<=i} lam**(i-j) b_j``, done as
    batched real matmuls per channel; the chunks' final states are then combined by
    :func:`linear_scan` with multiplier ``lam**K`` (log-depth over ``L / K``
    chunks) and carried into every position by ``lam**(i+1)``. Work is
    ``O(L K H)`` in dense matmuls instead of ``O(L log L H)`` in elementwise
    passes, which is several times faster on CPU.

    Parameters
    ----------
    log_lam : Tensor of shape (H,)
        ``log(lambda)`` (complex or real); powers are ``exp(k * log_lam)``.
    b : Tensor of shape (B, L, H)
    chunk : int, default=32

    Returns
    -------
    Tensor of shape (B, L, H)

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.modules.lru import chunked_scan, sequential_scan
    >>> log_lam = torch.complex(torch.full((4,), -0.1), torch.full((4,), 0.5))
    >>> b = torch.randn(2, 100, 4, dtype=torch.complex64)
    >>> torch.allclose(chunked_scan(log_lam, b), sequential_scan(torch.exp(log_lam), b), atol=1e-4)
    True
    """
    if b.is_complex():
        h_re, h_im = chunked_scan_channels_first(
            log_lam, b.real.permute(2, 0, 1), b.imag.permute(2, 0, 1), chunk)
        return torch.complex(h_re, h_im).permute(1, 2, 0)
    if log_lam.is_complex():
        raise ValueError("a complex log_lam needs a complex b")
    h_re, _ = chunked_scan_channels_first(log_lam, b.permute(2, 0, 1), None, chunk)
    return h_re.permute(1, 2, 0)


def chunked_scan_channels_first(log_lam: torch.Tensor, b_re: torch.Tensor,
                                b_im: torch.Tensor | None, chunk: int = 32):
    """Core of :func:`chunked_scan` on real and imaginary parts of shape (H, B, L).

    Channels first, time last, so that every chunk product is a plain batched
    matmul over ``H`` without transposing the signal; with ``b_im=None`` the
    recurrence is real (``log_lam`` real). Returns ``(h_re, h_im)`` of shape
    (H, B, L) (``h_im`` is ``None`` for a real recurrence).
    """
    h, n_batch, n = b_re.shape
    k = min(chunk, n)
    n_chunks = -(-n // k)
    pad = n_chunks * k - n
    parts = [b_re] if b_im is None else [b_re, b_im]
    if pad:
        parts = [nn.functional.pad(p, (0, pad)) for p in parts]
    parts = [p.reshape(h, n_batch * n_chunks, k) for p in parts]
    steps = torch.arange(k, device=b_re.device)
    diff = steps[None, :] - steps[:, None]  # [j, i] = i - j
    # M[h, j, i] = lam_h ** (i - j) for i >= j, so that out = x @ M
    M = torch.exp(diff.clamp(min=0).to(log_lam.dtype)[None] * log_lam[:, None, None])
    M = M * (diff >= 0).to(M.dtype)
    if b_im is None:
        out = [torch.bmm(parts[0], M)]
    else:  # (x_re + i x_im)(m_re + i m_im), the additions fused into the GEMMs
        x_re, x_im = parts
        m_re, m_im = M.real, M.imag
        out = [torch.baddbmm(torch.bmm(x_re, m_re), x_im, -m_im),
               torch.baddbmm(torch.bmm(x_re, m_im), x_im, m_re)]
    if n_chunks > 1:
        # state entering each chunk, by a log-depth scan over the chunks' last steps
        last = [o.reshape(h, n_batch, n_chunks, k)[..., -1] for o in out]
        ends = last[0] if b_im is None else torch.complex(last[0], last[1])
        ends = linear_scan(torch.exp(k * log_lam), ends.permute(1, 2, 0)).permute(2, 0, 1)
        carry = torch.cat([torch.zeros_like(ends[..., :1]), ends[..., :-1]], dim=-1)
        lam_pow = torch.exp((steps + 1).to(log_lam.dtype)[None] * log_lam[:, None])  # (H, K)
        # out[h, (b, c), i] += carry[h, b, c] * lam_h ** (i + 1), as a rank-1/2 GEMM
        if b_im is None:
            out = [torch.baddbmm(out[0], carry.reshape(h, -1, 1), lam_pow[:, None, :])]
        else:
            c = torch.stack([carry.real, carry.imag], dim=-1).reshape(h, -1, 2)
            p_re, p_im = lam_pow.real, lam_pow.imag
            out = [torch.baddbmm(out[0], c, torch.stack([p_re, -p_im], dim=1)),
                   torch.baddbmm(out[1], c, torch.stack([p_im, p_re], dim=1))]
    out = [o.reshape(h, n_batch, n_chunks * k)[..., :n] for o in out]
    return (out[0], None) if b_im is None else (out[0], out[1])


class ScanOperators(NamedTuple):
    """What :func:`blocked_scan_channels_first` multiplies by, for one ``lambda``.

    ``m_re``, ``m_im``, ``m_im_neg`` (H, K, K): real, imaginary and negated imaginary
    parts of ``M[h, j, i] = lambda_h ** (i - j)`` for ``i >= j`` (0 above), contiguous;
    ``lam_k`` (H,) complex: ``lambda ** K``; ``pow_re``, ``pow_im`` (H, 2, K): the
    carry of the previous block enters step ``i`` as ``lambda ** (i + 1)``, split so
    that ``[c_re, c_im] @ pow_re`` is the real part and ``@ pow_im`` the imaginary
    part.
    """

    m_re: torch.Tensor
    m_im: torch.Tensor
    m_im_neg: torch.Tensor
    lam_k: torch.Tensor
    pow_re: torch.Tensor
    pow_im: torch.Tensor


def scan_operators(log_lam: torch.Tensor, block: int = BLOCK) -> ScanOperators:
    """The :class:`ScanOperators` of a complex ``log_lam`` of shape (H,) for ``block`` steps.

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.modules.lru import scan_operators
    >>> ops = scan_operators(torch.complex(torch.tensor([-0.5]), torch.tensor([0.0])), 4)
    >>> ops.m_re.shape, round(float(ops.m_re[0, 0, 1]), 4)
    (torch.Size([1, 4, 4]), 0.6065)
    """
    steps = torch.arange(block, device=log_lam.device)
    diff = steps[None, :] - steps[:, None]  # [j, i] = i - j
    m = torch.exp(diff.clamp(min=0).to(log_lam.dtype)[None] * log_lam[:, None, None])
    m = m * (diff >= 0).to(m.dtype)
    m_re, m_im = m.real.contiguous(), m.imag.contiguous()
    p = torch.exp((steps + 1).to(log_lam.dtype)[None] * log_lam[:, None])  # (H, K)
    return ScanOperators(m_re, m_im, (-m_im).contiguous(), torch.exp(block * log_lam),
                         torch.stack([p.real, -p.imag], dim=1).contiguous(),
                         torch.stack([p.imag, p.real], dim=1).contiguous())


def _scan_last_axis(lam: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``h_t = lam * h_{t-1} + b_t`` along the last axis of ``h`` (H, B, n), log depth."""
    a = lam[:, None, None]
    d, n = 1, h.shape[-1]
    in_place = not torch.is_grad_enabled()  # autograd keeps the slices the mul reads
    if in_place:
        h = h.clone()
    while d < n:
        if in_place:  # the product is a new tensor, so the overlap is read before written
            h[..., d:].add_(a * h[..., :-d])  # add_ on the view: no setitem copy
        else:
            h = torch.cat([h[..., :d], h[..., d:] + a * h[..., :-d]], dim=-1)
        a = a * a
        d *= 2
    return h


def blocked_scan_channels_first(b_re: torch.Tensor, b_im: torch.Tensor,
                                operators: ScanOperators, *, out: torch.Tensor | None = None):
    """The complex recurrence of :func:`chunked_scan` on (H, B, L) parts, L a multiple of K.

    Inside each block of ``K = operators.m_re.shape[-1]`` steps the recurrence is a
    product with an upper-triangular Toeplitz matrix, done as four real batched
    GEMMs over ``H`` on contiguous operands (``[x_re, x_im] @ [[m_re, m_im],
    [-m_im, m_re]]``); the blocks' last states are combined by a log-depth scan
    with multiplier ``lambda ** K`` and carried into every step of the next block
    as a rank-2 GEMM update. No copy of the input, no Python loop over blocks.
    Differentiable (training uses the same path).

    Parameters
    ----------
    b_re, b_im : Tensor of shape (H, B, L)
        Real and imaginary parts of the input; each must be contiguous in its last
        two axes (slices of one (2H, B, L) tensor are).
    operators : ScanOperators
        From :func:`scan_operators` for the recurrence's ``log(lambda)``.
    out : Tensor of shape (2, H, B * L) or None
        Inference only (no autograd): write the real and imaginary parts there and
        return ``out``.

    Returns
    -------
    x_re, x_im : Tensor of shape (H, B, L)
        Or ``out`` when given.

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.modules.lru import (blocked_scan_channels_first,
    ...     scan_operators, sequential_scan)
    >>> log_lam = torch.complex(torch.full((3,), -0.1), torch.full((3,), 0.5))
    >>> b = torch.randn(2, 64, 3, dtype=torch.complex64)  # (B, L, H)
    >>> x_re, x_im = blocked_scan_channels_first(
    ...     b.real.permute(2, 0, 1).contiguous(), b.imag.permute(2, 0, 1).contiguous(),
    ...     scan_operators(log_lam, 16))
    >>> ref = sequential_scan(torch.exp(log_lam), b).permute(2, 0, 1)
    >>> torch.allclose(torch.complex(x_re, x_im), ref, atol=1e-4)
    True
    """
    h, n_batch, n = b_re.shape
    k = operators.m_re.shape[-1]
    if n % k:
        raise ValueError(f"the length {n} is not a multiple of the block {k}")
    n_blocks = n // k
    x_re = b_re.reshape(h, n_batch * n_blocks, k)
    x_im = b_im.reshape(h, n_batch * n_blocks, k)
    # accumulating in place: bmm and baddbmm keep their operands, not their outputs,
    # for the backward pass, so autograd allows it and no output is copied
    if out is None:
        o_re = torch.bmm(x_re, operators.m_re).baddbmm_(x_im, operators.m_im_neg)
        o_im = torch.bmm(x_re, operators.m_im).baddbmm_(x_im, operators.m_re)
    else:
        o_re = torch.bmm(x_re, operators.m_re, out=out[0].view(h, -1, k))
        o_im = torch.bmm(x_re, operators.m_im, out=out[1].view(h, -1, k))
        o_re.baddbmm_(x_im, operators.m_im_neg)
        o_im.baddbmm_(x_im, operators.m_re)
    if n_blocks > 1:
        ends = torch.complex(o_re[..., -1], o_im[..., -1]).reshape(h, n_batch, n_blocks)
        ends = _scan_last_axis(operators.lam_k, ends)
        carry = torch.cat([torch.zeros_like(ends[..., :1]), ends[..., :-1]], dim=-1)
        c = torch.stack([carry.real, carry.imag], dim=-1).reshape(h, n_batch * n_blocks, 2)
        if out is None and torch.is_grad_enabled():  # the ends above are views
            o_re = torch.baddbmm(o_re, c, operators.pow_re)
            o_im = torch.baddbmm(o_im, c, operators.pow_im)
        else:
            o_re.baddbmm_(c, operators.pow_re)
            o_im.baddbmm_(c, operators.pow_im)
    if out is not None:
        return out
    return o_re.reshape(h, n_batch, n), o_im.reshape(h, n_batch, n)


def sequential_scan(lam: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Reference loop for :func:`linear_scan` (tests only)."""
    out = []
    h = torch.zeros_like(b[:, 0])
    for t in range(b.shape[1]):
        h = lam * h + b[:, t]
        out.append(h)
    return torch.stack(out, dim=1)


class LRU(nn.Module):
    """Complex diagonal linear recurrence with stable exponential parameterisation.

    ``x_t = lambda * x_{t-1} + gamma * (B u_t)``, ``y_t = Re(C x_t) + D * u_t`` with
    ``lambda = exp(-exp(nu_log) + i exp(theta_log))`` (so ``|lambda| < 1``),
    eigenvalues initialised uniformly on the ring ``r_min <= |lambda| <= r_max``
    with phases in ``[0, max_phase]``, and ``gamma = sqrt(1 - |lambda|^2)``
    normalising the input.

    Parameters
    ----------
    d_model : int
        Input and output width.
    d_state : int or None
        Number of complex states (default ``d_model``).
    r_min, r_max : float, default=0.0, 0.99
    max_phase : float, default=2*pi

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.modules.lru import LRU
    >>> LRU(16)(torch.randn(2, 300, 16)).shape
    torch.Size([2, 300, 16])
    """

    def __init__(self, d_model: int, d_state: int | None = None, *, r_min: float = 0.0,
                 r_max: float = 0.99, max_phase: float = 2 * math.pi):
        super().__init__()
        h = d_state or d_model
        u1, u2 = torch.rand(h), torch.rand(h)
        nu = -0.5 * torch.log(u1 * (r_max**2 - r_min**2) + r_min**2)
        self.nu_log = nn.Parameter(torch.log(nu))
        self.theta_log = nn.Parameter(torch.log(max_phase * u2))
        mod = torch.exp(-nu)
        self.gamma_log = nn.Parameter(torch.log(torch.sqrt(1 - mod**2)))
        self.B_re = nn.Parameter(torch.randn(h, d_model) / math.sqrt(2 * d_model))
        self.B_im = nn.Parameter(torch.randn(h, d_model) / math.sqrt(2 * d_model))
        self.C_re = nn.Parameter(torch.randn(d_model, h) / math.sqrt(h))
        self.C_im = nn.Parameter(torch.randn(d_model, h) / math.sqrt(h))
        self.D = nn.Parameter(torch.randn(d_model))

    def log_eigenvalues(self) -> torch.Tensor:
        """``log(lambda) = -exp(nu_log) + i exp(theta_log)`` of shape (d_state,)."""
        return torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log))

    def eigenvalues(self) -> torch.Tensor:
        """``lambda`` of shape (d_state,), complex."""
        return torch.exp(self.log_eigenvalues())

    #: the parameters the scan operators and projections are built from
    _operator_params = ("nu_log", "theta_log", "gamma_log", "B_re", "B_im", "C_re", "C_im")

    def __getstate__(self):
        state = super().__getstate__()
        state = dict(state)
        state.pop("_operator_cache", None)  # derived from the weights, rebuilt on use
        return state

    def operators(self, block: int = BLOCK):
        """``(ScanOperators, w_in, w_out)`` for the blocked path.

        ``w_in`` (2H, d_model) is ``[gamma * B_re; gamma * B_im]``, ``w_out``
        (2H, d_model) is ``[C_re.T; -C_im.T]`` (so ``y = [x_re; x_im].T @ w_out``,
        the real part of ``C x``). Without autograd
        (inference) they are cached and rebuilt only when a parameter changes (its
        storage or version counter), so a loaded network does not rebuild them per
        batch; with autograd they are built fresh, in the graph.
        """
        params = [getattr(self, name) for name in self._operator_params]
        cache_ok = not (torch.is_grad_enabled() and any(p.requires_grad for p in params))
        key = None
        if cache_ok:
            key = (block, torch.is_inference_mode_enabled(),
                   *((id(p), p.data_ptr(), p._version, p.device, p.dtype) for p in params))
            cached = self.__dict__.get("_operator_cache")
            if cached is not None and cached[0] == key:
                return cached[1]
        g = torch.exp(self.gamma_log)[:, None]
        built = (scan_operators(self.log_eigenvalues(), block),
                 torch.cat([self.B_re * g, self.B_im * g]),
                 torch.cat([self.C_re.T, -self.C_im.T]))
        if cache_ok:
            self.__dict__["_operator_cache"] = (key, built)
        return built

    def forward(self, u: torch.Tensor, *, scan: str = "blocked") -> torch.Tensor:
        """``u`` of shape (B, L, d_model) -> (B, L, d_model).

        ``scan``: ``"blocked"`` (:func:`blocked_scan_channels_first`, default),
        ``"chunked"`` (:func:`chunked_scan`, the implementation before issue 34,
        kept as the reference), ``"parallel"`` (:func:`linear_scan`) or
        ``"sequential"`` (reference loop). A length that is a multiple of
        :data:`BLOCK` avoids a padded copy on the blocked path.
        """
        if scan not in ("blocked", "chunked", "parallel", "sequential"):
            raise ValueError("scan must be 'blocked', 'chunked', 'parallel' or 'sequential', "
                             f"got {scan!r}")
        if _autocast_on(u):  # the recurrence stays float32 under mixed precision
            with torch.autocast(device_type=u.device.type, enabled=False):
                return self.forward(u.float(), scan=scan)
        if scan == "blocked":
            return self._forward_blocked(u)
        n_batch, n, d = u.shape
        g = torch.exp(self.gamma_log)[:, None]
        # complex input projection as one real matmul, channels first: (2H, B*L)
        bu = torch.cat([self.B_re * g, self.B_im * g]) @ u.reshape(-1, d).T
        h = self.B_re.shape[0]
        b_re, b_im = bu[:h].reshape(h, n_batch, n), bu[h:].reshape(h, n_batch, n)
        if scan == "chunked":
            x_re, x_im = chunked_scan_channels_first(self.log_eigenvalues(), b_re, b_im)
        else:
            fn = linear_scan if scan == "parallel" else sequential_scan
            x = fn(self.eigenvalues(), torch.complex(b_re, b_im).permute(1, 2, 0))
            x_re, x_im = x.real.permute(2, 0, 1), x.imag.permute(2, 0, 1)
        # y = Re(C x) = C_re x_re - C_im x_im, back to (B, L, d)
        y = self.C_re @ x_re.reshape(h, -1) - self.C_im @ x_im.reshape(h, -1)
        return y.T.reshape(n_batch, n, d) + self.D * u

    def _forward_blocked(self, u: torch.Tensor, workspace: Workspace | None = None
                         ) -> torch.Tensor:
        """:meth:`forward` on the blocked scan: three GEMMs and the scan, no transposes.

        With a ``workspace`` (inference only) the projections and the scan write into
        its buffers instead of fresh allocations, and the output is one of them: use
        it before the next call that shares the workspace.
        """
        n_batch, n, d = u.shape
        pad = -n % BLOCK
        if pad:
            u = nn.functional.pad(u, (0, 0, 0, pad))
        ops, w_in, w_out = self.operators(BLOCK)
        h = w_in.shape[0] // 2
        flat = u.reshape(-1, d)
        n_tok = flat.shape[0]
        if workspace is None:
            bu = torch.mm(w_in, flat.T).reshape(2, h, n_batch, n + pad)  # channels first
            # unbind, not bu[0] and bu[1]: each index's backward would fill a zero
            # tensor of the whole (2, H, B, L) gradient
            x_re, x_im = blocked_scan_channels_first(*bu.unbind(0), ops)
            # y = C_re x_re - C_im x_im + D u, token-major (the GEMMs read x transposed)
            y = torch.mm(x_re.reshape(h, -1).T, w_out[:h])
            y = y.addmm_(x_im.reshape(h, -1).T, w_out[h:]).addcmul_(flat, self.D)
        else:
            bu = torch.mm(w_in, flat.T, out=workspace.get("lru_in", (2 * h, n_tok), like=u))
            x = blocked_scan_channels_first(bu[:h].view(h, n_batch, -1),
                                            bu[h:].view(h, n_batch, -1), ops,
                                            out=workspace.get("lru_state", (2, h, n_tok), like=u))
            y = torch.mm(x.view(2 * h, n_tok).T, w_out,
                         out=workspace.get("lru_out", (n_tok, d), like=u)).addcmul_(flat, self.D)
        y = y.reshape(n_batch, n + pad, d)
        return y[:, :n] if pad else y


class Workspace:
    """Reusable float buffers for inference, so that batches do not allocate afresh.

    Multi-megabyte activations allocated and freed at every layer cost more than
    the arithmetic on one CPU core (the memory comes back cold); a workspace keeps
    one buffer per name, grown on demand, and hands out views of it.

    Examples
    --------
    >>> from sklearn_biodiff.modules.lru import Workspace
    >>> ws = Workspace()
    >>> ws.get("a", (2, 3)).shape
    torch.Size([2, 3])
    >>> ws.get("a", (1, 2)).data_ptr() == ws.get("a", (2, 3)).data_ptr()
    True
    """

    def __init__(self):
        self._buffers: dict[str, torch.Tensor] = {}

    def get(self, name: str, shape: tuple, *, like: torch.Tensor | None = None
            ) -> torch.Tensor:
        """A contiguous tensor of ``shape`` (float32 on the CPU, or ``like``'s) for ``name``."""
        numel = math.prod(shape)
        buf = self._buffers.get(name)
        dtype = torch.float32 if like is None else like.dtype
        device = torch.device("cpu") if like is None else like.device
        if buf is None or buf.numel() < numel or buf.dtype != dtype or buf.device != device:
            buf = torch.empty(numel, dtype=dtype, device=device)
            self._buffers[name] = buf
        return buf[:numel].view(shape)


class LRUBlock(nn.Module):
    """Pre-norm residual block: LayerNorm -> LRU -> GELU -> Linear (GLU) -> dropout.

    Examples
    --------
    >>> import torch
    >>> LRUBlock(16)(torch.randn(2, 300, 16)).shape
    torch.Size([2, 300, 16])
    """

    def __init__(self, d_model: int, *, dropout: float = 0.0, **lru_kwargs):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.lru = LRU(d_model, **lru_kwargs)
        self.out = nn.Linear(d_model, 2 * d_model)
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()

    def forward(self, x: torch.Tensor, workspace: Workspace | None = None) -> torch.Tensor:
        """``x`` (B, L, d_model) -> (B, L, d_model); the LRU on its default (blocked) scan.

        ``workspace`` (inference only, ignored under autograd): intermediate
        activations go to its buffers; the returned tensor is a fresh one.
        """
        if (workspace is None or self.training or torch.is_grad_enabled()
                or _autocast_on(x)):
            h = nn.functional.gelu(self.lru(self.norm(x)))
            # the residual added in place (GLU and dropout keep no output for backward)
            return self.drop(nn.functional.glu(self.out(h), dim=-1)).add_(x)
        n_batch, n, d = x.shape
        h = self.lru._forward_blocked(self.norm(x), workspace)
        h = torch.ops.aten.gelu_(h.reshape(-1, d))
        lin = torch.addmm(self.out.bias, h, self.out.weight.T,
                          out=workspace.get("block_out", (h.shape[0], 2 * d), like=x))
        glu = torch._C._nn.glu(lin, -1, out=workspace.get("block_glu", (h.shape[0], d),
                                                          like=x))
        return torch.add(x, glu.view(n_batch, -1, d)[:, :n])

    def forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` as it was before issue 34 (the chunked scan)."""
        h = nn.functional.gelu(self.lru(self.norm(x), scan="chunked"))
        return x + self.drop(nn.functional.glu(self.out(h), dim=-1))
