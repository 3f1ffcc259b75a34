"""Evaluation protocols: PCK (CC-SSL exact), OKS / COCO AP, reports.

* :mod:`evaluation.pck_ccssl` -- the CC-SSL / UDA heatmap PCK@0.05 (argmax of
  output vs argmax of target map, ``W/10`` normaliser, per-batch averaging,
  UDA group scores): :func:`ccssl_pck`, :class:`CCSSLAccumulator`.
* :mod:`evaluation.pck` -- generic PCK / PCK curve / AUC / EPE on image
  coordinates with box or joint-distance normalisers.
* :mod:`evaluation.oks` -- pycocotools OKS, HRNet OKS-NMS and rescoring.
* :mod:`evaluation.coco_eval` -- results files and ``COCOeval`` keypoint AP.
* :mod:`evaluation.crowdpose_eval` -- the CrowdPose protocol on ``COCOeval``
  (box-based OKS scale, AP / AR and AP easy / medium / hard by crowdIndex).
* :mod:`evaluation.report` -- per-group / per-joint tables (Markdown, CSV,
  JSON, PNG) for one or several methods.

Metric functions return fractions; reports are in percent.
"""
from .coco_eval import STATS_NAMES, coco_results, evaluate_coco, format_stats_table, load_coco_gt, write_results_json
from .crowdpose_eval import CROWD_INDEX_THRESHOLDS, CROWDPOSE_STATS, crowd_buckets, crowdpose_gt, evaluate_crowdpose
from .oks import oks, oks_iou, oks_matrix, oks_nms, rescore, resolve_sigmas, soft_oks_nms
from .pck import (auc, bbox_max_side, bbox_sqrt_area, curve_auc, epe, joint_distance, keypoint_bbox,
                  normalized_distances, pck, pck_curve)
from .pck_ccssl import (BatchAccuracy, CCSSLAccumulator, batch_accuracy, batch_distances, ccssl_pck,
                        group_scores, heatmap_argmax_1based, reference_auc)
from .report import (format_table, markdown_report, method_scores, plot_bars, plot_curves, report_groups,
                     report_json, write_report)

__all__ = [
    # CC-SSL PCK
    "heatmap_argmax_1based", "batch_distances", "batch_accuracy", "BatchAccuracy", "CCSSLAccumulator",
    "ccssl_pck", "group_scores", "reference_auc",
    # generic PCK
    "pck", "pck_curve", "auc", "curve_auc", "epe", "normalized_distances",
    "bbox_max_side", "bbox_sqrt_area", "keypoint_bbox", "joint_distance",
    # OKS / COCO
    "oks", "oks_matrix", "oks_iou", "oks_nms", "soft_oks_nms", "rescore", "resolve_sigmas",
    "STATS_NAMES", "coco_results", "write_results_json", "load_coco_gt", "evaluate_coco", "format_stats_table",
    # CrowdPose
    "CROWDPOSE_STATS", "CROWD_INDEX_THRESHOLDS", "crowdpose_gt", "crowd_buckets", "evaluate_crowdpose",
    # reports
    "method_scores", "report_groups", "report_json", "format_table", "markdown_report",
    "plot_bars", "plot_curves", "write_report",
]
