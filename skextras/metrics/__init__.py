"""Detection and ranking metrics: COCO / Pascal VOC mAP and multilabel average precision."""

from skextras.metrics._coco import COCOEvalResult, coco_evaluate
from skextras.metrics._coco_stream import COCOEvaluator
from skextras.metrics._detection import average_precision_from_curve, box_iou, match_detections
from skextras.metrics._ranking import (
    SCORERS,
    detection_map_score,
    get_scorer,
    mean_average_precision_score,
)
from skextras.metrics._readers import (
    read_coco,
    read_csv,
    read_fiftyone,
    read_openimages_csv,
    read_txt,
    read_voc_xml,
    read_yolo,
    records_to_coco,
)
from skextras.metrics._voc import VOCEvalResult, voc_evaluate

__all__ = [
    "SCORERS",
    "detection_map_score",
    "get_scorer",
    "mean_average_precision_score",
    "COCOEvalResult",
    "COCOEvaluator",
    "VOCEvalResult",
    "average_precision_from_curve",
    "box_iou",
    "coco_evaluate",
    "match_detections",
    "read_coco",
    "read_csv",
    "read_fiftyone",
    "read_openimages_csv",
    "read_txt",
    "read_voc_xml",
    "read_yolo",
    "records_to_coco",
    "voc_evaluate",
]
