"""Numba kernels of COCO's run-length encoded (RLE) masks, written after ``maskApi.c``.

A set of n RLEs is held flat: ``counts`` (int64, every run length of every mask one after
the other) and ``offsets`` (n + 1) so that mask ``i`` is ``counts[offsets[i]:offsets[i+1]]``.
Runs alternate background / foreground and start with background (possibly a run of 0);
pixels are numbered column-major (Fortran order), as in pycocotools.

Invariants kept equal to pycocotools operation by operation:

- encoding starts a new run whenever the byte value changes (not only 0 / 1);
- polygons are rasterised by upsampling the outline 5x, keeping the points where the
  outline crosses a pixel column centre and downsampling, with the same C truncations
  (``(int)(x + .5)`` rounds towards zero) so that the same pixels are set;
- IoU is 0 where the RLE boxes do not overlap (the box IoU pre-test), -1 where the two
  masks differ in size, intersection / union otherwise (intersection / dt area for crowd);
- the string codec is COCO's LEB128-like one: 5 bits per character, offset 48, and counts
  after the third stored as differences to the count two before.

Only int64 counts and float64 coordinates are compiled: one type specialisation each.
"""

import numpy as np
from numba import njit, prange

from skextras.metrics._coco_kernels import _xywh_iou


@njit(cache=True, error_model="numpy")
def encode(masks):
    """RLE of each row of ``masks`` (n, h * w) uint8, pixels in column-major order."""
    n, a = masks.shape
    offsets = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        k = 1
        p = 0
        for j in range(a):
            if masks[i, j] != p:
                k += 1
                p = masks[i, j]
        offsets[i + 1] = offsets[i] + k
    counts = np.empty(offsets[n], dtype=np.int64)
    for i in range(n):
        k = offsets[i]
        p = 0
        c = 0
        for j in range(a):
            if masks[i, j] != p:
                counts[k] = c
                k += 1
                c = 0
                p = masks[i, j]
            c += 1
        counts[k] = c
    return counts, offsets


@njit(cache=True, error_model="numpy")
def decode(counts, offsets, a):
    """Masks (n, a) uint8 from RLEs whose runs add up to ``a`` pixels (checked by caller)."""
    n = offsets.shape[0] - 1
    out = np.empty((n, a), dtype=np.uint8)
    for i in range(n):
        pos = 0
        v = 0
        for j in range(offsets[i], offsets[i + 1]):
            out[i, pos : pos + counts[j]] = v
            pos += counts[j]
            v = 1 - v
    return out


@njit(cache=True, error_model="numpy")
def area(counts, offsets):
    """Foreground pixels (the odd runs) of each RLE."""
    n = offsets.shape[0] - 1
    out = np.zeros(n, dtype=np.int64)
    for i in range(n):
        for j in range(offsets[i] + 1, offsets[i + 1], 2):
            out[i] += counts[j]
    return out


@njit(cache=True, error_model="numpy")
def to_bbox(counts, offsets, h, w):
    """xywh boxes (n, 4) around each RLE's foreground, as ``rleToBbox``."""
    n = offsets.shape[0] - 1
    out = np.zeros((n, 4))
    for i in range(n):
        hi, wi = h[i], w[i]
        m = ((offsets[i + 1] - offsets[i]) // 2) * 2
        if m == 0:
            continue
        xs, ys, xe, ye, cc, xp = wi, hi, 0, 0, 0, 0
        for j in range(m):
            cc += counts[offsets[i] + j]
            t = cc - j % 2
            y = t % hi
            x = (t - y) // hi
            if j % 2 == 0:
                xp = x
            elif xp < x:
                # the run wraps a column: the box spans the full height
                ys = 0
                ye = hi - 1
            xs = min(xs, x)
            xe = max(xe, x)
            ys = min(ys, y)
            ye = max(ye, y)
        out[i, 0] = xs
        out[i, 2] = xe - xs + 1
        out[i, 1] = ys
        out[i, 3] = ye - ys + 1
    return out


@njit(cache=True, error_model="numpy")
def _advance(counts, left, i, value):
    """One RLE's cursor after a step: ``left`` pixels remain in its current run; when that
    run is used up, move to run ``i`` (if any) and flip the value. The two-RLE walks of
    merge and IoU (``rleMerge`` / ``rleIou``) step both cursors by the shorter run."""
    if left == 0 and i < counts.shape[0]:
        return counts[i], i + 1, not value
    return left, i, value


@njit(cache=True, error_model="numpy")
def _merge_two(a, b, out, intersect):
    """Union (or intersection) of two RLEs of the same size into ``out``; returns its length."""
    ca, cb = a[0], b[0]
    v = va = vb = False
    m = 0
    ia = ib = 1
    cc = 0
    ct = 1
    while ct > 0:
        c = ca if ca < cb else cb
        cc += c
        ca, ia, va = _advance(a, ca - c, ia, va)
        cb, ib, vb = _advance(b, cb - c, ib, vb)
        ct = ca + cb
        vp = v
        v = (va and vb) if intersect else (va or vb)
        if v != vp or ct == 0:
            out[m] = cc
            m += 1
            cc = 0
    return m


@njit(cache=True, error_model="numpy")
def merge_groups(counts, offsets, group_offsets, intersect):
    """Merge each run of consecutive RLEs ``group_offsets[g]:group_offsets[g+1]`` into one."""
    n_groups = group_offsets.shape[0] - 1
    total = counts.shape[0] + n_groups
    out = np.empty(total, dtype=np.int64)
    out_offsets = np.zeros(n_groups + 1, dtype=np.int64)
    acc = np.empty(0, dtype=np.int64)
    for g in range(n_groups):
        first, last = group_offsets[g], group_offsets[g + 1]
        acc = counts[offsets[first] : offsets[first + 1]].copy()
        for r in range(first + 1, last):
            b = counts[offsets[r] : offsets[r + 1]]
            buf = np.empty(acc.shape[0] + b.shape[0] + 1, dtype=np.int64)
            acc = buf[: _merge_two(acc, b, buf, intersect)]
        start = out_offsets[g]
        if start + acc.shape[0] > out.shape[0]:
            grown = np.empty(2 * (start + acc.shape[0]), dtype=np.int64)
            for j in range(start):
                grown[j] = out[j]
            out = grown
        # loops, not slice assignments: those compile a shape check with formatted messages
        for j in range(acc.shape[0]):
            out[start + j] = acc[j]
        out_offsets[g + 1] = start + acc.shape[0]
    return out[: out_offsets[n_groups]], out_offsets


@njit(cache=True, error_model="numpy")
def _rle_iou(dc, gc, crowd):
    """Intersection over union of two RLEs (over ``dc``'s area for a crowd gt)."""
    ca, cb = dc[0], gc[0]
    ka = dc.shape[0]
    va = vb = False
    ia = ib = 1
    inter = 0
    union = 0
    ct = 1
    while ct > 0:
        c = ca if ca < cb else cb
        if va or vb:
            union += c
            if va and vb:
                inter += c
        ca, ia, va = _advance(dc, ca - c, ia, va)
        cb, ib, vb = _advance(gc, cb - c, ib, vb)
        ct = ca + cb
    if inter == 0:
        union = 1
    elif crowd:
        union = 0
        for j in range(1, ka, 2):
            union += dc[j]
    return inter / union


@njit(cache=True, error_model="numpy")
def _pair_iou(dc, db, dh, dw, gc, gb, gh, gw, crowd):
    """pycocotools' ``rleIou`` of one pair: box pre-test, size check, then runs."""
    o = _xywh_iou(db, gb, crowd)
    if o <= 0:
        return o
    if dh != gh or dw != gw:
        return -1.0
    return _rle_iou(dc, gc, crowd)


@njit(cache=True, error_model="numpy")
def iou_matrix(dc, do, db, dh, dw, gc, go, gb, gh, gw, crowd):
    """(m, n) IoUs of m dt RLEs against n gt RLEs, boxes ``db`` / ``gb`` from to_bbox."""
    m, n = do.shape[0] - 1, go.shape[0] - 1
    out = np.zeros((m, n))
    for d in range(m):
        for g in range(n):
            out[d, g] = _pair_iou(dc[do[d] : do[d + 1]], db[d], dh[d], dw[d],
                                  gc[go[g] : go[g + 1]], gb[g], gh[g], gw[g], crowd[g])  # fmt: skip
    return out


_CHUNK = 64  # groups per kernel call or parallel task
# Below this many IoU pairs the groups run chunk by chunk from Python: the parallel driver
# (slow to compile) is compiled only when an input reaches it.
PARALLEL_MIN_PAIRS = 20_000


def group_ious(dc, do, db, dh, dw, d_index, gc, go, gb, gh, gw, g_index, crowd,
               gt_start, gt_stop, dt_start, dt_stop, iou_start):  # fmt: skip
    """IoUs of every (image, category) group, flat: group ``k`` is a (nd, ng) block at
    ``iou_start[k]``. ``d_index`` / ``g_index`` map sorted positions to RLE rows."""
    out = np.zeros(iou_start[-1])
    args = (dc, do, db, dh, dw, d_index, gc, go, gb, gh, gw, g_index, crowd, gt_start,
            gt_stop, dt_start, dt_stop, iou_start, out)  # fmt: skip
    n_chunks = (gt_start.shape[0] + _CHUNK - 1) // _CHUNK
    if out.shape[0] >= PARALLEL_MIN_PAIRS:
        _group_ious_parallel(n_chunks, *args)
    else:
        for chunk in range(n_chunks):
            _group_ious_chunk(chunk, *args)
    return out


@njit(cache=True, parallel=True, error_model="numpy")
def _group_ious_parallel(n_chunks, dc, do, db, dh, dw, d_index, gc, go, gb, gh, gw, g_index,
                         crowd, gt_start, gt_stop, dt_start, dt_stop, iou_start, out):  # fmt: skip
    for chunk in prange(n_chunks):
        _group_ious_chunk(chunk, dc, do, db, dh, dw, d_index, gc, go, gb, gh, gw, g_index, crowd,
                          gt_start, gt_stop, dt_start, dt_stop, iou_start, out)  # fmt: skip


@njit(cache=True, error_model="numpy")
def _group_ious_chunk(chunk, dc, do, db, dh, dw, d_index, gc, go, gb, gh, gw, g_index, crowd,
                      gt_start, gt_stop, dt_start, dt_stop, iou_start, out):  # fmt: skip
    last = (chunk + 1) * _CHUNK
    for k in range(chunk * _CHUNK, last if last < gt_start.shape[0] else gt_start.shape[0]):
        g0, g1, d0, d1 = gt_start[k], gt_stop[k], dt_start[k], dt_stop[k]
        pos = iou_start[k]
        for di in range(d0, d1):
            d = d_index[di]
            for gi in range(g0, g1):
                g = g_index[gi]
                dcs, gcs = dc[do[d] : do[d + 1]], gc[go[g] : go[g + 1]]
                out[pos] = _pair_iou(dcs, db[d], dh[d], dw[d], gcs, gb[g], gh[g], gw[g], crowd[gi])
                pos += 1


@njit(cache=True, error_model="numpy")
def _heapsort(a, n):
    """Sort ``a[:n]`` (integers) in place: numba's ``np.sort`` compiles a quicksort and
    its helpers (about a second on a cold cache); for integers any sort gives the same."""
    for start in range(n // 2 - 1, -1, -1):
        _sift_down(a, start, n)
    for end in range(n - 1, 0, -1):
        a[0], a[end] = a[end], a[0]
        _sift_down(a, 0, end)


@njit(cache=True, error_model="numpy")
def _sift_down(a, root, end):
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and a[child + 1] > a[child]:
            child += 1
        if a[root] >= a[child]:
            return
        a[root], a[child] = a[child], a[root]
        root = child


@njit(cache=True, error_model="numpy")
def _fr_poly(xy, h, w, out):
    """Rasterise one polygon (k, 2) into ``out`` as ``rleFrPoly``; returns the run count."""
    k = xy.shape[0]
    scale = 5.0
    x = np.empty(k + 1, dtype=np.int64)
    y = np.empty(k + 1, dtype=np.int64)
    for j in range(k):
        x[j] = int(scale * xy[j, 0] + 0.5)  # truncation towards zero, as C's (int)
        y[j] = int(scale * xy[j, 1] + 0.5)
    x[k] = x[0]
    y[k] = y[0]
    m = 0
    for j in range(k):
        m += max(abs(x[j] - x[j + 1]), abs(y[j] - y[j + 1])) + 1
    u = np.empty(m, dtype=np.int64)
    v = np.empty(m, dtype=np.int64)
    m = 0
    for j in range(k):
        xs, xe, ys, ye = x[j], x[j + 1], y[j], y[j + 1]
        dx, dy = abs(xe - xs), abs(ys - ye)
        flip = (dx >= dy and xs > xe) or (dx < dy and ys > ye)
        if flip:
            xs, xe = xe, xs
            ys, ye = ye, ys
        if dx >= dy:
            # a repeated vertex (dx = dy = 0) gives C a NaN slope; its v is never read
            s = (ye - ys) / dx if dx > 0 else 0.0
            for d in range(dx + 1):
                t = dx - d if flip else d
                u[m] = t + xs
                v[m] = int(ys + s * t + 0.5)
                m += 1
        else:
            s = (xe - xs) / dy
            for d in range(dy + 1):
                t = dy - d if flip else d
                v[m] = t + ys
                u[m] = int(xs + s * t + 0.5)
                m += 1
    # points where the outline crosses a pixel column centre, downsampled
    a = np.empty(m + 1, dtype=np.int64)
    n = 0
    for j in range(1, m):
        if u[j] == u[j - 1]:
            continue
        xd = float(u[j] if u[j] < u[j - 1] else u[j] - 1)
        xd = (xd + 0.5) / scale - 0.5
        if np.floor(xd) != xd or xd < 0 or xd > w - 1:
            continue
        yd = float(v[j] if v[j] < v[j - 1] else v[j - 1])
        yd = (yd + 0.5) / scale - 0.5
        if yd < 0:
            yd = 0.0
        elif yd > h:
            yd = float(h)
        yd = np.ceil(yd)
        a[n] = int(xd) * h + int(yd)
        n += 1
    a[n] = h * w
    n += 1
    _heapsort(a, n)
    p = 0
    for j in range(n):
        t = a[j]
        a[j] -= p
        p = t
    r = 0
    out[r] = a[0]
    r += 1
    j = 1
    while j < n:
        if a[j] > 0:
            out[r] = a[j]
            r += 1
            j += 1
        else:
            j += 1
            if j < n:
                out[r - 1] += a[j]
                j += 1
    return r


@njit(cache=True, error_model="numpy")
def fr_polygons(xy, point_offsets, h, w):
    """RLEs of polygons: polygon ``i`` is ``xy[point_offsets[i]:point_offsets[i+1]]`` (k, 2)
    rasterised on an ``h[i]`` x ``w[i]`` image."""
    n = point_offsets.shape[0] - 1
    offsets = np.zeros(n + 1, dtype=np.int64)
    cap = 0
    for i in range(n):
        poly = xy[point_offsets[i] : point_offsets[i + 1]]
        for j in range(poly.shape[0]):
            q = (j + 1) % poly.shape[0]
            dx = abs(int(5.0 * poly[j, 0] + 0.5) - int(5.0 * poly[q, 0] + 0.5))
            dy = abs(int(5.0 * poly[j, 1] + 0.5) - int(5.0 * poly[q, 1] + 0.5))
            cap += max(dx, dy) + 1
        cap += 2
    counts = np.empty(cap, dtype=np.int64)
    for i in range(n):
        poly = xy[point_offsets[i] : point_offsets[i + 1]]
        r = _fr_poly(poly, h[i], w[i], counts[offsets[i] :])
        offsets[i + 1] = offsets[i] + r
    return counts[: offsets[n]].copy(), offsets


@njit(cache=True, error_model="numpy")
def to_string(counts, offsets):
    """COCO's compressed strings of RLEs: characters (uint8) and offsets per RLE."""
    n = offsets.shape[0] - 1
    out = np.empty(counts.shape[0] * 13, dtype=np.uint8)
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    p = 0
    for i in range(n):
        c0 = offsets[i]
        for j in range(offsets[i + 1] - c0):
            x = counts[c0 + j]
            if j > 2:
                x -= counts[c0 + j - 2]
            more = True
            while more:
                c = x & 0x1F
                x >>= 5
                more = (x != -1) if (c & 0x10) else (x != 0)
                if more:
                    c |= 0x20
                out[p] = c + 48
                p += 1
        out_offsets[i + 1] = p
    return out[:p], out_offsets


@njit(cache=True, error_model="numpy")
def fr_string(chars, char_offsets):
    """Counts of compressed RLE strings (the inverse of :func:`to_string`)."""
    n = char_offsets.shape[0] - 1
    counts = np.empty(chars.shape[0], dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    m = 0
    for i in range(n):
        p = char_offsets[i]
        first = m
        while p < char_offsets[i + 1]:
            x = 0
            k = 0
            more = True
            while more and p < char_offsets[i + 1]:
                c = np.int64(chars[p]) - 48
                x |= (c & 0x1F) << (5 * k)
                more = (c & 0x20) != 0
                p += 1
                k += 1
                if not more and (c & 0x10):
                    x |= np.int64(-1) << (5 * k)
            if m - first > 2:
                x += counts[m - 2]
            counts[m] = x
            m += 1
        offsets[i + 1] = m
    return counts[:m].copy(), offsets


@njit(cache=True, error_model="numpy")
def box_iou_matrix(db, gb, crowd):
    """(m, n) IoUs of xywh boxes, pycocotools' ``bbIou``."""
    out = np.zeros((db.shape[0], gb.shape[0]))
    for d in range(db.shape[0]):
        for g in range(gb.shape[0]):
            out[d, g] = _xywh_iou(db[d], gb[g], crowd[g])
    return out
