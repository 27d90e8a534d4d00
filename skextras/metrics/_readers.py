"""Readers of detection annotation formats into one record table.

Every reader returns a DataFrame with one row per box and the columns ``image_id``,
``category_id``, ``xmin``, ``ymin``, ``xmax``, ``ymax`` (absolute pixels unless the format is
relative and no image size is known), ``score`` (detections only), ``difficult`` and
``iscrowd``; COCO adds ``area``. The table feeds :func:`voc_evaluate` directly and
:func:`records_to_coco` for :func:`coco_evaluate`.

Files are untrusted input: every reader checks each field it uses (present, of the right
kind, a finite number where a coordinate is expected, a class id within the class names)
and raises ValueError naming the file, the line / object / annotation and the field, never
a bare KeyError, IndexError or a parser's own exception type. XML is parsed by the standard
library's expat, which loads no external entity and limits entity expansion.
"""

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["image_id", "category_id", "xmin", "ymin", "xmax", "ymax", "score", "difficult",
           "iscrowd"]  # fmt: skip


def _table(rows, has_score):
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame[["xmin", "ymin", "xmax", "ymax"]] = frame[["xmin", "ymin", "xmax", "ymax"]].astype(float)
    frame[["difficult", "iscrowd"]] = frame[["difficult", "iscrowd"]].astype(bool)
    if has_score:
        frame["score"] = frame["score"].astype(float)
    else:
        frame = frame.drop(columns="score")
    return frame


def _number(text, where):
    """A finite float from a text or JSON value; ValueError naming ``where`` otherwise."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float, np.integer, np.floating)):
        raise ValueError(f"{where} must be a number, got {text!r:.60}")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where} must be a number, got {text!r:.60}") from None
    if not np.isfinite(value):
        raise ValueError(f"{where} must be a finite number, got {text!r:.60}")
    return value


def crowd_flags(values, what, field="iscrowd"):
    """A 0 / 1 flag per entry (``iscrowd``, ``difficult``) as bool.

    pycocotools reads ``iscrowd`` with ``int()``; anything but 0, 1, True or False is a
    mistake (``"yes"`` would crash there and turn silently into a crowd with ``astype``),
    so it raises ValueError naming ``what`` with the entry index, the field and the value.
    """
    arr = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values, dtype=object)
    ok = np.array([isinstance(v, (bool, int, float, np.number, np.bool_)) and v in (0, 1)
                   for v in arr], dtype=bool)  # fmt: skip
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise ValueError(f"{what} {i}: {field} must be 0 or 1, got {arr[i]!r}")
    return arr.astype(bool) if arr.size else np.zeros(0, dtype=bool)


def dict_entries(records, what):
    """``records`` itself; ValueError naming the first entry of a list that is not a dict
    (a DataFrame passes as it is)."""
    if isinstance(records, (list, tuple)):
        bad = next((i for i, rec in enumerate(records) if not isinstance(rec, dict)), None)
        if bad is not None:
            raise ValueError(f"{what}: entry {bad} must be a dict, got {records[bad]!r:.60}")
    return records


def load_json_file(path):
    """A JSON file's content; ValueError naming the file for text that is not JSON, not
    UTF-8, or nested deeper than Python's JSON decoder recurses (``RecursionError``)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON file ({exc})") from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply to decode") from None


def _read_text(file):
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{file}: not UTF-8 text ({exc})") from None


def _read_csv_file(path):
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV file ({exc})") from None


def _require_columns(frame, columns, path, hint=""):
    missing = [c for c in columns if c not in frame]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}{hint}")


def numeric_columns(frame, columns, where):
    """Columns as an (n, len(columns)) finite float array; ValueError naming ``where`` (a
    file, ``gt`` / ``dt``), the row and the column for text, NaN, inf or a missing value."""
    out = np.empty((len(frame), len(columns)))
    for k, col in enumerate(columns):
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raw = frame[col].iloc[i]
            why = "not finite" if isinstance(raw, (float, np.floating)) else "not a number"
            raise ValueError(
                f"{where}: row {i}: column {col!r} must be a finite number, got {raw!r} ({why})"
            )
        out[:, k] = values
    return out


# appended to "negative width" / "xmax < xmin" errors: the usual cause is a file read with the
# wrong box layout
BOX_LAYOUT_HINT = (
    "; is the box layout right? read the file with the layout it uses: box_format='xywh' "
    "(x, y, width, height; COCO), 'xyxy' (corners; VOC) or 'xcycwh' (centre and size; "
    "YOLO) (skextras map: --box-format)"
)


def missing_bbox_hint(entry):
    """The sentence added to a "has no 'bbox'" error when the entry holds another task's
    data (a segm or keypoints result evaluated as bbox)."""
    for iou_type, key in (("segm", "segmentation"), ("keypoints", "keypoints")):
        if isinstance(entry, dict) and key in entry:
            return (
                f" (it has {key!r} data: evaluate it with iou_type={iou_type!r}, "
                f"skextras map --iou-type {iou_type}; supported iou_type values are "
                "('bbox', 'segm', 'keypoints'))"
            )
    return ""


def _scale(image_sizes, image_id, where):
    try:
        width, height = image_sizes[image_id]
    except KeyError:
        raise ValueError(f"{where}: image_sizes has no entry for image {image_id!r}") from None
    except (TypeError, ValueError):
        raise ValueError(
            f"{where}: image_sizes[{image_id!r}] must be (width, height), "
            f"got {image_sizes[image_id]!r}"
        ) from None
    return _number(width, f"{where}: image width"), _number(height, f"{where}: image height")


def _files(path, suffixes):
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ValueError(f"path {str(path)!r} is neither a file nor a folder")
    return sorted(p for p in path.iterdir() if p.suffix.lower() in suffixes)


def read_coco(source):
    """COCO json (ground truth dict or results list) → record table.

    ``source`` is a path, a COCO dict or a list of results. Boxes go from xywh to xyxy;
    ``category_id`` stays numeric and ``frame.attrs["categories"]`` maps ids to names.
    Every annotation needs ``image_id``, ``category_id`` and a ``bbox`` of 4 finite numbers;
    ``iscrowd`` is 0 or 1; anything else raises ValueError naming the annotation.

    Examples
    --------
    >>> from skextras.metrics import read_coco
    >>> ann = {"id": 1, "image_id": 1, "category_id": 3, "bbox": [10, 20, 30, 40]}
    >>> gt = {"images": [{"id": 1}], "categories": [{"id": 3, "name": "car"}], "annotations": [ann]}
    >>> frame = read_coco(gt)
    >>> frame[["image_id", "category_id", "xmin", "ymin", "xmax", "ymax"]]
       image_id  category_id  xmin  ymin  xmax  ymax
    0         1            3  10.0  20.0  40.0  60.0
    >>> frame.attrs["categories"]
    {3: 'car'}
    """
    data, name = source, "COCO data"
    if isinstance(source, (str, os.PathLike)):
        data, name = load_json_file(source), str(source)
    if isinstance(data, dict):
        anns = data.get("annotations", [])
    elif isinstance(data, list):
        anns = data
    else:
        raise ValueError(
            f"{name}: expected a COCO dict or a list of results, got {type(data).__name__}"
        )
    if not isinstance(anns, list):
        raise ValueError(f"{name}: 'annotations' must be a list, got {type(anns).__name__}")
    box = np.zeros((len(anns), 4))
    for i, ann in enumerate(anns):
        where = f"{name}: annotation {i}"
        if not isinstance(ann, dict):
            raise ValueError(f"{where} must be an object, got {ann!r:.60}")
        for key in ("image_id", "category_id", "bbox"):
            if key not in ann:
                hint = missing_bbox_hint(ann) if key == "bbox" else ""
                raise ValueError(f"{where} has no {key!r}{hint}: {ann!r:.100}")
        bbox = ann["bbox"]
        if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
            raise ValueError(f"{where}: bbox must be 4 numbers [x, y, w, h], got {bbox!r:.60}")
        box[i] = [_number(v, f"{where}: bbox") for v in bbox]
    frame = pd.DataFrame(anns)
    if len(frame) == 0:
        frame = pd.DataFrame(columns=["image_id", "category_id", "bbox"])
    out = pd.DataFrame({"image_id": frame["image_id"], "category_id": frame["category_id"],
                        "xmin": box[:, 0], "ymin": box[:, 1], "xmax": box[:, 0] + box[:, 2],
                        "ymax": box[:, 1] + box[:, 3]})  # fmt: skip
    for col in ("score", "area"):
        if col in frame:
            out[col] = [_number(v, f"{name}: annotation {i}: {col}")
                        for i, v in enumerate(frame[col])]  # fmt: skip
    out["difficult"] = False
    out["iscrowd"] = crowd_flags([a.get("iscrowd", 0) for a in anns], f"{name}: annotation")
    out = out[[c for c in [*COLUMNS, "area"] if c in out]]
    if isinstance(data, dict):
        categories = entries_with_id(data, "categories", name)
        out.attrs["categories"] = {c["id"]: c.get("name") for c in categories}
        out.attrs["images"] = {im["id"]: im for im in entries_with_id(data, "images", name)}
    return out


def entries_with_id(data, key, name):
    entries = data.get(key, [])
    if not isinstance(entries, list):
        raise ValueError(f"{name}: {key!r} must be a list, got {type(entries).__name__}")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "id" not in entry:
            raise ValueError(f"{name}: {key}[{i}] must be an object with an 'id': {entry!r:.60}")
        try:
            hash(entry["id"])
        except TypeError:
            raise ValueError(f"{name}: {key}[{i}]: id {entry['id']!r:.60} is no id") from None
    return entries


def read_voc_xml(path):
    """Pascal VOC xml annotation files (a folder or one file) → record table.

    ``image_id`` is the xml's ``filename`` without extension (the file stem if absent),
    ``category_id`` the object ``name``; ``difficult`` is read from the file. The image
    size is kept in ``frame.attrs["image_sizes"]`` as ``{image_id: (width, height)}``.

    Raises
    ------
    ValueError
        For a file that is not well-formed XML or whose root is not ``<annotation>``, an
        ``<object>`` without ``<name>`` or ``<bndbox>``, a corner that is missing or not a
        finite number, a ``<difficult>`` other than 0 / 1, or a ``<size>`` without numeric
        width and height; the message names the file, the object and the field.

    Examples
    --------
    >>> import os, tempfile
    >>> from skextras.metrics import read_voc_xml
    >>> path = os.path.join(tempfile.mkdtemp(), "000001.xml")
    >>> with open(path, "w") as f:
    ...     print("<annotation><filename>000001.jpg</filename><size><width>353</width>"
    ...           "<height>500</height></size><object><name>dog</name><bndbox><xmin>48</xmin>"
    ...           "<ymin>240</ymin><xmax>195</xmax><ymax>371</ymax></bndbox></object>"
    ...           "</annotation>", file=f)
    >>> frame = read_voc_xml(path)
    >>> frame[["image_id", "category_id", "xmin", "ymin", "xmax", "ymax"]]
      image_id category_id  xmin   ymin   xmax   ymax
    0   000001         dog  48.0  240.0  195.0  371.0
    >>> frame.attrs["image_sizes"]
    {'000001': (353.0, 500.0)}
    """
    rows, sizes = [], {}
    for file in _files(path, {".xml"}):
        image_id, size, objects = _voc_file(file)
        if size is not None:
            sizes[image_id] = size
        rows.extend([image_id, *obj, None, difficult, False] for *obj, difficult in objects)
    frame = _table(rows, has_score=False)
    frame.attrs["image_sizes"] = sizes
    return frame


def _voc_file(file):
    """(image_id, (width, height) or None, [(name, xmin, ymin, xmax, ymax, difficult)])."""
    try:
        root = ET.parse(file).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"{file}: not well-formed XML ({exc})") from None
    if root.tag != "annotation":
        raise ValueError(f"{file}: the root element is <{root.tag}>, VOC xml has <annotation>")
    name = root.findtext("filename")
    image_id = Path(name.strip()).stem if name and name.strip() else file.stem
    size = root.find("size")
    if size is not None:
        size = tuple(_number(size.findtext(k), f"{file}: <size><{k}>") for k in ("width", "height"))
    objects = []
    for i, obj in enumerate(root.iter("object")):
        label = (obj.findtext("name") or "").strip()
        where = f"{file}: object {i} ({label!r})" if label else f"{file}: object {i}"
        if not label:
            raise ValueError(f"{where} has no <name>")
        box = obj.find("bndbox")
        if box is None:
            raise ValueError(f"{where} has no <bndbox>")
        coords = [_number(box.findtext(k), f"{where}: <bndbox><{k}>")
                  for k in ("xmin", "ymin", "xmax", "ymax")]  # fmt: skip
        difficult = _number(obj.findtext("difficult") or 0, f"{where}: <difficult>")
        if difficult not in (0, 1):
            raise ValueError(f"{where}: <difficult> must be 0 or 1, got {difficult!r}")
        objects.append((label, *coords, difficult == 1))
    return image_id, size, objects


def _class_names(class_names):
    if class_names is None:
        return None
    if isinstance(class_names, (str, os.PathLike)):
        text = _read_text(Path(class_names))
        return [line.strip() for line in text.splitlines() if line.strip()]
    return list(class_names)


def _class_name(label, names, where):
    """The name of integer class id ``label`` (text); ValueError naming the line."""
    try:
        index = int(label)
    except ValueError:
        raise ValueError(f"{where}: class id {label!r} is not an integer") from None
    if not 0 <= index < len(names):
        raise ValueError(
            f"{where}: class id {index} is beyond the {len(names)} class names "
            f"(ids 0..{len(names) - 1})"
        )
    return names[index]


def _to_xyxy(values, box_format):
    a, b, c, d = values.T
    if box_format == "xywh":
        return np.column_stack([a, b, a + c, b + d])
    if box_format == "xyxy":
        return values.copy()
    if box_format == "xcycwh":
        return np.column_stack([a - c / 2, b - d / 2, a + c / 2, b + d / 2])
    raise ValueError(f"box_format must be 'xywh', 'xyxy' or 'xcycwh', got {box_format!r}")


def read_txt(path, *, box_format="xywh", relative=False, class_names=None, image_sizes=None,
             score_position="second"):  # fmt: skip
    """One text file per image (``<image_id>.txt``), one box per line → record table.

    Lines are ``class [score] a b c d`` (Padilla's Object-Detection-Metrics format) or, with
    ``score_position="last"``, ``class a b c d [score]`` (YOLO ``save_conf``). Lines with 5
    fields are ground truth, 6 fields detections.

    Parameters
    ----------
    path : folder or file
    box_format : {"xywh", "xyxy", "xcycwh"}, default "xywh"
        (left, top, width, height), corners, or (x-center, y-center, width, height).
    relative : bool, default False
        Coordinates are fractions of the image size; they are scaled by ``image_sizes``
        ``{image_id: (width, height)}`` when given, and stay relative otherwise.
    class_names : list of str or path, optional
        Maps integer class ids to names (e.g. YOLO's ``classes.txt`` / ``voc.names``).
    score_position : {"second", "last"}, default "second"

    Returns
    -------
    DataFrame
        The record table: ``image_id`` (the file stem), ``category_id``, ``xmin, ymin,
        xmax, ymax``, ``score`` (detections only), ``difficult``, ``iscrowd``.

    Examples
    --------
    >>> import os, tempfile
    >>> from skextras.metrics import read_txt
    >>> path = os.path.join(tempfile.mkdtemp(), "img1.txt")
    >>> with open(path, "w") as f:
    ...     print("car 0.9 10 20 30 40", file=f)
    >>> frame = read_txt(path)
    >>> frame[["image_id", "category_id", "xmin", "ymin", "xmax", "ymax", "score"]]
      image_id category_id  xmin  ymin  xmax  ymax  score
    0     img1         car  10.0  20.0  40.0  60.0    0.9
    """
    if score_position not in ("second", "last"):
        raise ValueError(f"score_position must be 'second' or 'last', got {score_position!r}")
    names = _class_names(class_names)
    rows, has_score = [], None
    for file in _files(path, {".txt"}):
        for lineno, line in enumerate(_read_text(file).splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) not in (5, 6):
                raise ValueError(f"{file}:{lineno}: expected 5 or 6 fields, got {line!r}")
            scored = len(parts) == 6
            if has_score is not None and scored != has_score:
                raise ValueError(f"{file}:{lineno}: mixes lines with and without a score")
            has_score = scored
            label = parts[0]
            if scored and score_position == "second":
                score, coords = parts[1], parts[2:]
            elif scored:
                score, coords = parts[5], parts[1:5]
            else:
                score, coords = None, parts[1:]
            where = f"{file}:{lineno}"
            if names is not None:
                label = _class_name(label, names, where)
            coords = [_number(v, f"{where}: coordinate {k}") for k, v in enumerate(coords, 1)]
            score = None if score is None else _number(score, f"{where}: score")
            rows.append([file.stem, label, *coords, score, False, False])
    frame = _table(rows, has_score=bool(has_score))
    if len(frame):
        box = _to_xyxy(frame[["xmin", "ymin", "xmax", "ymax"]].to_numpy(), box_format)
        if relative and image_sizes is not None:
            wh = np.array([_scale(image_sizes, i, str(path)) for i in frame["image_id"]])
            box = box * np.column_stack([wh, wh])
        frame[["xmin", "ymin", "xmax", "ymax"]] = box
    return frame


def read_yolo(path, class_names=None, *, image_sizes=None, score_position="last"):
    """YOLO labels: ``class xc yc w h [score]`` relative to the image size → record table.

    See :func:`read_txt`; without ``image_sizes`` the boxes stay in relative units (IoU is
    unchanged by per-axis scaling, COCO area ranges are not).

    Examples
    --------
    >>> import os, tempfile
    >>> from skextras.metrics import read_yolo
    >>> path = os.path.join(tempfile.mkdtemp(), "img2.txt")
    >>> with open(path, "w") as f:
    ...     print("0 0.5 0.5 0.2 0.4 0.9", file=f)
    >>> frame = read_yolo(path, class_names=["car"], image_sizes={"img2": (100, 50)})
    >>> frame[["image_id", "category_id", "xmin", "ymin", "xmax", "ymax", "score"]]
      image_id category_id  xmin  ymin  xmax  ymax  score
    0     img2         car  40.0  15.0  60.0  35.0    0.9
    """
    return read_txt(path, box_format="xcycwh", relative=True, class_names=class_names,
                    image_sizes=image_sizes, score_position=score_position)  # fmt: skip


def read_csv(path, *, box_format="xyxy", column_map=None):
    """CSV with one box per row → record table.

    Columns ``image_id``, ``category_id`` (or ``label``), the box as ``xmin, ymin, xmax,
    ymax`` (``box_format="xyxy"``) or ``x, y, w, h`` (``"xywh"``), optional ``score`` and
    ``difficult``; ``column_map`` renames columns first (``{"ImageID": "image_id"}``).

    Examples
    --------
    >>> import os, tempfile
    >>> from skextras.metrics import read_csv
    >>> path = os.path.join(tempfile.mkdtemp(), "boxes.csv")
    >>> with open(path, "w") as f:
    ...     print("image_id,label,xmin,ymin,xmax,ymax,score", file=f)
    ...     print("a,car,10,20,40,60,0.8", file=f)
    >>> read_csv(path)
      image_id category_id  xmin  ymin  xmax  ymax  score  difficult  iscrowd
    0        a         car  10.0  20.0  40.0  60.0    0.8      False    False
    """
    if box_format not in ("xyxy", "xywh"):
        raise ValueError(f"box_format must be 'xyxy' or 'xywh', got {box_format!r}")
    frame = _read_csv_file(path).rename(columns=column_map or {})
    if "category_id" not in frame and "label" in frame:
        frame = frame.rename(columns={"label": "category_id"})
    cols = ["xmin", "ymin", "xmax", "ymax"] if box_format == "xyxy" else ["x", "y", "w", "h"]
    _require_columns(frame, ["image_id", "category_id", *cols], path,
                     f" (box_format={box_format!r})")  # fmt: skip
    box = _to_xyxy(numeric_columns(frame, cols, path), box_format)
    out = frame[["image_id", "category_id"]].copy()
    out[["xmin", "ymin", "xmax", "ymax"]] = box
    if "score" in frame:
        out["score"] = numeric_columns(frame, ["score"], path)[:, 0]
    for col in ("difficult", "iscrowd"):
        out[col] = crowd_flags(frame[col], f"{path}: row", col) if col in frame else False
    return out


def read_openimages_csv(path, *, image_sizes=None):
    """OpenImages csv (``ImageID, LabelName, [Confidence], XMin, XMax, YMin, YMax`` relative,
    ``IsGroupOf``) → record table; ``IsGroupOf`` becomes ``iscrowd``.

    Boxes are scaled to pixels by ``image_sizes`` (``{image_id: (width, height)}``) when
    given, and stay relative otherwise.

    Examples
    --------
    >>> import os, tempfile
    >>> from skextras.metrics import read_openimages_csv
    >>> path = os.path.join(tempfile.mkdtemp(), "oi.csv")
    >>> with open(path, "w") as f:
    ...     print("ImageID,LabelName,XMin,XMax,YMin,YMax,IsGroupOf", file=f)
    ...     print("img,/m/0k4j,0.1,0.5,0.2,0.6,1", file=f)
    >>> read_openimages_csv(path, image_sizes={"img": (200, 100)})
      image_id category_id  xmin  ymin   xmax  ymax  difficult  iscrowd
    0      img     /m/0k4j  20.0  20.0  100.0  60.0      False     True
    """
    frame = _read_csv_file(path)
    _require_columns(frame, ["ImageID", "LabelName", "XMin", "YMin", "XMax", "YMax"], path)
    out = pd.DataFrame({"image_id": frame["ImageID"], "category_id": frame["LabelName"]})
    box = numeric_columns(frame, ["XMin", "YMin", "XMax", "YMax"], path)
    if image_sizes is not None:
        wh = np.array([_scale(image_sizes, i, str(path)) for i in frame["ImageID"]])
        box = box * np.column_stack([wh, wh]).reshape(len(frame), 4)
    out[["xmin", "ymin", "xmax", "ymax"]] = box
    if "Confidence" in frame:
        out["score"] = numeric_columns(frame, ["Confidence"], path)[:, 0]
    out["difficult"] = False
    out["iscrowd"] = (
        crowd_flags(frame["IsGroupOf"], f"{path}: row", "IsGroupOf")
        if "IsGroupOf" in frame
        else False
    )
    return out


def read_fiftyone(path, *, image_sizes=None):
    """FiftyOne ``FiftyOneImageDetectionDataset`` labels json → record table.

    The file holds ``{"classes": [...], "labels": {image_id: [{"label", "bounding_box",
    "confidence"}, ...]}}`` with relative ``[x, y, w, h]`` boxes and labels given as class
    indices when ``classes`` is present. Boxes are scaled by ``image_sizes`` when given.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from skextras.metrics import read_fiftyone
    >>> path = os.path.join(tempfile.mkdtemp(), "labels.json")
    >>> labels = {"img": [{"label": 1, "bounding_box": [0.1, 0.2, 0.3, 0.4], "confidence": 0.7}]}
    >>> with open(path, "w") as f:
    ...     json.dump({"classes": ["car", "dog"], "labels": labels}, f)
    >>> frame = read_fiftyone(path, image_sizes={"img": (100, 100)})
    >>> frame[["image_id", "category_id", "xmin", "ymin", "xmax", "ymax", "score"]]
      image_id category_id  xmin  ymin  xmax  ymax  score
    0      img         dog  10.0  20.0  40.0  60.0    0.7
    """
    data = load_json_file(path)
    if not isinstance(data, dict) or not isinstance(data.get("labels", {}), dict):
        raise ValueError(f"{path}: expected {{'classes': [...], 'labels': {{image_id: [...]}}}}")
    classes = data.get("classes")
    if classes is not None and not isinstance(classes, list):
        raise ValueError(f"{path}: 'classes' must be a list, got {type(classes).__name__}")
    rows, has_score = [], False
    for image_id, dets in data.get("labels", {}).items():
        if dets is not None and not isinstance(dets, list):
            raise ValueError(f"{path}: labels[{image_id!r}] must be a list of detections")
        for i, det in enumerate(dets or []):
            where = f"{path}: labels[{image_id!r}][{i}]"
            rows.append(_fiftyone_row(det, image_id, classes, image_sizes, where))
            has_score = has_score or rows[-1][6] is not None
    return _table(rows, has_score=has_score)


def _fiftyone_row(det, image_id, classes, image_sizes, where):
    """A record-table row of one FiftyOne detection dict."""
    if not isinstance(det, dict):
        raise ValueError(f"{where} must be an object, got {det!r:.60}")
    for key in ("label", "bounding_box"):
        if key not in det:
            raise ValueError(f"{where} has no {key!r}: {det!r:.100}")
    box = det["bounding_box"]
    if not isinstance(box, (list, tuple)) or len(box) != 4:
        raise ValueError(
            f"{where}: bounding_box must be 4 numbers [x, y, w, h] (relative), got {box!r:.60}"
        )
    x, y, w, h = (_number(v, f"{where}: bounding_box") for v in box)
    if image_sizes is not None:
        sx, sy = _scale(image_sizes, image_id, where)
        x, y, w, h = x * sx, y * sy, w * sx, h * sy
    label = det["label"]
    if classes is not None and isinstance(label, int) and not isinstance(label, bool):
        label = _class_name(label, classes, where)
    score = det.get("confidence")
    score = None if score is None else _number(score, f"{where}: confidence")
    return [image_id, label, x, y, x + w, y + h, score, False, False]


def records_to_coco(gt, dt=None):
    """Record tables → (COCO gt dict, results DataFrame) for :func:`coco_evaluate`.

    String image ids and class names are numbered in order of first appearance; the
    mapping is kept in the dict's ``images[i]["file_name"]`` / ``categories[k]["name"]``.
    ``difficult`` gts become crowd-free ordinary boxes (COCO has no such flag).

    Examples
    --------
    >>> import pandas as pd
    >>> from skextras.metrics import coco_evaluate, records_to_coco
    >>> gt = pd.DataFrame({"image_id": ["a"], "category_id": ["car"], "xmin": [10.0],
    ...                    "ymin": [20.0], "xmax": [40.0], "ymax": [60.0]})
    >>> coco_gt, coco_dt = records_to_coco(gt, gt.assign(score=0.8))
    >>> coco_gt["images"], coco_gt["categories"]
    ([{'id': 1, 'file_name': 'a'}], [{'id': 1, 'name': 'car'}])
    >>> round(float(coco_evaluate(coco_gt, coco_dt).stats[0]), 3)
    1.0
    """
    frames = [gt] if dt is None else [gt, dt]
    images = pd.unique(pd.concat([f["image_id"] for f in frames], ignore_index=True))
    classes = pd.unique(pd.concat([f["category_id"] for f in frames], ignore_index=True))
    img_index, cls_index = pd.Index(images), pd.Index(classes)
    numeric_cls = pd.api.types.is_integer_dtype(np.asarray(classes))
    cat_ids = np.asarray(classes, dtype=np.int64) if numeric_cls else np.arange(1, len(classes) + 1)

    def convert(frame):
        out = pd.DataFrame({
            "image_id": img_index.get_indexer(frame["image_id"]) + 1,
            "category_id": cat_ids[cls_index.get_indexer(frame["category_id"])],
            "x": frame["xmin"].to_numpy(float), "y": frame["ymin"].to_numpy(float),
            "w": (frame["xmax"] - frame["xmin"]).to_numpy(float),
            "h": (frame["ymax"] - frame["ymin"]).to_numpy(float),
        })  # fmt: skip
        for col in ("score", "iscrowd", "area"):
            if col in frame:
                out[col] = frame[col].to_numpy()
        return out

    annotations = convert(gt)
    annotations["id"] = np.arange(1, len(annotations) + 1)
    if "area" not in annotations:
        annotations["area"] = annotations["w"] * annotations["h"]
    coco = {
        "images": [{"id": i + 1, "file_name": str(name)} for i, name in enumerate(images)],
        "categories": [
            {"id": int(c), "name": str(n)} for c, n in zip(cat_ids, classes, strict=True)
        ],
        "annotations": annotations,
    }
    return coco, (None if dt is None else convert(dt))
