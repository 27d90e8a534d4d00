"""Detection and ranking metrics: COCO / Pascal VOC mAP and multilabel average precision.

The functions are imported on first use (see ``skextras/_lazy.py``): importing this
package does not import pandas, scikit-learn or the numba kernels.
"""

from skextras._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "COCOEvalResult": "_coco",
        "coco_evaluate": "_coco",
        "COCOEvaluator": "_coco_stream",
        "average_precision_from_curve": "_detection",
        "box_iou": "_detection",
        "match_detections": "_detection",
        "SCORERS": "_ranking",
        "detection_map_score": "_ranking",
        "get_scorer": "_ranking",
        "mean_average_precision_score": "_ranking",
        "read_coco": "_readers",
        "read_csv": "_readers",
        "read_fiftyone": "_readers",
        "read_openimages_csv": "_readers",
        "read_txt": "_readers",
        "read_voc_xml": "_readers",
        "read_yolo": "_readers",
        "records_to_coco": "_readers",
        "VOCEvalResult": "_voc",
        "voc_evaluate": "_voc",
    },
)
