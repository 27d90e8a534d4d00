"""COCO mAP: skextras vs pycocotools vs faster-coco-eval on synthetic COCO-like data.

Default: 5000 images, 80 categories, ~36k annotations, ~80k detections, all peers in one
process, numbers checked equal. ``--large``: 20,000 images with 2,000,000 annotations and as
many detections, ours only (peers run out of memory or take hours), with peak memory.
``--quick`` shrinks the default case; ``--smoke`` makes it tiny.
"""

import argparse
import contextlib
import copy
import io
import os
import resource
import sys
import time

import numba
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from skextras.metrics import coco_evaluate  # noqa: E402


def make_data(n_images, n_cats, gt_per_image, dt_per_image, seed=0, as_frames=False):
    """COCO-like ground truth and detections: perturbed true boxes plus random false ones."""
    rng = np.random.default_rng(seed)
    n_gt = int(n_images * gt_per_image)
    n_dt = int(n_images * dt_per_image)
    img = np.sort(rng.integers(0, n_images, n_gt))
    cat = rng.integers(1, n_cats + 1, n_gt)
    wh = np.exp(rng.normal(3.8, 1.0, (n_gt, 2))).clip(1, 600)
    xy = rng.uniform(0, 640, (n_gt, 2))
    gt_box = np.column_stack([xy, wh]).round(2)
    src = rng.integers(0, n_gt, n_dt)
    true_like = rng.random(n_dt) < 0.6
    jitter = rng.normal(0, 0.1, (n_dt, 4)) * np.column_stack([wh[src], wh[src]])
    dt_box = np.where(true_like[:, None], gt_box[src] + jitter, 0)
    rand_wh = np.exp(rng.normal(3.8, 1.0, (n_dt, 2))).clip(1, 600)
    rand = np.column_stack([rng.uniform(0, 640, (n_dt, 2)), rand_wh])
    dt_box = np.where(true_like[:, None], dt_box, rand).round(2)
    dt_box[:, 2:] = np.abs(dt_box[:, 2:])
    dt_cat = np.where(
        true_like & (rng.random(n_dt) < 0.9), cat[src], rng.integers(1, n_cats + 1, n_dt)
    )
    dt_img = np.where(true_like, img[src], rng.integers(0, n_images, n_dt))
    score = rng.random(n_dt).round(3)
    images = [{"id": int(i), "width": 640, "height": 640} for i in range(n_images)]
    cats = [{"id": int(c), "name": f"class{c}"} for c in range(1, n_cats + 1)]
    gt_frame = pd.DataFrame({"id": np.arange(1, n_gt + 1), "image_id": img, "category_id": cat,
                             "x": gt_box[:, 0], "y": gt_box[:, 1], "w": gt_box[:, 2],
                             "h": gt_box[:, 3], "area": gt_box[:, 2] * gt_box[:, 3] * 0.8,
                             "iscrowd": (rng.random(n_gt) < 0.01).astype(int)})  # fmt: skip
    dt_frame = pd.DataFrame({"image_id": dt_img, "category_id": dt_cat, "x": dt_box[:, 0],
                             "y": dt_box[:, 1], "w": dt_box[:, 2], "h": dt_box[:, 3],
                             "score": score})  # fmt: skip
    if as_frames:
        return {"images": images, "categories": cats, "annotations": gt_frame}, dt_frame
    anns = [{"id": int(r.id), "image_id": int(r.image_id), "category_id": int(r.category_id),
             "bbox": [r.x, r.y, r.w, r.h], "area": float(r.area), "iscrowd": int(r.iscrowd)}
            for r in gt_frame.itertuples()]  # fmt: skip
    dets = [{"image_id": int(r.image_id), "category_id": int(r.category_id),
             "bbox": [r.x, r.y, r.w, r.h], "score": float(r.score)}
            for r in dt_frame.itertuples()]  # fmt: skip
    return {"images": images, "categories": cats, "annotations": anns}, dets


def run_ours(gt, dt):
    res = coco_evaluate(gt, dt)
    return res.stats, res.precision


def run_pycocotools(gt, dt):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    return _run_cocoapi(COCO, COCOeval, gt, dt)


def run_faster_coco_eval(gt, dt):
    from faster_coco_eval import COCO, COCOeval_faster

    return _run_cocoapi(COCO, COCOeval_faster, gt, dt)


def _run_cocoapi(coco_cls, eval_cls, gt, dt):
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = coco_cls()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        ev = eval_cls(coco_gt, coco_gt.loadRes(dt), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats[:12]), np.asarray(ev.eval["precision"])


PEERS = {"skextras": run_ours, "faster-coco-eval": run_faster_coco_eval,
         "pycocotools": run_pycocotools}  # fmt: skip


def compare(n_images, n_cats, gt_per_image, dt_per_image, repeat):
    gt, dt = make_data(n_images, n_cats, gt_per_image, dt_per_image)
    print(f"{n_images} images, {n_cats} categories, {len(gt['annotations'])} annotations, "
          f"{len(dt)} detections")  # fmt: skip
    run_ours(*make_data(20, n_cats, 2, 4))  # numba compilation / cache load, not timed
    rows, reference = [], None
    for name, fn in PEERS.items():
        times, cpu = [], []
        try:
            # pycocotools is slow and steady: one run is enough
            for _ in range(1 if name == "pycocotools" else repeat):
                # the COCO api mutates its inputs: fresh copies, made outside the timing
                gt_in, dt_in = (
                    (copy.deepcopy(gt), copy.deepcopy(dt)) if name != "skextras" else (gt, dt)
                )
                t0, c0 = time.perf_counter(), time.process_time()
                stats, precision = fn(gt_in, dt_in)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        except ImportError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        if reference is None:
            reference = (stats, precision)
        diff = max(np.abs(stats - reference[0]).max(), np.abs(precision - reference[1]).max())
        rows.append({"library": name, "seconds": min(times), "cpu seconds": min(cpu),
                     "AP": stats[0],
                     "max |diff| vs skextras": diff})  # fmt: skip
    table = pd.DataFrame(rows)
    table["× skextras time"] = table["seconds"] / table["seconds"].iloc[0]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def large(n_images, n_ann):
    run_ours(*make_data(20, 80, 2, 4))  # numba cache load, not timed
    t0 = time.perf_counter()
    gt, dt = make_data(n_images, 80, n_ann / n_images, n_ann / n_images, as_frames=True)
    t_make = time.perf_counter() - t0
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    t0 = time.perf_counter()
    res = coco_evaluate(gt, dt)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{n_images} images, {len(gt['annotations'])} annotations, {len(dt)} detections "
          f"(generated in {t_make:.1f} s)")  # fmt: skip
    print(
        f"skextras coco_evaluate: {elapsed:.1f} s on {numba.get_num_threads()} threads, "
        f"peak RSS {peak:.2f} GiB (data alone {before:.2f} GiB), AP={res.stats[0]:.4f}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1000 images, one repeat")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    parser.add_argument("--large", action="store_true", help="20k images, 2M annotations")
    args = parser.parse_args(argv)
    if args.large:
        large(200 if args.smoke else 20_000, 20_000 if args.smoke else 2_000_000)
    elif args.smoke:
        compare(50, 10, 7.3, 16, 1)
    elif args.quick:
        compare(1000, 80, 7.3, 16, 1)
    else:
        compare(5000, 80, 7.3, 16, 3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
