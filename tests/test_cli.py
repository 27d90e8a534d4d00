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
