"""``skextras map``: evaluate detections from files and print COCO or VOC mAP."""

READERS = ("coco", "voc", "yolo", "txt", "csv", "openimages", "fiftyone")
METRICS = ("coco", "voc2007", "voc2012", "11point", "11point_arange", "allpoint")
# formats whose boxes are always fractions of the image size
RELATIVE_FORMATS = ("yolo", "fiftyone", "openimages")
# ground-truth formats evaluated with VOC AP unless --metric says otherwise
VOC_FORMATS = ("voc", "txt")
VOC_METHODS = {
    "voc2007": "11-point interpolated AP (recall 0, 0.1, ..., 1)",
    "11point": "11-point interpolated AP (recall 0, 0.1, ..., 1)",
    "11point_arange": "11-point AP at np.arange(0, 1.1, 0.1) (voc_eval.py)",
    "voc2012": "all-point AP (area under the precision envelope)",
    "allpoint": "all-point AP (area under the precision envelope)",
}


def add_arguments(parser):
    """Register the ``map`` options (imports nothing heavy: no matplotlib, no pycocotools)."""
    parser.add_argument("--gt", required=True, help="ground truth: file or folder")
    parser.add_argument("--dt", required=True, help="detections: file or folder")
    parser.add_argument(
        "--format",
        choices=READERS,
        default="coco",
        help="annotation format of --gt (and of --dt unless --dt-format)",
    )
    parser.add_argument(
        "--dt-format",
        choices=READERS,
        help="format of --dt; default: coco results json for coco, "
        "'class score xmin ymin xmax ymax' text files for voc, else --format",
    )
    parser.add_argument(
        "--metric",
        choices=METRICS,
        help="default: voc2012 (VOC all-point AP) for voc / txt ground truth, coco otherwise",
    )
    parser.add_argument(
        "--iou-type",
        choices=("bbox", "segm", "keypoints"),
        default="bbox",
        help="COCO similarity: box IoU, mask IoU or keypoint OKS (segm / keypoints need "
        "COCO json for --gt and --dt)",
    )
    parser.add_argument("--iou-threshold", type=float, default=0.5, help="VOC metrics only")
    parser.add_argument(
        "--box-format",
        choices=("xywh", "xyxy", "xcycwh"),
        default="xywh",
        help="box layout of txt / csv files",
    )
    parser.add_argument(
        "--relative",
        action="store_true",
        help="txt boxes are fractions of the image size (needs --image-size or --image-sizes)",
    )
    parser.add_argument(
        "--image-size",
        nargs=2,
        type=float,
        metavar=("W", "H"),
        help="width and height in pixels of every image (scales relative boxes)",
    )
    parser.add_argument(
        "--image-sizes",
        metavar="FILE",
        help="per-image sizes: a text file of 'image_id width height' lines, a JSON object "
        "{image_id: [width, height]} or a COCO json (its 'images' list)",
    )
    parser.add_argument("--class-names", help="file with one class name per line (yolo ids)")
    parser.add_argument(
        "--score-position",
        choices=("second", "last"),
        help="where text detections keep the score (txt: second, yolo: last)",
    )
    parser.add_argument(
        "--no-pixel-plus-one",
        action="store_true",
        help="VOC: widths are x2 - x1 (the devkit uses x2 - x1 + 1, on pixels: relative "
        "boxes are scaled to pixels first)",
    )
    parser.add_argument("--plot", metavar="PNG", help="save precision-recall curves")  # fmt: skip


def _read(path, fmt, args, is_dt, sizes=None):
    from skextras.metrics import _readers

    score_pos = args.score_position or ("last" if fmt == "yolo" else "second")
    if fmt == "coco":
        return _readers.read_coco(path)
    if fmt == "voc" and not is_dt:
        return _readers.read_voc_xml(path)
    if fmt == "voc":
        return _readers.read_txt(path, box_format="xyxy", score_position=score_pos)
    if fmt == "yolo":
        return _readers.read_yolo(
            path, args.class_names, image_sizes=sizes, score_position=score_pos
        )
    if fmt == "txt":
        return _readers.read_txt(
            path, box_format=args.box_format, relative=args.relative,
            class_names=args.class_names, score_position=score_pos, image_sizes=sizes,
        )  # fmt: skip
    if fmt == "csv":
        return _readers.read_csv(path, box_format=args.box_format)
    if fmt == "fiftyone":
        return _readers.read_fiftyone(path, image_sizes=sizes)
    return _readers.read_openimages_csv(path, image_sizes=sizes)


def run(args):
    """Evaluate and print; returns the exit code (0 on success, 2 on bad input)."""
    import pandas as pd

    from skextras.metrics import coco_evaluate, records_to_coco, voc_evaluate

    metric = args.metric or ("voc2012" if args.format in VOC_FORMATS else "coco")
    try:
        if args.iou_type != "bbox":
            return _run_coco_task(args, metric)
        dt_format = args.dt_format or args.format
        relative = [fmt in RELATIVE_FORMATS or (fmt == "txt" and args.relative)
                    for fmt in (args.format, dt_format)]  # fmt: skip
        sizes = _image_sizes(args)
        if relative[0] and sizes is None:
            raise ValueError(_NO_SIZES.format(what="--gt", path=args.gt, fmt=args.format))
        gt = _read(args.gt, args.format, args, False, sizes)
        # relative (YOLO) detections are scaled by the image sizes VOC xml files record
        sizes = sizes if sizes is not None else gt.attrs.get("image_sizes")
        if relative[1] and sizes is None:
            raise ValueError(_NO_SIZES.format(what="--dt", path=args.dt, fmt=dt_format))
        dt = _read(args.dt, dt_format, args, True, sizes)
        if "score" not in dt:
            raise ValueError(f"--dt {args.dt!r} has no scores: is it a ground truth file?")
        if metric == "coco":
            print("metric: COCO bbox AP (pycocotools' 12-number summary)")
            if args.format == "coco" and dt_format == "coco":
                result = coco_evaluate(args.gt, args.dt)
            else:
                result = coco_evaluate(*records_to_coco(gt, dt))
            _print_coco(result)
        else:
            # relative boxes reach here scaled to pixels (sizes are required above), so the
            # devkit's +1 is never added to fractions of the image size
            plus_one = not args.no_pixel_plus_one
            width = "x2 - x1 + 1" if plus_one else "x2 - x1"
            note = " (relative boxes scaled to pixels)" if any(relative) else ""
            print(f"metric: VOC {metric}: {VOC_METHODS[metric]}, IoU >= {args.iou_threshold}, "
                  f"box width {width}{note}")  # fmt: skip
            result = voc_evaluate(gt, dt, method=metric, iou_threshold=args.iou_threshold,
                                  pixel_plus_one=plus_one)  # fmt: skip
            with pd.option_context("display.float_format", lambda v: f"{v:.4f}"):
                print(result.to_frame().to_string())
            print(f"mAP ({metric}, IoU {args.iou_threshold}): {result.mAP:.4f}")
    except (ValueError, OSError, KeyError) as exc:
        print(f"skextras map: error: {exc}")
        return 2
    if args.plot:
        from skextras.metrics._plot import plot_pr_curves

        plot_pr_curves(result, args.plot, iou_threshold=0.5 if metric == "coco" else
                       args.iou_threshold)  # fmt: skip
        print(f"precision-recall curves written to {args.plot}")
    return 0


_NO_SIZES = (
    "{what} {path!r}: {fmt} boxes are relative to the image size and no image sizes are "
    "known; pass --image-size W H (all images) or --image-sizes FILE (per image), or use "
    "VOC xml ground truth, which records them"
)


class _Sizes(dict):
    """``{image_id: (width, height)}`` looked up by the id or its text, with an optional
    size for every image."""

    def __init__(self, entries, default=None):
        super().__init__(entries)
        self.default = default

    def __missing__(self, image_id):
        if str(image_id) in self:
            return self[str(image_id)]
        if self.default is not None:
            return self.default
        raise KeyError(image_id)


def _image_sizes(args):
    """The sizes named by --image-size / --image-sizes, or None."""
    import json
    from pathlib import Path

    from skextras.metrics._readers import load_json_file

    default = None
    if args.image_size is not None:
        width, height = args.image_size
        if not (width > 0 and height > 0):
            raise ValueError(f"--image-size must be two positive numbers, got {width} {height}")
        default = (width, height)
    if args.image_sizes is None:
        return None if default is None else _Sizes({}, default)
    path = Path(args.image_sizes)
    text = path.read_text()
    if text.lstrip().startswith(("{", "[")):
        doc = load_json_file(path)
        if isinstance(doc, dict) and isinstance(doc.get("images"), list):
            entries = {}
            for i, image in enumerate(doc["images"]):
                try:
                    entries[str(image["id"])] = (image["width"], image["height"])
                except (TypeError, KeyError):
                    raise ValueError(
                        f"--image-sizes {str(path)!r}: images[{i}] needs id, width and "
                        f"height, got {json.dumps(image)[:80]}"
                    ) from None
        elif isinstance(doc, dict):
            entries = {str(key): value for key, value in doc.items()}
        else:
            raise ValueError(f"--image-sizes {str(path)!r}: expected a JSON object")
    else:
        entries = {}
        for line_no, line in enumerate(text.splitlines(), 1):
            fields = line.replace(",", " ").split()
            if not fields or fields[0].startswith("#"):
                continue
            if len(fields) != 3:
                raise ValueError(
                    f"--image-sizes {str(path)!r} line {line_no}: expected 'image_id width "
                    f"height', got {line.strip()!r:.80}"
                )
            entries[fields[0]] = (fields[1], fields[2])
    for image_id, size in entries.items():
        try:
            width, height = (float(v) for v in size)
        except (TypeError, ValueError):
            raise ValueError(
                f"--image-sizes {str(path)!r}: image {image_id!r} needs (width, height), "
                f"got {size!r:.80}"
            ) from None
        if not (width > 0 and height > 0):
            raise ValueError(
                f"--image-sizes {str(path)!r}: image {image_id!r} has size {width} x {height}"
            )
        entries[image_id] = (width, height)
    return _Sizes(entries, default)


def _print_coco(result):
    result.summary()
    print()
    print(result.to_frame().to_string(float_format=lambda v: f"{v:.4f}"))


def _run_coco_task(args, metric):
    """``--iou-type segm | keypoints``: COCO json in, pycocotools' summary out."""
    from skextras.metrics import coco_evaluate

    if metric != "coco" or args.format != "coco" or (args.dt_format or "coco") != "coco":
        raise ValueError(f"--iou-type {args.iou_type} needs --metric coco and COCO json files")
    result = coco_evaluate(args.gt, args.dt, args.iou_type)
    print(f"metric: COCO {args.iou_type} AP (pycocotools' summary)")
    _print_coco(result)
    if args.plot:
        from skextras.metrics._plot import plot_pr_curves

        plot_pr_curves(result, args.plot, iou_threshold=0.5)
        print(f"precision-recall curves written to {args.plot}")
    return 0
