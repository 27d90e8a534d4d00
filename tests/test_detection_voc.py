"""Pascal VOC AP: the published Object-Detection-Metrics numbers and an independent loop."""

import numpy as np
import pandas as pd
import pytest

from skextras.metrics import (
    average_precision_from_curve,
    box_iou,
    match_detections,
    read_txt,
    voc_evaluate,
)


def loop_voc_ap(gt, dt, cls, method, thr, use_difficult, plus_one, strict):
    """The devkit's voc_eval algorithm written as plain loops, one detection at a time."""
    one = 1.0 if plus_one else 0.0
    objs = {}
    npos = 0
    for g in gt:
        if g["category_id"] != cls:
            continue
        difficult = bool(g.get("difficult", False)) and not use_difficult
        objs.setdefault(g["image_id"], []).append([g["bbox"], difficult, False])
        npos += not difficult
    dets = [d for d in dt if d["category_id"] == cls]
    order = sorted(range(len(dets)), key=lambda i: -dets[i]["score"])  # sorted() is stable
    tp, fp = [], []
    for i in order:
        b = dets[i]["bbox"]
        best, jbest = -np.inf, -1
        for j, (g, _, _) in enumerate(objs.get(dets[i]["image_id"], [])):
            iw = max(min(b[2], g[2]) - max(b[0], g[0]) + one, 0.0)
            ih = max(min(b[3], g[3]) - max(b[1], g[1]) + one, 0.0)
            inter = iw * ih
            union = (
                (b[2] - b[0] + one) * (b[3] - b[1] + one)
                + (g[2] - g[0] + one) * (g[3] - g[1] + one)
                - inter
            )
            iou = inter / union if inter > 0 else 0.0
            if iou > best:
                best, jbest = iou, j
        hit = best > thr if strict else best >= thr
        if hit and objs[dets[i]["image_id"]][jbest][1]:
            tp.append(0), fp.append(0)
        elif hit and not objs[dets[i]["image_id"]][jbest][2]:
            objs[dets[i]["image_id"]][jbest][2] = True
            tp.append(1), fp.append(0)
        else:
            tp.append(0), fp.append(1)
    if npos == 0:
        return float("nan")
    tp, fp = np.cumsum(tp, dtype=float), np.cumsum(fp, dtype=float)
    rec = tp / npos
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    if method in ("11point", "11point_arange"):
        ts = [k / 10 for k in range(11)] if method == "11point" else np.arange(0.0, 1.1, 0.1)
        ap = 0.0
        for t in ts:
            ap += (max(prec[rec >= t]) if (rec >= t).any() else 0.0) / 11.0
        return ap
    mrec = [0.0, *rec, 1.0]
    mpre = [0.0, *prec, 0.0]
    for i in range(len(mpre) - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    return sum(
        (mrec[i + 1] - mrec[i]) * mpre[i + 1]
        for i in range(len(mrec) - 1)
        if mrec[i + 1] != mrec[i]
    )


def random_voc(seed, n_images=25, classes=("cat", "dog", "car")):
    rng = np.random.default_rng(seed)
    gt, dt = [], []
    for i in range(n_images):
        own = []
        for _ in range(int(rng.integers(0, 6))):
            x, y = (float(v) for v in rng.integers(0, 50, 2) * 2)
            w, h = (float(v) for v in rng.integers(1, 20, 2) * 2)
            cls = str(rng.choice(classes))
            hard = bool(rng.random() < 0.15)
            own.append({"image_id": f"im{i}", "category_id": cls, "bbox": [x, y, x + w, y + h],
                        "difficult": hard})  # fmt: skip
        gt += own
        for _ in range(int(rng.integers(0, 12))):
            if own and rng.random() < 0.7:
                g = own[int(rng.integers(len(own)))]
                x1, y1, x2, y2 = g["bbox"]
                x2 = x1 + (x2 - x1) * float(rng.choice([1, 0.5, 0.8, 1.2]))
                cls = g["category_id"]
            else:
                x1, y1 = (float(v) for v in rng.integers(0, 50, 2) * 2)
                x2, y2 = x1 + 10, y1 + 12
                cls = str(rng.choice(classes))
            score = float(rng.choice([0.3, 0.6])) if rng.random() < 0.4 else float(rng.random())
            dt.append({"image_id": f"im{i}", "category_id": cls, "bbox": [x1, y1, x2, y2],
                       "score": score})  # fmt: skip
    return gt, dt


METHODS = ["voc2007", "11point", "11point_arange", "voc2012", "allpoint"]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("options", [
    {}, {"use_difficult": True}, {"pixel_plus_one": False}, {"iou_match": ">"},
    {"iou_threshold": 0.75, "pixel_plus_one": False},
])  # fmt: skip
def test_voc_equals_independent_loop(seed, method, options):
    gt, dt = random_voc(seed)
    ours = voc_evaluate(gt, dt, method=method, **options)
    loop_method = {"voc2007": "11point", "voc2012": "allpoint"}.get(method, method)
    args = (options.get("iou_threshold", 0.5), options.get("use_difficult", False),
            options.get("pixel_plus_one", True), options.get("iou_match") == ">")  # fmt: skip
    for cls, ap in ours.per_class.items():
        expected = loop_voc_ap(gt, dt, cls, loop_method, *args)
        np.testing.assert_allclose(ap, expected, rtol=0, atol=1e-12, err_msg=cls)


def test_object_detection_metrics_sample_gives_published_ap(shared_data):
    folder = shared_data / "object_detection_metrics"
    gt, dt = read_txt(folder / "groundtruths"), read_txt(folder / "detections")
    ours = voc_evaluate(gt, dt, method="allpoint", iou_threshold=0.3)
    assert round(100 * ours.per_class["person"], 2) == 24.57
    assert round(100 * ours.mAP, 2) == 24.57
    # the precision / recall lists of the published results.txt
    text = (folder / "results" / "results.txt").read_text()
    lines = [line for line in text.splitlines() if line.startswith(("Precision", "Recall"))]
    published = [eval(line.split(":", 1)[1]) for line in lines]  # lists of "0.50" strings
    np.testing.assert_array_equal(
        np.round(ours.precision["person"], 2), np.array(published[0], float)
    )
    np.testing.assert_array_equal(np.round(ours.recall["person"], 2), np.array(published[1], float))
    # the 11-point variant of the same sample is 26.84% in the project's README
    eleven = voc_evaluate(gt, dt, method="voc2007", iou_threshold=0.3)
    assert round(100 * eleven.mAP, 2) == 26.84


def test_relative_sample_gives_the_same_ap(shared_data):
    folder = shared_data / "object_detection_metrics"
    abs_ap = voc_evaluate(read_txt(folder / "groundtruths"), read_txt(folder / "detections"),
                          iou_threshold=0.3, pixel_plus_one=False).mAP  # fmt: skip
    rel = {"box_format": "xcycwh", "relative": True}
    rel_ap = voc_evaluate(read_txt(folder / "groundtruths_rel", **rel),
                          read_txt(folder / "detections_rel", **rel), iou_threshold=0.3,
                          pixel_plus_one=False).mAP  # fmt: skip
    assert rel_ap == pytest.approx(abs_ap, abs=0.02)


def test_class_without_gt_is_nan_and_left_out_of_the_mean():
    gt = [{"image_id": 1, "category_id": "a", "bbox": [0, 0, 10, 10]},
          {"image_id": 1, "category_id": "b", "bbox": [0, 0, 10, 10], "difficult": True},
          {"image_id": 1, "category_id": "c", "bbox": [0, 0, 10, 10]}]  # fmt: skip
    dt = [{"image_id": 1, "category_id": "a", "bbox": [0, 0, 10, 10], "score": 0.5},
          {"image_id": 1, "category_id": "b", "bbox": [0, 0, 10, 10], "score": 0.5},
          {"image_id": 1, "category_id": "z", "bbox": [0, 0, 10, 10], "score": 0.5}]  # fmt: skip
    res = voc_evaluate(gt, dt)
    assert res.per_class["a"] == 1.0
    assert np.isnan(res.per_class["b"]) and np.isnan(res.per_class["z"])
    assert res.per_class["c"] == 0.0
    assert res.mAP == 0.5
    frame = res.to_frame()
    assert frame.loc["c", "n_positives"] == 1 and frame.loc["c", "n_detections"] == 0


def test_dataframe_input_equals_dict_input():
    gt, dt = random_voc(9)
    ref = voc_evaluate(gt, dt)
    gt_frame = pd.DataFrame(gt)
    gt_frame[["xmin", "ymin", "xmax", "ymax"]] = np.array(gt_frame.pop("bbox").tolist())
    assert voc_evaluate(gt_frame, pd.DataFrame(dt)).per_class == ref.per_class


@pytest.mark.parametrize(
    "bad, message",
    [({"bbox": [10, 0, 5, 10]}, "xmax < xmin"), ({"bbox": [0, np.nan, 5, 10]}, "not finite"),
     ({"score": np.nan}, "score")],
)  # fmt: skip
def test_voc_bad_detections_raise(bad, message):
    gt, dt = random_voc(0)
    dt[0].update(bad)
    with pytest.raises(ValueError, match=message):
        voc_evaluate(gt, dt)
    with pytest.raises(ValueError, match="method"):
        voc_evaluate(gt, dt[1:], method="coco")


def test_box_iou_xywh_equals_pycocotools_mask_iou():
    mask = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(0)
    d = rng.integers(0, 50, (30, 4)).astype(float) + rng.random((30, 4)).round(2)
    g = rng.integers(0, 50, (20, 4)).astype(float)
    crowd = rng.random(20) < 0.3
    expected = mask.iou(d.tolist(), g.tolist(), crowd.astype(np.uint8).tolist())
    np.testing.assert_array_equal(box_iou(d, g, box_format="xywh", iscrowd=crowd), expected)
    xyxy = lambda b: np.column_stack([b[:, :2], b[:, :2] + b[:, 2:]])  # noqa: E731
    np.testing.assert_allclose(box_iou(xyxy(d), xyxy(g), iscrowd=crowd), expected, atol=1e-12)


def test_match_detections_rules_differ_on_a_taken_best_gt():
    # detection 1's best gt is taken by detection 0: COCO falls back to gt 1, VOC does not
    ious = np.array([[0.9, 0.0], [0.8, 0.6]])
    np.testing.assert_array_equal(match_detections(ious, rule="coco"), [0, 1])
    np.testing.assert_array_equal(match_detections(ious, rule="voc"), [0, -1])
    np.testing.assert_array_equal(match_detections(ious, iou_threshold=0.85), [0, -1])


def test_average_precision_from_curve_11point_variants_differ_at_ulp_thresholds():
    # precision only reaches recall 0.3 exactly: np.arange's 0.30000000000000004 misses it
    rec, prec = np.array([0.1, 0.3]), np.array([1.0, 1.0])
    assert average_precision_from_curve(rec, prec, "11point") == pytest.approx(4 / 11)
    assert average_precision_from_curve(rec, prec, "11point_arange") == pytest.approx(3 / 11)
    assert average_precision_from_curve(rec, prec, "allpoint") == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ious": np.ones(4)}, r"ious must have shape \(n_det, n_gt\), got \(4,\)"),
        ({"ious": np.ones((2, 2)), "iou_threshold": np.nan}, r"iou_threshold must be in \[0, 1\]"),
        ({"ious": np.ones((2, 2)), "gt_ignore": [True]}, r"gt_ignore must have shape \(2,\)"),
        ({"ious": np.ones((2, 2)), "gt_crowd": [1, 0, 1]}, r"gt_crowd must have shape \(2,\)"),
        ({"ious": np.ones((2, 2)), "gt_ignore": [1, 0, 1], "rule": "voc"}, "gt_ignore must have"),
    ],
)
def test_match_detections_inconsistent_input_raises_naming_it(kwargs, match):
    # the numba matchers index gt_ignore / gt_crowd by gt: a short one was read past its end
    with pytest.raises(ValueError, match=match):
        match_detections(**kwargs)


def test_average_precision_from_curve_unequal_lengths_raise_naming_both():
    with pytest.raises(ValueError, match=r"recall and precision must be 1-d of the same length"):
        average_precision_from_curve([0.1, 0.2], [1.0])
