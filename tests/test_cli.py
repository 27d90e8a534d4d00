from pathlib import Path

import pytest

from skextras.cli import build_parser, main

FC_DATA = Path(__file__).parent / "data" / "feature_columns"


def test_tfrecord_command_prints_records_and_features(capsys):
    assert main(["tfrecord", str(FC_DATA / "tf_examples.tfrecord"), "--head", "1"]) == 0
    out = capsys.readouterr().out
    assert "records" in out and "features" in out


def test_tfrecord_command_writes_csv(tmp_path):
    target = tmp_path / "out.csv"
    main(["tfrecord", str(FC_DATA / "tf_examples.tfrecord"), "--to-csv", str(target)])
    assert target.read_text().count("\n") >= 2


def test_tfrecord_command_record_beyond_max_record_bytes_exits_2_naming_it(capsys):
    path = FC_DATA / "tf_examples.tfrecord"
    assert main(["tfrecord", str(path), "--max-record-bytes", "8"]) == 2
    err = capsys.readouterr().err
    assert f"skextras tfrecord: error: {path}: record 0 (byte 0) declares" in err
    assert "more than max_record_bytes=8" in err


def test_tfrecord_command_corrupted_file_exits_2_naming_the_record(tmp_path, capsys):
    raw = bytearray((FC_DATA / "tf_examples.tfrecord").read_bytes())
    raw[20] ^= 0xFF  # inside record 0's data
    path = tmp_path / "bad.tfrecord"
    path.write_bytes(bytes(raw))
    assert main(["tfrecord", str(path)]) == 2
    assert "record 0 (byte 0) has a corrupted data CRC" in capsys.readouterr().err


def test_tfrecord_command_detects_compression_by_default(capsys):
    assert main(["tfrecord", str(FC_DATA / "tf_examples.tfrecord.zlib")]) == 0
    assert "3 records, 6 features" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{gz}", "--compression", "none"], "pass compression='GZIP'"),
        (["{plain}", "--compression", "GZIP"], "pass compression=None"),
        (["{folder}"], "Is a directory"),
        (["{folder}/missing.tfrecord"], "No such file"),
        (["{plain}", "--to-csv", "{folder}/no/such/dir/x.csv"], "non-existent directory"),
        (["{json}"], "record 0 (byte 0) has a corrupted length CRC"),
    ],
    ids=["gzip-as-plain", "plain-as-gzip", "directory", "missing", "csv-folder", "not-tfrecord"],
)
def test_tfrecord_command_bad_input_prints_one_line_error(tmp_path, capsys, argv, message):
    names = {"gz": FC_DATA / "tf_examples.tfrecord.gz", "plain": FC_DATA / "tf_examples.tfrecord",
             "folder": tmp_path, "json": FC_DATA / "tf_fixtures.json"}  # fmt: skip
    assert main(["tfrecord", *(a.format(**names) for a in argv)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("skextras tfrecord: error: ")
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("option", ["--head", "--max-record-bytes"])
def test_tfrecord_command_negative_count_is_a_usage_error(capsys, option):
    with pytest.raises(SystemExit) as exit_info:
        main(["tfrecord", str(FC_DATA / "tf_examples.tfrecord"), option, "-1"])
    assert exit_info.value.code == 2
    assert f"argument {option}: expected an integer >= 0, got -1" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["demo", "map", "tfrecord"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: skextras " + command in capsys.readouterr().out


def test_missing_subcommand_is_an_error():
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([])
    assert exit_info.value.code == 2


def test_map_segm_prints_the_pycocotools_summary_of_the_shared_sample(shared_data, capsys):
    folder = shared_data / "coco_val2014_fake100"
    code = main(["map", "--gt", str(folder / "instances_val2014_100.json"), "--dt",
                 str(folder / "instances_val2014_fakesegm100_results.json"), "--iou-type",
                 "segm"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    # pycocotools' own printout of this sample (val2014_fake_eval_res.txt, type=segm)
    reference = (folder / "val2014_fake_eval_res.txt").read_text().split("type=segm")[1]
    expected = [line.split() for line in reference.splitlines() if "@[" in line][:12]
    assert out[0] == "metric: COCO segm AP (pycocotools' summary)"
    assert [line.split() for line in out[1:13]] == expected  # that file pads less


def test_map_keypoints_prints_the_pycocotools_summary(tmp_path, capsys):
    import contextlib
    import io
    import json

    from _coco_data import random_keypoint_case

    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt, dt = random_keypoint_case(0)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    args = ["map", "--gt", str(tmp_path / "gt.json"), "--dt", str(tmp_path / "dt.json")]
    assert main([*args, "--iou-type", "keypoints"]) == 0
    out = capsys.readouterr().out.splitlines()
    with contextlib.redirect_stdout(io.StringIO()) as buf:
        coco_gt = COCO(str(tmp_path / "gt.json"))
        ev = COCOeval(coco_gt, coco_gt.loadRes(str(tmp_path / "dt.json")), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert out[0] == "metric: COCO keypoints AP (pycocotools' summary)"
    assert out[1:11] == [line for line in buf.getvalue().splitlines() if "@[" in line]
    assert main([*args, "--iou-type", "keypoints", "--format", "csv"]) == 2
    assert "needs --metric coco" in capsys.readouterr().out


def _padilla_relative_args(shared_data, *extra):
    folder = shared_data / "object_detection_metrics"
    return ["map", "--gt", str(folder / "groundtruths_rel"), "--dt",
            str(folder / "detections_rel"), "--format", "txt", "--relative", "--box-format",
            "xcycwh", "--iou-threshold", "0.3", *extra]  # fmt: skip


def _sizes_from_the_absolute_sample(shared_data):
    """Each image's (width, height) from its absolute xywh boxes over the relative ones."""
    folder = shared_data / "object_detection_metrics"
    sizes = {}
    for file in sorted((folder / "groundtruths").glob("*.txt")):
        absolute = [line.split()[1:] for line in file.read_text().splitlines() if line.strip()]
        relative = [line.split()[1:] for line in
                    (folder / "groundtruths_rel" / file.name).read_text().splitlines()
                    if line.strip()]  # fmt: skip
        w = {round(float(a[2]) / float(r[2])) for a, r in zip(absolute, relative)}
        h = {round(float(a[3]) / float(r[3])) for a, r in zip(absolute, relative)}
        assert len(w) == len(h) == 1, file.name  # one size per image
        sizes[file.stem] = (w.pop(), h.pop())
    return sizes


def test_map_relative_boxes_without_image_sizes_exit_2_naming_the_options(shared_data, capsys):
    assert main(_padilla_relative_args(shared_data)) == 2
    out = capsys.readouterr().out
    assert "--gt" in out and "relative to the image size" in out
    assert "--image-size W H" in out and "--image-sizes FILE" in out
    assert "mAP" not in out


def test_map_relative_boxes_with_image_size_give_the_published_ap(shared_data, capsys):
    # Padilla et al. publish 24.57% for this sample (absolute coordinates, IoU 0.3)
    assert main(_padilla_relative_args(shared_data, "--image-size", "200", "200")) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("metric: VOC voc2012: all-point AP")
    assert "relative boxes scaled to pixels" in out[0]
    assert out[-1] == "mAP (voc2012, IoU 0.3): 0.2457"


@pytest.mark.parametrize("layout", ["text", "json", "coco"])
def test_map_image_sizes_file_equals_the_absolute_sample(shared_data, tmp_path, capsys, layout):
    import json

    sizes = _sizes_from_the_absolute_sample(shared_data)
    path = tmp_path / f"sizes.{layout}"
    if layout == "text":
        path.write_text("# image_id width height\n" + "".join(
            f"{key} {w} {h}\n" for key, (w, h) in sizes.items()))  # fmt: skip
    elif layout == "json":
        path.write_text(json.dumps({key: [w, h] for key, (w, h) in sizes.items()}))
    else:
        images = [{"id": key, "width": w, "height": h} for key, (w, h) in sizes.items()]
        path.write_text(json.dumps({"images": images}))
    assert main(_padilla_relative_args(shared_data, "--image-sizes", str(path))) == 0
    relative_out = capsys.readouterr().out.splitlines()[-1]
    folder = shared_data / "object_detection_metrics"
    assert main(["map", "--gt", str(folder / "groundtruths"), "--dt",
                 str(folder / "detections"), "--format", "txt", "--iou-threshold",
                 "0.3"]) == 0  # fmt: skip
    assert relative_out == capsys.readouterr().out.splitlines()[-1]


def test_map_image_sizes_file_with_a_bad_line_names_the_line(shared_data, tmp_path, capsys):
    path = tmp_path / "sizes.txt"
    path.write_text("00001 200 200\n00002 200\n")
    assert main(_padilla_relative_args(shared_data, "--image-sizes", str(path))) == 2
    out = capsys.readouterr().out
    assert "line 2" in out and "'00002 200'" in out
    path.write_text("00001 200 -5\n")
    assert main(_padilla_relative_args(shared_data, "--image-sizes", str(path))) == 2
    assert "'00001' has size 200.0 x -5.0" in capsys.readouterr().out
    assert main(_padilla_relative_args(shared_data, "--image-size", "0", "200")) == 2
    assert "--image-size must be two positive numbers" in capsys.readouterr().out


def test_map_image_missing_from_the_sizes_file_is_named(shared_data, tmp_path, capsys):
    path = tmp_path / "sizes.txt"
    path.write_text("00001 200 200\n")
    assert main(_padilla_relative_args(shared_data, "--image-sizes", str(path))) == 2
    assert "image_sizes has no entry for image '00002'" in capsys.readouterr().out


def test_map_defaults_to_voc_for_txt_and_coco_for_coco_json(shared_data, capsys):
    folder = shared_data / "object_detection_metrics"
    assert main(["map", "--gt", str(folder / "groundtruths"), "--dt",
                 str(folder / "detections"), "--format", "txt"]) == 0  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("metric: VOC voc2012: all-point AP (area under the precision envelope), "
                      "IoU >= 0.5, box width x2 - x1 + 1")  # fmt: skip
    assert out[-1].startswith("mAP (voc2012, IoU 0.5): ")
    coco = shared_data / "coco_val2014_fake100"
    assert main(["map", "--gt", str(coco / "instances_val2014_100.json"), "--dt",
                 str(coco / "instances_val2014_fakebbox100_results.json")]) == 0  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "metric: COCO bbox AP (pycocotools' 12-number summary)"
    assert out[1].startswith(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all")


def test_map_segm_results_as_bbox_name_the_iou_type(shared_data, capsys):
    coco = shared_data / "coco_val2014_fake100"
    assert main(["map", "--gt", str(coco / "instances_val2014_100.json"), "--dt",
                 str(coco / "instances_val2014_fakesegm100_results.json")]) == 2  # fmt: skip
    out = capsys.readouterr().out
    assert "has no 'bbox'" in out and "iou_type='segm'" in out
    assert "('bbox', 'segm', 'keypoints')" in out


def test_map_negative_width_explains_the_box_layouts(shared_data, capsys):
    folder = shared_data / "object_detection_metrics"
    # the sample's xywh files read as corners: boxes with xmax < xmin
    for metric in ("coco", "voc2012"):
        assert main(["map", "--gt", str(folder / "groundtruths"), "--dt",
                     str(folder / "detections"), "--format", "txt", "--box-format", "xyxy",
                     "--metric", metric]) == 2  # fmt: skip
        out = capsys.readouterr().out
        assert "negative width or height" in out or "xmax < xmin" in out
        assert "is the box layout right?" in out and "--box-format" in out
