"""Where the training-loop glue lived before it was split (kept so that models pickled by
earlier releases, whose callbacks and generators name this module, still load).

New code imports from the modules that hold each idea: :mod:`.engine` (build and fit
a net), :mod:`.callbacks`, :mod:`.randomness`, :mod:`.loaders` and :mod:`.divergence`.
"""

from .callbacks import (  # noqa: F401
    EMA,
    BatchLRScheduler,
    EpochProgress,
    MaxSteps,
    StopTraining,
    WarmupCosine,
    _tensors_from_bytes,
    _tensors_to_bytes,
)
from .divergence import BLOWUP_RATIO, check_finite_training  # noqa: F401
from .engine import (  # noqa: F401
    apply_warm_start_settings,
    build_net,
    fit_net,
    release_training_state,
)
from .loaders import BatchLoader, GroupValidSplit, _pinned, predict_batches  # noqa: F401
from .randomness import DeviceGenerator, DeviceNoise, SeededGenerator  # noqa: F401

__all__ = ["EMA", "BatchLRScheduler", "BatchLoader", "DeviceGenerator", "DeviceNoise",
           "EpochProgress", "GroupValidSplit", "MaxSteps", "SeededGenerator", "StopTraining",
           "WarmupCosine", "apply_warm_start_settings", "build_net", "check_finite_training",
           "fit_net", "predict_batches", "release_training_state"]
