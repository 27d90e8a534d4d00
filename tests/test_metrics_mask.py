"""skextras.metrics.mask against pycocotools.mask itself: same bytes, same pixels, same IoUs."""

import json

import numpy as np
import pytest

from skextras.metrics import mask

pycocotools = pytest.importorskip("pycocotools")
from pycocotools import _mask as pm_c  # noqa: E402
from pycocotools import mask as pm  # noqa: E402


def random_masks(rng, h, w, n, p=0.3):
    """Blobby masks (rectangles and noise) in Fortran order, as pycocotools wants."""
    masks = np.zeros((h, w, n), dtype=np.uint8, order="F")
    for i in range(n):
        for _ in range(int(rng.integers(0, 4))):
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            masks[y0 : y0 + rng.integers(1, h), x0 : x0 + rng.integers(1, w), i] = 1
        masks[:, :, i] |= (rng.random((h, w)) < p * rng.random()).astype(np.uint8)
    return masks


def random_polygon(rng, h, w, k=None):
    """A random polygon, sometimes self-crossing, partly outside the image, with repeated and
    fractional vertices landing on .5 and .1 / .2 multiples (pixel-centre traps)."""
    k = int(rng.integers(3, 12)) if k is None else k
    pts = rng.uniform(-0.2 * w, 1.2 * w, (k, 2)) * [1, h / w]
    quant = rng.choice([0.5, 0.1, 0.2, 1e-9])
    pts = np.round(pts / quant) * quant
    if rng.random() < 0.2:
        pts[1] = pts[0]
    return pts.ravel().tolist()


@pytest.mark.parametrize("seed", range(4))
def test_encode_decode_area_bbox_equal_pycocotools_on_random_masks(seed):
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(1, 60, 2))
    masks = random_masks(rng, h, w, 7)
    ours, ref = mask.encode(masks), pm.encode(masks)
    assert ours == ref
    np.testing.assert_array_equal(mask.decode(ours), pm.decode(ref))
    assert mask.decode(ours).flags.f_contiguous
    np.testing.assert_array_equal(mask.area(ours), pm.area(ref))
    assert mask.area(ours).dtype == pm.area(ref).dtype
    np.testing.assert_array_equal(mask.to_bbox(ours), pm.toBbox(ref))
    # single-mask forms
    assert mask.encode(masks[:, :, 0]) == pm.encode(masks[:, :, :1])[0]
    np.testing.assert_array_equal(mask.decode(ours[0]), pm.decode(ref[0]))
    assert mask.area(ours[0]) == pm.area(ref[0])
    np.testing.assert_array_equal(mask.to_bbox(ours[0]), pm.toBbox(ref[0]))


def test_encode_starts_a_run_at_every_byte_change_like_pycocotools():
    masks = np.asfortranarray(np.array([[[0], [2], [2], [1], [1], [0]]], dtype=np.uint8))
    assert mask.encode(masks) == pm.encode(masks)
    assert mask.encode(masks.astype(bool)) == pm.encode(masks.astype(bool).astype(np.uint8))


@pytest.mark.parametrize("seed", range(3))
def test_merge_and_iou_equal_pycocotools_on_random_masks(seed):
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(5, 50, 2))
    rles = pm.encode(random_masks(rng, h, w, 6))
    for intersect in (False, True):
        assert mask.merge(rles, intersect) == pm.merge(rles, int(intersect))
        assert mask.merge(rles[:1], intersect) == pm.merge(rles[:1], int(intersect))
    crowd = rng.random(4) < 0.5
    np.testing.assert_array_equal(mask.iou(rles, rles[2:], crowd), pm.iou(rles, rles[2:], crowd))
    boxes = rng.uniform(0, 30, (5, 4)).round(1)
    np.testing.assert_array_equal(
        mask.iou(boxes, boxes[:3], crowd[:3]), pm.iou(boxes, boxes[:3], crowd[:3])
    )
    assert mask.iou(rles, [], []) == pm.iou(rles, [], []) == []


def test_iou_of_rles_of_different_sizes_is_minus_one_like_pycocotools():
    a = pm.encode(np.ones((5, 5, 1), dtype=np.uint8, order="F"))
    b = pm.encode(np.ones((5, 6, 1), dtype=np.uint8, order="F"))
    np.testing.assert_array_equal(mask.iou(a, b, [0]), pm.iou(a, b, [0]))


def test_iou_of_boxes_and_rles_mixed_raises_type_error():
    rles = pm.encode(np.ones((5, 5, 1), dtype=np.uint8, order="F"))
    with pytest.raises(TypeError, match="both be RLEs or both boxes"):
        mask.iou(rles, [[0, 0, 2, 2]], [0])


@pytest.mark.parametrize("seed", range(6))
def test_polygons_rasterise_to_the_pixels_of_pycocotools(seed):
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(1, 80, 2))
    polys = [random_polygon(rng, h, w) for _ in range(40)]
    ours = mask.fr_polygons(polys, h, w)
    assert ours == pm_c.frPoly(polys, h, w)
    assert ours == pm.frPyObjects(polys, h, w)
    # pycocotools fails on a bare polygon (len() of a float); ours reads it as one polygon
    assert mask.fr_py_objects(polys[0], h, w) == pm.frPyObjects(polys[:1], h, w)[0]
    assert mask.merge(ours) == pm.merge(pm.frPyObjects(polys, h, w))


@pytest.mark.parametrize("seed", range(2))
def test_boxes_rasterise_to_the_pixels_of_pycocotools(seed):
    rng = np.random.default_rng(seed)
    h, w = 37, 53
    boxes = np.column_stack([rng.uniform(-5, 50, (30, 2)), rng.uniform(0, 30, (30, 2))])
    boxes = (np.round(boxes * 10) / 10).astype(float)
    assert mask.fr_bbox(boxes, h, w) == pm_c.frBbox(boxes, h, w)
    assert mask.fr_py_objects(boxes, h, w) == pm.frPyObjects(boxes, h, w)
    # pycocotools wants an ndarray here; lists of boxes give the same RLEs in ours
    assert mask.fr_py_objects(boxes.tolist(), h, w) == pm.frPyObjects(boxes, h, w)
    assert mask.fr_py_objects(boxes[0].tolist(), h, w) == pm.frPyObjects(boxes[:1], h, w)[0]


def test_uncompressed_rles_compress_like_pycocotools():
    rng = np.random.default_rng(3)
    masks = random_masks(rng, 20, 30, 4)
    # uncompressed counts written out by hand from the masks, column-major
    unc = []
    for i in range(masks.shape[2]):
        flat = masks[:, :, i].ravel(order="F")
        edges = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
        counts = np.diff(np.concatenate([[0], edges]))
        unc.append({"size": [20, 30], "counts": counts.tolist()})
    assert mask.fr_py_objects(unc, 20, 30) == pm.frPyObjects(unc, 20, 30)
    assert mask.fr_py_objects(unc[0], 20, 30) == pm.frPyObjects(unc[0], 20, 30)
    # uncompressed input is accepted by every other function too
    np.testing.assert_array_equal(mask.decode(unc), masks)


def test_compressed_rles_pass_through_fr_py_objects_as_pycocotools_bytes():
    """pycocotools' frPyObjects fails on compressed counts (COCO.annToRLE takes them as they
    are); ours returns them as pycocotools' encode would, from str or bytes counts."""
    masks = random_masks(np.random.default_rng(5), 7, 9, 3)
    ref = pm.encode(masks)
    as_str = [{"size": r["size"], "counts": r["counts"].decode()} for r in ref]
    with pytest.raises(ValueError):
        pm.frPyObjects(as_str, 7, 9)
    assert mask.fr_py_objects(as_str, 7, 9) == ref
    assert mask.fr_py_objects(ref, 7, 9) == ref
    assert mask.fr_py_objects(as_str[1], 7, 9) == ref[1]
    np.testing.assert_array_equal(mask.decode(as_str), pm.decode(ref))


def test_string_codec_round_trips_large_and_decreasing_counts():
    counts = [0, 5, 1 << 20, 3, 2, 1 << 24, 1, 0, 7, 31, 32, 16, 17]
    s = mask.encode_counts(counts)
    np.testing.assert_array_equal(mask.decode_counts(s), counts)
    ref = pm.frPyObjects({"size": [1, int(sum(counts))], "counts": counts}, 1, 1)
    assert s == ref["counts"]


def test_rles_of_the_shared_sample_equal_pycocotools(shared_data):
    """Every gt polygon / crowd RLE of the fake100 sample, converted and measured."""
    folder = shared_data / "coco_val2014_fake100"
    gt = json.loads((folder / "instances_val2014_100.json").read_text())
    sizes = {im["id"]: (im["height"], im["width"]) for im in gt["images"]}
    for ann in gt["annotations"]:
        h, w = sizes[ann["image_id"]]
        segm = ann["segmentation"]
        ours, ref = mask.fr_py_objects(segm, h, w), pm.frPyObjects(segm, h, w)
        assert ours == ref
        if isinstance(ref, list):
            ours, ref = mask.merge(ours), pm.merge(ref)
        assert mask.area(ours) == pm.area(ref)
        np.testing.assert_array_equal(mask.to_bbox(ours), pm.toBbox(ref))
    dts = json.loads((folder / "instances_val2014_fakesegm100_results.json").read_text())
    rles = [d["segmentation"] for d in dts[:200]]
    np.testing.assert_array_equal(mask.area(rles), pm.area(rles))
    for rle in rles[:20]:
        np.testing.assert_array_equal(mask.decode(rle), pm.decode(rle))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: mask.fr_polygons([[0, 0, 5, 5, 5, 0], [1, 1, 2, 2]], 9, 9),
         r"polys\[1\].*2 points"),
        (lambda: mask.fr_polygons([[0, 0, 5, 5, 5]], 9, 9), r"polys\[0\].*odd"),
        (lambda: mask.decode([{"size": [2, 2], "counts": [1, 2]}]), r"rles\[0\].*3 pixels"),
        (lambda: mask.area([{"size": [2, 2], "counts": [4]}, {"counts": [1]}]), r"rles\[1\]"),
        (lambda: mask.encode(np.zeros((2, 2), dtype=float)), "uint8 or bool"),
        (lambda: mask.merge([{"size": [1, 2], "counts": [2]}, {"size": [2, 1], "counts": [2]}]),
         r"rles\[1\].*differs"),
        (lambda: mask.fr_bbox([[0, 0, 1, 1]], -1, 3), "h and w"),
    ],
)  # fmt: skip
def test_bad_input_raises_naming_the_argument_and_index(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
