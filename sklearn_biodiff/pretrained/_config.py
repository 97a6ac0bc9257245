"""A checkpoint's ``config.json`` and weights header, checked before anything is built.

A checkpoint folder comes from anywhere (a colleague's share, a download), so
nothing in it is trusted until it is checked, and checking costs no more memory
than the files' size:

1. ``config.json`` is read with a size cap, as UTF-8, as a JSON object of bounded
   nesting (:func:`read_config`);
2. its fields are checked for presence, type and range, and the architecture's
   parameter count is computed on PyTorch's ``meta`` device (no memory) and capped
   (:func:`check_config`, :func:`expected_tensors`);
3. the safetensors header (names, shapes, dtypes) is compared with that
   architecture before any tensor is read or converted (:func:`check_weights_header`).

Every failure is a :class:`~sklearn_biodiff.exceptions.CheckpointError` naming the
file, the field and the value.
"""

from __future__ import annotations

import json
import math
import re
from numbers import Integral, Real
from pathlib import Path

from ..exceptions import CheckpointError

__all__ = ["MAX_CONFIG_BYTES", "MAX_PARAMETERS", "check_config", "check_weights_header",
           "expected_tensors", "read_config"]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
#: what ``config["model_type"]`` must say for a DiffAEEmbedder checkpoint
MODEL_TYPE = "sklearn_biodiff.DiffAEEmbedder"
#: the largest ``config.json`` read (the shipped ones are about 100 kB)
MAX_CONFIG_BYTES = 4 << 20
#: the largest architecture built from a config (the shipped one has 0.9 M)
MAX_PARAMETERS = 64_000_000
#: deepest nesting of lists and objects accepted in ``config.json``
MAX_DEPTH = 32
#: storage dtypes of floating-point weights (safetensors names)
FLOAT_DTYPES = {"F32": 4, "F16": 2, "BF16": 2}

#: architecture fields: (type, lowest, highest); each is a DiffAEModule argument
ARCHITECTURE = {
    "in_channels": (Integral, 1, 256),
    "embedding_dim": (Integral, 1, 8192),
    "encoder_width": (Integral, 2, 8192),
    "encoder_layers": (Integral, 0, 256),
    "encoder_stride": (Integral, 1, 4096),
    "unet_stem_stride": (Integral, 1, 4096),
    "n_timesteps": (Integral, 2, 100_000),
    "dropout": (Real, 0.0, 1.0),
}
_REQUIRED_ARCH = ("embedding_dim", "encoder_width", "encoder_layers", "encoder_stride",
                  "unet_channels", "unet_stem_stride", "n_timesteps", "schedule")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _depth(obj, limit: int) -> int:
    """Nesting depth of lists and dicts in ``obj``, stopping past ``limit``."""
    stack, deepest = [(obj, 1)], 0
    while stack:
        node, d = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, d)
            if deepest > limit:
                return deepest
            stack.extend((v, d + 1) for v in (node.values() if isinstance(node, dict)
                                              else node))
    return deepest


def read_config(folder: Path) -> dict:
    """``folder/config.json`` as a dict, read within :data:`MAX_CONFIG_BYTES`.

    Parameters
    ----------
    folder : pathlib.Path

    Returns
    -------
    dict

    Raises
    ------
    CheckpointError
        Missing, too large, not UTF-8, not JSON, too deeply nested, or not a JSON
        object.
    """
    path = Path(folder) / CONFIG_NAME
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise CheckpointError(f"{path} cannot be read: {exc}") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise CheckpointError(
            f"{path} is larger than {MAX_CONFIG_BYTES >> 20} MiB; a checkpoint config is "
            "a small JSON object (architecture, rate, checksum, card): this is not one.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"{path} is not UTF-8 text ({exc}); it is not a "
                              "checkpoint config.") from exc
    try:
        config = json.loads(text)
    except ValueError as exc:  # JSONDecodeError, and integers of over 4300 digits
        raise CheckpointError(f"{path} is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise CheckpointError(f"{path} is nested too deeply to be a checkpoint "
                              "config.") from exc
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} holds a JSON {type(config).__name__}, not the "
                              "object (architecture, model_fs, sha256, ...) of a checkpoint.")
    if _depth(config, MAX_DEPTH) > MAX_DEPTH:
        raise CheckpointError(f"{path} is nested more than {MAX_DEPTH} levels deep; it is "
                              "not a checkpoint config.")
    return config


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _check_field(where: str, key: str, value, kind, lo, hi) -> None:
    ok_type = _is_int(value) if kind is Integral else (
        isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value))
    if not ok_type or not lo <= value <= hi:
        what = "an integer" if kind is Integral else "a finite number"
        raise CheckpointError(f"{where}: architecture field {key!r} must be {what} in "
                              f"[{lo}, {hi}], got {value!r}.")


def check_config(config: dict, where: str) -> dict:
    """Check the fields a checkpoint is built and loaded from; return its architecture.

    Parameters
    ----------
    config : dict
        As returned by :func:`read_config`.
    where : str
        The file, for messages.

    Returns
    -------
    dict
        ``DiffAEModule`` arguments: the architecture with ``in_channels``
        (1 when absent: checkpoints from before multi-lead support) and
        ``unet_channels`` as a tuple.

    Raises
    ------
    CheckpointError
        Another model type; a missing, unknown, mistyped or out-of-range field.
    """
    from ..diffusion import SCHEDULES

    if config.get("model_type") != MODEL_TYPE:
        raise CheckpointError(f"{where} holds a {config.get('model_type')!r} checkpoint, "
                              f"not a {MODEL_TYPE!r} one.")
    arch = config.get("architecture")
    if not isinstance(arch, dict):
        raise CheckpointError(f"{where} has no 'architecture' object (got {arch!r}); "
                              "re-save the model with DiffAEEmbedder.save_pretrained.")
    missing = [k for k in _REQUIRED_ARCH if k not in arch]
    unknown = sorted(set(arch) - set(ARCHITECTURE) - {"unet_channels", "schedule"})
    if missing or unknown:
        raise CheckpointError(
            f"{where}: the architecture " + (f"lacks {missing}" if missing else "")
            + (" and " if missing and unknown else "")
            + (f"has fields this release does not know: {unknown} (written by release "
               f"{config.get('library_version')!r}?)" if unknown else "") + ".")
    for key, (kind, lo, hi) in ARCHITECTURE.items():
        if key in arch:
            _check_field(where, key, arch[key], kind, lo, hi)
    channels = arch["unet_channels"]
    if (not isinstance(channels, list | tuple) or not 1 <= len(channels) <= 16
            or not all(_is_int(c) and 1 <= c <= 8192 for c in channels)):
        raise CheckpointError(f"{where}: architecture field 'unet_channels' must be a list "
                              f"of 1 to 16 integers in [1, 8192], got {channels!r}.")
    if arch["schedule"] not in SCHEDULES:
        raise CheckpointError(f"{where}: architecture field 'schedule' must be one of "
                              f"{SCHEDULES}, got {arch['schedule']!r}.")
    fs = config.get("model_fs")
    if (not isinstance(fs, Real) or isinstance(fs, bool) or not math.isfinite(fs)
            or not 0 < fs <= 1e6):
        raise CheckpointError(f"{where}: 'model_fs' must be a sampling rate in (0, 1e6] Hz, "
                              f"got {fs!r}.")
    sha = config.get("sha256")
    if not (isinstance(sha, str) and _SHA256.match(sha)):
        raise CheckpointError(f"{where}: 'sha256' must be the 64 hex digits of the weights' "
                              f"checksum, got {sha!r}.")
    if not isinstance(config.get("card", {}), dict):
        raise CheckpointError(f"{where}: 'card' must be an object, got "
                              f"{type(config['card']).__name__}.")
    return {"in_channels": 1, **arch, "unet_channels": tuple(channels)}


def expected_tensors(architecture: dict, where: str) -> dict[str, tuple[tuple, bool]]:
    """Names, shapes and floatness of the weights ``architecture`` has, built on
    PyTorch's ``meta`` device (no memory), capped at :data:`MAX_PARAMETERS`.

    Parameters
    ----------
    architecture : dict
        As returned by :func:`check_config`.
    where : str
        The file, for messages.

    Returns
    -------
    dict
        name -> (shape, is floating point), without the contrastive projector.
    """
    import torch

    from ..modules.diffae import DiffAEModule

    try:
        with torch.device("meta"):
            module = DiffAEModule(**architecture)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"{where}: the architecture cannot be built: {exc}") from exc
    state = module.state_dict()
    n_params = sum(t.numel() for t in state.values())
    if n_params > MAX_PARAMETERS:
        raise CheckpointError(
            f"{where}: the architecture has {n_params:,} parameters, more than the "
            f"{MAX_PARAMETERS:,} a DiffAE checkpoint may have; the config was edited or "
            "is not one of ours.")
    return {k: (tuple(v.shape), v.is_floating_point()) for k, v in state.items()
            if not k.startswith("projector.")}


def check_weights_header(path: Path, expected: dict) -> None:
    """Compare the safetensors header of ``path`` with ``expected``, reading no tensor.

    Parameters
    ----------
    path : pathlib.Path
        ``model.safetensors``.
    expected : dict
        As returned by :func:`expected_tensors`.

    Raises
    ------
    CheckpointError
        The file is larger than the architecture's weights can be, its header
        cannot be read, or a name, shape or dtype differs.
    """
    from safetensors import SafetensorError, safe_open

    n_bytes = sum(4 * math.prod(shape) for shape, _ in expected.values())
    limit = n_bytes + (1 << 20)  # room for the JSON header
    size = path.stat().st_size
    if size > limit:
        raise CheckpointError(
            f"{path} is {size:,} bytes, more than the {n_bytes:,} bytes of float32 weights "
            "its config's architecture has: it does not belong to that config.")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            found = {k: (tuple(f.get_slice(k).get_shape()), f.get_slice(k).get_dtype())
                     for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} cannot be read: {exc}") from exc
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"the weights in {path} do not fit the network its config describes: missing "
            f"keys {missing[:5]}{' ...' if len(missing) > 5 else ''}, unexpected keys "
            f"{unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}.")
    for name, (shape, floating) in expected.items():
        got_shape, dtype = found[name]
        if got_shape != shape:
            raise CheckpointError(
                f"the weights in {path} do not fit the network its config describes: "
                f"{name} has shape {list(got_shape)}, the architecture needs {list(shape)}.")
        if floating and dtype not in FLOAT_DTYPES:
            raise CheckpointError(
                f"the weights in {path}: {name} is stored as {dtype}; floating-point "
                f"weights must be one of {sorted(FLOAT_DTYPES)}.")
