"""COCO mAP: skextras vs pycocotools vs faster-coco-eval on synthetic COCO-like data.

Default: three cases, all peers in one process, numbers checked equal:
bbox on 5000 images, 80 categories, ~36k annotations, ~80k detections; segm on 5000
640 x 480 images with ~15 polygon objects each and ~30 RLE detections (polygons rasterised
to RLE); keypoints on 5000 images with ~8 people (17 keypoints, some invisible) and ~12
detections each. ``--large``: 20,000 images with 2,000,000 annotations and as many
detections, bbox, ours only (peers run out of memory or take hours), with peak memory.
``--quick`` shrinks the default cases; ``--smoke`` makes them tiny. ``--iou-type`` picks
one case.
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

from skextras.metrics import _coco_kernels as kernels  # noqa: E402
from skextras.metrics import coco_evaluate, mask  # noqa: E402


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


def _polygons(rng, n, centre, radius, k=12):
    """n star-shaped polygons (n, k, 2) around ``centre`` with ``radius`` (n,)."""
    ang = np.sort(rng.uniform(0, 2 * np.pi, (n, k)), axis=1)
    rad = radius[:, None] * rng.uniform(0.6, 1.0, (n, k))
    return np.stack([centre[:, :1] + rad * np.cos(ang), centre[:, 1:] + rad * np.sin(ang)], 2)


def make_segm_data(n_images, n_cats, gt_per_image, dt_per_image, seed=0, h=480, w=640):
    """Polygon ground truth and RLE detections (perturbed true shapes, random false ones)."""
    rng = np.random.default_rng(seed)
    n_gt, n_dt = int(n_images * gt_per_image), int(n_images * dt_per_image)
    img = np.sort(rng.integers(0, n_images, n_gt))
    cat = rng.integers(1, n_cats + 1, n_gt)
    centre = rng.uniform(0, [w, h], (n_gt, 2))
    radius = np.exp(rng.normal(3.0, 0.8, n_gt)).clip(3, 200)
    polys = _polygons(rng, n_gt, centre, radius).clip(0, [w, h]).round(2)
    x0, x1 = polys[:, :, 0].min(1), polys[:, :, 0].max(1)
    y0, y1 = polys[:, :, 1].min(1), polys[:, :, 1].max(1)
    xs, ys = polys[:, :, 0], polys[:, :, 1]
    area = 0.5 * np.abs((xs * np.roll(ys, -1, 1) - np.roll(xs, -1, 1) * ys).sum(1))
    src = rng.integers(0, n_gt, n_dt)
    true_like = rng.random(n_dt) < 0.6
    d_centre = np.where(true_like[:, None], centre[src] + rng.normal(0, 2, (n_dt, 2)),
                        rng.uniform(0, [w, h], (n_dt, 2)))  # fmt: skip
    d_radius = np.where(true_like, radius[src] * rng.uniform(0.8, 1.2, n_dt),
                        np.exp(rng.normal(3.0, 0.8, n_dt)).clip(3, 200))  # fmt: skip
    d_polys = _polygons(rng, n_dt, d_centre, d_radius)
    d_cat = np.where(true_like & (rng.random(n_dt) < 0.9), cat[src],
                     rng.integers(1, n_cats + 1, n_dt))  # fmt: skip
    d_img = np.where(true_like, img[src], rng.integers(0, n_images, n_dt))
    rles = mask.fr_polygons(list(d_polys.reshape(n_dt, -1)), h, w)
    score = rng.random(n_dt).round(3)
    images = [{"id": int(i), "width": w, "height": h} for i in range(n_images)]
    cats = [{"id": int(c), "name": f"class{c}"} for c in range(1, n_cats + 1)]
    crowd = rng.random(n_gt) < 0.01
    anns = [{"id": i + 1, "image_id": int(img[i]), "category_id": int(cat[i]),
             "segmentation": [polys[i].ravel().tolist()], "area": float(area[i]),
             "bbox": [float(x0[i]), float(y0[i]), float(x1[i] - x0[i]), float(y1[i] - y0[i])],
             "iscrowd": int(crowd[i])} for i in range(n_gt)]  # fmt: skip
    dets = [{"image_id": int(d_img[i]), "category_id": int(d_cat[i]),
             "segmentation": {"size": [h, w], "counts": rles[i]["counts"].decode()},
             "score": float(score[i])} for i in range(n_dt)]  # fmt: skip
    return {"images": images, "categories": cats, "annotations": anns}, dets


def make_keypoint_data(n_images, gt_per_image, dt_per_image, seed=0, n_kpts=17):
    """People with 17 keypoints (about 30% invisible, some with none visible, 1% crowds)
    and detections: noisy copies of true people and random ones."""
    rng = np.random.default_rng(seed)
    n_gt, n_dt = int(n_images * gt_per_image), int(n_images * dt_per_image)
    img = np.sort(rng.integers(0, n_images, n_gt))
    wh = np.exp(rng.normal(4.3, 0.7, (n_gt, 2))).clip(10, 400).round(1)
    xy = rng.uniform(0, 600, (n_gt, 2)).round(1)
    kpt = xy[:, None, :] + rng.random((n_gt, n_kpts, 2)) * wh[:, None, :]
    vis = rng.choice([0, 1, 2], (n_gt, n_kpts), p=[0.3, 0.2, 0.5])
    vis[rng.random(n_gt) < 0.05] = 0
    kpt = np.where(vis[:, :, None] > 0, kpt.round(1), 0)
    src = rng.integers(0, n_gt, n_dt)
    true_like = rng.random(n_dt) < 0.7
    noise = rng.normal(0, 1, (n_dt, n_kpts, 2)) * (0.06 * wh[src].mean(1))[:, None, None]
    base = np.where(vis[src][:, :, None] > 0, kpt[src], xy[src][:, None, :] + wh[src][:, None] / 2)
    d_kpt = np.where(true_like[:, None, None], base + noise,
                     rng.uniform(0, 640, (n_dt, n_kpts, 2))).round(2)  # fmt: skip
    d_img = np.where(true_like, img[src], rng.integers(0, n_images, n_dt))
    score = rng.random(n_dt).round(3)
    images = [{"id": int(i), "width": 640, "height": 640} for i in range(n_images)]
    g_kp = np.concatenate([kpt, vis[:, :, None]], axis=2).reshape(n_gt, -1)
    d_kp = np.concatenate([d_kpt, np.ones((n_dt, n_kpts, 1))], axis=2).reshape(n_dt, -1)
    crowd = rng.random(n_gt) < 0.01
    anns = [{"id": i + 1, "image_id": int(img[i]), "category_id": 1,
             "keypoints": g_kp[i].tolist(), "num_keypoints": int((vis[i] > 0).sum()),
             "bbox": [*xy[i].tolist(), *wh[i].tolist()], "area": float(wh[i].prod() * 0.6),
             "iscrowd": int(crowd[i])} for i in range(n_gt)]  # fmt: skip
    dets = [{"image_id": int(d_img[i]), "category_id": 1, "keypoints": d_kp[i].tolist(),
             "score": float(score[i])} for i in range(n_dt)]  # fmt: skip
    cats = [{"id": 1, "name": "person"}]
    return {"images": images, "categories": cats, "annotations": anns}, dets


def run_ours(gt, dt, iou_type="bbox"):
    res = coco_evaluate(gt, dt, iou_type)
    return res.stats, res.precision


def run_pycocotools(gt, dt, iou_type="bbox"):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    return _run_cocoapi(COCO, COCOeval, gt, dt, iou_type)


def run_faster_coco_eval(gt, dt, iou_type="bbox"):
    from faster_coco_eval import COCO, COCOeval_faster

    return _run_cocoapi(COCO, COCOeval_faster, gt, dt, iou_type)


def _run_cocoapi(coco_cls, eval_cls, gt, dt, iou_type):
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = coco_cls()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        ev = eval_cls(coco_gt, coco_gt.loadRes(dt), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats[:12]), np.asarray(ev.eval["precision"])


PEERS = {"skextras": run_ours, "faster-coco-eval": run_faster_coco_eval,
         "pycocotools": run_pycocotools}  # fmt: skip

CASES = {  # iou_type: (data maker, its arguments at full size, per-image counts)
    "bbox": lambda n, seed=0: make_data(n, 80, 7.3, 16, seed),
    "segm": lambda n, seed=0: make_segm_data(n, 80, 15, 30, seed),
    "keypoints": lambda n, seed=0: make_keypoint_data(n, 8, 12, seed),
}


def compare(iou_type, n_images, repeat):
    gt, dt = CASES[iou_type](n_images)
    print(f"\n{iou_type}: {n_images} images, {len(gt['categories'])} categories, "
          f"{len(gt['annotations'])} annotations, {len(dt)} detections")  # fmt: skip
    # numba compilation / cache load of the serial and the parallel kernels, not timed
    for min_size in (0, kernels.PARALLEL_MIN_SIZE):
        kernels.PARALLEL_MIN_SIZE = min_size
        run_ours(*CASES[iou_type](20, 1), iou_type)
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
                stats, precision = fn(gt_in, dt_in, iou_type)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        except ImportError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        if reference is None:
            reference = (stats, precision)
        diff = max(np.abs(stats - reference[0]).max(), np.abs(precision - reference[1]).max())
        rows.append({"library": name, "iou_type": iou_type, "seconds": min(times),
                     "cpu seconds": min(cpu), "AP": stats[0],
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
    parser.add_argument("--iou-type", choices=list(CASES), help="one case only")
    args = parser.parse_args(argv)
    if args.large:
        large(200 if args.smoke else 20_000, 20_000 if args.smoke else 2_000_000)
        return 0
    n_images, repeat = (50, 1) if args.smoke else (1000, 1) if args.quick else (5000, 3)
    for iou_type in [args.iou_type] if args.iou_type else CASES:
        compare(iou_type, n_images, repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
