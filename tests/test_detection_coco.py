"""COCO evaluation against pycocotools itself: every stat and every precision/recall entry."""

import contextlib
import copy
import io
import json

import numpy as np
import pandas as pd
import pytest
from _coco_data import random_keypoint_case, random_segm_case
from hypothesis import given, settings
from hypothesis import strategies as st

from skextras.metrics import _coco_kernels, _mask_kernels, coco_evaluate

pycocotools = pytest.importorskip("pycocotools")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402


def run_pycocotools(gt, dt, iou_type="bbox", **params):
    """pycocotools' numbers for a gt dict and a result list (deep-copied: it mutates them)."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(dt))
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        for name, value in params.items():
            setattr(ev.params, name, value)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def assert_same_as_pycocotools(ours, ev):
    np.testing.assert_allclose(ours.precision, ev.eval["precision"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.recall, ev.eval["recall"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ours.scores, ev.eval["scores"])
    np.testing.assert_allclose(ours.stats, ev.stats, rtol=0, atol=1e-12)


def random_case(seed, n_images=30, n_cats=4, max_gt=8, max_dt=130):
    """Quantised boxes and scores so that ties, exact IoU thresholds and area borders occur."""
    rng = np.random.default_rng(seed)
    images = [{"id": int(i)} for i in rng.choice(1000, n_images, replace=False)]
    cats = [{"id": int(c), "name": f"c{c}"} for c in rng.choice(90, n_cats, replace=False) + 1]
    sizes = np.array([4, 8, 16, 32, 40, 64, 96, 100, 128])
    anns, dets = [], []
    base = []
    for k, im in enumerate(images):
        # a few images stay empty, a few get no detections
        n_gt = 0 if k % 7 == 3 else int(rng.integers(0, max_gt + 1))
        for _ in range(n_gt):
            x, y = (int(v) for v in rng.integers(0, 64, 2) * 4)
            w, h = (int(v) for v in rng.choice(sizes, 2))
            area = float(w * h) if rng.random() < 0.8 else float(rng.choice([1024, 9216, 500]))
            anns.append({
                "id": len(anns) + 1, "image_id": im["id"],
                "category_id": int(rng.choice(cats)["id"]), "bbox": [x, y, w, h], "area": area,
                "iscrowd": int(rng.random() < 0.1),
            })  # fmt: skip
            base.append(anns[-1])
        n_dt = 0 if k % 5 == 1 else int(rng.integers(0, max_dt + 1))
        own = [a for a in anns if a["image_id"] == im["id"]]
        for _ in range(n_dt):
            if own and rng.random() < 0.6:
                g = own[int(rng.integers(len(own)))]
                x, y, w, h = g["bbox"]
                # halve or scale one side: IoU lands exactly on 0.5 / 0.75 or nearby
                w = w * float(rng.choice([1, 0.5, 0.75, 1.25, 0.9]))
                x = x + float(rng.choice([0, 0, 1, -2, 4]))
                cat = g["category_id"] if rng.random() < 0.85 else int(rng.choice(cats)["id"])
            else:
                x, y = (float(v) for v in rng.integers(0, 64, 2) * 4)
                w, h = (float(v) for v in rng.choice(sizes, 2))
                cat = int(rng.choice(cats)["id"])
            score = float(rng.choice([0.1, 0.5, 0.5, 0.9])) if rng.random() < 0.5 else rng.random()
            dets.append({"image_id": im["id"], "category_id": cat, "bbox": [x, y, w, h],
                         "score": round(float(score), 3)})  # fmt: skip
    return {"images": images, "categories": cats, "annotations": anns}, dets


@pytest.fixture(scope="module")
def fake100(shared_data):
    folder = shared_data / "coco_val2014_fake100"
    results = "instances_val2014_fakebbox100_results.json"
    return folder / "instances_val2014_100.json", folder / results


def test_coco_equals_pycocotools_on_fake100(fake100):
    gt_path, dt_path = fake100
    ev = run_pycocotools(json.loads(gt_path.read_text()), json.loads(dt_path.read_text()))
    ours = coco_evaluate(gt_path, dt_path)
    assert_same_as_pycocotools(ours, ev)
    # the numbers pycocotools printed in the demo (val2014_fake_eval_res.txt, bbox part)
    printed = [0.505, 0.697, 0.573, 0.586, 0.519, 0.501, 0.387, 0.594, 0.595, 0.640, 0.566, 0.564]
    np.testing.assert_allclose(ours.stats, printed, atol=5e-4)


def test_coco_equals_pycocotools_on_review_toolkit_sample(shared_data):
    folder = shared_data / "review_object_detection_metrics" / "tests" / "test_coco_eval"
    gt = json.loads((folder / "gts" / "sampled_gts_bbox_area.json").read_text())
    results = json.loads((folder / "cocoapi_results.json").read_text())
    ours = coco_evaluate(gt, results)
    assert_same_as_pycocotools(ours, run_pycocotools(gt, results))
    # the same detections stored as a COCO-style dict
    as_dict = coco_evaluate(gt, folder / "dets" / "sampled_bbox_results.json")
    np.testing.assert_array_equal(as_dict.precision, ours.precision)


@pytest.mark.parametrize(
    "seed, kernels", [(s, "serial") for s in range(12)] + [(s, "parallel") for s in range(4)]
)
def test_coco_equals_pycocotools_on_random_cases(seed, kernels, monkeypatch):
    if kernels == "parallel":
        # small inputs normally run the serial kernels; force the parallel ones
        monkeypatch.setattr(_coco_kernels, "PARALLEL_MIN_SIZE", 0)
    gt, dt = random_case(seed)
    assert max(np.unique([d["image_id"] for d in dt], return_counts=True)[1]) > 100
    assert_same_as_pycocotools(coco_evaluate(gt, dt), run_pycocotools(gt, dt))


@pytest.mark.parametrize(
    "params",
    [
        {"use_cats": False},
        {"max_dets": (1, 10, 1000)},
        {"max_dets": (5, 20, 50)},
        {"iou_thresholds": [0.5, 0.6, 0.75, 1.0]},
        {"rec_thresholds": [0.0, 0.25, 0.5, 0.9]},
        {
            "area_ranges": {
                "all": (0, 1e10),
                "small": (0, 500),
                "medium": (500, 4096),
                "large": (4096, 1e10),
            }
        },  # fmt: skip
    ],
)
def test_coco_equals_pycocotools_with_custom_params(params):
    gt, dt = random_case(100, n_images=20)
    translate = {"use_cats": "useCats", "max_dets": "maxDets", "iou_thresholds": "iouThrs",
                 "rec_thresholds": "recThrs"}  # fmt: skip
    theirs = {}
    for name, value in params.items():
        if name == "area_ranges":
            theirs["areaRng"] = [list(v) for v in value.values()]
            theirs["areaRngLbl"] = list(value)
        else:
            theirs[translate[name]] = np.array(value) if "Thrs" in translate[name] else value
    if "useCats" in theirs:
        theirs["useCats"] = int(theirs["useCats"])
    ev = run_pycocotools(gt, dt, **theirs)
    ours = coco_evaluate(gt, dt, **params, pycocotools_compat=True)
    assert_same_as_pycocotools(ours, ev)


def test_custom_max_dets_reads_ap_at_largest_unless_compat():
    gt, dt = random_case(3)
    ev = run_pycocotools(gt, dt, maxDets=[1, 10, 1000])
    assert ev.stats[0] == -1  # pycocotools looks AP up at a hard-coded maxDets=100
    ours = coco_evaluate(gt, dt, max_dets=(1, 10, 1000))
    at_1000 = ours.precision[..., 0, 2]
    assert ours.stats[0] == pytest.approx(at_1000[at_1000 > -1].mean(), abs=1e-15)
    assert ours.stats[0] > 0
    assert coco_evaluate(gt, dt, max_dets=(1, 10, 1000), pycocotools_compat=True).stats[0] == -1


def test_iou_exactly_at_threshold_is_a_match():
    gt = {"images": [{"id": 1}], "categories": [{"id": 1}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 40, 40],
                           "area": 1600.0, "iscrowd": 0}]}  # fmt: skip
    dt = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 40, 20], "score": 1.0}]
    ours = coco_evaluate(gt, dt)
    assert ours.stats_dict["AP50"] == pytest.approx(1.0)
    assert ours.stats_dict["AP75"] == 0.0
    assert_same_as_pycocotools(ours, run_pycocotools(gt, dt))


def test_gt_id_zero_and_pooled_categories_match_pycocotools():
    gt, dt = random_case(7)
    for i, ann in enumerate(gt["annotations"]):
        ann["id"] = i  # the first one gets id 0, which pycocotools treats as unmatched
    with pytest.warns(UserWarning, match="id 0"):
        ours = coco_evaluate(gt, dt)
    assert_same_as_pycocotools(ours, run_pycocotools(gt, dt))


def test_string_image_and_category_ids_match_pycocotools():
    gt, dt = random_case(8)
    for item in (*gt["images"],):
        item["id"] = f"img{item['id']:04d}"
    for ann in (*gt["annotations"], *dt):
        ann["image_id"] = f"img{ann['image_id']:04d}"
    ours = coco_evaluate(gt, dt)
    assert_same_as_pycocotools(ours, run_pycocotools(gt, dt))
    assert set(ours.per_class) == {c["id"] for c in gt["categories"]}


def test_dataframe_detections_and_json_paths_give_the_same_result(tmp_path):
    gt, dt = random_case(5)
    ref = coco_evaluate(gt, dt)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    from_paths = coco_evaluate(tmp_path / "gt.json", str(tmp_path / "dt.json"))
    frame = pd.DataFrame(dt)
    xywh = pd.DataFrame(np.array(frame.pop("bbox").tolist()), columns=["x", "y", "w", "h"])
    from_frame = coco_evaluate(gt, pd.concat([frame, xywh], axis=1))
    for other in (from_paths, from_frame):
        np.testing.assert_array_equal(other.precision, ref.precision)
        np.testing.assert_array_equal(other.stats, ref.stats)


def test_per_class_stats_equal_single_category_evaluation():
    gt, dt = random_case(11)
    ours = coco_evaluate(gt, dt)
    cat = gt["categories"][0]["id"]
    ev = run_pycocotools(gt, dt, catIds=[cat])
    np.testing.assert_allclose(ours.per_class[cat], ev.stats, atol=1e-12)
    frame = ours.to_frame()
    assert list(frame.columns[1:]) == list(ours.stats_dict)
    assert frame.loc[cat, "name"] == f"c{cat}"


def test_summary_prints_the_pycocotools_lines(fake100, capsys):
    gt_path, dt_path = fake100
    coco_evaluate(gt_path, dt_path).summary()
    printed = capsys.readouterr().out.splitlines()
    with contextlib.redirect_stdout(io.StringIO()) as buf:
        coco_gt = COCO(str(gt_path))
        ev = COCOeval(coco_gt, coco_gt.loadRes(str(dt_path)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert printed == [line for line in buf.getvalue().splitlines() if "@[" in line]


def test_no_detections_gives_zero_ap():
    gt, _ = random_case(2)
    ours = coco_evaluate(gt, [])
    assert ours.stats[0] == 0.0 and ours.stats[8] == 0.0


@pytest.mark.parametrize(
    "change, message",
    [
        ({"bbox": [0, 0, -5, 10]}, "negative width"),
        ({"bbox": [0, float("nan"), 5, 10]}, "not finite"),
        ({"image_id": 123456789}, "image_id 123456789"),
        ({"score": None}, "score"),
        ({"bbox": [0, 0, 5]}, "4 numbers"),
    ],
)
def test_bad_detections_raise_clear_errors(change, message):
    gt, dt = random_case(1)
    dt[0].update(change)
    if change.get("score", 0) is None:
        del dt[0]["score"]
    with pytest.raises(ValueError, match=message):
        coco_evaluate(gt, dt)


def test_duplicate_gt_ids_raise():
    gt, dt = random_case(1)
    gt["annotations"][1]["id"] = gt["annotations"][0]["id"]
    with pytest.raises(ValueError, match="duplicate annotation id"):
        coco_evaluate(gt, dt)


def test_bad_parameters_raise():
    gt, dt = random_case(1)
    with pytest.raises(ValueError, match="iou_type"):
        coco_evaluate(gt, dt, iou_type="mask")
    with pytest.raises(ValueError, match="max_dets"):
        coco_evaluate(gt, dt, max_dets=(0, 10))
    with pytest.raises(ValueError, match="area_ranges"):
        coco_evaluate(gt, dt, area_ranges=[(0, 1e10), (0, 1024)])
    with pytest.raises(ValueError, match="three max_dets"):
        coco_evaluate(gt, dt, max_dets=(10, 100), pycocotools_compat=True)
    assert len(coco_evaluate(gt, dt, max_dets=(10, 100)).stats) == 11
    with pytest.raises(ValueError, match="gt annotations"):
        bad = copy.deepcopy(gt)
        bad["annotations"][0]["bbox"] = [0, 0, 3, -1]
        coco_evaluate(bad, dt)


_box = st.tuples(*[st.integers(0, 12)] * 4).map(
    lambda b: [b[0] * 3.0, b[1] * 3.0, b[2] * 4.0, b[3] * 4.0]
)


@st.composite
def coco_cases(draw):
    n_img = draw(st.integers(1, 4))
    anns = draw(st.lists(st.tuples(st.integers(0, n_img - 1), st.integers(1, 2), _box,
                                   st.booleans(), st.sampled_from([None, 0.0, 16.0, 1024.0])),
                         max_size=12))  # fmt: skip
    dets = draw(st.lists(st.tuples(st.integers(0, n_img - 1), st.integers(1, 2), _box,
                                   st.sampled_from([0.1, 0.5, 0.5, 0.9, 0.25])),
                         min_size=1, max_size=25))  # fmt: skip
    gt = {"images": [{"id": i} for i in range(n_img)], "categories": [{"id": 1}, {"id": 2}],
          "annotations": [{"id": k + 1, "image_id": i, "category_id": c, "bbox": b,
                           "iscrowd": int(crowd), "area": b[2] * b[3] if a is None else a}
                          for k, (i, c, b, crowd, a) in enumerate(anns)]}  # fmt: skip
    dt = [{"image_id": i, "category_id": c, "bbox": b, "score": s} for i, c, b, s in dets]
    return gt, dt, draw(st.sampled_from([(1, 10, 100), (1, 2, 3)]))


@settings(max_examples=60, deadline=None)
@given(coco_cases())
def test_coco_equals_pycocotools_on_generated_cases(case):
    gt, dt, max_dets = case
    ev = run_pycocotools(gt, dt, maxDets=list(max_dets))
    assert_same_as_pycocotools(
        coco_evaluate(gt, dt, max_dets=max_dets, pycocotools_compat=True), ev
    )


@pytest.mark.slow
def test_coco_equals_pycocotools_at_scale_through_the_parallel_kernels():
    gt, dt = random_case(2024, n_images=1000, n_cats=20)
    assert len(dt) + len(gt["annotations"]) >= _coco_kernels.PARALLEL_MIN_SIZE
    assert_same_as_pycocotools(coco_evaluate(gt, dt), run_pycocotools(gt, dt))


# ---- segm and keypoints -------------------------------------------------------------------


def test_segm_equals_pycocotools_on_fake100(shared_data):
    folder = shared_data / "coco_val2014_fake100"
    gt = json.loads((folder / "instances_val2014_100.json").read_text())
    dt = json.loads((folder / "instances_val2014_fakesegm100_results.json").read_text())
    ours = coco_evaluate(gt, dt, "segm")
    assert_same_as_pycocotools(ours, run_pycocotools(gt, dt, "segm"))
    # the numbers pycocotools printed in the demo (val2014_fake_eval_res.txt, segm part)
    printed = [0.320, 0.562, 0.299, 0.387, 0.310, 0.327, 0.268, 0.415, 0.417, 0.469, 0.377, 0.381]
    np.testing.assert_allclose(ours.stats, printed, atol=5e-4)


@pytest.mark.parametrize(
    "seed, params",
    [(0, {}), (1, {}), (2, {"with_bbox": True}), (3, {"use_cats": False}), (4, {})],
)
def test_segm_equals_pycocotools_on_random_cases(seed, params):
    params = dict(params)
    gt, dt = random_segm_case(seed, with_bbox=params.pop("with_bbox", False))
    ours = coco_evaluate(gt, dt, "segm", use_cats=params.get("use_cats", True))
    ev = run_pycocotools(gt, dt, "segm", useCats=int(params.get("use_cats", True)))
    assert_same_as_pycocotools(ours, ev)
    assert (ours.precision > 0).any()


@pytest.mark.parametrize("iou_type", ["segm", "keypoints"])
def test_precomputed_iou_path_equals_pycocotools_with_parallel_kernels(iou_type, monkeypatch):
    # small inputs run the chunk kernels from Python; force the parfor drivers
    monkeypatch.setattr(_coco_kernels, "PARALLEL_MIN_SIZE", 0)
    monkeypatch.setattr(_mask_kernels, "PARALLEL_MIN_PAIRS", 0)
    make = random_segm_case if iou_type == "segm" else random_keypoint_case
    gt, dt = make(1)
    assert_same_as_pycocotools(coco_evaluate(gt, dt, iou_type), run_pycocotools(gt, dt, iou_type))


@pytest.mark.parametrize(
    "seed, params",
    [(0, {}), (1, {}), (2, {"with_bbox": True}), (5, {})],
)
def test_keypoints_equal_pycocotools_on_random_cases(seed, params):
    gt, dt = random_keypoint_case(seed, **params)
    assert any(a["num_keypoints"] == 0 for a in gt["annotations"])
    assert any(a["iscrowd"] for a in gt["annotations"])
    ours = coco_evaluate(gt, dt, "keypoints")
    assert_same_as_pycocotools(ours, run_pycocotools(gt, dt, "keypoints"))
    assert len(ours.stats) == 10 and ours.stats[0] > 0


def test_pooled_keypoints_equal_pycocotools_on_one_category():
    """pycocotools' computeOks ignores useCats=0 (it finds no pairs, AP 0); pooling here
    works as for boxes, so on single-category data it equals useCats=1."""
    gt, dt = random_keypoint_case(3)
    for ann in (*gt["annotations"], *dt):
        ann["category_id"] = 1
    ours = coco_evaluate(gt, dt, "keypoints", use_cats=False)
    ev = run_pycocotools(gt, dt, "keypoints")
    np.testing.assert_array_equal(ours.precision, ev.eval["precision"][:, :, :1])
    np.testing.assert_array_equal(ours.recall, ev.eval["recall"][:, :1])
    np.testing.assert_array_equal(ours.stats, ev.stats)


def test_keypoints_with_custom_sigmas_and_max_dets_equal_pycocotools():
    gt, dt = random_keypoint_case(7, n_kpts=5)
    sigmas = np.array([0.3, 0.5, 0.7, 0.2, 1.0]) / 10
    ours = coco_evaluate(gt, dt, "keypoints", kpt_oks_sigmas=sigmas, max_dets=(3, 20),
                         pycocotools_compat=True)  # fmt: skip
    ev = run_pycocotools(gt, dt, "keypoints", kpt_oks_sigmas=sigmas, maxDets=[3, 20])
    assert_same_as_pycocotools(ours, ev)


def test_oks_values_equal_pycocotools_bit_for_bit():
    """The similarity itself, not only the matches: every OKS of every (image, category)."""
    gt, dt = random_keypoint_case(11)
    ev = run_pycocotools(gt, dt, "keypoints")
    from skextras.metrics import _coco

    captured = {}
    real = _coco._group_similarities

    def spy(g, d, g_order, d_order, gs, ge, ds, de, sigmas):
        ious, start = real(g, d, g_order, d_order, gs, ge, ds, de, sigmas)
        captured.update(ious=ious, start=start, gs=gs, ge=ge, ds=ds, de=de)
        return ious, start

    import unittest.mock

    with unittest.mock.patch.object(_coco, "_group_similarities", spy):
        coco_evaluate(gt, dt, "keypoints")
    ref = [np.asarray(v).ravel() for k, v in sorted(ev.ious.items(), key=lambda kv: (kv[0][1],
           kv[0][0])) if len(v)]  # fmt: skip
    ours = captured["ious"]
    assert len(ours) == sum(len(r) for r in ref) > 100
    np.testing.assert_array_equal(ours, np.concatenate(ref))


@pytest.mark.parametrize("n_kpts", [5, 17, 150])
def test_oks_equals_pycocotools_compute_oks_to_the_last_bit(n_kpts):
    # numpy's pairwise sum changes order at 8 and 128 terms: counts on both sides of each
    from skextras.metrics._coco import _oks

    rng = np.random.default_rng(n_kpts)
    n_gt, n_dt = 6, 9
    g = (
        np.column_stack(
            [rng.uniform(0, 200, (n_gt, n_kpts, 2)).reshape(n_gt, -1), np.zeros((n_gt, n_kpts))]
        )
        .reshape(n_gt, 3, n_kpts)
        .transpose(0, 2, 1)
    )
    g = np.ascontiguousarray(g)  # (n_gt, K, 3): x, y, visibility
    g[:, :, 2] = rng.random((n_gt, n_kpts)) < np.linspace(0, 1, n_gt)[:, None]
    g[0, :, 2] = 0  # no visible keypoint: distance to the enlarged box
    d = np.ascontiguousarray(g[rng.integers(0, n_gt, n_dt)] + rng.normal(0, 9, (n_dt, n_kpts, 3)))
    d[:, :, 2] = 1
    box = np.column_stack([rng.uniform(0, 100, (n_gt, 2)), rng.uniform(5, 80, (n_gt, 2))])
    area = rng.uniform(100, 5000, n_gt)
    sigmas = rng.uniform(0.02, 0.12, n_kpts)
    gt = {
        "images": [{"id": 1}],
        "categories": [{"id": 1}],
        "annotations": [
            {
                "id": i + 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": box[i].tolist(),
                "area": float(area[i]),
                "iscrowd": 0,
                "keypoints": g[i].ravel().tolist(),
                "num_keypoints": int(g[i, :, 2].sum()),
            }
            for i in range(n_gt)
        ],
    }
    dt = [{"image_id": 1, "category_id": 1, "keypoints": d[i].ravel().tolist(),
           "score": 1.0 - i / n_dt} for i in range(n_dt)]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        ev = COCOeval(coco_gt, coco_gt.loadRes(dt), "keypoints")
        ev.params.kpt_oks_sigmas = sigmas
        ev.params.imgIds = [1]
        ev._prepare()
    expected = ev.computeOks(1, 1)  # (n_dt by descending score, n_gt)
    zero = np.array([0])
    ours = _oks(g, box, area, d, (sigmas * 2) ** 2, zero, zero + n_gt, zero, zero + n_dt,
                np.array([0, n_gt * n_dt]))  # fmt: skip
    np.testing.assert_array_equal(ours.reshape(n_dt, n_gt), expected)


def test_keypoint_summary_prints_the_pycocotools_lines(capsys):
    gt, dt = random_keypoint_case(4)
    coco_evaluate(gt, dt, "keypoints").summary()
    printed = capsys.readouterr().out.splitlines()
    with contextlib.redirect_stdout(io.StringIO()) as buf:
        run_pycocotools(gt, dt, "keypoints").summarize()
    assert printed == [line for line in buf.getvalue().splitlines() if "@[" in line]


def test_segm_and_keypoint_frames_have_one_row_per_category():
    gt, dt = random_keypoint_case(3)
    frame = coco_evaluate(gt, dt, "keypoints").to_frame()
    assert list(frame.columns) == ["name", "AP", "AP50", "AP75", "APm", "APl", "AR", "AR50",
                                   "AR75", "ARm", "ARl"]  # fmt: skip
    assert list(frame.index) == [1, 3]


def _bad_segm(change):
    gt, dt = random_segm_case(0)
    change(gt, dt)
    return gt, dt, "segm"


def _bad_kpt(change):
    gt, dt = random_keypoint_case(0)
    change(gt, dt)
    return gt, dt, "keypoints"


def _set(items, index, **fields):
    def change(gt, dt):
        target = gt["annotations"] if items == "gt" else dt
        target[index].update(fields)

    return change


@pytest.mark.parametrize(
    "case, message",
    [
        (_bad_segm(_set("gt", 2, segmentation={"size": [5, 5], "counts": [25]})),
         r"gt annotations: entry 2 .*size \[5, 5\] but its image is"),
        (_bad_segm(_set("dt", 3, segmentation={"size": [5, 5], "counts": "i0"})),
         r"detections: entry 3 .*size \[5, 5\]"),
        (_bad_segm(_set("gt", 4, segmentation=[[1, 1, 5, 5, 9, 1], [1, 2, 3, 4]])),
         r"gt annotations: entry 4 .*polygon of 4 coordinates"),
        (_bad_segm(_set("dt", 1, image_id=999999)), r"image_id 999999 \(row 1\)"),
        (_bad_segm(_set("dt", 0, segmentation={"size": [5, 5], "counts": [3, 4]})),
         r"detections: entry 0 segmentation: counts add up to 7 pixels"),
        (_bad_kpt(_set("gt", 3, keypoints=[1.0] * 50)),
         r"gt annotations: entry 3 has 50 keypoint numbers, not a multiple of 3"),
        (_bad_kpt(_set("dt", 5, keypoints=[1.0] * 48)), r"detections: entry 5 has 48 .*51"),
        (_bad_kpt(_set("dt", 2, image_id=-7)), r"image_id -7 \(row 2\)"),
    ],
)  # fmt: skip
def test_bad_segm_and_keypoint_input_names_the_field_and_index(case, message):
    gt, dt, iou_type = case
    with pytest.raises(ValueError, match=message):
        coco_evaluate(gt, dt, iou_type)
