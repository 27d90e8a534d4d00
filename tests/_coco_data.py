"""Random COCO segm / keypoint cases with the traps pycocotools' rules hide: crowd RLEs,
multi-part polygons, areas on the range borders, tied scores, invisible keypoints."""

import numpy as np
from pycocotools import mask as pm


def _polygon(rng, h, w, cx, cy, r):
    k = int(rng.integers(3, 9))
    ang = np.sort(rng.uniform(0, 2 * np.pi, k))
    rad = r * rng.uniform(0.5, 1.0, k)
    pts = np.column_stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)])
    pts = np.clip(pts, -2, [w + 2, h + 2])
    return np.round(pts * 2) / 2  # half-pixel vertices land on pixel-centre borders


def _score(rng):
    return float(rng.choice([0.1, 0.5, 0.9])) if rng.random() < 0.4 else round(rng.random(), 3)


def random_segm_case(seed, n_images=12, n_cats=3, with_bbox=False):
    """gt polygons (some in two parts) and crowd RLEs; dt RLEs from shifted gt masks."""
    rng = np.random.default_rng(seed)
    images, anns, dets = [], [], []
    cats = [{"id": int(c), "name": f"c{c}"} for c in rng.choice(50, n_cats, replace=False) + 1]
    for i in range(n_images):
        h, w = (int(v) for v in rng.integers(30, 90, 2))
        images.append({"id": int(i * 7 + 1), "height": h, "width": w})
        masks = []
        for _ in range(int(rng.integers(0, 7)) if i % 5 else 0):
            cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(2, 30)
            crowd = rng.random() < 0.15
            if crowd:
                m = np.zeros((h, w), dtype=np.uint8, order="F")
                m[int(cy * 0.5) : int(cy + r), int(cx * 0.5) : int(cx + r)] = 1
                flat = m.ravel(order="F")
                edges = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
                segm = {"size": [h, w], "counts": np.diff(np.concatenate([[0], edges])).tolist()}
                rle = pm.frPyObjects(segm, h, w)
            else:
                parts = 2 if rng.random() < 0.2 else 1
                segm = [_polygon(rng, h, w, cx + 9 * p, cy, r).ravel().tolist()
                        for p in range(parts)]  # fmt: skip
                rle = pm.merge(pm.frPyObjects(segm, h, w))
            area = float(pm.area(rle))
            if rng.random() < 0.2:
                area = float(rng.choice([1024.0, 32**2 - 1, 96**2, 100.0]))
            box = pm.toBbox(rle).tolist()
            anns.append({"id": len(anns) + 1, "image_id": images[-1]["id"],
                         "category_id": int(rng.choice(cats)["id"]), "segmentation": segm,
                         "area": area, "bbox": box, "iscrowd": int(crowd)})  # fmt: skip
            masks.append((pm.decode(rle), anns[-1]["category_id"]))
        for _ in range(int(rng.integers(0, 12)) if i % 4 != 1 else 0):
            if masks and rng.random() < 0.7:
                m, cat = masks[int(rng.integers(len(masks)))]
                m = np.roll(m, tuple(int(v) for v in rng.integers(-3, 4, 2)), axis=(0, 1))
                if rng.random() < 0.3:
                    cat = int(rng.choice(cats)["id"])
            else:
                m = np.zeros((h, w), dtype=np.uint8)
                y, x = rng.integers(0, h), rng.integers(0, w)
                m[y : y + rng.integers(1, 30), x : x + rng.integers(1, 30)] = 1
                cat = int(rng.choice(cats)["id"])
            rle = pm.encode(np.asfortranarray(m.astype(np.uint8)))
            rle["counts"] = rle["counts"].decode()
            det = {"image_id": images[-1]["id"], "category_id": cat, "segmentation": rle,
                   "score": _score(rng)}  # fmt: skip
            if with_bbox:
                det["bbox"] = pm.toBbox(rle).tolist()
            dets.append(det)
    return {"images": images, "categories": cats, "annotations": anns}, dets


def random_keypoint_case(seed, n_images=25, n_kpts=17, with_bbox=False):
    """Persons with visible / invisible keypoints, crowds, people with no visible keypoint
    (ignored), an ``ignore`` key pycocotools overwrites, and detections around them."""
    rng = np.random.default_rng(seed)
    cats = [{"id": 1, "name": "person"}, {"id": 3, "name": "robot"}]
    images, anns, dets = [], [], []
    for i in range(n_images):
        images.append({"id": int(i + 100), "height": 480, "width": 640})
        people = []
        for _ in range(int(rng.integers(0, 7)) if i % 6 else 0):
            side = float(rng.choice([20, 31, 33, 60, 95, 97, 150, 300]))
            x, y = rng.uniform(0, 500, 2).round(1)
            bw, bh = side, side * rng.uniform(0.6, 1.4)
            kx = rng.uniform(x, x + bw, n_kpts).round(1)
            ky = rng.uniform(y, y + bh, n_kpts).round(1)
            v = rng.choice([0, 1, 2], n_kpts, p=[0.3, 0.2, 0.5])
            if rng.random() < 0.15:
                v[:] = 0
            kx, ky = np.where(v > 0, kx, 0), np.where(v > 0, ky, 0)
            kp = np.column_stack([kx, ky, v]).ravel().tolist()
            area = float(bw * bh * 0.6) if rng.random() < 0.8 else float(rng.choice([1024, 9216]))
            ann = {"id": len(anns) + 1, "image_id": images[-1]["id"],
                   "category_id": 1 if rng.random() < 0.8 else 3, "keypoints": kp,
                   "num_keypoints": int((v > 0).sum()), "bbox": [x, y, bw, bh],
                   "area": area, "iscrowd": int(rng.random() < 0.08)}  # fmt: skip
            if rng.random() < 0.1:
                ann["ignore"] = 1
            anns.append(ann)
            people.append((np.column_stack([kx, ky]), bw, bh, x, y, ann["category_id"]))
        for _ in range(int(rng.integers(0, 9))):
            if people and rng.random() < 0.75:
                pts, bw, bh, x, y, cat = people[int(rng.integers(len(people)))]
                pts = np.where(pts > 0, pts, [x + bw / 2, y + bh / 2])
                noise = rng.normal(0, rng.choice([0.02, 0.05, 0.1]) * max(bw, bh), pts.shape)
                pts = (pts + noise).round(2)
            else:
                pts = rng.uniform(0, 600, (n_kpts, 2)).round(2)
                cat = 1
            kp = np.column_stack([pts, np.ones(n_kpts)]).ravel().tolist()
            det = {"image_id": images[-1]["id"], "category_id": cat, "keypoints": kp,
                   "score": _score(rng)}  # fmt: skip
            if with_bbox:
                lo, hi = pts.min(axis=0), pts.max(axis=0)
                det["bbox"] = [lo[0], lo[1], hi[0] - lo[0] + 3, hi[1] - lo[1]]
            dets.append(det)
    return {"images": images, "categories": cats, "annotations": anns}, dets
