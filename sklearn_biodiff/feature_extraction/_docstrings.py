"""The training parameters of the torch estimators, documented once.

An estimator's docstring holds the line ``%(training_parameters)s`` in its
Parameters section; :func:`fill_training_parameters` replaces it with the entries
below for every training parameter of the estimator's signature that its
docstring does not document itself (where the meaning differs, as for
``DiffAEEmbedder.max_epochs``, the estimator keeps its own text). Each entry's
``default=`` is read from the signature, so that a default that differs between
estimators (``lr``, ``batch_size``, ``grad_clip``) is stated right in each.
"""

from __future__ import annotations

import inspect
import re

__all__ = ["TRAINING_PARAMETER_DOCS", "fill_training_parameters"]

#: name -> (type, description) of every training parameter, in the order shown
TRAINING_PARAMETER_DOCS = {
    "max_epochs": ("int", "Passes over the training data."),
    "lr": ("float", "Learning rate of the AdamW optimizer."),
    "weight_decay": ("float", "AdamW weight decay."),
    "batch_size": ("int", "Training batch size."),
    "validation_fraction": (
        "float or None",
        "Held-out share for the validation loss (and early stopping); ``None``\n"
        "trains on everything."),
    "early_stopping_patience": (
        "int or None",
        "Stop when the validation loss has not improved for this many epochs and\n"
        "restore the best weights (needs ``validation_fraction``)."),
    "grad_clip": ("float or None", "Clip the gradient norm at this value (``None``: no "
                                   "clipping)."),
    "warm_start": (
        "bool",
        "Continue training the fitted net on the next ``fit``, with the current\n"
        "``max_epochs``, ``lr``, ``batch_size``, ``weight_decay`` and ``grad_clip``\n"
        "(switching gradient clipping on or off in between raises a ``ValueError``)."),
    "n_threads": ("int or None",
                  "Torch threads during ``fit``/``transform`` (``None`` keeps torch's "
                  "setting)."),
    "device": (
        "str or torch.device",
        "Where the net trains and runs: ``\"auto\"`` (CUDA, else Apple's MPS, else the\n"
        "CPU), ``\"cpu\"``, ``\"cuda\"``, ``\"cuda:N\"`` or ``\"mps\"``\n"
        "(:func:`~sklearn_biodiff.base.resolve_device`)."),
    "random_state": (
        "int, RandomState or None",
        "Seeds the initial weights, the shuffling and every random draw of training\n"
        "(noise, views, the validation split), without touching the global random\n"
        "state."),
    "verbose": ("int", "1 shows a progress bar over epochs, 2 prints skorch's epoch table."),
    "on_divergence": (
        "{\"raise\", \"warn\"}",
        "What ``fit`` does when the training loss, a weight or the embedding of the\n"
        "training data ends NaN or infinite (badly scaled input, too high ``lr``):\n"
        "``\"raise\"`` a :class:`~sklearn_biodiff.exceptions.TrainingDivergedError` (the\n"
        "estimator stays unfitted), or ``\"warn\"`` with a\n"
        ":class:`~sklearn_biodiff.exceptions.TrainingDivergedWarning` and keep the\n"
        "diverged model."),
    "engine": (
        "TorchEngine or None",
        "How training runs, apart from what it learns: arithmetic precision,\n"
        "``torch.compile``, pinned batches, where encoder noise is drawn, checkpoints\n"
        "and extra skorch callbacks (:class:`~sklearn_biodiff.engine.TorchEngine`;\n"
        "``None``: its defaults). Its options are reachable with the ``engine__``\n"
        "prefix, e.g. ``set_params(engine__precision=\"bf16\")``."),
}

_PLACEHOLDER = re.compile(r"^(?P<indent>[ ]*)%\(training_parameters\)s[ ]*$", re.MULTILINE)
_DOCUMENTED = re.compile(r"^[ ]{4}(?P<names>\w+(?:, \w+)*) :", re.MULTILINE)


def _format_default(value) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def fill_training_parameters(cls):
    """Class decorator: put the shared training parameters into ``cls.__doc__``.

    Replaces the line ``%(training_parameters)s`` by a numpydoc entry for every
    parameter of :data:`TRAINING_PARAMETER_DOCS` that ``cls.__init__`` takes and
    the docstring does not document itself, with the signature's default.
    """
    doc = cls.__doc__
    match = _PLACEHOLDER.search(doc)
    if match is None:
        raise ValueError(f"{cls.__name__}'s docstring has no %(training_parameters)s line.")
    indent = match.group("indent")
    own = {name for m in _DOCUMENTED.finditer(doc) for name in m.group("names").split(", ")}
    signature = inspect.signature(cls.__init__).parameters
    entries = []
    for name, (kind, text) in TRAINING_PARAMETER_DOCS.items():
        if name not in signature or name in own:
            continue
        body = "\n".join(indent + "    " + line for line in text.splitlines())
        entries.append(f"{indent}{name} : {kind}, "
                       f"default={_format_default(signature[name].default)}\n{body}")
    cls.__doc__ = doc[: match.start()] + "\n".join(entries) + doc[match.end():]
    return cls
