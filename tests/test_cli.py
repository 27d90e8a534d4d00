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
