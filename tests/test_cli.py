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
    assert [line.split() for line in out[:12]] == expected  # that file pads less


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
    assert out[:10] == [line for line in buf.getvalue().splitlines() if "@[" in line]
    assert main([*args, "--iou-type", "keypoints", "--format", "csv"]) == 2
    assert "needs --metric coco" in capsys.readouterr().out
