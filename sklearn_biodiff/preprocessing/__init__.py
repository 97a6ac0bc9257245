"""Record-wise signal preprocessing transformers (ragged input, Pipeline-ready)."""

from ._filter import BandpassFilter
from ._length import FixedLength, segment_records
from ._resample import Resample
from ._scale import StandardizeSignal

__all__ = ["BandpassFilter", "FixedLength", "Resample", "StandardizeSignal",
           "segment_records"]
