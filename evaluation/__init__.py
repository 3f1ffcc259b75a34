"""Evaluation protocols: PCK (CC-SSL exact), OKS / COCO AP, reports."""
