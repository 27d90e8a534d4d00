"""Detection and ranking metrics: COCO / Pascal VOC mAP and multilabel average precision."""
