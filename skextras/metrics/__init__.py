"""Detection and ranking metrics: COCO / Pascal VOC mAP and multilabel average precision."""

from skextras.metrics._coco import COCOEvalResult, coco_evaluate

__all__ = ["COCOEvalResult", "coco_evaluate"]
