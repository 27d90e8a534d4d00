"""COCO run-length encoded masks: the ``pycocotools.mask`` API in numpy + numba.

Every function returns what its ``pycocotools.mask`` namesake returns (``frPyObjects`` is
``fr_py_objects``, ``toBbox`` is ``to_bbox``, ...): RLEs are dicts ``{"size": [h, w],
"counts": bytes}`` in COCO's compressed string form, masks are uint8 arrays of shape
(h, w, n) in Fortran order, polygons are rasterised to the same pixels. Inputs may also be
uncompressed RLEs (``counts`` a list of ints), which pycocotools only takes in
``frPyObjects``.

Where pycocotools reads out of bounds or silently returns garbage (RLEs whose runs do not
cover the image, masks of different sizes in ``merge`` / ``decode``, polygons of fewer
than 3 points, odd coordinate counts), a ValueError names the argument and the index.

The kernels (``_mask_kernels``) work on all RLEs of a call at once as one flat array of
run lengths, so a call costs one compiled loop, not one C call per object.
"""

from dataclasses import dataclass

import numpy as np

from skextras.metrics import _mask_kernels as kernels

__all__ = [
    "area",
    "decode",
    "decode_counts",
    "encode",
    "encode_counts",
    "fr_bbox",
    "fr_polygons",
    "fr_py_objects",
    "iou",
    "merge",
    "to_bbox",
]


@dataclass
class _RLEs:
    """n RLEs held flat: mask ``i`` has runs ``counts[offsets[i]:offsets[i+1]]``."""

    counts: np.ndarray
    offsets: np.ndarray
    h: np.ndarray
    w: np.ndarray

    def __len__(self):
        return len(self.h)

    @classmethod
    def from_objects(cls, objs, what="rles"):
        """Parse RLE dicts (compressed or uncompressed counts); validate every run total."""
        try:
            # fast path, the common case of COCO json: every counts a str (or every bytes)
            counts = [o["counts"] for o in objs]
            hw = np.array([o["size"] for o in objs], dtype=np.int64).reshape(len(objs), 2)
            kind = type(counts[0]) if counts else str
            if (
                kind in (str, bytes)
                and all(type(c) is kind for c in counts)
                and hw.min(initial=0) >= 0
            ):
                joined = "".join(counts).encode("ascii") if kind is str else b"".join(counts)
                lengths = np.fromiter(map(len, counts), dtype=np.int64, count=len(counts))
                char_off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
                parsed = kernels.fr_string(np.frombuffer(joined, dtype=np.uint8), char_off)
                rles = cls(*parsed, hw[:, 0].copy(), hw[:, 1].copy())
                rles.check(what)
                return rles
        except (KeyError, TypeError, ValueError, UnicodeEncodeError):
            pass  # the slow path below names the bad entry
        sizes, strings, lists, kinds = [], [], [], []
        for i, obj in enumerate(objs):
            if not isinstance(obj, dict) or "counts" not in obj or "size" not in obj:
                raise ValueError(f"{what}[{i}] must be a dict with 'size' and 'counts', got "
                                 f"{type(obj).__name__}")  # fmt: skip
            size = obj["size"]
            if len(size) != 2 or min(size) < 0:
                raise ValueError(f"{what}[{i}]: size must be [height, width], got {size!r}")
            sizes.append((int(size[0]), int(size[1])))
            counts = obj["counts"]
            if isinstance(counts, str):
                counts = counts.encode("ascii")
            if isinstance(counts, bytes | bytearray):
                kinds.append(0)
                strings.append(bytes(counts))
            else:
                kinds.append(1)
                lists.append(np.asarray(counts, dtype=np.int64).ravel())
        hw = np.array(sizes, dtype=np.int64).reshape(-1, 2)
        kinds = np.array(kinds, dtype=np.int64)
        if (kinds == 0).all():
            rles = cls(*_parse_strings(strings), hw[:, 0].copy(), hw[:, 1].copy())
        else:
            pieces, s_iter, l_iter = [], iter([]), iter(lists)
            if strings:
                s_counts, s_off = _parse_strings(strings)
                s_iter = iter(np.split(s_counts, s_off[1:-1]))
            for k in kinds:
                pieces.append(next(s_iter) if k == 0 else next(l_iter))
            lengths = np.array([len(p) for p in pieces], dtype=np.int64)
            offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
            counts = np.concatenate(pieces) if pieces else np.zeros(0, np.int64)
            rles = cls(counts.astype(np.int64), offsets, hw[:, 0].copy(), hw[:, 1].copy())
        rles.check(what)
        return rles

    def check(self, what):
        if (self.counts < 0).any():
            i = int(np.searchsorted(self.offsets, np.flatnonzero(self.counts < 0)[0], "right"))
            raise ValueError(f"{what}[{i - 1}]: counts has a negative run length")
        totals = np.diff(np.concatenate([[0], np.cumsum(self.counts)])[self.offsets])
        bad = totals != self.h * self.w
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{what}[{i}]: counts add up to {int(totals[i])} pixels, but size "
                f"[{int(self.h[i])}, {int(self.w[i])}] has {int(self.h[i] * self.w[i])}"
            )

    def to_objects(self):
        chars, char_off = kernels.to_string(self.counts, self.offsets)
        raw = chars.tobytes()
        return [
            {"size": [int(h), int(w)], "counts": raw[char_off[i] : char_off[i + 1]]}
            for i, (h, w) in enumerate(zip(self.h, self.w))
        ]

    def boxes(self):
        return kernels.to_bbox(self.counts, self.offsets, self.h, self.w)


def _parse_strings(strings):
    lengths = np.fromiter((len(s) for s in strings), dtype=np.int64, count=len(strings))
    char_off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    chars = np.frombuffer(b"".join(strings), dtype=np.uint8)
    return kernels.fr_string(chars, char_off)


def _as_list(rles, what):
    if isinstance(rles, dict):
        return [rles], True
    if not isinstance(rles, list | tuple):
        raise TypeError(f"{what} must be an RLE dict or a list of them, got {type(rles).__name__}")
    return list(rles), False


def _check_hw(h, w):
    if int(h) != h or int(w) != w or h < 0 or w < 0:
        raise ValueError(f"h and w must be non-negative integers, got h={h!r}, w={w!r}")
    return int(h), int(w)


def encode(binary_masks):
    """RLE-encode binary masks.

    Parameters
    ----------
    binary_masks : ndarray of shape (h, w, n) or (h, w)
        uint8 or bool masks (pycocotools wants a Fortran-ordered uint8 array; any order is
        taken here). Every distinct byte value starts a new run, as in pycocotools.

    Returns
    -------
    list of dict or dict
        ``{"size": [h, w], "counts": bytes}`` per mask; a single dict for a 2-d input.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.metrics import mask
    >>> m = np.zeros((4, 4), dtype=np.uint8, order="F"); m[1:3, 1:3] = 1
    >>> mask.encode(m)
    {'size': [4, 4], 'counts': b'52203'}
    """
    arr = np.asarray(binary_masks)
    if arr.dtype == bool:
        arr = arr.view(np.uint8)
    if arr.dtype != np.uint8:
        raise TypeError(f"binary_masks must be uint8 or bool, got dtype {arr.dtype}")
    if arr.ndim not in (2, 3):
        raise ValueError(f"binary_masks must have shape (h, w, n) or (h, w), got {arr.shape}")
    single = arr.ndim == 2
    if single:
        arr = arr[:, :, None]
    h, w, n = arr.shape
    flat = np.ascontiguousarray(arr.reshape(h * w, n, order="F").T)
    counts, offsets = kernels.encode(flat)
    objs = _RLEs(counts, offsets, np.full(n, h), np.full(n, w)).to_objects()
    return objs[0] if single else objs


def _check_one_size(r):
    """ValueError naming the first RLE whose size differs from the first one's."""
    differs = (r.h != r.h[0]) | (r.w != r.w[0])
    if differs.any():
        i = int(np.flatnonzero(differs)[0])
        raise ValueError(f"rles[{i}]: size [{r.h[i]}, {r.w[i]}] differs from rles[0]'s")


def decode(rles):
    """Binary masks of RLEs: uint8 (h, w, n) in Fortran order, or (h, w) for one dict.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.metrics import mask
    >>> m = np.zeros((4, 4), dtype=np.uint8); m[1:3, 1:3] = 1
    >>> rle = mask.encode(m)  # the 2 x 2 square at rows / columns 1-2
    >>> int(mask.decode(rle).sum()), mask.decode(rle).shape
    (4, (4, 4))
    """
    objs, single = _as_list(rles, "rles")
    r = _RLEs.from_objects(objs)
    if len(r) == 0:
        raise ValueError("rles is empty: pycocotools cannot decode an empty list either")
    _check_one_size(r)
    h, w = int(r.h[0]), int(r.w[0])
    masks = kernels.decode(r.counts, r.offsets, h * w).T.reshape(h, w, len(r), order="F")
    return masks[:, :, 0] if single else masks


def area(rles):
    """Foreground pixel count (uint32) of each RLE, or of the one dict given.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.metrics import mask
    >>> m = np.zeros((4, 4), dtype=np.uint8); m[1:3, 1:3] = 1
    >>> rle = mask.encode(m)  # the 2 x 2 square at rows / columns 1-2
    >>> int(mask.area(rle)), mask.area([rle])
    (4, array([4], dtype=uint32))
    """
    objs, single = _as_list(rles, "rles")
    r = _RLEs.from_objects(objs)
    out = kernels.area(r.counts, r.offsets).astype(np.uint32)
    return out[0] if single else out


def to_bbox(rles):
    """Box [x, y, w, h] (float64) around each RLE's foreground: (n, 4), or (4,) for a dict.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.metrics import mask
    >>> m = np.zeros((4, 4), dtype=np.uint8); m[1:3, 1:3] = 1
    >>> rle = mask.encode(m)  # the 2 x 2 square at rows / columns 1-2
    >>> mask.to_bbox(rle)  # [x, y, w, h]
    array([1., 1., 2., 2.])
    """
    objs, single = _as_list(rles, "rles")
    out = _RLEs.from_objects(objs).boxes()
    return out[0] if single else out


def merge(rles, intersect=False):
    """Union (or intersection when ``intersect``) of RLEs of one size, as one RLE dict.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.metrics import mask
    >>> m = np.zeros((4, 4), dtype=np.uint8); m[1:3, 1:3] = 1
    >>> rle = mask.encode(m)  # the 2 x 2 square at rows / columns 1-2
    >>> box = mask.fr_bbox([[0, 0, 2, 2]], 4, 4)[0]
    >>> int(mask.area(mask.merge([rle, box]))), int(mask.area(mask.merge([rle, box], True)))
    (7, 1)
    """
    objs, _ = _as_list(rles, "rles")
    r = _RLEs.from_objects(objs)
    if len(r) == 0:
        raise ValueError("rles is empty: there is nothing to merge")
    _check_one_size(r)
    counts, offsets = kernels.merge_groups(
        r.counts, r.offsets, np.array([0, len(r)], dtype=np.int64), bool(intersect)
    )
    return _RLEs(counts, offsets, r.h[:1], r.w[:1]).to_objects()[0]


def _boxes_or_rles(objs, what):
    """('box', (n, 4) float array) or ('rle', _RLEs) as pycocotools' ``iou`` sorts inputs."""
    if isinstance(objs, np.ndarray):
        arr = objs.astype(float)
        if arr.ndim == 1 and arr.size == 4:
            arr = arr.reshape(1, 4)
        if arr.ndim != 2 or arr.shape[1] != 4:
            raise ValueError(f"{what}: an array must be (n, 4) boxes, got shape {objs.shape}")
        return "box", arr
    if isinstance(objs, dict):
        objs = [objs]
    if not isinstance(objs, list | tuple):
        raise TypeError(f"{what} must be RLE dicts or (n, 4) boxes, got {type(objs).__name__}")
    if all(isinstance(o, dict) for o in objs):
        return "rle", _RLEs.from_objects(objs, what)
    if all(isinstance(o, list | tuple | np.ndarray) and len(o) == 4 for o in objs):
        return "box", np.array(objs, dtype=float).reshape(-1, 4)
    raise TypeError(f"{what} must be a list of RLE dicts or of [x, y, w, h] boxes, not a mix")


def iou(dt, gt, iscrowd):
    """IoU of every dt against every gt: RLE-RLE or box-box, as ``pycocotools.mask.iou``.

    Parameters
    ----------
    dt, gt : list of RLE dict, list of [x, y, w, h] or ndarray of shape (n, 4)
        Both RLEs or both boxes (pycocotools refuses a mix, and so does this function).
    iscrowd : sequence of bool, length ``len(gt)``
        For a crowd gt the union is the dt's area alone.

    Returns
    -------
    ndarray of shape (len(dt), len(gt)), or ``[]`` when either is empty (as pycocotools)
        -1 where two RLEs differ in size.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.metrics import mask
    >>> m = np.zeros((4, 4), dtype=np.uint8); m[1:3, 1:3] = 1
    >>> rle = mask.encode(m)  # the 2 x 2 square at rows / columns 1-2
    >>> box = mask.fr_bbox([[0, 0, 2, 2]], 4, 4)[0]
    >>> mask.iou([rle], [box], [0])  # 1 shared pixel of 7
    array([[0.14285714]])
    >>> mask.iou(np.array([[0, 0, 2, 2.0]]), np.array([[1, 1, 2, 2.0]]), [0])  # boxes
    array([[0.14285714]])
    """
    crowd = np.asarray(iscrowd, dtype=bool).ravel()
    kind_d, d = _boxes_or_rles(dt, "dt")
    kind_g, g = _boxes_or_rles(gt, "gt")
    if len(d) == 0 or len(g) == 0:
        return []
    if kind_d != kind_g:
        raise TypeError(f"dt and gt must both be RLEs or both boxes, got {kind_d} and {kind_g}")
    if len(crowd) != len(g):
        raise ValueError(f"iscrowd has {len(crowd)} entries but gt has {len(g)}")
    if kind_d == "box":
        return kernels.box_iou_matrix(np.ascontiguousarray(d), np.ascontiguousarray(g), crowd)
    return kernels.iou_matrix(d.counts, d.offsets, d.boxes(), d.h, d.w,
                              g.counts, g.offsets, g.boxes(), g.h, g.w, crowd)  # fmt: skip


def _polygon_array(polys, what):
    """Flat (k, 2) points and point offsets of polygons; each needs >= 3 (x, y) pairs."""
    arrays = []
    for i, p in enumerate(polys):
        a = np.asarray(p, dtype=float).ravel()
        if a.size % 2:
            raise ValueError(f"{what}[{i}] has an odd number of coordinates ({a.size})")
        if a.size < 6:
            raise ValueError(f"{what}[{i}] has {a.size // 2} points; a polygon needs at least 3")
        if not np.isfinite(a).all():
            raise ValueError(f"{what}[{i}] has a coordinate that is not finite")
        arrays.append(a.reshape(-1, 2))
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    xy = np.concatenate(arrays) if arrays else np.zeros((0, 2))
    return np.ascontiguousarray(xy), offsets


def _rasterise(xy, offsets, h, w):
    n = len(offsets) - 1
    hs, ws = np.full(n, h, dtype=np.int64), np.full(n, w, dtype=np.int64)
    counts, r_off = kernels.fr_polygons(xy, offsets, hs, ws)
    return _RLEs(counts, r_off, hs, ws)


def fr_polygons(polys, h, w):
    """RLE of each polygon ``[x1, y1, x2, y2, ...]`` on an ``h`` x ``w`` image (pixels of
    ``pycocotools.mask.frPoly``); a list of RLE dicts.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.metrics import mask
    >>> m = np.zeros((4, 4), dtype=np.uint8); m[1:3, 1:3] = 1
    >>> rle = mask.encode(m)  # the 2 x 2 square at rows / columns 1-2
    >>> mask.area(mask.fr_polygons([[0, 0, 4, 0, 4, 4, 0, 4]], 4, 4))  # the whole image
    array([16], dtype=uint32)
    """
    h, w = _check_hw(h, w)
    return _rasterise(*_polygon_array(polys, "polys"), h, w).to_objects()


def fr_bbox(bboxes, h, w):
    """RLE of each [x, y, w, h] box on an ``h`` x ``w`` image (``pycocotools.mask.frBbox``).

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.metrics import mask
    >>> m = np.zeros((4, 4), dtype=np.uint8); m[1:3, 1:3] = 1
    >>> rle = mask.encode(m)  # the 2 x 2 square at rows / columns 1-2
    >>> mask.fr_bbox([[1, 1, 2, 2]], 4, 4) == [rle]
    True
    """
    h, w = _check_hw(h, w)
    b = np.asarray(bboxes, dtype=float).reshape(-1, 4) if len(bboxes) else np.zeros((0, 4))
    x0, y0, x1, y1 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    xy = np.stack([x0, y0, x0, y1, x1, y1, x1, y0], axis=1).reshape(-1, 2)
    offsets = np.arange(0, 4 * len(b) + 1, 4, dtype=np.int64)
    return _rasterise(np.ascontiguousarray(xy), offsets, h, w).to_objects()


def fr_py_objects(objs, h, w):
    """RLEs from boxes, polygons or RLE dicts, dispatched as ``pycocotools.mask.frPyObjects``.

    A list whose first element has 4 numbers is read as boxes (pycocotools' rule, so a
    list of 2-point polygons is boxes too), longer lists as polygons, dicts as
    uncompressed (or already compressed) RLEs, which keep their own size. A single
    object gives a single dict.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.metrics import mask
    >>> m = np.zeros((4, 4), dtype=np.uint8); m[1:3, 1:3] = 1
    >>> rle = mask.encode(m)  # the 2 x 2 square at rows / columns 1-2
    >>> mask.fr_py_objects([[1, 1, 2, 2]], 4, 4) == [rle]  # a box, as pycocotools' frPyObjects
    True
    """
    h, w = _check_hw(h, w)
    if isinstance(objs, np.ndarray):
        return fr_bbox(objs, h, w)
    if isinstance(objs, dict):
        return fr_py_objects([objs], h, w)[0]
    if not isinstance(objs, list | tuple) or len(objs) == 0:
        raise TypeError(f"objs must be boxes, polygons or RLE dicts, got {objs!r:.80}")
    first = objs[0]
    if isinstance(first, dict):
        return _RLEs.from_objects(objs, "objs").to_objects()
    if isinstance(first, list | tuple | np.ndarray):
        if len(first) == 4:
            return fr_bbox(objs, h, w)
        return fr_polygons(objs, h, w)
    if len(objs) == 4:
        return fr_bbox([objs], h, w)[0]
    return fr_polygons([objs], h, w)[0]


def encode_counts(counts):
    """COCO's compressed string (bytes) of one uncompressed run-length list.

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.metrics import mask
    >>> m = np.zeros((4, 4), dtype=np.uint8); m[1:3, 1:3] = 1
    >>> rle = mask.encode(m)  # the 2 x 2 square at rows / columns 1-2
    >>> mask.encode_counts(np.array([5, 2, 2, 2, 5]))
    b'52203'
    """
    c = np.asarray(counts, dtype=np.int64).ravel()
    if (c < 0).any():
        raise ValueError("counts must be non-negative run lengths")
    chars, _ = kernels.to_string(c, np.array([0, len(c)], dtype=np.int64))
    return chars.tobytes()


def decode_counts(string):
    """Run lengths (int64 array) of one compressed RLE string (str or bytes).

    Examples
    --------
    >>> import numpy as np
    >>> from skextras.metrics import mask
    >>> m = np.zeros((4, 4), dtype=np.uint8); m[1:3, 1:3] = 1
    >>> rle = mask.encode(m)  # the 2 x 2 square at rows / columns 1-2
    >>> mask.decode_counts(rle["counts"])  # run lengths, column-major, starting with zeros
    array([5, 2, 2, 2, 5])
    """
    if isinstance(string, str):
        string = string.encode("ascii")
    counts, _ = _parse_strings([bytes(string)])
    return counts
