"""Pretrained DiffAE checkpoints shipped with the package, and their model cards.

Each checkpoint is a folder with ``config.json`` (architecture, ``model_fs``, input
normalisation, the weights' sha256 and the model card) and ``model.safetensors``,
the layout Hugging Face's and braindecode's ``save_pretrained`` write. Load one with
``DiffAEEmbedder(pretrained=name, max_epochs=0)`` or
``DiffAEEmbedder.from_pretrained(name)``; no download, works offline.
"""

from ._checkpoint import (
    DEFAULT_PRETRAINED,
    DEFAULT_READOUT,
    FEW_LABELS_READOUT,
    FINE_TUNED_PRETRAINED,
    RETIRED,
    CheckpointError,
    list_pretrained,
    load_checkpoint,
    model_card,
    resolve_checkpoint,
)

__all__ = ["DEFAULT_PRETRAINED", "DEFAULT_READOUT", "FEW_LABELS_READOUT",
           "FINE_TUNED_PRETRAINED", "RETIRED",
           "CheckpointError", "list_pretrained", "load_checkpoint", "model_card",
           "resolve_checkpoint"]
