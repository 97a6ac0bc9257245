"""Diffusion autoencoder for 1-D signals: LRU semantic encoder + conditional 1-D U-Net."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..diffusion import DiffusionSchedule, q_sample
from .lru import BLOCK, LRUBlock, Workspace, _autocast_on
from .vector_unet import TimeEmbedding

__all__ = ["RHYTHM_PERIODS", "AttentionReducer", "ConditionalUNet1d", "DiffAEModule",
           "SemanticEncoder", "autocorrelation_peak", "centered_frames", "masked_mean_std",
           "rhythm_lags"]

#: the periods (seconds) over which :func:`autocorrelation_peak` looks for a repeat: heart
#: beats from 30 to 300 per minute, the rhythm readouts of ``DiffAEEmbedder``
RHYTHM_PERIODS = (0.2, 2.0)


class AttentionReducer(nn.Module):
    """Any-length sequence -> fixed vector: ``z_i = sum_t softmax_t(W_a X)_it (W_v X)_it``.

    Parameters
    ----------
    in_dim : int
        Width of the sequence.
    out_dim : int
        Size ``C`` of the output vector.

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.modules.diffae import AttentionReducer
    >>> z, S = AttentionReducer(16, 8)(torch.randn(2, 500, 16))
    >>> z.shape, S.shape
    (torch.Size([2, 8]), torch.Size([2, 500, 8]))
    """

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.attn = nn.Linear(in_dim, out_dim)
        self.value = nn.Linear(in_dim, out_dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *,
                workspace: Workspace | None = None):
        """``x`` (B, L, in_dim), ``mask`` (B, L) of valid steps -> ``z`` (B, C), ``S`` (B, L, C).

        Computed as ``z_c = W_v[c] . (sum_t S[t, c] x_t) + b_v[c]`` (the softmax weights
        sum to one over time), with the logits laid out (C, B, L) so that the softmax
        runs along contiguous memory and no (B, L, C) value tensor is formed; equal to
        :meth:`forward_reference` within float32 rounding. ``S`` is a strided view.

        ``workspace`` (inference only, ignored under autograd and autocast): the logits
        and ``S`` live in its buffers (``S`` is then valid until the next call sharing
        it), the attention bias is left out (a constant per output over time, which the
        softmax over time cancels) and only the padded tail of each row is masked,
        ``mask`` being valid frames first, then padding (as
        :meth:`SemanticEncoder.block_frames` returns it).
        """
        n_batch, n, d = x.shape
        if workspace is not None and not torch.is_grad_enabled() and not _autocast_on(x):
            return self._forward_inference(x, mask, workspace)
        # logits (C, B, L): one GEMM over every frame, the softmax on contiguous rows
        logits = torch.addmm(self.attn.bias[:, None], self.attn.weight, x.reshape(-1, d).T)
        logits = logits.reshape(-1, n_batch, n)
        if mask is not None:
            logits = logits.masked_fill_(~mask[None], float("-inf"))
        s = torch.softmax(logits, dim=-1).permute(1, 0, 2)  # (B, C, L), a view
        return self._pool(x, s)

    def _forward_inference(self, x: torch.Tensor, mask: torch.Tensor | None,
                           workspace: Workspace):
        """:meth:`forward` with ``workspace``: buffers, no bias, tails masked."""
        n_batch, n, d = x.shape
        c = self.attn.weight.shape[0]
        logits = torch.mm(self.attn.weight, x.reshape(-1, d).T,
                          out=workspace.get("reducer_logits", (c, n_batch * n), like=x))
        logits = logits.view(c, n_batch, n)
        if mask is not None:
            valid = mask.sum(dim=1).tolist()
            for row, v in enumerate(valid):
                if v < n:
                    logits[:, row, v:] = float("-inf")
        s = torch.ops.aten._softmax.out(logits, -1, False,
                                        out=workspace.get("reducer_weights", (c, n_batch, n),
                                                          like=x))
        return self._pool(x, s.permute(1, 0, 2))

    def _pool(self, x: torch.Tensor, s: torch.Tensor):
        """``z`` from the weights ``s`` (B, C, L) and ``x`` (B, L, in_dim); ``(z, S)``."""
        pooled = torch.bmm(s, x)  # (B, C, in_dim): sum_t S[t, c] x_t
        z = (pooled * self.value.weight).sum(dim=-1) + self.value.bias
        return z, s.transpose(1, 2)

    def forward_reference(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        """:meth:`forward` as it was before issue 34 (tests and benchmarks compare)."""
        a = self.attn(x)
        if mask is not None:
            a = a.masked_fill(~mask[..., None], float("-inf"))
        s = torch.softmax(a, dim=1)
        return (s * self.value(x)).sum(dim=1), s


def conv1d_as_gemm(conv: nn.Conv1d, x: torch.Tensor, workspace: Workspace) -> torch.Tensor:
    """``conv(x)`` for inference as one GEMM per record, into ``workspace``'s buffer.

    ``x`` (B, C, L) is unfolded into (B, C * kernel, L_out) windows (a copy
    ``kernel / stride`` times the size of ``x``), and each record's output is
    ``weight (C_out, C * kernel) @ windows + bias``: the same products summed in the
    same order as a direct convolution, several times faster than the library's
    convolution when ``C * kernel`` is small (the stem's first layer: one lead, kernel
    5). Zero padding, no dilation, one group; anything else goes to ``conv`` itself.

    Returns
    -------
    Tensor of shape (B, C_out, L_out)
        A view of the workspace's ``"stem_conv1"`` buffer (valid until the next call
        sharing the workspace).
    """
    if (isinstance(conv.padding, str) or conv.groups != 1 or conv.dilation != (1,)
            or conv.padding_mode != "zeros"):
        return conv(x)
    (k,), (stride,), (pad,) = conv.kernel_size, conv.stride, conv.padding
    n_batch, n_ch, n = x.shape
    xp = nn.functional.pad(x, (pad, pad)) if pad else x.contiguous()
    n_out = (n + 2 * pad - k) // stride + 1
    # windows[b, c, j, t] = xp[b, c, stride * t + j], copied to (B, C * k, L_out)
    windows = xp.as_strided((n_batch, n_ch, k, n_out),
                            (xp.stride(0), xp.stride(1), 1, stride)).reshape(
                                n_batch, n_ch * k, n_out)
    weight = conv.weight.reshape(conv.out_channels, n_ch * k)
    bias = (conv.bias if conv.bias is not None else weight.new_zeros(conv.out_channels))
    out = workspace.get("stem_conv1", (n_batch, conv.out_channels, n_out), like=x)
    for row in range(n_batch):
        torch.addmm(bias[:, None], weight, windows[row], out=out[row])
    return out


class SemanticEncoder(nn.Module):
    """Strided conv stem -> LRU blocks -> attention reducer.

    Parameters
    ----------
    embedding_dim : int
    width : int
        Channels of the stem and LRU blocks.
    n_layers : int
        LRU blocks.
    stride : int
        Total downsampling of the stem (two convolutions; 8 turns 300 Hz into 37.5 Hz).
    dropout : float
    in_channels : int, default=1
        Leads of the input; the first convolution mixes them.

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.modules.diffae import SemanticEncoder
    >>> z, S = SemanticEncoder(embedding_dim=32, width=16, n_layers=1)(torch.randn(2, 3000))
    >>> z.shape
    torch.Size([2, 32])
    """

    def __init__(self, embedding_dim: int = 128, width: int = 64, n_layers: int = 4,
                 stride: int = 8, dropout: float = 0.0, in_channels: int = 1):
        super().__init__()
        s1 = 2 if stride % 2 == 0 and stride > 1 else 1
        s2 = stride // s1
        self.stride = stride
        self.s1 = s1
        self.conv1 = nn.Conv1d(in_channels, width // 2, 2 * s1 + 1, stride=s1, padding=s1)
        self.conv2 = nn.Conv1d(width // 2, width, 2 * s2 + 1, stride=s2, padding=s2)
        self.blocks = nn.Sequential(*[LRUBlock(width, dropout=dropout) for _ in range(n_layers)])
        self.norm = nn.LayerNorm(width)
        self.reducer = AttentionReducer(width, embedding_dim)

    def n_frames(self, lengths: torch.Tensor) -> torch.Tensor:
        """Valid frames after the stem for records of ``lengths`` samples."""
        return -(-lengths // self.stride)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None):
        """``x`` (B, C, L), or (B, L) for one lead -> ``z`` (B, embedding_dim), ``S``.

        ``S`` (B, L', embedding_dim) holds the attention weights over the frames.
        """
        return self.reducer(*self.frames(x, lengths))

    def frames(self, x: torch.Tensor, lengths: torch.Tensor | None = None):
        """The features the reducer pools: ``h`` (B, L', width) and ``mask`` (B, L').

        ``mask`` marks the frames of each record's own samples (None without
        ``lengths``: every frame is valid).
        """
        hs, mask = self.block_frames(x, lengths)
        return hs[-1], mask

    def block_frames(self, x: torch.Tensor, lengths: torch.Tensor | None = None, *,
                     padded: bool = False, workspace: Workspace | None = None):
        """Every LRU block's output, then the features the reducer pools, and ``mask``.

        Parameters
        ----------
        x : tensor of shape (B, C, L) or (B, L)
        lengths : int tensor of shape (B,) or None
            Samples of each record (the rest of its row is padding); None: all valid.
        padded : bool, default=False
            Pad the frames once to a multiple of the LRU block (``L''``) before the
            blocks and return them so, with ``mask`` covering the padding (forward
            hooks on the blocks then see the padded frames): the pooled statistics
            and the reducer give the same results as on ``L'`` frames, and no LRU
            copies its input to pad it. ``transform`` uses it.
        workspace : Workspace or None
            Inference only: buffers for the blocks' intermediate activations, reused
            across calls (a new one per call when None and autograd is off).

        Returns
        -------
        hs : list of ``n_layers + 1`` tensors of shape (B, L', width)
            The output of each LRU block in order, then the layer-normalised output
            of the last one (what :meth:`frames` returns). (B, L'', width) with
            ``padded=True``.
        mask : bool tensor of shape (B, L') or None
            As in :meth:`frames`; (B, L'') and never None when ``padded=True`` and
            frames were added.
        """
        x = x[:, None, :] if x.dim() == 2 else x
        if workspace is None and not torch.is_grad_enabled():
            workspace = Workspace()
        if torch.is_grad_enabled() or _autocast_on(x):
            h = nn.functional.gelu(self.conv1(x))
        else:  # few input channels: a GEMM per record beats the library's convolution
            h = torch.ops.aten.gelu_(conv1d_as_gemm(self.conv1, x, workspace))
        mask = None
        if lengths is not None:  # zero the padded tail so it looks like the conv's padding
            valid = -(-lengths // self.s1)
            if torch.is_grad_enabled():
                h = h * (torch.arange(h.shape[-1], device=h.device)[None, :]
                         < valid[:, None])[:, None]
            else:  # only the tails are touched
                for row, v in enumerate(valid.tolist()):
                    if v < h.shape[-1]:
                        h[row, :, v:] = 0
        h = self.conv2(h)
        n_frames = h.shape[-1]
        pad = -n_frames % BLOCK if padded else 0
        # token-major for the blocks; padded once to a multiple of the LRU block if
        # asked (the blocks are causal in time, so the padding never reaches valid
        # frames), else each LRU pads its own input
        if pad:
            h = nn.functional.pad(h, (0, pad))
        if workspace is not None and not torch.is_grad_enabled():
            h = workspace.get("stem_frames", (h.shape[0], h.shape[2], h.shape[1]),
                              like=h).copy_(h.transpose(1, 2))
        else:
            h = h.transpose(1, 2).contiguous()
        if lengths is not None:
            frames = self.n_frames(lengths)
            mask = torch.arange(h.shape[1], device=h.device)[None, :] < frames[:, None]
        elif pad:
            mask = (torch.arange(h.shape[1], device=h.device) < n_frames)[None, :].expand(
                h.shape[0], -1)
        hs = []
        for block in self.blocks:
            h = block(h, workspace)
            hs.append(h)
        hs.append(self.norm(h))
        return hs, mask

    def block_frames_reference(self, x: torch.Tensor, lengths: torch.Tensor | None = None):
        """:meth:`block_frames` as it was before issue 34 (chunked scan, no padding)."""
        h = nn.functional.gelu(self.conv1(x[:, None, :] if x.dim() == 2 else x))
        mask = None
        if lengths is not None:
            valid = -(-lengths // self.s1)
            h = h * (torch.arange(h.shape[-1], device=h.device)[None, :] < valid[:, None])[:, None]
        h = self.conv2(h).transpose(1, 2)
        if lengths is not None:
            frames = self.n_frames(lengths)
            mask = torch.arange(h.shape[1], device=h.device)[None, :] < frames[:, None]
        hs = []
        for block in self.blocks:
            h = block.forward_reference(h)
            hs.append(h)
        return [*hs, self.norm(h)], mask

    def forward_reference(self, x: torch.Tensor, lengths: torch.Tensor | None = None):
        """:meth:`forward` as it was before issue 34 (tests and benchmarks compare)."""
        hs, mask = self.block_frames_reference(x, lengths)
        return self.reducer.forward_reference(hs[-1], mask)


def centered_frames(h: torch.Tensor, mask: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(mean, deviations, counts)`` of each feature over the valid frames.

    ``mean`` (B, width); ``deviations`` (B, L, width), ``h - mean`` on the valid frames
    and 0 on the others; ``counts`` (B, 1), the valid frames. What
    :func:`masked_mean_std` and :func:`autocorrelation_peak` both start from, so that a
    readout that takes both centres each feature set once.
    """
    w = (torch.ones(h.shape[:2], dtype=h.dtype, device=h.device) if mask is None
         else mask.to(h.dtype))
    n = w.sum(dim=1, keepdim=True)
    mean = torch.bmm(w[:, None, :], h)[:, 0] / n  # one GEMV pass over h
    return mean, (h - mean[:, None]).mul_(w[..., None]), n


def masked_mean_std(h: torch.Tensor, mask: torch.Tensor | None = None, *,
                    centered: tuple | None = None) -> torch.Tensor:
    """Mean and standard deviation over time of each feature, valid frames only.

    Parameters
    ----------
    h : tensor of shape (B, L, width)
    mask : bool tensor of shape (B, L) or None
        Valid frames (at least one per row); None: all.
    centered : tuple or None
        :func:`centered_frames` of ``h`` and ``mask``, when already computed.

    Returns
    -------
    tensor of shape (B, 2 * width)
        The means, then the (population) standard deviations.

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.modules.diffae import masked_mean_std
    >>> h = torch.tensor([[[1.0], [3.0], [100.0]]])
    >>> masked_mean_std(h, torch.tensor([[True, True, False]]))
    tensor([[2., 1.]])
    """
    mean, dev, n = centered if centered is not None else centered_frames(h, mask)
    # the sum of squares over contiguous rows: faster than a norm along the strided axis
    return torch.cat([mean, (dev.square().sum(dim=1) / n).sqrt_()], dim=1)


def rhythm_lags(frame_rate: float, periods: tuple[float, float] = RHYTHM_PERIODS
                ) -> tuple[int, int]:
    """The lags in frames, ``(min_lag, max_lag)``, that cover ``periods`` seconds.

    Parameters
    ----------
    frame_rate : float
        Frames per second of the features (the encoder's: ``model_fs / encoder_stride``).
    periods : (float, float), default=RHYTHM_PERIODS
        Shortest and longest period, in seconds.

    Returns
    -------
    (int, int)
        ``ceil(periods[0] * frame_rate)`` (at least 1) and
        ``max(floor(periods[1] * frame_rate), min_lag)``.

    Examples
    --------
    >>> from sklearn_biodiff.modules.diffae import rhythm_lags
    >>> rhythm_lags(300 / 8)
    (8, 75)
    """
    lo, hi = periods
    if not 0 < lo <= hi:
        raise ValueError(f"periods must satisfy 0 < shortest <= longest, got {periods!r}.")
    # a hair of tolerance, so that 0.2 s at 37.5 frames/s is 7.5 -> 8 and 75.0 stays 75
    min_lag = max(1, math.ceil(lo * frame_rate - 1e-9))
    return min_lag, max(math.floor(hi * frame_rate + 1e-9), min_lag)


def _fft_size(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= ``n`` (sizes the FFT is fast for)."""
    best = 1 << max(n - 1, 0).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def autocorrelation_peak(h: torch.Tensor, mask: torch.Tensor | None = None, *,
                         min_lag: int, max_lag: int, centered: tuple | None = None
                         ) -> torch.Tensor:
    """How strongly each feature repeats itself in time: its autocorrelation's peak.

    For each feature ``c`` of a record, with ``d_t`` its deviation from its mean over
    the valid frames (zero elsewhere), the normalised autocorrelation at lag ``k`` is
    ``r(k) = sum_t d_t d_{t+k} / sum_t d_t^2`` (the biased estimator, within [-1, 1]),
    and the result is ``max r(k)`` over ``min_lag <= k <= max_lag``. A feature that
    follows regular beats peaks near 1 at the beat period; an irregular rhythm (atrial
    fibrillation) or noise gives a lower peak, whatever the heart rate. Computed with
    one real FFT per record and feature (linear, not circular, correlation).

    Parameters
    ----------
    h : tensor of shape (B, L, width)
    mask : bool tensor of shape (B, L) or None
        Valid frames; None: all.
    min_lag, max_lag : int
        Lags in frames, ``1 <= min_lag <= max_lag`` (:func:`rhythm_lags` turns periods
        in seconds into them). Lags past a record's length have ``r = 0``.
    centered : tuple or None
        :func:`centered_frames` of ``h`` and ``mask``, when already computed.

    Returns
    -------
    tensor of shape (B, width)
        0 for a feature that is constant over the record.

    Examples
    --------
    >>> import math, torch
    >>> from sklearn_biodiff.modules.diffae import autocorrelation_peak
    >>> t = torch.arange(400.0)
    >>> h = torch.stack([torch.sin(2 * math.pi * t / 25), torch.randn(400)], -1)[None]
    >>> peak = autocorrelation_peak(h, min_lag=10, max_lag=40)
    >>> bool(peak[0, 0] > 0.9), bool(peak[0, 1] < 0.3)
    (True, True)
    """
    if not 1 <= min_lag <= max_lag:
        raise ValueError(f"need 1 <= min_lag <= max_lag, got {min_lag} and {max_lag}.")
    n_frames = h.shape[1]
    dev = (centered if centered is not None else centered_frames(h, mask))[1]
    size = _fft_size(n_frames + max_lag)  # no wrap-around up to max_lag
    spectrum = torch.fft.rfft(dev, n=size, dim=1)
    power = spectrum.real.square().add_(spectrum.imag.square())
    acf = torch.fft.irfft(power, n=size, dim=1)[:, : max_lag + 1]
    energy = acf[:, 0]
    peak = acf[:, min_lag:].amax(dim=1)
    # exactly zero for a constant feature (its deviations and spectrum are zero)
    return torch.where(energy > 0, peak / energy.clamp_min(torch.finfo(h.dtype).tiny),
                       torch.zeros_like(peak))


class _ResBlock(nn.Module):
    """GroupNorm residual block; ``h = (1 + z_s) * (GN(h) * (1 + t_s) + t_b)``."""

    def __init__(self, c_in: int, c_out: int, t_dim: int, z_dim: int, groups: int = 8):
        super().__init__()
        self.norm1 = nn.GroupNorm(math.gcd(groups, c_in), c_in)
        self.conv1 = nn.Conv1d(c_in, c_out, 3, padding=1)
        self.norm2 = nn.GroupNorm(math.gcd(groups, c_out), c_out)
        self.t_proj = nn.Linear(t_dim, 2 * c_out)
        self.z_proj = nn.Linear(z_dim, c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, t_emb, z):
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        t_s, t_b = self.t_proj(t_emb)[..., None].chunk(2, dim=1)
        z_s = self.z_proj(z)[..., None]
        h = (1 + z_s) * (self.norm2(h) * (1 + t_s) + t_b)
        return self.skip(x) + self.conv2(nn.functional.silu(h))


class ConditionalUNet1d(nn.Module):
    """1-D U-Net predicting the added noise, conditioned on timestep and embedding.

    A strided stem (``stem_stride``) keeps the full-rate work to one convolution
    each way; each level has one residual block, levels are joined by stride-2
    convolutions and nearest upsampling, skips are concatenated.

    Parameters
    ----------
    channels : tuple of int
        Width per level.
    z_dim : int
        Size of the conditioning embedding.
    time_dim : int
    stem_stride : int
    in_channels : int, default=1
        Leads of the signal (in and out).

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.modules.diffae import ConditionalUNet1d
    >>> unet = ConditionalUNet1d(channels=(8, 16), z_dim=4, time_dim=16)
    >>> unet(torch.randn(2, 96), torch.tensor([1, 500]), torch.randn(2, 4)).shape
    torch.Size([2, 96])
    """

    def __init__(self, channels=(32, 64, 128), z_dim: int = 128, time_dim: int = 128,
                 stem_stride: int = 4, in_channels: int = 1):
        super().__init__()
        self.channels = tuple(channels)
        self.stem_stride = stem_stride
        self.time = TimeEmbedding(time_dim)
        c0 = self.channels[0]
        self.stem = nn.Conv1d(in_channels, c0, 2 * stem_stride + 1, stride=stem_stride,
                              padding=stem_stride)
        self.down = nn.ModuleList()
        self.pool = nn.ModuleList()
        prev = c0
        for i, c in enumerate(self.channels):
            self.down.append(_ResBlock(prev, c, time_dim, z_dim))
            if i < len(self.channels) - 1:
                self.pool.append(nn.Conv1d(c, c, 3, stride=2, padding=1))
            prev = c
        self.mid = _ResBlock(prev, prev, time_dim, z_dim)
        self.up = nn.ModuleList()
        for c in reversed(self.channels):
            self.up.append(_ResBlock(prev + c, c, time_dim, z_dim))
            prev = c
        self.head = nn.Sequential(nn.GroupNorm(math.gcd(8, c0), c0), nn.SiLU(),
                                  nn.ConvTranspose1d(c0, in_channels, 2 * stem_stride,
                                                     stride=stem_stride,
                                                     padding=stem_stride // 2))

    @property
    def multiple(self) -> int:
        """Input lengths must be multiples of this."""
        return self.stem_stride * 2 ** (len(self.channels) - 1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``x`` (B, C, L), or (B, L) for one lead, with L a multiple of :attr:`multiple`.

        Returns the noise estimate, shaped like ``x``.
        """
        t_emb = self.time(t)
        single = x.dim() == 2
        h = self.stem(x[:, None, :] if single else x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, t_emb, z)
            skips.append(h)
            if i < len(self.pool):
                h = self.pool[i](h)
        h = self.mid(h, t_emb, z)
        for block in self.up:
            skip = skips.pop()
            if h.shape[-1] != skip.shape[-1]:
                h = nn.functional.interpolate(h, size=skip.shape[-1], mode="nearest")
            h = block(torch.cat([h, skip], dim=1), t_emb, z)
        out = self.head(h)[..., : x.shape[-1]]
        return out[:, 0] if single else out


class DiffAEModule(nn.Module):
    """Semantic encoder + conditional denoiser trained on noise prediction.

    ``forward(x0)`` (training) returns ``(eps_hat, eps)``; with a second view
    ``x_view`` of each crop (and ``projection_dim > 0``) it also returns the
    projections of both views' embeddings for a contrastive term. Signals are
    ``(B, in_channels, L)``; one lead may also be given as ``(B, L)``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_biodiff.modules.diffae import DiffAEModule
    >>> module = DiffAEModule(embedding_dim=8, encoder_width=8, encoder_layers=1,
    ...                       unet_channels=(8, 16), n_timesteps=50)
    >>> eps_hat, eps = module(torch.randn(2, 640))
    >>> eps_hat.shape == eps.shape
    True
    """

    def __init__(self, embedding_dim: int = 128, encoder_width: int = 64,
                 encoder_layers: int = 4, encoder_stride: int = 8,
                 unet_channels=(32, 64, 128), unet_stem_stride: int = 4,
                 n_timesteps: int = 1000, schedule: str = "linear", dropout: float = 0.0,
                 projection_dim: int = 0, in_channels: int = 1, n_classes: int = 0):
        super().__init__()
        self.encoder = SemanticEncoder(embedding_dim, encoder_width, encoder_layers,
                                       encoder_stride, dropout, in_channels=in_channels)
        self.denoiser = ConditionalUNet1d(unet_channels, embedding_dim, 128, unet_stem_stride,
                                          in_channels=in_channels)
        self.schedule = DiffusionSchedule(schedule, n_timesteps)
        self.n_timesteps = n_timesteps
        # a projection head for the contrastive term only (SimCLR-style): the
        # embedding z keeps what the head discards; not part of saved checkpoints
        # a linear classification head on z, for label-aware training only (like the
        # projector, not part of saved checkpoints)
        self.classifier = nn.Linear(embedding_dim, n_classes) if n_classes else None
        self.projector = None
        if projection_dim:
            self.projector = nn.Sequential(nn.Linear(embedding_dim, embedding_dim), nn.ReLU(),
                                           nn.Linear(embedding_dim, projection_dim))

    #: ``forward`` takes a shard of a global batch (see ``nets/_distributed.py``)
    shardable_input = "x0"
    #: what ``compile`` compiles: the U-Net (inductor fails on the LRU's complex scan)
    compile_targets = ("denoiser",)

    def forward(self, x0: torch.Tensor, x_enc: torch.Tensor | None = None,
                x_view: torch.Tensor | None = None, shard: torch.Tensor | None = None,
                embeddings: bool = False, denoise: bool = True):
        """Noise-prediction pair ``(eps_hat, eps)`` for clean crops ``x0`` (B, C, L).

        ``x_enc`` (like ``x0``), optional: what the encoder sees instead of ``x0`` (a
        corrupted copy, for noise-robust embeddings); the target stays ``x0``.
        ``x_view`` (B, L'), optional: another view of each record (another crop,
        other noise); then ``(eps_hat, eps, p, p_view)`` with the projected
        embeddings of both views.
        ``embeddings=True`` (label-aware fine-tuning, needs ``x_view``): then
        ``(eps_hat, eps, p, p_view, z, z_view)``, with the embeddings of both views
        (``p`` and ``p_view`` are None without a projection head). ``denoise=False``
        (with ``embeddings=True``) skips the denoiser: ``eps_hat`` and ``eps`` are None.
        ``shard`` (B, 2) int64, optional: ``x0`` holds rows ``shard[:, 0]`` of a
        global batch of ``shard[0, 1]`` rows split over processes; the timesteps
        and the noise are drawn for the whole global batch and these rows kept,
        so every process sees the draws of a one-process run.
        """
        z, _ = self.encoder(x0 if x_enc is None else x_enc)
        if not denoise:
            if not embeddings:
                raise ValueError("denoise=False leaves only the embeddings: pass "
                                 "embeddings=True and x_view")
            z_view, _ = self.encoder(x_view)
            p, p_view = ((None, None) if self.projector is None
                         else (self.projector(z), self.projector(z_view)))
            return None, None, p, p_view, z, z_view
        if shard is None:
            t = torch.randint(1, self.n_timesteps + 1, (x0.shape[0],), device=x0.device)
            eps = torch.randn_like(x0)
        else:
            if x_view is not None:
                raise ValueError("the contrastive terms compare every pair of the global "
                                 "batch and cannot be sharded over processes: train them in "
                                 "one process (contrastive_weight=0, and supervised_weight=0 "
                                 "or no y, shard).")
            n, rows = int(shard[0, 1]), shard[:, 0].to(x0.device)
            t = torch.randint(1, self.n_timesteps + 1, (n,), device=x0.device)[rows]
            eps = torch.randn((n, *x0.shape[1:]), dtype=x0.dtype, device=x0.device)[rows]
        eps_hat = self.denoiser(q_sample(x0, t, eps, self.schedule), t, z)
        if x_view is None:
            if embeddings:
                raise ValueError("embeddings=True compares two views: pass x_view")
            return eps_hat, eps
        if self.projector is None and not embeddings:
            raise ValueError("a second view needs projection_dim > 0")
        z_view, _ = self.encoder(x_view)
        if self.projector is None:
            p = p_view = None
        else:
            p, p_view = self.projector(z), self.projector(z_view)
        return (eps_hat, eps, p, p_view, z, z_view) if embeddings else (eps_hat, eps, p, p_view)

    @torch.no_grad()
    def ddim_decode(self, z: torch.Tensor, length: int, n_steps: int = 50,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """Deterministic DDIM sampling (eta = 0) from noise, conditioned on ``z``.

        Returns (B, in_channels, length); ``length`` is padded internally to a
        multiple of the U-Net's downsampling.
        """
        m = self.denoiser.multiple
        padded = -(-length // m) * m
        channels = self.denoiser.stem.in_channels
        x = torch.randn(z.shape[0], channels, padded, generator=generator,
                        device="cpu").to(z.device)
        steps = torch.linspace(self.n_timesteps, 1, n_steps).round().long().unique_consecutive()
        for i, t in enumerate(steps.tolist()):
            t_prev = steps[i + 1].item() if i + 1 < len(steps) else 0
            tt = torch.full((z.shape[0],), t, device=z.device, dtype=torch.long)
            eps = self.denoiser(x, tt, z)
            a_t = self.schedule.abar(t)
            a_prev = self.schedule.abar(t_prev)
            x0 = (x - (1 - a_t).sqrt() * eps) / a_t.sqrt()
            x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
        return x[..., :length]
