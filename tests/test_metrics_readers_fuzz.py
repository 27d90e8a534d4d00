"""Hostile annotation files: each reader returns a correct table or a ValueError naming the file.

Hypothesis writes random bytes, truncated and bit-flipped copies of valid files, and
structurally wrong JSON / XML / text, and every reader must either return a record table
that holds exactly the boxes the file states (checked against a plain reading of the same
text) or raise ValueError whose message names the file. Named mistakes (VOC xml without
``<bndbox>``, a YOLO class id beyond the names, a FiftyOne box of 3 numbers,
``iscrowd="yes"``) each have a test of their own.
"""

import json
import re

import numpy as np
import pandas as pd
import pytest
from _mutations import mutate, mutations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skextras.metrics import (
    coco_evaluate,
    read_coco,
    read_csv,
    read_fiftyone,
    read_openimages_csv,
    read_txt,
    read_voc_xml,
    read_yolo,
    voc_evaluate,
)

FUZZ = settings(
    max_examples=40,
    derandomize=True,
    deadline=5000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CORNERS = ["xmin", "ymin", "xmax", "ymax"]

VOC = """<annotation><filename>img1.jpg</filename>
<size><width>500</width><height>375</height><depth>3</depth></size>
<object><name>dog</name><difficult>0</difficult>
<bndbox><xmin>48</xmin><ymin>240</ymin><xmax>195</xmax><ymax>371</ymax></bndbox></object>
<object><name>person</name><difficult>1</difficult>
<bndbox><xmin>8</xmin><ymin>12</ymin><xmax>352</xmax><ymax>498</ymax></bndbox></object>
</annotation>"""
YOLO = "0 0.5 0.5 0.2 0.4\n2 0.25 0.75 0.1 0.1\n"
FIFTYONE = {"classes": ["cat", "dog", "bird"],
            "labels": {"a": [{"label": 1, "bounding_box": [0.1, 0.2, 0.3, 0.4],
                              "confidence": 0.9}],
                       "b": [{"label": "cat", "bounding_box": [0, 0, 1, 1]}]}}  # fmt: skip
COCO = {"images": [{"id": 1}, {"id": 2}], "categories": [{"id": 1, "name": "x"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4],
                         "iscrowd": 0, "area": 12},
                        {"id": 2, "image_id": 2, "category_id": 1, "bbox": [0, 0, 5, 5],
                         "iscrowd": 1, "area": 25}]}  # fmt: skip


def outcome(read, path):
    """The table, or None after a ValueError that names the file."""
    try:
        return read(path)
    except ValueError as exc:
        assert str(path) in str(exc) or path.name in str(exc), str(exc)
        return None


def yolo_by_hand(text, names):
    """YOLO lines read the slow, obvious way (the definition the reader must meet)."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        cls = names[int(parts[0])]
        xc, yc, w, h = map(float, parts[1:5])
        rows.append([cls, xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2])
    return rows


@FUZZ
@given(mutations)
def test_read_voc_xml_mutated_file_gives_its_boxes_or_value_error(tmp_path, mutation):
    path = tmp_path / "img1.xml"
    path.write_bytes(mutate(VOC.encode(), *mutation))
    frame = outcome(read_voc_xml, path)
    if frame is not None:
        assert list(frame.columns[:6]) == ["image_id", "category_id", *CORNERS]
        assert np.isfinite(frame[CORNERS].to_numpy(float)).all()
        assert frame["difficult"].dtype == bool


@FUZZ
@given(st.binary(max_size=200))
def test_read_voc_xml_random_bytes_give_value_error_naming_the_file(tmp_path, raw):
    path = tmp_path / "x.xml"
    path.write_bytes(raw)
    frame = outcome(read_voc_xml, path)
    assert frame is None or len(frame) == 0


@FUZZ
@given(mutations)
def test_read_yolo_mutated_file_equals_a_plain_reading_or_value_error(tmp_path, mutation):
    path = tmp_path / "img.txt"
    raw = mutate(YOLO.encode(), *mutation)
    path.write_bytes(raw)
    names = ["cat", "dog", "bird"]
    frame = outcome(lambda p: read_yolo(p, names), path)
    if frame is not None:
        want = yolo_by_hand(raw.decode(), names)
        assert frame["category_id"].tolist() == [w[0] for w in want]
        np.testing.assert_allclose(frame[CORNERS].to_numpy(float).reshape(-1, 4),
                                   np.array([w[1:] for w in want]).reshape(-1, 4))  # fmt: skip


@FUZZ
@given(st.lists(st.text(alphabet="0123456789.-e nax\t", max_size=30), max_size=5))
def test_read_txt_random_lines_equal_a_plain_reading_or_value_error(tmp_path, lines):
    path = tmp_path / "img.txt"
    path.write_text("\n".join(lines))
    frame = outcome(lambda p: read_txt(p, class_names=["a", "b", "c"]), path)
    if frame is not None:
        for (_, row), line in zip(frame.iterrows(), [x for x in lines if x.split()], strict=True):
            parts = line.split()
            assert row["category_id"] == ["a", "b", "c"][int(parts[0])]
            xywh = [float(v) for v in parts[-4:]] if len(parts) == 5 else None
            if xywh is not None:
                x, y, w, h = xywh
                assert row[CORNERS].tolist() == pytest.approx([x, y, x + w, y + h])


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats() | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "label",
                    "bounding_box",
                    "confidence",
                    "classes",
                    "labels",
                    "a",
                    "bbox",
                    "image_id",
                    "category_id",
                    "iscrowd",
                    "annotations",
                    "score",
                ]
            ),
            children,
            max_size=4,
        )
    ),  # fmt: skip
    max_leaves=12,
)


@pytest.mark.parametrize("read", [read_fiftyone, read_coco])
@FUZZ
@given(data=_json)
def test_json_reader_random_json_gives_a_table_or_value_error(tmp_path, read, data):
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(data))
    frame = outcome(read, path)
    if frame is not None:
        assert np.isfinite(frame[CORNERS].to_numpy(float)).all()
        assert frame["iscrowd"].dtype == bool


@FUZZ
@given(mutations)
def test_read_fiftyone_and_coco_mutated_files_give_tables_or_value_error(tmp_path, mutation):
    for name, read, data in [("f.json", read_fiftyone, FIFTYONE), ("c.json", read_coco, COCO)]:
        path = tmp_path / name
        path.write_bytes(mutate(json.dumps(data).encode(), *mutation))
        frame = outcome(read, path)
        if frame is not None:
            assert np.isfinite(frame[CORNERS].to_numpy(float)).all()


@FUZZ
@given(st.binary(max_size=200))
def test_csv_readers_random_bytes_give_a_table_or_value_error(tmp_path, raw):
    path = tmp_path / "boxes.csv"
    path.write_bytes(raw)
    for read in (read_csv, read_openimages_csv):
        frame = outcome(read, path)
        if frame is not None:
            assert np.isfinite(frame[CORNERS].to_numpy(float)).all()


# ---- named mistakes -------------------------------------------------------------------


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("xml", "match"),
    [
        ("<annotation><object>", "not well-formed XML"),
        (
            "<annotation><object><name>dog</name></object></annotation>",
            r"object 0 \('dog'\) has no <bndbox>",
        ),
        (
            "<annotation><object><name>dog</name><bndbox><xmin>1</xmin></bndbox></object>"
            "</annotation>",
            r"object 0 \('dog'\): <bndbox><ymin> must be a number, got None",
        ),
        (
            "<annotation><object><name>dog</name><bndbox><xmin>a</xmin><ymin>1</ymin><xmax>2"
            "</xmax><ymax>3</ymax></bndbox></object></annotation>",
            r"<bndbox><xmin> must be a num",
        ),
        ("<annotation><object><bndbox/></object></annotation>", "object 0 has no <name>"),
        (
            "<annotation><object><name>d</name><difficult>yes</difficult><bndbox><xmin>0</xmin>"
            "<ymin>0</ymin><xmax>1</xmax><ymax>1</ymax></bndbox></object></annotation>",
            r"<difficult> must be a number, got 'yes'",
        ),
        (
            "<annotation><size><width>w</width><height>1</height></size></annotation>",
            r"<size><width> must be a number",
        ),
        ("<other/>", "the root element is <other>"),
    ],  # fmt: skip
    ids=[
        "malformed",
        "no-bndbox",
        "no-ymin",
        "text-corner",
        "no-name",
        "difficult",
        "size",
        "root",
    ],  # fmt: skip
)
def test_read_voc_xml_mistake_raises_value_error_naming_file_object_and_field(tmp_path, xml, match):
    path = write(tmp_path, "ann.xml", xml)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: .*{match}"):
        read_voc_xml(path)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("3 0.5 0.5 0.1 0.1", r"class id 3 is beyond the 3 class names \(ids 0..2\)"),
        ("-1 0.5 0.5 0.1 0.1", "class id -1 is beyond the 3 class names"),
        ("cat 0.5 0.5 0.1 0.1", "class id 'cat' is not an integer"),
        ("0 0.5 zero 0.1 0.1", "coordinate 2 must be a number, got 'zero'"),
        ("0 0.5 nan 0.1 0.1", "coordinate 2 must be a finite number"),
    ],  # fmt: skip
)
def test_read_yolo_bad_line_raises_naming_file_and_line(tmp_path, line, match):
    path = write(tmp_path, "img.txt", f"0 0.5 0.5 0.1 0.1\n{line}\n")
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}:2: {match}"):
        read_yolo(path, ["a", "b", "c"])


@pytest.mark.parametrize(
    ("det", "match"),
    [
        ({"label": 0, "bounding_box": [0.1, 0.2, 0.3]}, "bounding_box must be 4 numbers"),
        ({"label": 0, "bounding_box": [0.1, 0.2, "x", 0.3]}, "bounding_box must be a number"),
        ({"label": 5, "bounding_box": [0, 0, 1, 1]}, "class id 5 is beyond the 3 class names"),
        ({"bounding_box": [0, 0, 1, 1]}, "has no 'label'"),
        ({"label": 0, "bounding_box": [0, 0, 1, 1], "confidence": "high"}, "confidence must"),
        ([0, 0, 1, 1], "must be an object"),
    ],
)
def test_read_fiftyone_bad_detection_raises_naming_file_image_and_index(tmp_path, det, match):
    data = {"classes": ["a", "b", "c"], "labels": {"im7": [{"label": 0, "bounding_box": [0] * 4},
                                                           det]}}  # fmt: skip
    path = write(tmp_path, "labels.json", json.dumps(data))
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: labels\['im7'\]\[1\].*{match}"):
        read_fiftyone(path)


def test_read_fiftyone_missing_image_size_raises_naming_the_image(tmp_path):
    path = write(tmp_path, "labels.json", json.dumps(FIFTYONE))
    with pytest.raises(ValueError, match="image_sizes has no entry for image 'a'"):
        read_fiftyone(path, image_sizes={"b": (10, 10)})


@pytest.mark.parametrize("flag", ["yes", 2, "1", None, 0.5])
def test_iscrowd_other_than_0_or_1_raises_in_reader_and_evaluator(tmp_path, flag):
    data = json.loads(json.dumps(COCO))
    data["annotations"][1]["iscrowd"] = flag
    path = write(tmp_path, "coco.json", json.dumps(data))
    with pytest.raises(ValueError, match=rf"annotation 1: iscrowd must be 0 or 1, got {flag!r}"):
        read_coco(path)
    with pytest.raises(ValueError, match=rf"entry 1: iscrowd must be 0 or 1, got {flag!r}"):
        coco_evaluate(data, [{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4],
                              "score": 0.5}])  # fmt: skip


@pytest.mark.parametrize(
    ("ann", "match"),
    [
        ({"image_id": 1, "category_id": 1, "bbox": [1, 2, 3]}, "bbox must be 4 numbers"),
        ({"image_id": 1, "bbox": [1, 2, 3, 4]}, "has no 'category_id'"),
        ({"image_id": 1, "category_id": 1, "bbox": [1, "a", 3, 4]}, "bbox must be a number"),
        ("ann", "must be an object"),
    ],  # fmt: skip
)
def test_read_coco_bad_annotation_raises_naming_file_and_index(tmp_path, ann, match):
    path = write(tmp_path, "coco.json", json.dumps({"annotations": [COCO["annotations"][0], ann]}))
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: annotation 1.*{match}"):
        read_coco(path)


def test_json_readers_name_the_file_of_invalid_json(tmp_path):
    path = write(tmp_path, "bad.json", '{"labels": [')
    for read in (read_coco, read_fiftyone):
        with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: not a JSON file"):
            read(path)


def test_json_readers_deeply_nested_json_raises_value_error_naming_the_file(tmp_path):
    # Python's JSON decoder recurses per level: 10**5 levels exceed the recursion limit.
    path = write(tmp_path, "deep.json", "[" * 100_000 + "]" * 100_000)
    for read in (read_coco, read_fiftyone, lambda p: coco_evaluate(p, [])):
        with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: JSON nested too deep"):
            read(path)


def test_read_voc_xml_deeply_nested_xml_reads_no_objects(tmp_path):
    path = write(
        tmp_path, "deep.xml", "<annotation>" + "<a>" * 50_000 + "</a>" * 50_000 + "</annotation>"
    )
    assert len(read_voc_xml(path)) == 0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("image_id,category_id,xmin,ymin,xmax\na,b,1,2,3\n", r"missing columns \['ymax'\]"),
        ("image_id,category_id,xmin,ymin,xmax,ymax\na,b,1,2,x,4\n", "row 0: column 'xmax'"),
        (
            "image_id,category_id,xmin,ymin,xmax,ymax,difficult\na,b,1,2,3,4,maybe\n",
            "row 0: difficult must be 0 or 1",
        ),
    ],  # fmt: skip
)
def test_read_csv_bad_content_raises_naming_file_and_row(tmp_path, text, match):
    path = write(tmp_path, "boxes.csv", text)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: {match}"):
        read_csv(path)


_GT = [{"image_id": "a", "category_id": "dog", "bbox": [10, 10, 60, 60]}]
_DT = [{"image_id": "a", "category_id": "dog", "bbox": [12, 10, 60, 60], "score": 0.8}]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"iou_threshold": float("nan")},
            ValueError,
            r"iou_threshold must be in \[0, 1\], got nan",
        ),
        ({"iou_threshold": 1.5}, ValueError, r"iou_threshold must be in \[0, 1\]"),
        ({"iou_threshold": -0.1}, ValueError, r"iou_threshold must be in \[0, 1\]"),
        ({"iou_threshold": "0.5"}, TypeError, "iou_threshold must be a number"),
        ({"use_difficult": "no"}, TypeError, "use_difficult must be True or False"),
        ({"pixel_plus_one": None}, TypeError, "pixel_plus_one must be True or False"),
    ],  # fmt: skip
)
def test_voc_evaluate_nonsense_parameter_raises_naming_it(kwargs, error, match):
    with pytest.raises(error, match=match):
        voc_evaluate(_GT, _DT, **kwargs)


@pytest.mark.parametrize(
    ("gt", "error", "match"),
    [(None, TypeError, "gt must be a list of dicts or a DataFrame, got NoneType"),
     (["a"], ValueError, "gt: entry 0 must be a dict"),
     (pd.DataFrame({"image_id": ["a"], "category_id": ["dog"], "bbox": [[10, 10, 60, 60]],
                    "difficult": ["yes"]}), ValueError, "gt: row 0: difficult must be 0 or 1")],
)  # fmt: skip
def test_voc_evaluate_malformed_records_raise_naming_the_entry(gt, error, match):
    with pytest.raises(error, match=match):
        voc_evaluate(gt, _DT)


_field = st.one_of(
    st.none(),
    st.integers(-2, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["a", "dog", "", "yes"]),
    st.lists(st.one_of(st.integers(-5, 80), st.floats(-5, 80), st.text(max_size=1)), max_size=5),
    st.dictionaries(st.text(max_size=1), st.integers(), max_size=1),
)
_record = st.one_of(
    st.dictionaries(
        st.sampled_from(["image_id", "category_id", "bbox", "score", "iscrowd", "difficult"]),
        _field,
        max_size=6,
    ),
    _field,
)


def evaluate_or_error(evaluate, *args):
    """The result, or None after a ValueError / TypeError with a message."""
    try:
        return evaluate(*args)
    except (ValueError, TypeError) as exc:
        assert str(exc), "an error without a message"
        return None


# No deadline: the first example compiles the evaluator's numba kernels.
@settings(FUZZ, deadline=None)
@given(st.lists(_record, max_size=4), st.lists(_record, max_size=4))
def test_voc_evaluate_random_records_give_a_result_or_value_or_type_error(gt, dt):
    gt = [{"image_id": "a", "category_id": "dog", "bbox": [10, 10, 60, 60]}, *gt]
    result = evaluate_or_error(voc_evaluate, gt, dt)
    if result is not None:
        assert np.isnan(result.mAP) or 0.0 <= result.mAP <= 1.0


@settings(FUZZ, deadline=None)
@given(st.lists(_record, max_size=4), st.lists(_record, max_size=4))
def test_coco_evaluate_random_records_give_a_result_or_value_or_type_error(anns, dt):
    gt = {"images": [{"id": 1}, {"id": "a"}], "categories": [{"id": 1}], "annotations": anns}
    result = evaluate_or_error(coco_evaluate, gt, dt)
    if result is not None:
        assert all(s == -1 or 0 <= s <= 1 for s in result.stats)


@pytest.mark.parametrize(
    ("gt", "dt", "match"),
    [
        ({**COCO, "annotations": [3]}, [], "gt annotations: entry 0 must be a dict, got 3"),
        (COCO, [{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 1}, 5],
         "detections: entry 1 must be a dict, got 5"),
        ({**COCO, "images": [{"id": 1}, {"file_name": "x.jpg"}]}, [],
         r"gt: images\[1\] must be an object with an 'id'"),
        ({**COCO, "categories": [7]}, [], r"gt: categories\[0\] must be an object with an 'id'"),
    ],
)  # fmt: skip
def test_coco_evaluate_malformed_entries_raise_value_error_naming_them(gt, dt, match):
    with pytest.raises(ValueError, match=match):
        coco_evaluate(gt, dt)


_CORNER_DT = {"image_id": "a", "category_id": "dog", "xmin": 1, "ymin": 1, "xmax": 2,
              "ymax": 3, "score": 0.5}  # fmt: skip


@pytest.mark.parametrize(
    ("dt", "match"),
    [
        ([{**_DT[0], "score": "high"}], "dt: row 0: column 'score' must be a finite number"),
        ([{**_DT[0], "score": None}], "dt: row 0: column 'score' must be a finite number"),
        ([_CORNER_DT, {**_CORNER_DT, "xmin": "x"}],
         "dt: row 1: column 'xmin' must be a finite number, got 'x'"),
    ],
)  # fmt: skip
def test_voc_evaluate_non_numeric_values_raise_naming_row_and_column(dt, match):
    with pytest.raises(ValueError, match=match):
        voc_evaluate(_GT, dt)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"iou_thresholds": [np.nan]}, r"iou_thresholds must be values in \[0, 1\]"),
        ({"rec_thresholds": [np.nan]}, r"rec_thresholds must be values in \[0, 1\], got \[nan\]"),
        ({"rec_thresholds": [0.0, 1.5]}, r"rec_thresholds must be values in \[0, 1\]"),
        ({"max_dets": [1.5, 10, 100]}, r"max_dets must be positive integers, got \[1.5"),
        ({"max_dets": [True, 10, 100]}, "max_dets must be positive integers"),
    ],
)
def test_coco_evaluate_nonsense_parameter_raises_naming_it(kwargs, match):
    # NaN thresholds used to give AP 0 and max_dets=1.5 was truncated to 1
    with pytest.raises(ValueError, match=match):
        coco_evaluate(COCO, [], **kwargs)
