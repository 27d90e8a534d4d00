"""``history_``: the per-epoch records of a fit, indexable like skorch's ``History``.

A ``History`` is a ``list`` of dicts (one per epoch, JSON-able as it is), with one addition:
a tuple index selects epochs, then fields. ``h[-1]`` is the last epoch's dict,
``h[-1, "train_loss"]`` its training loss, ``h[:, "valid_loss"]`` the list of validation
losses of every epoch and ``h[:, ("train_loss", "valid_loss")]`` a list of pairs.
"""


class History(list):
    """Per-epoch records; ``history[epochs, field]`` selects like skorch's ``History``.

    Epochs that lack a requested field (e.g. ``valid_loss`` in epochs trained without a
    validation split) are left out of a column; a field no selected epoch has raises
    ``KeyError`` naming it and the fields there are.
    """

    def __getitem__(self, key):
        if not isinstance(key, tuple):
            item = list.__getitem__(self, key)
            return History(item) if isinstance(key, slice) else item
        if len(key) != 2:
            raise KeyError(f"history_ takes [epochs] or [epochs, field(s)], got {key!r}")
        rows, fields = key
        selected = list.__getitem__(self, rows)
        if isinstance(rows, slice):
            return [v for v in (_pick(r, fields) for r in selected) if v is not _MISSING] or (
                _raise_missing(selected, fields)
            )
        value = _pick(selected, fields)
        return _raise_missing([selected], fields) if value is _MISSING else value


_MISSING = object()


def _pick(record, fields):
    if isinstance(fields, tuple | list):
        if not all(f in record for f in fields):
            return _MISSING
        return [record[f] for f in fields]
    return record.get(fields, _MISSING)


def _raise_missing(records, fields):
    known = sorted({k for r in records for k in r})
    if not records:
        return []
    raise KeyError(f"history_ has no field {fields!r} in the selected epochs; fields: {known}")
