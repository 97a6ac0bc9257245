"""Checkpoints on disk: ``config.json`` + ``model.safetensors``, verified on load.

The layout is the one Hugging Face's and braindecode's ``save_pretrained`` write:
a folder with the architecture and preprocessing contract in ``config.json`` and
the weights in ``model.safetensors``. ``config.json`` also holds the weights'
sha256, so a corrupted or swapped file is caught before it reaches a model.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import resources
from numbers import Real
from pathlib import Path
from types import MappingProxyType

import numpy as np

__all__ = ["DEFAULT_PRETRAINED", "DEFAULT_READOUT", "RETIRED", "CheckpointError",
           "list_pretrained",
           "load_checkpoint", "model_card",
           "resolve_checkpoint", "write_checkpoint"]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
#: what ``config["model_type"]`` must say for a DiffAEEmbedder checkpoint
MODEL_TYPE = "sklearn_biodiff.DiffAEEmbedder"
#: the checkpoint the demo and the quickstart use
DEFAULT_PRETRAINED = "diffae-cinc2017-v4"
#: the ``DiffAEEmbedder(readout=...)`` the demo and the quickstart embed a frozen
#: checkpoint with: of the readouts of ``DEFAULT_PRETRAINED`` that meet the roadmap's
#: noise-robustness and transform-speed targets, the one with the highest 3-fold CV
#: macro F1 on the README training part (``benchmarks/bench_pretrained.py``,
#: ``bench_robustness.py``, ``bench_transform_speed.py``), or the narrowest readout
#: it is not ahead of by more than one fold standard deviation in paired repeated CV
#: (``bench_readout_cv.py``)
DEFAULT_READOUT = "attention+stats+blocks"
#: checkpoints that shipped once and were removed (the package keeps at most 8 MB of
#: weights): the training run each came from and how to retrain it. A pinned name
#: gets a clear error instead of "unknown", and the provenance of its published
#: figures stays readable.
RETIRED = MappingProxyType({
    "diffae-cinc2017-v0": MappingProxyType({
        "removed_in": "0.1.0, before its release",
        "recipe": "encoder_noise",
        "crops_seen": 107262,
        "source_run": "benchmarks/results/pretrain_diffae_encoder_noise.json",
        # the commit whose model card (config.json) shipped it: its full card is there
        "card_commit": "5b1bdb9d063d7908c9bc177afc9509e3cd7826a2",
        "source_commit": "617271e8b3292348036be065b92125e78e0050f9",
        "instead": "scripts/pretrain_diffae.py --recipe encoder_noise --max-crops 107262 "
                   "retrains it",
    }),
})
#: the per-record preprocessing contract every DiffAE checkpoint is trained under
NORMALIZATION = "per-record z-score (mean 0, std 1) after resampling to model_fs"


class CheckpointError(ValueError):
    """A checkpoint cannot be found, is corrupted, or does not fit the model."""


def _shipped_root() -> Path:
    return Path(str(resources.files("sklearn_biodiff.pretrained") / "weights"))


def list_pretrained() -> list[str]:
    """Names of the checkpoints shipped inside the package (no download).

    Returns
    -------
    list of str
        Sorted names, each usable as ``DiffAEEmbedder(pretrained=name)``.

    Examples
    --------
    >>> from sklearn_biodiff.pretrained import list_pretrained
    >>> isinstance(list_pretrained(), list)
    True
    """
    root = _shipped_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / CONFIG_NAME).is_file())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _from_hub(repo_id: str) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise CheckpointError(
            f"pretrained={repo_id!r} is neither a shipped checkpoint "
            f"({', '.join(list_pretrained()) or 'none'}) nor a local folder; loading a "
            "Hugging Face Hub id needs the optional extra: pip install "
            "'sklearn-biodiff[hub]'.") from exc
    try:
        return Path(snapshot_download(repo_id, allow_patterns=[CONFIG_NAME, WEIGHTS_NAME]))
    except Exception as exc:  # offline, unknown repo, no access: say which
        raise CheckpointError(
            f"could not fetch {repo_id!r} from the Hugging Face Hub ({type(exc).__name__}: "
            f"{exc}). Offline (HF_HUB_OFFLINE=1 or no network) only repos already in the "
            "local hub cache load; shipped checkpoints always load: "
            f"{', '.join(list_pretrained()) or 'none'}.") from exc


def resolve_checkpoint(pretrained: str | os.PathLike) -> Path:
    """The folder of a shipped name, a local folder, or a Hub id (optional extra).

    Parameters
    ----------
    pretrained : str or path-like
        A name from :func:`list_pretrained`; a folder holding ``config.json`` and
        ``model.safetensors`` (as written by ``DiffAEEmbedder.save_pretrained``);
        or ``"hf://owner/repo"`` / ``"owner/repo"`` on the Hugging Face Hub when
        ``huggingface_hub`` is installed.

    Returns
    -------
    pathlib.Path
    """
    if not isinstance(pretrained, str | os.PathLike):
        raise CheckpointError(
            f"pretrained must be a checkpoint name, a folder or a hub id, got "
            f"{type(pretrained).__name__}.")
    text = os.fspath(pretrained)
    if text in list_pretrained():
        return _shipped_root() / text
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / CONFIG_NAME).is_file() or not (path / WEIGHTS_NAME).is_file():
            raise CheckpointError(
                f"{path} is not a checkpoint folder: it needs {CONFIG_NAME} and "
                f"{WEIGHTS_NAME} (write one with DiffAEEmbedder.save_pretrained).")
        return path
    if text.startswith("hf://"):
        return _from_hub(text[len("hf://"):])
    if text.count("/") == 1 and not path.exists() and not text.startswith((".", "/", "~")):
        return _from_hub(text)
    if text in RETIRED:
        gone = RETIRED[text]
        raise CheckpointError(
            f"pretrained checkpoint {text!r} was removed in sklearn_biodiff "
            f"{gone['removed_in']} (the {gone['recipe']} run after {gone['crops_seen']} "
            f"crops); use the default, {DEFAULT_PRETRAINED!r}, or another shipped one ("
            f"{', '.join(list_pretrained()) or 'none'}); {gone['instead']}.")
    raise CheckpointError(
        f"unknown pretrained checkpoint {text!r}: not a shipped name (available: "
        f"{', '.join(list_pretrained()) or 'none'}), not a checkpoint folder, not a "
        "hub id ('hf://owner/repo').")


def load_checkpoint(pretrained: str | os.PathLike) -> tuple[dict, dict]:
    """Resolve, verify and read a checkpoint.

    Parameters
    ----------
    pretrained : str or path-like
        See :func:`resolve_checkpoint`.

    Returns
    -------
    config : dict
        The parsed ``config.json`` (``architecture``, ``model_fs``,
        ``normalization``, ``sha256``, ``card``).
    state_dict : dict of str to torch.Tensor
        float32 weights on the CPU.

    Raises
    ------
    CheckpointError
        Unknown name, missing file, checksum mismatch (a corrupted or swapped
        weights file), or a config of another model type.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = resolve_checkpoint(pretrained)
    try:
        config = json.loads((folder / CONFIG_NAME).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{folder / CONFIG_NAME} cannot be read: {exc}") from exc
    if config.get("model_type") != MODEL_TYPE:
        raise CheckpointError(
            f"{folder} holds a {config.get('model_type')!r} checkpoint, not a "
            f"{MODEL_TYPE!r} one.")
    expected = config.get("sha256")
    actual = _sha256(folder / WEIGHTS_NAME)
    if expected != actual:
        raise CheckpointError(
            f"{folder / WEIGHTS_NAME} is corrupted or was replaced: its sha256 is {actual}, "
            f"{CONFIG_NAME} says {expected}. Re-install the package or re-save the model.")
    try:
        state = load_file(folder / WEIGHTS_NAME, device="cpu")
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{folder / WEIGHTS_NAME} cannot be read: {exc}") from exc
    return config, {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def write_checkpoint(folder: str | os.PathLike, state_dict: dict, config: dict, *,
                     dtype: str = "float32") -> Path:
    """Write ``config.json`` + ``model.safetensors`` (with its sha256) to ``folder``.

    Parameters
    ----------
    folder : str or path-like
        Created if missing; existing checkpoint files are overwritten.
    state_dict : dict of str to torch.Tensor
    config : dict
        JSON-serialisable; ``model_type`` and ``sha256`` are filled in.
    dtype : {"float32", "float16"}, default="float32"
        Storage precision of the floating-point weights (loaded back as float32).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    import torch
    from safetensors.torch import save_file

    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype must be 'float32' or 'float16', got {dtype!r}.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cast = getattr(torch, dtype)
    tensors = {k: (v.detach().cpu().to(cast) if v.is_floating_point() else v.detach().cpu())
               .contiguous() for k, v in state_dict.items()}
    save_file(tensors, folder / WEIGHTS_NAME, metadata={"format": "pt"})
    full = {**config, "model_type": MODEL_TYPE, "weights_dtype": dtype,
            "sha256": _sha256(folder / WEIGHTS_NAME)}
    (folder / CONFIG_NAME).write_text(json.dumps(full, indent=2, default=_json_default) + "\n")
    # safetensors writes owner-only (0600): give the weights config.json's permissions
    # (those of any file the user creates), so a shared folder stays readable
    (folder / WEIGHTS_NAME).chmod((folder / CONFIG_NAME).stat().st_mode & 0o777)
    return folder


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


#: column labels of the card's metrics table, in order
CARD_METRICS = {"macro_f1": "macro F1", "mean_f1_NAO": "mean F1 N, A, O",
                "auroc_normal_vs_abnormal": "N vs A AUROC",
                "auroc_af_vs_rest": "AF vs rest AUROC"}


def _number(value, spec: str) -> str:
    """``value`` formatted with ``spec`` when it is a real number, else ``str(value)``."""
    if isinstance(value, Real) and not isinstance(value, bool):
        return format(value, spec)
    return str(value)


def _metrics_lines(metrics: dict) -> list[str]:
    """The card's metrics: a Markdown table with a row per readout and part, then every
    other entry as a bullet, so nothing is left out.

    ``metrics`` holds the ``z`` readout's parts (``"test (shipped weights)"`` ->
    {metric: value}, ...) and ``"readout NAME"`` entries with the same parts for the
    wider readouts. A part is a row when it has the four ``CARD_METRICS``; its other
    keys become bullets. ``probe_C`` is the row's last column, or a bullet when its
    readout has no row.
    """
    groups = [("attention", "", {k: v for k, v in metrics.items()
                                 if not k.startswith("readout ")})]
    rest: list[str] = []
    for key, value in metrics.items():
        if key.startswith("readout "):
            if isinstance(value, dict):
                groups.append((key[len("readout "):], f"{key}, ", value))
            else:
                rest.append(f"  - {key}: {value}")
    rows = []
    for label, prefix, parts in groups:
        probe = parts.get("probe_C")
        n_rows = len(rows)
        for part, figures in parts.items():
            if part == "probe_C":
                continue
            if isinstance(figures, dict) and all(k in figures for k in CARD_METRICS):
                rows.append([label, part, *(_number(figures[k], ".4f") for k in CARD_METRICS),
                             "" if probe is None else _number(probe, "g")])
                rest += [f"  - {prefix}{part}, {k.replace('_', ' ')}: {v}"
                         for k, v in figures.items() if k not in CARD_METRICS]
            else:
                rest.append(f"  - {prefix}{part.replace('_', ' ')}: {figures}")
        if probe is not None and len(rows) == n_rows:
            rest.append(f"  - {prefix}probe C: {probe}")
    if not rows:
        return ["- **metrics**:" + ("" if rest else " none recorded"), *rest]
    header = ["readout", "part", *CARD_METRICS.values(), "probe C"]
    return ["- **metrics** (readout `attention` is the paper's `z`):", "",
            "  | " + " | ".join(header) + " |",
            "  | " + " | ".join("---" for _ in header) + " |",
            *("  | " + " | ".join(row) + " |" for row in rows),
            *([""] + rest if rest else [])]


def model_card(pretrained: str | os.PathLike) -> str:
    """The model card of a checkpoint as Markdown text.

    Parameters
    ----------
    pretrained : str or path-like
        See :func:`resolve_checkpoint`.

    Returns
    -------
    str
    """
    folder = resolve_checkpoint(pretrained)
    config = json.loads((folder / CONFIG_NAME).read_text())
    card = config.get("card", {})
    lines = [f"# {card.get('title', folder.name)}", ""]
    for key, value in card.items():
        if key == "title":
            continue
        label = key.replace("_", " ")
        if isinstance(value, list) and len(value) > 20:
            lines.append(f"- **{label}**: {len(value)} entries (listed in {CONFIG_NAME})")
        elif key == "metrics" and isinstance(value, dict):
            lines.extend(_metrics_lines(value))
        elif isinstance(value, dict):
            lines.append(f"- **{label}**:")
            lines.extend(f"  - {k}: {v}" for k, v in value.items())
        else:
            lines.append(f"- **{label}**: {value}")
    lines += ["", f"- **architecture**: {json.dumps(config.get('architecture'))}",
              f"- **model_fs**: {config.get('model_fs')} Hz; input normalisation: "
              f"{config.get('normalization')}",
              f"- **weights**: {WEIGHTS_NAME}, {config.get('weights_dtype')}, "
              f"sha256 {config.get('sha256')}"]
    return "\n".join(lines) + "\n"
