"""COCOEvaluator against coco_evaluate (itself checked against pycocotools) on the same data."""

import numpy as np
import pytest
from _coco_data import random_keypoint_case, random_segm_case

from skextras.metrics import COCOEvaluator, coco_evaluate

pycocotools = pytest.importorskip("pycocotools")
from pycocotools import mask as pm  # noqa: E402


def per_image(gt, dt, iou_type):
    """The COCO case as torchmetrics-style per-image dicts, images in sorted id order."""
    sizes = {im["id"]: (im.get("height", 0), im.get("width", 0)) for im in gt["images"]}
    preds, targets = [], []
    for img in sorted(sizes):
        h, w = sizes[img]
        anns = [a for a in gt["annotations"] if a["image_id"] == img]
        dets = [d for d in dt if d["image_id"] == img]
        target = {
            "labels": np.array([a["category_id"] for a in anns], dtype=int),
            "iscrowd": np.array([a["iscrowd"] for a in anns]),
            "area": np.array([a["area"] for a in anns], dtype=float),
            "boxes": np.array([a["bbox"] for a in anns], dtype=float).reshape(-1, 4),
        }
        pred = {"labels": np.array([d["category_id"] for d in dets], dtype=int),
                "scores": np.array([d["score"] for d in dets], dtype=float)}  # fmt: skip
        if iou_type == "bbox":
            pred["boxes"] = np.array([d["bbox"] for d in dets], dtype=float).reshape(-1, 4)
        if iou_type == "segm":
            rles = [pm.frPyObjects(a["segmentation"], h, w) for a in anns]
            rles = [pm.merge(r) if isinstance(r, list) else r for r in rles]
            target["masks"] = np.array([pm.decode(r) for r in rles], dtype=bool).reshape(-1, h, w)
            pred["masks"] = np.array(
                [pm.decode(d["segmentation"]) for d in dets], dtype=bool
            ).reshape(-1, h, w)
        if iou_type == "keypoints":
            target["keypoints"] = np.array([a["keypoints"] for a in anns]).reshape(len(anns), 51)
            pred["keypoints"] = np.array([d["keypoints"] for d in dets]).reshape(len(dets), 17, 3)
        preds.append(pred)
        targets.append(target)
    return preds, targets


def case(iou_type, seed):
    if iou_type == "keypoints":
        return random_keypoint_case(seed)
    return random_segm_case(seed, with_bbox=iou_type == "bbox")


def assert_same_result(a, b):
    for name in ("precision", "recall", "scores", "stats"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


@pytest.mark.parametrize("iou_type", ["bbox", "segm", "keypoints"])
@pytest.mark.parametrize("batch", [1, 4])
def test_streamed_batches_equal_coco_evaluate_on_all_data(iou_type, batch):
    gt, dt = case(iou_type, 2)
    preds, targets = per_image(gt, dt, iou_type)
    ev = COCOEvaluator(iou_type, box_format="xywh")
    for i in range(0, len(preds), batch):
        ev.update(preds[i : i + batch], targets[i : i + batch])
    assert ev.n_images_ == len(gt["images"])
    ours = ev.compute()
    ref = coco_evaluate(gt, dt, iou_type)
    assert_same_result(ours, ref)
    assert ours.stats[0] > 0
    assert list(ours.per_class) == list(ref.per_class)


@pytest.mark.parametrize("iou_type", ["segm", "keypoints"])
def test_merged_evaluators_equal_one_evaluator_on_all_data(iou_type):
    gt, dt = case(iou_type, 5)
    preds, targets = per_image(gt, dt, iou_type)
    half = len(preds) // 2
    one, first, second = (COCOEvaluator(iou_type, box_format="xywh") for _ in range(3))
    one.update(preds, targets)
    first.update(preds[:half], targets[:half])
    second.update(preds[half:], targets[half:])
    assert_same_result(first.merge(second).compute(), one.compute())
    assert_same_result(one.compute(), coco_evaluate(gt, dt, iou_type))


def test_pooled_categories_and_xyxy_boxes_equal_coco_evaluate():
    gt, dt = case("bbox", 3)
    preds, targets = per_image(gt, dt, "bbox")
    for item in (*preds, *targets):
        b = item["boxes"]
        item["boxes"] = np.column_stack([b[:, :2], b[:, :2] + b[:, 2:]])
    ev = COCOEvaluator("bbox", use_cats=False).update(preds, targets)
    for a in (*gt["annotations"], *dt):
        x, y, w, h = a["bbox"]
        a["bbox"] = [x, y, (x + w) - x, (y + h) - y]  # the same rounding as xyxy -> xywh
    assert_same_result(ev.compute(), coco_evaluate(gt, dt, use_cats=False))


def test_reset_forgets_every_image():
    gt, dt = case("bbox", 1)
    preds, targets = per_image(gt, dt, "bbox")
    ev = COCOEvaluator("bbox", box_format="xywh").update(preds, targets)
    before = ev.compute()
    ev.reset()
    assert ev.n_images_ == 0
    ev.update(preds, targets)
    assert_same_result(ev.compute(), before)


def test_bad_batches_raise_naming_the_field_and_index():
    ev = COCOEvaluator("segm")
    pred = {"masks": np.zeros((1, 5, 6), bool), "scores": np.ones(1), "labels": np.ones(1)}
    target = {"masks": np.zeros((2, 5, 5), bool), "labels": np.ones(2)}
    with pytest.raises(ValueError, match=r"predictions\[1\]\['masks'\] are 5 x 6 .* 5 x 5"):
        ev.update([pred, pred], [{"masks": np.zeros((0, 5, 6)), "labels": []}, target])
    kp = COCOEvaluator("keypoints")
    bad = {"keypoints": np.zeros((1, 50)), "scores": np.ones(1), "labels": np.ones(1)}
    good_t = {"keypoints": np.zeros((1, 17, 3)), "labels": np.ones(1), "boxes": np.ones((1, 4))}
    with pytest.raises(ValueError, match=r"predictions\[0\]\['keypoints'\] .*not a multiple of 3"):
        kp.update([bad], [good_t])
    with pytest.raises(ValueError, match=r"targets\[0\] has no 'boxes'"):
        kp.update([bad], [{"keypoints": np.zeros((1, 17, 3)), "labels": np.ones(1)}])
    box = COCOEvaluator()
    with pytest.raises(ValueError, match=r"predictions\[0\]\['scores'\] has 2 entries"):
        box.update([{"boxes": np.ones((1, 4)), "scores": np.ones(2), "labels": [1]}],
                   [{"boxes": np.ones((1, 4)), "labels": [1]}])  # fmt: skip
    with pytest.raises(ValueError, match="cannot merge"):
        box.merge(COCOEvaluator(max_dets=(1, 10)))


@pytest.mark.torch
@pytest.mark.parametrize("iou_type", ["segm", "keypoints"])
def test_torch_tensors_give_the_numpy_result(iou_type):
    torch = pytest.importorskip("torch")
    gt, dt = case(iou_type, 4)
    preds, targets = per_image(gt, dt, iou_type)
    as_torch = [[{k: torch.as_tensor(v) for k, v in d.items()} for d in items]
                for items in (preds, targets)]  # fmt: skip
    ours = COCOEvaluator(iou_type, box_format="xywh").update(*as_torch).compute()
    assert_same_result(ours, coco_evaluate(gt, dt, iou_type))
