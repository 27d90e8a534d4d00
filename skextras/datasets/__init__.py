"""Small real data sets that ship inside the wheel."""

from ._base import load_agaricus, load_flights, load_higgs_sample

__all__ = ["load_agaricus", "load_flights", "load_higgs_sample"]
