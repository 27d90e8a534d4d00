"""Readers of the detection formats, the record table they share, and the ``map`` command."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skextras.cli import main
from skextras.metrics import (
    coco_evaluate,
    read_coco,
    read_csv,
    read_fiftyone,
    read_openimages_csv,
    read_txt,
    read_voc_xml,
    read_yolo,
    records_to_coco,
    voc_evaluate,
)

TOY = Path(__file__).resolve().parent / "data" / "metrics" / "toy"
FIXTURES = TOY.parent
CORNERS = ["xmin", "ymin", "xmax", "ymax"]


@pytest.fixture(scope="module")
def review(shared_data):
    return shared_data / "review_object_detection_metrics" / "toyexample"


def sort_boxes(frame):
    return frame.sort_values(["image_id", "xmin", "ymin"]).reset_index(drop=True)


def test_voc_xml_reads_boxes_difficult_and_sizes():
    gt = read_voc_xml(TOY / "gts_vocpascal_format")
    assert list(gt.columns) == ["image_id", "category_id", *CORNERS, "difficult", "iscrowd"]
    first = gt[gt["image_id"] == "2007_000549"].iloc[0]
    assert first["category_id"] == "cat"
    assert first[CORNERS].tolist() == [1.0, 49.0, 341.0, 499.0]
    assert gt.attrs["image_sizes"]["2007_000549"] == (375.0, 500.0)
    assert gt["difficult"].dtype == bool


def test_coco_and_voc_ground_truth_give_the_same_boxes(review):
    voc = read_voc_xml(review / "gts_vocpascal_format")
    coco = read_coco(review / "gts_coco_format" / "toy_example_coco.JSON")
    names = {im_id: Path(im["file_name"]).stem for im_id, im in coco.attrs["images"].items()}
    coco["image_id"] = coco["image_id"].map(names)
    np.testing.assert_allclose(sort_boxes(coco)[CORNERS], sort_boxes(voc)[CORNERS])


@pytest.mark.parametrize(
    "folder, kwargs",
    [
        ("dets_classname_abs_xywh", {"box_format": "xywh"}),
        ("dets_classname_abs_xyx2y2", {"box_format": "xyxy"}),
        ("dets_classid_abs_xywh", {"box_format": "xywh", "class_names": "voc.names"}),
        ("dets_classid_abs_xyx2y2", {"box_format": "xyxy", "class_names": "voc.names"}),
        ("dets_classname_rel_xcycwh", {"box_format": "xcycwh", "relative": True}),
        (
            "dets_classid_rel_xcycwh",
            {"box_format": "xcycwh", "relative": True, "class_names": "voc.names"},
        ),  # fmt: skip
    ],
)
def test_every_text_variant_reads_the_same_detections(review, folder, kwargs):
    gt = read_voc_xml(review / "gts_vocpascal_format")
    if "class_names" in kwargs:
        kwargs = {**kwargs, "class_names": review / kwargs["class_names"]}
    if kwargs.get("relative"):
        kwargs["image_sizes"] = gt.attrs["image_sizes"]
    dets = read_txt(review / folder, **kwargs)
    ref = read_txt(review / "dets_classname_abs_xyx2y2", box_format="xyxy")
    assert set(dets["category_id"]) == {"cat"}
    # relative files are rounded to 6 decimals: within a pixel of the absolute ones
    np.testing.assert_allclose(sort_boxes(dets)[CORNERS], sort_boxes(ref)[CORNERS], atol=1.0)
    np.testing.assert_array_equal(sort_boxes(dets)["score"], sort_boxes(ref)["score"])


def test_yolo_reader_equals_txt_reader_and_scales_by_image_size():
    gt = read_voc_xml(TOY / "gts_vocpascal_format")
    sizes = gt.attrs["image_sizes"]
    yolo = read_yolo(TOY / "dets_classid_rel_xcycwh", TOY / "voc.names", image_sizes=sizes,
                     score_position="second")  # fmt: skip
    txt = read_txt(TOY / "dets_classid_rel_xcycwh", box_format="xcycwh", relative=True,
                   class_names=TOY / "voc.names", image_sizes=sizes)  # fmt: skip
    pd.testing.assert_frame_equal(yolo, txt)
    row = yolo[yolo["image_id"] == "2007_000549"].iloc[0]
    # "7 0.94 0.475215 0.524656 0.884800 0.873787" in a 375 x 500 image
    assert row["xmin"] == pytest.approx((0.475215 - 0.8848 / 2) * 375)
    assert row["ymax"] == pytest.approx((0.524656 + 0.873787 / 2) * 500)
    assert voc_evaluate(gt, yolo).mAP > 0.8


def test_yolo_score_last_is_read_from_the_last_column(tmp_path):
    (tmp_path / "img.txt").write_text("0 0.5 0.5 0.2 0.2 0.75\n")
    frame = read_yolo(tmp_path, ["cat"])
    assert frame["score"].tolist() == [0.75]
    assert frame[CORNERS].iloc[0].tolist() == pytest.approx([0.4, 0.4, 0.6, 0.6])


def test_txt_reader_rejects_bad_lines(tmp_path):
    (tmp_path / "a.txt").write_text("cat 1 2 3\n")
    with pytest.raises(ValueError, match="expected 5 or 6 fields"):
        read_txt(tmp_path)
    (tmp_path / "a.txt").write_text("cat 1 2 3 4\ncat 0.5 1 2 3 4\n")
    with pytest.raises(ValueError, match="mixes"):
        read_txt(tmp_path)
    with pytest.raises(ValueError, match="neither a file nor a folder"):
        read_txt(tmp_path / "missing.txt")
    (tmp_path / "a.txt").write_text("cat 1 2 3 4\n")
    with pytest.raises(ValueError, match="box_format"):
        read_txt(tmp_path, box_format="cxcy")


def test_csv_and_openimages_readers():
    frame = read_csv(FIXTURES / "boxes.csv", box_format="xywh")
    assert frame[CORNERS].iloc[0].tolist() == [12.0, 44.0, 344.0, 481.0]
    assert frame["category_id"].tolist() == ["cat", "dog", "cat"]
    with pytest.raises(ValueError, match="missing columns"):
        read_csv(FIXTURES / "boxes.csv", box_format="xyxy")
    sizes = {"2007_000549": (375, 500), "2007_000733": (450, 435)}
    oi = read_openimages_csv(FIXTURES / "openimages_dets.csv", image_sizes=sizes)
    assert oi[CORNERS].iloc[0].tolist() == pytest.approx([12.0, 44.0, 344.0, 481.0])
    assert oi["iscrowd"].tolist() == [False, True]


def test_fiftyone_reader_maps_class_indices_and_scales_boxes():
    sizes = {"2007_000549": (375, 500), "2007_000733": (450, 435), "2007_003525": (500, 375)}
    frame = read_fiftyone(FIXTURES / "fiftyone_dets.json", image_sizes=sizes)
    assert frame["category_id"].tolist() == ["cat", "cat"]
    assert frame[CORNERS].iloc[0].tolist() == pytest.approx([12.0, 44.0, 344.0, 481.0])
    assert frame["score"].tolist() == [0.94, 0.85]
    oi = read_openimages_csv(FIXTURES / "openimages_dets.csv", image_sizes=sizes)
    np.testing.assert_allclose(frame[CORNERS], oi[CORNERS], atol=1e-9)


def test_records_to_coco_round_trip_equals_coco_json(review):
    path = review / "gts_coco_format" / "toy_example_coco.JSON"
    dets = review / "dets_coco_format" / "coco_dets.json"
    with pytest.warns(UserWarning, match="id 0"):
        coco_evaluate(path, dets)
    gt = json.loads(path.read_text())
    for ann in gt["annotations"]:
        ann["id"] += 1  # pycocotools counts matches to the gt with id 0 as false positives
    direct = coco_evaluate(gt, dets)
    converted = coco_evaluate(*records_to_coco(read_coco(path), read_coco(dets)))
    np.testing.assert_allclose(converted.stats, direct.stats, atol=1e-12)


def test_map_command_prints_voc_ap_of_the_padilla_sample(shared_data, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    folder = shared_data / "object_detection_metrics"
    code = main(["map", "--gt", str(folder / "groundtruths"), "--dt", str(folder / "detections"),
                 "--format", "txt", "--metric", "voc2012", "--iou-threshold", "0.3",
                 "--plot", str(tmp_path / "pr.png")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "mAP (voc2012, IoU 0.3): 0.2457" in out
    assert (tmp_path / "pr.png").stat().st_size > 1000


def test_map_command_coco_prints_the_summary(shared_data, capsys, tmp_path):
    pytest.importorskip("matplotlib")
    folder = shared_data / "coco_val2014_fake100"
    code = main(["map", "--gt", str(folder / "instances_val2014_100.json"),
                 "--dt", str(folder / "instances_val2014_fakebbox100_results.json"),
                 "--plot", str(tmp_path / "pr.png")])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert (tmp_path / "pr.png").stat().st_size > 1000
    assert "maxDets=100 ] = 0.505" in out and "area= large | maxDets=100 ] = 0.564" in out


def test_map_command_voc_xml_with_yolo_detections(capsys):
    code = main(["map", "--gt", str(TOY / "gts_vocpascal_format"), "--dt",
                 str(TOY / "dets_classid_rel_xcycwh"), "--format", "voc", "--dt-format", "yolo",
                 "--class-names", str(TOY / "voc.names"), "--score-position", "second",
                 "--metric", "voc2007"])  # fmt: skip
    assert code == 0
    assert "cat" in capsys.readouterr().out


def test_map_command_reports_bad_input(tmp_path, capsys):
    (tmp_path / "gt.json").write_text(json.dumps({"images": [{"id": 1}], "categories": [],
                                                  "annotations": []}))  # fmt: skip
    (tmp_path / "dt.json").write_text(json.dumps([{"image_id": 7, "category_id": 1,
                                                   "bbox": [0, 0, 1, 1], "score": 1}]))  # fmt: skip
    code = main(["map", "--gt", str(tmp_path / "gt.json"), "--dt", str(tmp_path / "dt.json")])
    assert code == 2
    assert "image_id 7" in capsys.readouterr().out


def test_map_arguments_do_not_import_plotting_or_pycocotools():
    import subprocess
    import sys

    code = ("import sys; from skextras.cli import build_parser; build_parser(); "
            "print('matplotlib' in sys.modules, 'pycocotools' in sys.modules)")  # fmt: skip
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                         env={"PYTHONPATH": str(root), "PATH": ""}, check=True)  # fmt: skip
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("module", ["_coco", "_detection", "_voc", "_ranking"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"skextras.metrics.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
