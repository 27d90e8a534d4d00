"""Torch-backed estimators (needs the ``torch`` extra: ``pip install skextras[torch]``)."""
