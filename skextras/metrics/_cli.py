"""``skextras map``: evaluate detections from files and print COCO or VOC mAP."""

READERS = ("coco", "voc", "yolo", "txt", "csv", "openimages", "fiftyone")
METRICS = ("coco", "voc2007", "voc2012", "11point", "11point_arange", "allpoint")


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
    parser.add_argument("--metric", choices=METRICS, default="coco")
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
    parser.add_argument("--relative", action="store_true", help="txt boxes are relative")
    parser.add_argument("--class-names", help="file with one class name per line (yolo ids)")
    parser.add_argument(
        "--score-position",
        choices=("second", "last"),
        help="where text detections keep the score (txt: second, yolo: last)",
    )
    parser.add_argument(
        "--no-pixel-plus-one",
        action="store_true",
        help="VOC: widths are x2 - x1 (the devkit uses x2 - x1 + 1)",
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

    try:
        if args.iou_type != "bbox":
            return _run_coco_task(args)
        gt = _read(args.gt, args.format, args, False)
        # relative (YOLO) boxes are scaled by the image sizes VOC xml files record
        sizes = gt.attrs.get("image_sizes")
        dt = _read(args.dt, args.dt_format or args.format, args, True, sizes)
        if "score" not in dt:
            raise ValueError(f"--dt {args.dt!r} has no scores: is it a ground truth file?")
        if args.metric == "coco":
            if args.format == "coco" and (args.dt_format or "coco") == "coco":
                result = coco_evaluate(args.gt, args.dt)
            else:
                result = coco_evaluate(*records_to_coco(gt, dt))
            _print_coco(result)
        else:
            result = voc_evaluate(gt, dt, method=args.metric, iou_threshold=args.iou_threshold,
                                  pixel_plus_one=not args.no_pixel_plus_one)  # fmt: skip
            with pd.option_context("display.float_format", lambda v: f"{v:.4f}"):
                print(result.to_frame().to_string())
            print(f"mAP ({args.metric}, IoU {args.iou_threshold}): {result.mAP:.4f}")
    except (ValueError, OSError, KeyError) as exc:
        print(f"skextras map: error: {exc}")
        return 2
    if args.plot:
        from skextras.metrics._plot import plot_pr_curves

        plot_pr_curves(result, args.plot, iou_threshold=0.5 if args.metric == "coco" else
                       args.iou_threshold)  # fmt: skip
        print(f"precision-recall curves written to {args.plot}")
    return 0


def _print_coco(result):
    result.summary()
    print()
    print(result.to_frame().to_string(float_format=lambda v: f"{v:.4f}"))


def _run_coco_task(args):
    """``--iou-type segm | keypoints``: COCO json in, pycocotools' summary out."""
    from skextras.metrics import coco_evaluate

    if args.metric != "coco" or args.format != "coco" or (args.dt_format or "coco") != "coco":
        raise ValueError(f"--iou-type {args.iou_type} needs --metric coco and COCO json files")
    result = coco_evaluate(args.gt, args.dt, args.iou_type)
    _print_coco(result)
    if args.plot:
        from skextras.metrics._plot import plot_pr_curves

        plot_pr_curves(result, args.plot, iou_threshold=0.5)
        print(f"precision-recall curves written to {args.plot}")
    return 0
