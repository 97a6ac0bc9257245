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
import re
from importlib import resources
from numbers import Real
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .._atomic import (
    current_umask,
    fsync_folder,
    recover_interrupted,
    remove_stale_temporaries,
    replace_folder,
    temporary_name,
)
from ..exceptions import CheckpointError
from ._config import (
    CONFIG_NAME,
    MODEL_TYPE,
    WEIGHTS_NAME,
    check_config,
    check_weights_header,
    expected_tensors,
    read_config,
)

__all__ = ["DEFAULT_PRETRAINED", "DEFAULT_READOUT", "FEW_LABELS_READOUT",
           "FINE_TUNED_PRETRAINED", "RETIRED",
           "CheckpointError", "list_pretrained", "load_checkpoint", "model_card",
           "resolve_checkpoint", "write_checkpoint"]

#: the checkpoint the demo and the quickstart use
DEFAULT_PRETRAINED = "diffae-cinc2017-v4"
#: ``DEFAULT_PRETRAINED`` fine-tuned with the rhythm labels (N, A, O, noisy) of the
#: README training part of CinC 2017 by the package's label-aware recipe: a frozen
#: starting point for few labels on new patients (the user guide's "Fine-tuning with
#: labels" page, "Few labels on new patients")
FINE_TUNED_PRETRAINED = "diffae-cinc2017-v4-ft"
#: the ``DiffAEEmbedder(readout=...)`` the demo and the quickstart embed a frozen
#: checkpoint with (the rule that chose it, and the benchmarks behind it: the user
#: guide's "Pretrained models" page, "Readout")
DEFAULT_READOUT = "attention+rhythm"
#: the readout for a frozen checkpoint when the labelled set is small (hundreds of
#: records or fewer; chosen on the training part only: the user guide's "Pretrained
#: models" page, "Readout")
FEW_LABELS_READOUT = "attention+rhythm"
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
        "instead": "python -m scripts.pretrain_diffae --recipe encoder_noise --max-crops 107262 "
                   "retrains it",
    }),
    "diffae-cinc2017-v1": MappingProxyType({
        "removed_in": "0.1.0, before its release",
        "recipe": "contrastive",
        "crops_seen": 101303,
        "source_run": "benchmarks/results/pretrain_diffae_contrastive.json",
        "card_commit": "583dc97d3638d80c86032282077b57c48f8eb426",
        "source_commit": "2735f25c22ee2286b13b15066bb4fde19ec2be86",
        # retired to make room for diffae-cinc2017-v4-ft within the 8 MB budget
        "instead": "diffae-cinc2017-v4 is the same run after 405,212 crops; python -m "
                   "scripts.pretrain_diffae --recipe contrastive --max-crops 101303 "
                   "retrains it",
    }),
})
#: the per-record preprocessing contract every DiffAE checkpoint is trained under
NORMALIZATION = "per-record z-score (mean 0, std 1) after resampling to model_fs"


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


#: a Hugging Face Hub repository id: owner/name
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


def _from_hub(repo_id: str) -> Path:
    if not _HUB_ID.match(repo_id):
        raise CheckpointError(
            f"'hf://{repo_id}' is not a Hugging Face Hub repository id: write "
            "'hf://owner/name'.")
    try:
        from huggingface_hub import snapshot_download
    except ModuleNotFoundError as exc:
        if exc.name != "huggingface_hub":
            raise CheckpointError(_broken_hub(exc)) from exc
        raise CheckpointError(
            f"pretrained='hf://{repo_id}' is a Hugging Face Hub id; loading one needs the "
            "optional extra: pip install 'sklearn-biodiff[hub]'. Shipped checkpoints "
            f"load without it: {', '.join(list_pretrained()) or 'none'}.") from exc
    except Exception as exc:  # installed, but broken (a missing dependency, a bad build)
        raise CheckpointError(_broken_hub(exc)) from exc
    try:
        return Path(snapshot_download(repo_id, allow_patterns=[CONFIG_NAME, WEIGHTS_NAME]))
    except Exception as exc:  # offline, unknown repo, no access: say which
        raise CheckpointError(
            f"could not fetch {repo_id!r} from the Hugging Face Hub ({type(exc).__name__}: "
            f"{exc}). Offline (HF_HUB_OFFLINE=1 or no network) only repos already in the "
            "local hub cache load; shipped checkpoints always load: "
            f"{', '.join(list_pretrained()) or 'none'}.") from exc


def _broken_hub(exc: BaseException) -> str:
    return (f"huggingface_hub is installed but fails to import ({type(exc).__name__}: "
            f"{exc}); repair or reinstall it (pip install --force-reinstall "
            "huggingface_hub), or load a shipped checkpoint or a local folder.")


def resolve_checkpoint(pretrained: str | os.PathLike) -> Path:
    """The folder of a shipped name, a local folder, or an explicit Hub id.

    Nothing is fetched unless asked for with the ``hf://`` prefix: every other
    string is a shipped name or a path, and a path that does not exist is an
    error, never a download.

    Parameters
    ----------
    pretrained : str or path-like
        A name from :func:`list_pretrained`; a folder holding ``config.json`` and
        ``model.safetensors`` (as written by ``DiffAEEmbedder.save_pretrained``);
        or ``"hf://owner/repo"`` on the Hugging Face Hub (needs ``huggingface_hub``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    CheckpointError
        Not a shipped name, not an existing checkpoint folder, not an ``hf://`` id.
    """
    if not isinstance(pretrained, str | os.PathLike):
        raise CheckpointError(
            f"pretrained must be a checkpoint name, a folder or an 'hf://owner/repo' id, "
            f"got {type(pretrained).__name__}.")
    text = os.fspath(pretrained)
    shipped = list_pretrained()
    if isinstance(pretrained, str) and text in shipped:
        return _shipped_root() / text
    if isinstance(pretrained, str) and text.startswith("hf://"):
        return _from_hub(text[len("hf://"):])
    try:
        path = Path(text).expanduser()
    except RuntimeError as exc:  # "~user/..." for a user that does not exist
        raise CheckpointError(f"pretrained={text!r}: {exc}; pass an existing folder.") from exc
    recover_interrupted(path)  # a save killed between its two renames (not on Linux)
    if path.is_dir():
        if not (path / CONFIG_NAME).is_file() or not (path / WEIGHTS_NAME).is_file():
            raise CheckpointError(
                f"{path} is not a checkpoint folder: it needs {CONFIG_NAME} and "
                f"{WEIGHTS_NAME} (write one with DiffAEEmbedder.save_pretrained).")
        return path
    if path.exists():
        raise CheckpointError(
            f"{path} is a file; pretrained= takes the folder that holds {CONFIG_NAME} and "
            f"{WEIGHTS_NAME}.")
    if text in RETIRED:
        gone = RETIRED[text]
        raise CheckpointError(
            f"pretrained checkpoint {text!r} was removed in sklearn_biodiff "
            f"{gone['removed_in']} (the {gone['recipe']} run after {gone['crops_seen']} "
            f"crops); use the default, {DEFAULT_PRETRAINED!r}, or another shipped one ("
            f"{', '.join(shipped) or 'none'}); {gone['instead']}.")
    bare = text.rstrip("/\\")
    if bare != text and bare in shipped:
        raise CheckpointError(
            f"no folder {text!r} (looked in {Path.cwd()}); the shipped checkpoint is "
            f"named {bare!r}, without the trailing slash.")
    hint = (f" A Hugging Face Hub repository is loaded only when asked for: "
            f"pretrained='hf://{text}'." if _HUB_ID.match(text) else "")
    raise CheckpointError(
        f"unknown pretrained checkpoint {text!r}: not a shipped name (available: "
        f"{', '.join(shipped) or 'none'}) and no such folder (looked for {path.absolute()})."
        + hint)


def _read_checked(folder: Path) -> tuple[dict, dict]:
    """``(config, architecture)`` of ``folder``, every field checked (no weights read)."""
    config = read_config(folder)
    return config, check_config(config, str(folder / CONFIG_NAME))


def load_checkpoint(pretrained: str | os.PathLike) -> tuple[dict, dict]:
    """Resolve, verify and read a checkpoint.

    Everything is checked before memory is committed to it, in this order: the
    config (size, JSON object, every field's type and range), the architecture's
    parameter count (built on the ``meta`` device), the weights file's header
    (names, shapes, dtypes) against that architecture, the sha256; only then
    are the tensors read.

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
        Unknown name, missing file, a config that is not a checkpoint's (another
        model type, a missing or out-of-range field), weights that do not fit the
        architecture, or a checksum mismatch (a corrupted or swapped weights file).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = resolve_checkpoint(pretrained)
    config, arch = _read_checked(folder)
    weights = folder / WEIGHTS_NAME
    check_weights_header(weights, expected_tensors(arch, str(folder / CONFIG_NAME)))
    expected = config["sha256"]
    actual = _sha256(weights)
    if expected != actual:
        raise CheckpointError(
            f"{weights} is corrupted or was replaced: its sha256 is {actual}, "
            f"{CONFIG_NAME} says {expected}. Re-install the package or re-save the model.")
    try:
        state = load_file(weights, device="cpu")
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{weights} cannot be read: {exc}") from exc
    return config, {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def write_checkpoint(folder: str | os.PathLike, state_dict: dict, config: dict, *,
                     dtype: str = "float32") -> Path:
    """Write ``config.json`` + ``model.safetensors`` (with its sha256) to ``folder``,
    all or nothing.

    Both files are written into a temporary folder beside ``folder``, flushed to
    disk, and swapped in as one step (:func:`sklearn_biodiff._atomic.replace_folder`):
    a process killed at any moment leaves the previous checkpoint or the new one,
    both loadable. Temporaries left by killed processes are removed.

    Parameters
    ----------
    folder : str or path-like
        Created if missing; an existing checkpoint there is replaced. A symbolic
        link at ``folder`` is replaced by the new folder (what it points to is not
        written). A folder holding other files than a checkpoint's is refused.
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
    if os.path.lexists(folder) and not folder.is_symlink():
        if not folder.is_dir():
            raise CheckpointError(f"{folder} is a file; save_pretrained writes a folder.")
        others = sorted(p.name for p in folder.iterdir()
                        if p.name not in (CONFIG_NAME, WEIGHTS_NAME))
        if others:
            raise CheckpointError(
                f"{folder} holds other files than a checkpoint ({others[:5]}); the save "
                "replaces the whole folder, so pass a new or a checkpoint folder.")
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder)
    cast = getattr(torch, dtype)
    tensors = {k: (v.detach().cpu().to(cast) if v.is_floating_point() else v.detach().cpu())
               .contiguous() for k, v in state_dict.items()}
    tmp = temporary_name(folder)
    tmp.mkdir()
    try:
        save_file(tensors, tmp / WEIGHTS_NAME, metadata={"format": "pt"})
        full = {**config, "model_type": MODEL_TYPE, "weights_dtype": dtype,
                "sha256": _sha256(tmp / WEIGHTS_NAME)}
        (tmp / CONFIG_NAME).write_text(
            json.dumps(full, indent=2, default=_json_default) + "\n", encoding="utf-8")
        mode = 0o666 & ~current_umask()  # safetensors writes owner-only (0600): the user's umask
        for name in (WEIGHTS_NAME, CONFIG_NAME):
            (tmp / name).chmod(mode)
            with open(tmp / name, "rb") as f:
                os.fsync(f.fileno())
        tmp.chmod(0o777 & ~current_umask())
        fsync_folder(tmp)
        replace_folder(tmp, folder)
    except BaseException:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise
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

    Raises
    ------
    CheckpointError
        As :func:`load_checkpoint`, for the config (the weights are not read).
    """
    folder = resolve_checkpoint(pretrained)
    config, _ = _read_checked(folder)
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
