"""OKS (vs hand computation and pycocotools), OKS-NMS, rescoring and COCOeval on hand-built data."""
import json
import math

import numpy as np
import pytest

from animalpose.keypoints import get_spec
from evaluation.coco_eval import STATS_NAMES, coco_results, evaluate_coco, write_results_json
from evaluation.oks import oks, oks_iou, oks_matrix, oks_nms, rescore, soft_oks_nms

SIG2 = [0.1, 0.2]                       # vars = (2 sigma)^2 = 0.04, 0.16


def test_oks_two_keypoints_by_hand():
    gt = np.array([[10, 10, 2], [20, 20, 2]], float)
    # joint 0 off by (2, 0): e = 4 / 0.04 / 100 / 2 = 0.5; joint 1 off by (4, 4): e = 32 / 0.16 / 100 / 2 = 1
    dt = np.array([[12, 10], [24, 24]], float)
    assert oks(gt, dt, 100.0, SIG2) == pytest.approx((math.exp(-0.5) + math.exp(-1.0)) / 2)
    # an unlabelled GT joint is left out of the mean
    gt1 = gt.copy()
    gt1[1, 2] = 0
    assert oks(gt1, dt, 100.0, SIG2) == pytest.approx(math.exp(-0.5))
    # several detections at once; a perfect one scores 1
    many = oks(gt, np.stack([dt, gt[:, :2]]), 100.0, SIG2)
    np.testing.assert_allclose(many, [(math.exp(-0.5) + math.exp(-1.0)) / 2, 1.0])


def test_oks_ignore_box_when_no_labelled_keypoint():
    gt = np.zeros((2, 3))
    bbox = [0, 0, 10, 10]                 # doubled box: x, y in [-10, 20]
    # joint 0 at (25, 5): 5 px right of the box -> e = 25 / 0.04 / 100 / 2 = 3.125
    # joint 1 at (5, -14): 4 px above -> e = 16 / 0.16 / 100 / 2 = 0.5
    dt = np.array([[25, 5], [5, -14]], float)
    assert oks(gt, dt, 100.0, SIG2, bbox=bbox) == pytest.approx((math.exp(-3.125) + math.exp(-0.5)) / 2)
    with pytest.raises(ValueError, match="bboxes"):
        oks(gt, dt, 100.0, SIG2)


def person(x0, y0, size, v=2):
    """17 COCO keypoints spread over the box [x0, x0 + size] x [y0, y0 + size]."""
    u = np.linspace(0, 1, 17)
    return np.stack([x0 + size * u, y0 + size * (u ** 2), np.full(17, float(v))], axis=1)


def gt_dataset(people):
    """people: list of (image_id, keypoints (17, 3), box size)."""
    anns = []
    for i, (img, kp, size) in enumerate(people):
        x0, y0 = kp[:, 0].min(), kp[:, 1].min()
        anns.append({"id": i + 1, "image_id": img, "category_id": 1, "iscrowd": 0,
                     "keypoints": kp.reshape(-1).tolist(), "num_keypoints": int((kp[:, 2] > 0).sum()),
                     "bbox": [float(x0), float(y0), float(size), float(size)], "area": float(size * size)})
    imgs = sorted({p[0] for p in people})
    return {"images": [{"id": i, "width": 640, "height": 480, "file_name": f"{i}.jpg"} for i in imgs],
            "annotations": anns, "categories": [{"id": 1, "name": "person", "supercategory": "person",
                                                 "keypoints": list(get_spec("coco17").joints), "skeleton": []}]}


def shifted_to_oks(kp, area, target):
    """Move every joint along x so that exp(-e) = target for each: OKS = target exactly."""
    s = get_spec("coco17").sigmas_array
    dx = np.sqrt(-2.0 * math.log(target) * area * (2 * s) ** 2)
    out = kp.copy()
    out[:, 0] += dx
    return out


def test_oks_matches_pycocotools_compute_oks():
    rng = np.random.default_rng(0)
    p1, p2 = person(50, 40, 120), person(300, 60, 100)
    p3 = np.zeros((17, 3))                               # no labelled joint -> ignore-box OKS
    gt = gt_dataset([(1, p1, 120), (1, p2, 100), (1, p3, 80)])
    gt["annotations"][2]["bbox"] = [200.0, 250.0, 80.0, 60.0]
    gt["annotations"][2]["area"] = 4800.0
    p1_half = p1.copy()
    p1_half[::2, 2] = 0                                  # half the joints unlabelled
    gt["annotations"][0]["keypoints"] = p1_half.reshape(-1).tolist()
    gt["annotations"][0]["num_keypoints"] = 8
    dts = np.stack([p1[:, :2] + rng.normal(0, 6, (17, 2)), p2[:, :2] + rng.normal(0, 3, (17, 2)),
                    rng.uniform(150, 330, (17, 2)), p1[:, :2] + rng.normal(0, 20, (17, 2))])
    scores = [0.9, 0.8, 0.7, 0.6]                        # computeOks orders detections by score
    kp3 = np.concatenate([dts, np.ones((4, 17, 1))], axis=2)
    stats, ev = evaluate_coco(gt, coco_results([1] * 4, kp3, scores), return_eval=True)
    ref = np.asarray(ev.ious[(1, 1)])
    gts = np.stack([p1_half, p2, p3])
    mine = oks_matrix(gts, dts, [14400.0, 10000.0, 4800.0],
                      bboxes=[a["bbox"] for a in gt["annotations"]])
    assert mine.shape == ref.shape == (4, 3)
    np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-15)
    assert 0 < ref[2, 2] < 1                             # the ignore-box branch is exercised


def test_oks_iou_area_mean_and_visibility_quirk():
    g = np.array([[0, 0, 0], [10, 0, 1]], float)        # g's own scores play no role
    d = np.array([[[1, 0, 0.9], [10, 2, 0.1]]], float)
    # area (100 + 200) / 2 = 150: e0 = 1 / 0.04 / 150 / 2, e1 = 4 / 0.04 / 150 / 2
    e0, e1 = 1 / 0.04 / 150 / 2, 4 / 0.04 / 150 / 2
    assert oks_iou(g, d, 100, [200], [0.1, 0.1])[0] == pytest.approx((math.exp(-e0) + math.exp(-e1)) / 2)
    # with a threshold only d's joints above it count (joint 0)
    assert oks_iou(g, d, 100, [200], [0.1, 0.1], in_vis_thre=0.5)[0] == pytest.approx(math.exp(-e0))
    assert oks_iou(g, d, 100, [200], [0.1, 0.1], in_vis_thre=0.95)[0] == 0.0


def test_oks_nms_and_soft_nms_on_duplicates():
    a = person(50, 40, 120, v=1)
    dup = a.copy()
    dup[:, :2] += 0.5                                    # near-identical pose: OKS ~ 1
    b = person(300, 60, 100, v=1)
    kpts = np.stack([a, dup, b])
    areas = [14400.0, 14400.0, 10000.0]
    assert oks_nms(kpts, [0.9, 0.8, 0.7], areas, thr=0.9) == [0, 2]
    # order follows scores; the duplicate of the best survives only if the threshold allows OKS ~ 1
    assert oks_nms(kpts, [0.5, 0.8, 0.7], areas, thr=0.9) == [1, 2]
    assert oks_nms(kpts, [0.9, 0.8, 0.7], areas, thr=1.0) == [0, 1, 2]
    assert oks_nms(np.zeros((0, 17, 3)), [], []) == []
    # soft: the duplicate is decayed to 0.8 * exp(-1 / 0.9) ~ 0.26 < 0.7, so it comes last
    assert soft_oks_nms(kpts, [0.9, 0.8, 0.7], areas, thr=0.9) == [0, 2, 1]
    assert soft_oks_nms(kpts, [0.9, 0.8, 0.7], areas, thr=0.9, max_dets=2) == [0, 2]


def test_rescore():
    ks = np.array([[0.1, 0.5, 0.9], [0.1, 0.1, 0.2]])
    # first: mean(0.5, 0.9) * 0.8; second: nothing above 0.2 (strict) -> 0
    np.testing.assert_allclose(rescore(ks, [0.8, 1.0], thr=0.2), [0.56, 0.0])


# --------------------------------------------------------------------------
# COCOeval on hand-built ground truth
# --------------------------------------------------------------------------
def write_gt(tmp_path, people):
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt_dataset(people)))
    return str(path)


def test_perfect_results_give_ap_1(tmp_path):
    p1, p2, p3 = person(50, 40, 120), person(300, 60, 110), person(100, 100, 60)   # large, large, medium
    gt = write_gt(tmp_path, [(1, p1, 120), (1, p2, 110), (2, p3, 60)])
    res = coco_results([1, 1, 2], np.stack([p1, p2, p3]), [1.0, 1.0, 1.0])
    res_path = write_results_json(str(tmp_path / "out" / "results.json"), res)
    stats = evaluate_coco(gt, res_path)
    assert list(stats) == list(STATS_NAMES)
    for name in STATS_NAMES:
        assert stats[name] == pytest.approx(1.0), name


def test_one_of_two_people_missing(tmp_path):
    p1, p2 = person(50, 40, 120), person(300, 60, 110)
    gt = write_gt(tmp_path, [(1, p1, 120), (1, p2, 110)])
    stats = evaluate_coco(gt, coco_results([1], p1[None], [1.0]))
    # recall stops at 0.5 with precision 1: 51 of the 101 recall points (0, .01, ..., .50) score 1
    assert stats["AR"] == pytest.approx(0.5)
    assert stats["AP"] == pytest.approx(51 / 101)
    assert stats["AP (M)"] == -1                        # no medium ground truth


def test_oks_between_thresholds(tmp_path):
    a, b = person(50, 40, 120), person(60, 50, 120)
    area = 120.0 * 120.0
    gt = write_gt(tmp_path, [(1, a, 120), (2, b, 120)])
    b_det = shifted_to_oks(b, area, 0.72)                 # OKS 0.72: matched at .50-.70, missed at .75-.95
    assert oks(b, b_det[:, :2], area) == pytest.approx(0.72)

    only_b = evaluate_coco(gt, coco_results([2], b_det[None], [0.8]))
    # one of two GTs found, and only at t = .50-.70: AP_t = 51/101 there (recall stops at 1/2), 0 at
    # t = .75-.95, so AP = 5 * (51/101) / 10; AR = (5 * 0.5 + 5 * 0) / 10
    assert only_b["AR"] == pytest.approx(0.25)
    assert only_b["AP"] == pytest.approx(0.5 * 51 / 101)

    stats = evaluate_coco(gt, coco_results([1, 2], np.stack([a, b_det]), [0.9, 0.8]))
    # t <= .70: both matched, AP_t = 1.  t >= .75: A (score .9) is a TP, B a FP after it, so
    # precision is 1 up to recall .5 and nothing beyond: AP_t = 51/101.
    # AP = (5 * 1 + 5 * 51/101) / 10; AR = (5 * 1 + 5 * 0.5) / 10
    assert stats["AP"] == pytest.approx((5 + 5 * 51 / 101) / 10)
    assert stats["AP .5"] == pytest.approx(1.0)
    assert stats["AP .75"] == pytest.approx(51 / 101)
    assert stats["AR"] == pytest.approx(0.75)
    assert stats["AR .5"] == pytest.approx(1.0) and stats["AR .75"] == pytest.approx(0.5)


def test_custom_sigmas_and_errors(tmp_path):
    spec = get_spec("animalpose20")
    kp = np.stack([np.linspace(10, 200, 20), np.linspace(20, 150, 20), np.full(20, 1.0)], axis=1)
    gt = {"images": [{"id": 7, "width": 300, "height": 300, "file_name": "7.jpg"}],
          "annotations": [{"id": 1, "image_id": 7, "category_id": 4, "iscrowd": 0, "num_keypoints": 20,
                           "keypoints": kp.reshape(-1).tolist(), "bbox": [10, 20, 190, 130], "area": 24700.0}],
          "categories": [{"id": 4, "name": "horse"}]}
    res = coco_results([7], kp[None], [0.9], category_id=4)
    assert evaluate_coco(gt, res, sigmas="animalpose20")["AP"] == pytest.approx(1.0)
    assert evaluate_coco(gt, res, sigmas=spec.sigmas_array)["AR"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="expected 3 x 17"):
        evaluate_coco(gt, res)
    with pytest.raises(ValueError, match="empty"):
        evaluate_coco(gt, [], sigmas=spec)
    with pytest.raises(ValueError, match="image ids not in the ground truth"):
        evaluate_coco(gt, coco_results([8], kp[None], [0.9], category_id=4), sigmas=spec)
    with pytest.raises(FileNotFoundError):
        evaluate_coco(str(tmp_path / "missing.json"), res, sigmas=spec)


def test_quiet_flag(tmp_path, capsys):
    p1 = person(50, 40, 120)
    gt = write_gt(tmp_path, [(1, p1, 120)])
    evaluate_coco(gt, coco_results([1], p1[None], [1.0]))
    assert capsys.readouterr().out == ""
    evaluate_coco(gt, coco_results([1], p1[None], [1.0]), quiet=False)
    assert "Average Precision" in capsys.readouterr().out


def loop_oks_iou(g, d, a_g, a_d, sigmas, in_vis_thre=None):
    """Per-candidate loop written from the HRNet description (flattened x, y, v triplets)."""
    var = (np.asarray(sigmas) * 2) ** 2
    out = np.zeros(len(d))
    for n in range(len(d)):
        dx, dy = d[n, 0::3] - g[0::3], d[n, 1::3] - g[1::3]
        e = (dx ** 2 + dy ** 2) / var / ((a_g + a_d[n]) / 2 + np.spacing(1)) / 2
        if in_vis_thre is not None:
            e = e[d[n, 2::3] > in_vis_thre]
        out[n] = np.exp(-e).sum() / e.shape[0] if e.shape[0] else 0.0
    return out


def loop_oks_nms(kpts, scores, areas, thr, sigmas, in_vis_thre=None):
    flat = kpts.reshape(len(kpts), -1)
    order = np.argsort(scores, kind="stable")[::-1]
    keep = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        ovr = loop_oks_iou(flat[i], flat[order[1:]], areas[i], areas[order[1:]], sigmas, in_vis_thre)
        order = order[1:][ovr <= thr]
    return keep


@pytest.mark.parametrize("in_vis_thre", [None, 0.3])
def test_oks_nms_matches_loop_on_random_clusters(in_vis_thre):
    rng = np.random.default_rng(1)
    sig = get_spec("coco17").sigmas_array
    centres = [person(40, 40, 80), person(200, 60, 90), person(120, 150, 60)]
    kpts = np.stack([centres[i % 3] + np.concatenate([rng.normal(0, 2 + i, (17, 2)), np.zeros((17, 1))], 1)
                     for i in range(15)])
    kpts[:, :, 2] = rng.uniform(0, 1, (15, 17))
    scores, areas = rng.uniform(0, 1, 15), rng.uniform(3000, 9000, 15)
    flat = kpts.reshape(15, -1)
    np.testing.assert_allclose(oks_iou(kpts[0], kpts[1:], areas[0], areas[1:], sig, in_vis_thre),
                               loop_oks_iou(flat[0], flat[1:], areas[0], areas[1:], sig, in_vis_thre), rtol=1e-12)
    for thr in (0.3, 0.6, 0.9):
        assert oks_nms(kpts, scores, areas, thr, in_vis_thre=in_vis_thre) == \
            loop_oks_nms(kpts, scores, areas, thr, sig, in_vis_thre)
