"""Readers of detection annotation formats into one record table.

Every reader returns a DataFrame with one row per box and the columns ``image_id``,
``category_id``, ``xmin``, ``ymin``, ``xmax``, ``ymax`` (absolute pixels unless the format is
relative and no image size is known), ``score`` (detections only), ``difficult`` and
``iscrowd``; COCO adds ``area``. The table feeds :func:`voc_evaluate` directly and
:func:`records_to_coco` for :func:`coco_evaluate`.
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
    """
    data = source
    if isinstance(source, (str, os.PathLike)):
        with open(source) as f:
            data = json.load(f)
    anns = data.get("annotations", []) if isinstance(data, dict) else data
    frame = pd.DataFrame(list(anns))
    if len(frame) == 0:
        frame = pd.DataFrame(columns=["image_id", "category_id", "bbox"])
    box = np.array(frame["bbox"].tolist(), dtype=float).reshape(len(frame), 4)
    out = pd.DataFrame({"image_id": frame["image_id"], "category_id": frame["category_id"],
                        "xmin": box[:, 0], "ymin": box[:, 1], "xmax": box[:, 0] + box[:, 2],
                        "ymax": box[:, 1] + box[:, 3]})  # fmt: skip
    if "score" in frame:
        out["score"] = frame["score"].astype(float)
    out["difficult"] = False
    out["iscrowd"] = frame["iscrowd"].astype(bool) if "iscrowd" in frame else False
    if "area" in frame:
        out["area"] = frame["area"].astype(float)
    if isinstance(data, dict):
        out.attrs["categories"] = {c["id"]: c.get("name") for c in data.get("categories", [])}
        out.attrs["images"] = {im["id"]: im for im in data.get("images", [])}
    return out


def read_voc_xml(path):
    """Pascal VOC xml annotation files (a folder or one file) → record table.

    ``image_id`` is the xml's ``filename`` without extension (the file stem if absent),
    ``category_id`` the object ``name``; ``difficult`` is read from the file. The image
    size is kept in ``frame.attrs["image_sizes"]`` as ``{image_id: (width, height)}``.
    """
    rows, sizes = [], {}
    for file in _files(path, {".xml"}):
        root = ET.parse(file).getroot()
        name = root.findtext("filename")
        image_id = Path(name).stem if name else file.stem
        size = root.find("size")
        if size is not None:
            sizes[image_id] = (float(size.findtext("width")), float(size.findtext("height")))
        for obj in root.iter("object"):
            box = obj.find("bndbox")
            coords = [float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]
            difficult = int(obj.findtext("difficult") or 0) == 1
            rows.append([image_id, obj.findtext("name"), *coords, None, difficult, False])
    frame = _table(rows, has_score=False)
    frame.attrs["image_sizes"] = sizes
    return frame


def _class_names(class_names):
    if class_names is None:
        return None
    if isinstance(class_names, (str, os.PathLike)):
        return [line.strip() for line in Path(class_names).read_text().splitlines() if line.strip()]
    return list(class_names)


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
    """
    if score_position not in ("second", "last"):
        raise ValueError(f"score_position must be 'second' or 'last', got {score_position!r}")
    names = _class_names(class_names)
    rows, has_score = [], None
    for file in _files(path, {".txt"}):
        for lineno, line in enumerate(file.read_text().splitlines(), 1):
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
            if names is not None:
                label = names[int(label)]
            rows.append([file.stem, label, *map(float, coords),
                         None if score is None else float(score), False, False])  # fmt: skip
    frame = _table(rows, has_score=bool(has_score))
    if len(frame):
        box = _to_xyxy(frame[["xmin", "ymin", "xmax", "ymax"]].to_numpy(), box_format)
        if relative and image_sizes is not None:
            missing = set(frame["image_id"]) - set(image_sizes)
            if missing:
                raise ValueError(f"image_sizes has no entry for image {sorted(missing)[0]!r}")
            wh = np.array([image_sizes[i] for i in frame["image_id"]], dtype=float)
            box = box * np.column_stack([wh, wh])
        frame[["xmin", "ymin", "xmax", "ymax"]] = box
    return frame


def read_yolo(path, class_names=None, *, image_sizes=None, score_position="last"):
    """YOLO labels: ``class xc yc w h [score]`` relative to the image size → record table.

    See :func:`read_txt`; without ``image_sizes`` the boxes stay in relative units (IoU is
    unchanged by per-axis scaling, COCO area ranges are not).
    """
    return read_txt(path, box_format="xcycwh", relative=True, class_names=class_names,
                    image_sizes=image_sizes, score_position=score_position)  # fmt: skip


def read_csv(path, *, box_format="xyxy", column_map=None):
    """CSV with one box per row → record table.

    Columns ``image_id``, ``category_id`` (or ``label``), the box as ``xmin, ymin, xmax,
    ymax`` (``box_format="xyxy"``) or ``x, y, w, h`` (``"xywh"``), optional ``score`` and
    ``difficult``; ``column_map`` renames columns first (``{"ImageID": "image_id"}``).
    """
    frame = pd.read_csv(path).rename(columns=column_map or {})
    if "category_id" not in frame and "label" in frame:
        frame = frame.rename(columns={"label": "category_id"})
    cols = ["xmin", "ymin", "xmax", "ymax"] if box_format == "xyxy" else ["x", "y", "w", "h"]
    missing = [c for c in ["image_id", "category_id", *cols] if c not in frame]
    if missing:
        raise ValueError(f"{path}: missing columns {missing} (box_format={box_format!r})")
    box = _to_xyxy(frame[cols].to_numpy(dtype=float), box_format)
    out = frame[["image_id", "category_id"]].copy()
    out[["xmin", "ymin", "xmax", "ymax"]] = box
    if "score" in frame:
        out["score"] = frame["score"].astype(float)
    out["difficult"] = frame["difficult"].astype(bool) if "difficult" in frame else False
    out["iscrowd"] = frame["iscrowd"].astype(bool) if "iscrowd" in frame else False
    return out


def read_openimages_csv(path, *, image_sizes=None):
    """OpenImages csv (``ImageID, LabelName, [Confidence], XMin, XMax, YMin, YMax`` relative,
    ``IsGroupOf``) → record table; ``IsGroupOf`` becomes ``iscrowd``."""
    frame = pd.read_csv(path)
    out = pd.DataFrame({"image_id": frame["ImageID"], "category_id": frame["LabelName"]})
    box = frame[["XMin", "YMin", "XMax", "YMax"]].to_numpy(dtype=float)
    if image_sizes is not None:
        wh = np.array([image_sizes[i] for i in frame["ImageID"]], dtype=float)
        box = box * np.column_stack([wh, wh])
    out[["xmin", "ymin", "xmax", "ymax"]] = box
    if "Confidence" in frame:
        out["score"] = frame["Confidence"].astype(float)
    out["difficult"] = False
    out["iscrowd"] = frame["IsGroupOf"].astype(bool) if "IsGroupOf" in frame else False
    return out


def read_fiftyone(path, *, image_sizes=None):
    """FiftyOne ``FiftyOneImageDetectionDataset`` labels json → record table.

    The file holds ``{"classes": [...], "labels": {image_id: [{"label", "bounding_box",
    "confidence"}, ...]}}`` with relative ``[x, y, w, h]`` boxes and labels given as class
    indices when ``classes`` is present. Boxes are scaled by ``image_sizes`` when given.
    """
    with open(path) as f:
        data = json.load(f)
    classes = data.get("classes")
    rows, has_score = [], False
    for image_id, dets in data.get("labels", {}).items():
        for det in dets or []:
            x, y, w, h = (float(v) for v in det["bounding_box"])
            if image_sizes is not None:
                sx, sy = image_sizes[image_id]
                x, y, w, h = x * sx, y * sy, w * sx, h * sy
            label = det["label"]
            if classes is not None and isinstance(label, int):
                label = classes[label]
            score = det.get("confidence")
            has_score = has_score or score is not None
            rows.append([image_id, label, x, y, x + w, y + h, score, False, False])
    return _table(rows, has_score=has_score)


def records_to_coco(gt, dt=None):
    """Record tables → (COCO gt dict, results DataFrame) for :func:`coco_evaluate`.

    String image ids and class names are numbered in order of first appearance; the
    mapping is kept in the dict's ``images[i]["file_name"]`` / ``categories[k]["name"]``.
    ``difficult`` gts become crowd-free ordinary boxes (COCO has no such flag).
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
