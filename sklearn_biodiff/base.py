"""The contract shared by every torch-backed estimator of the package.

* ``device="auto"`` resolves to CUDA when available, else MPS, else CPU
  (:func:`resolve_device`).
* ``random_state`` seeds numpy, torch (CPU and CUDA) and DataLoader shuffling, without
  touching the caller's global random state (:func:`torch_seed_context`).
* Pickling moves every torch tensor and module of the fitted state to CPU bytes, so that
  a model trained on a GPU loads on a CPU-only machine (:class:`TorchEstimatorMixin`):
  no tensor goes through the pickle outside a CPU-mapped blob (skorch's for ``net_``,
  ours for the rest).
* ``verbose`` switches progress output on (:func:`progress`).
* ``n_threads`` (torch threads for one call) lives in :func:`limit_torch_threads`;
  for inference ``None`` picks :func:`auto_thread_count`, which leaves the cores that
  other processes are busy on alone.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import os
from collections.abc import Iterable, Iterator

from sklearn.utils import check_random_state

__all__ = [
    "TorchEstimatorMixin",
    "auto_thread_count",
    "limit_torch_threads",
    "progress",
    "resolve_device",
    "seed_from_random_state",
    "torch_seed_context",
]


def resolve_device(device="auto"):
    """Turn a ``device`` parameter into a :class:`torch.device`.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"} or torch.device
        ``"auto"`` picks CUDA when ``torch.cuda.is_available()``, else Apple's
        MPS when ``torch.backends.mps.is_available()``, else the CPU.

    Returns
    -------
    torch.device
    """
    import torch

    if device is None or (isinstance(device, str) and device == "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a valid torch device; use 'auto', 'cpu' or "
            "'cuda'."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine; use device='auto' or 'cpu'."
        )
    if dev.type == "mps" and not _mps_available():
        raise ValueError(
            f"device={device!r} was requested but Apple's MPS is not available on this "
            "machine; use device='auto' or 'cpu'."
        )
    return dev


def _mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def seed_from_random_state(random_state) -> int:
    """Draw one 31-bit integer seed from a ``random_state`` parameter.

    ``None`` gives a fresh seed each call; an int or a ``RandomState`` gives a
    reproducible one.
    """
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


@contextlib.contextmanager
def torch_seed_context(seed: int, device=None) -> Iterator[None]:
    """Seed torch (and CUDA on a CUDA ``device``) inside a forked RNG state.

    The caller's global torch random state is restored on exit, so fitting an
    estimator with ``random_state=0`` neither depends on nor disturbs it.
    """
    import torch

    devices = []
    if device is not None and getattr(device, "type", str(device)).startswith("cuda"):
        devices = [torch.device(device).index or 0]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _own_runnable_threads() -> int:
    """Threads of this process running or ready to run (state R), from Linux's
    ``/proc/self/task``; 1 where the OS does not say."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    n = 0
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/stat") as f:
                stat = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        n += stat.rsplit(")", 1)[-1].split()[:1] == ["R"]
    return max(n, 1)


def _other_runnable_tasks(samples: int = 3) -> int:
    """Tasks of other processes running or ready to run right now.

    Linux's ``/proc/loadavg`` counts the runnable tasks of the whole machine at the
    moment it is read (its fourth field, ``running/total``); this process's own
    runnable threads (torch's workers may still be spinning after an operation) are
    taken off. The largest of a few readings 1 ms apart, so a competitor that just
    yielded its core still counts. 0 where the OS does not say.
    """
    import time

    busiest = 0
    for i in range(samples):
        try:
            with open("/proc/loadavg") as f:
                running = int(f.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return 0
        busiest = max(busiest, running - _own_runnable_threads())
        if i + 1 < samples:
            time.sleep(0.001)
    return busiest


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _machine_cores() -> int:
    return os.cpu_count() or 1


def auto_thread_count() -> int:
    """The torch threads an estimator uses when its ``n_threads`` is ``None``.

    torch's own setting (which honours ``OMP_NUM_THREADS``,
    ``torch.set_num_threads``, ``threadpoolctl.threadpool_limits`` and the
    ``n_cores // n_jobs`` that joblib's workers and Dask's nannies set), lowered
    to the cores this process may use that no other process is busy on at the
    moment of the call. torch's threads wait for each other by spinning: with
    more threads than free cores, most of their CPU time goes to waiting (the
    measurements: :ref:`busy_threads`).
    A process confined to some of the machine's cores (a cpuset: Slurm,
    Kubernetes, ``taskset``) was given them by a scheduler: it uses them all, since
    the machine-wide count of busy tasks says nothing about its own cores.

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> from sklearn_biodiff.base import auto_thread_count
    >>> auto_thread_count() >= 1
    True
    """
    import torch

    cores = _usable_cores()
    busy = 0 if cores < _machine_cores() else _other_runnable_tasks()
    return max(1, min(torch.get_num_threads(), cores - busy))


def limit_torch_threads(n_threads: int | None, *, adapt: bool = False):
    """Context manager setting torch's intra-op threads for a block, then restoring them.

    Parameters
    ----------
    n_threads : int or None
        Threads to use. ``None`` keeps torch's setting, or, with ``adapt``, picks
        :func:`auto_thread_count` (torch's setting lowered to the cores not busy with
        other processes). Parallel cross-validation with ``n_jobs`` runs one estimator
        per worker; each worker should use ``n_cores // n_jobs`` threads to avoid
        oversubscription (joblib's and Dask's workers are set up that way).
    adapt : bool, default=False
        Let ``None`` follow the machine's load. Inference passes it: its results do
        not depend on the thread count. Training does not: a reduction split over
        another number of threads rounds differently, and a seeded fit must give the
        same weights whatever else the machine is doing.
    """
    import torch

    @contextlib.contextmanager
    def _ctx():
        old = torch.get_num_threads()
        if n_threads is None:
            wanted = auto_thread_count() if adapt else old
        else:
            wanted = max(1, int(n_threads))
        if wanted == old:
            yield
            return
        torch.set_num_threads(wanted)
        try:
            yield
        finally:
            torch.set_num_threads(old)

    return _ctx()


def progress(iterable: Iterable, *, verbose: int = 0, desc: str = "", total=None):
    """Wrap ``iterable`` in a tqdm bar when ``verbose`` > 0."""
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)


def _holds_torch(obj) -> bool:
    import torch

    if isinstance(obj, torch.nn.Module | torch.Tensor):
        return True
    if isinstance(obj, dict):
        return any(_holds_torch(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return any(_holds_torch(v) for v in obj)
    return False


def _torch_blob(state: dict) -> bytes:
    """Fitted torch state (modules, tensors) as one CPU ``torch.save`` blob."""
    import io

    import torch

    buf = io.BytesIO()
    torch.save(_to_cpu(state), buf)
    return buf.getvalue()


def _load_torch_blob(blob: bytes) -> dict:
    import io

    import torch

    # whole modules need the full unpickler; this runs inside an unpickle already
    return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=False)


def _to_cpu(obj):
    import torch

    if isinstance(obj, torch.nn.Module):
        return copy.deepcopy(obj).to("cpu")
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu")
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def _same_in_every_process(seed: int) -> int:
    """Rank 0's ``seed`` in every process of a ``torch.distributed`` group, else ``seed``.

    Processes that train one model together must shuffle, crop and initialise
    alike, also with ``random_state=None`` (see ``nets/_distributed.py``).
    """
    import torch

    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return seed
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    value = torch.tensor([int(seed)], dtype=torch.int64, device=device)
    dist.broadcast(value, src=0)
    return int(value.item())


def _check_saved_version(name: str, saved: str | None) -> None:
    """Warn with :class:`~sklearn_biodiff.exceptions.PackageVersionWarning` when an
    estimator pickled by another release of the package (or by one before version
    stamps) is loaded."""
    import warnings

    from ._version import __version__
    from .exceptions import PackageVersionWarning

    if saved == __version__:
        return
    when = ("a release of sklearn_biodiff without version stamps (before 0.1.0)"
            if saved is None else f"sklearn_biodiff {saved}")
    warnings.warn(PackageVersionWarning(
        f"{name} was saved with {when} and is loaded with {__version__}: its fitted "
        "state may not mean the same thing here. Refit it, or load it with the release "
        "that saved it.", saved, __version__), stacklevel=3)


def _same_value(a, b) -> bool:
    try:
        return bool(type(a) is type(b) and a == b)
    except (TypeError, ValueError):  # arrays and the like: not a default
        return False


class NewParametersOnLoadMixin:
    """Unpickle models saved by an older version of the package.

    A parameter added to ``__init__`` after a model was pickled is missing from
    its ``__dict__``, so ``get_params``, ``clone`` and ``set_params`` would raise
    ``AttributeError``. New parameters default to the old behaviour, so their
    ``__init__`` defaults are what such a model was built with: ``__setstate__``
    sets them (or, where a new default changes behaviour, the value in
    ``_defaults_of_older_pickles``). Flat parameters that a newer release groups in
    one parameter object (the torch estimators' ``engine``) are folded into it
    (``_grouped_parameters_of_older_pickles``). Put this mixin before
    ``BaseEstimator`` in the bases.

    Pickles also carry the package version; loading one saved by another release
    warns with :class:`~sklearn_biodiff.exceptions.PackageVersionWarning`, as
    scikit-learn does for its own version.
    """

    #: the key of the package version in a pickled estimator's state
    _VERSION_KEY = "_sklearn_biodiff_version"

    def __getstate__(self):
        from ._version import __version__

        state = super().__getstate__() if hasattr(super(), "__getstate__") else vars(self)
        return {**state, self._VERSION_KEY: __version__}

    def __setstate__(self, state):
        state = self._fold_grouped_parameters(dict(state))
        _check_saved_version(type(self).__name__, state.pop(self._VERSION_KEY, None))
        if hasattr(super(), "__setstate__"):
            super().__setstate__(state)  # BaseEstimator checks the sklearn version
        else:
            self.__dict__.update(state)
        self._add_new_parameters()

    #: parameters that group what older releases took as flat parameters:
    #: ``{name: (cls, flat names)}``; a pickle holding the flat ones gets
    #: ``name=cls(**flat)`` (``None``, the default, when they all hold ``cls``'s defaults)
    _grouped_parameters_of_older_pickles: dict = {}

    def _fold_grouped_parameters(self, state: dict) -> dict:
        """``state`` with the flat parameters of an older release folded into the
        parameter objects that group them now (``_grouped_parameters_of_older_pickles``)."""
        for name, (cls, flat) in self._grouped_parameters_of_older_pickles.items():
            old = {key: state.pop(key) for key in flat if key in state}
            if old and name not in state:
                defaults = cls().get_params()
                same = all(_same_value(value, defaults[key]) for key, value in old.items())
                state[name] = None if same else cls(**old)
        return state

    #: parameters whose ``__init__`` default is not what a model pickled before the
    #: parameter existed did: the value that keeps that model's behaviour
    _defaults_of_older_pickles: dict = {}

    def _add_new_parameters(self) -> None:
        """Set every ``__init__`` parameter missing from ``__dict__`` to the value that
        keeps the pickled model's behaviour (its default, unless
        ``_defaults_of_older_pickles`` says otherwise)."""
        signature = inspect.signature(type(self).__init__)
        for name, param in signature.parameters.items():
            if (name != "self" and param.default is not inspect.Parameter.empty
                    and name not in self.__dict__):
                setattr(self, name, self._defaults_of_older_pickles.get(name, param.default))


class TorchEstimatorMixin(NewParametersOnLoadMixin):
    """Device, seeding and CPU-portable pickling for torch-backed estimators.

    Subclasses keep ``device`` and ``random_state`` as constructor parameters and
    call :meth:`_init_torch_state` at the start of ``fit``; it sets ``device_``
    and returns the integer seed to use inside :func:`torch_seed_context`.

    Fitted torch state (modules, tensors, skorch nets) is stored on ``device_``.
    ``__getstate__`` saves fitted tensors and modules (other than ``net_``) in one
    CPU ``torch.save`` blob; ``__setstate__`` loads it on the CPU and records CPU
    as ``device_`` when the training device is missing, so a GPU-trained model
    works on a CPU-only machine (skorch nets handle their own CUDA→CPU mapping,
    and the package's callbacks keep no tensor outside it).
    """

    _TORCH_BLOB = "__fitted_torch_state__"
    #: the attribute whose presence means "fitted" (``None``: any attribute ending in
    #: ``_``); ``device_`` is set when a fit starts, so a fit that raises must not count
    _fitted_attribute: str | None = None

    def __sklearn_is_fitted__(self) -> bool:
        if self._fitted_attribute is None:
            return any(k.endswith("_") and not k.startswith("__") for k in vars(self))
        return hasattr(self, self._fitted_attribute)

    #: attribute names dropped from pickles (caches rebuilt on demand)
    _unpicklable_attrs: tuple[str, ...] = ()

    def _init_torch_state(self) -> int:
        self.device_ = resolve_device(getattr(self, "device", "auto"))
        return _same_in_every_process(seed_from_random_state(getattr(self, "random_state",
                                                                     None)))

    def __getstate__(self):
        state = dict(super().__getstate__())
        for name in self._unpicklable_attrs:
            state.pop(name, None)
        torch_state = {key: state.pop(key) for key in list(state)
                       if key.endswith("_") and key != "net_" and _holds_torch(state[key])}
        if torch_state:
            state[self._TORCH_BLOB] = _torch_blob(torch_state)
        if "device_" in state:
            state["device_"] = str(state["device_"])
        return state

    def __setstate__(self, state):
        import torch

        if self._TORCH_BLOB in state:
            state.update(_load_torch_blob(state.pop(self._TORCH_BLOB)))
        if "device_" in state:
            dev = torch.device(state["device_"])
            if ((dev.type == "cuda" and not torch.cuda.is_available())
                    or (dev.type == "mps" and not _mps_available())):
                dev = torch.device("cpu")
            state["device_"] = dev
        super().__setstate__(state)  # fills parameters added since (mixin above)
        if "device_" in state:
            self._restore_device()

    def _restore_device(self) -> None:
        """Move fitted torch state to ``device_`` after unpickling (hook)."""
        import torch

        for key, value in list(self.__dict__.items()):
            if key.endswith("_") and isinstance(value, torch.nn.Module | torch.Tensor):
                setattr(self, key, value.to(self.device_))
