"""CC-SSL heatmap PCK: hand-computed cases and an independent loop implementation."""
import math

import numpy as np
import pytest

from animalpose.keypoints import get_spec
from evaluation.pck_ccssl import (CCSSLAccumulator, batch_accuracy, batch_distances, ccssl_pck, group_scores,
                                  heatmap_argmax_1based, reference_auc)

H, W = 16, 64          # norm = W / 10 = 6.4, threshold 0.5 -> 3.2 heatmap pixels


def maps(points, h=H, w=W):
    """(N, K, h, w) maps with a single peak 1.0 at 0-based (x, y); None -> all-zero map."""
    n, k = len(points), len(points[0])
    out = np.zeros((n, k, h, w), np.float32)
    for i, row in enumerate(points):
        for j, p in enumerate(row):
            if p is not None:
                out[i, j, p[1], p[0]] = 1.0
    return out


def test_argmax_is_1based_and_zero_when_max_not_positive():
    hm = maps([[(10, 5), (0, 0), None]])
    hm[0, 2] -= 0.5                        # all negative -> max <= 0
    c = heatmap_argmax_1based(hm)
    assert c.shape == (1, 3, 2)
    np.testing.assert_array_equal(c[0], [[11, 6], [1, 1], [0, 0]])
    # first maximum wins on ties (flat order: row by row)
    tie = np.zeros((1, 1, 4, 5), np.float32)
    tie[0, 0, 2, 1] = tie[0, 0, 1, 3] = 2.0
    np.testing.assert_array_equal(heatmap_argmax_1based(tie)[0, 0], [4, 2])


def test_distances_normalised_by_width_over_10_and_ignore_rule():
    pred = maps([[(10, 5), (12, 3), (0, 0), (7, 7), (5, 5)]])
    gt = maps([[(13, 1), (10, 3), (0, 0), (7, 0), None]])
    d = batch_distances(pred, gt)
    assert d.shape == (5, 1)
    # joint 0: 1-based pred (11, 6), gt (14, 2): |(-3, 4)| = 5 -> 5 / 6.4
    assert d[0, 0] == pytest.approx(5 / 6.4)
    assert d[1, 0] == pytest.approx(2 / 6.4)
    # gt on column 1 / row 1 (1-based) or without a target is ignored even when pred is exact
    assert d[2, 0] == -1 and d[3, 0] == -1 and d[4, 0] == -1


def test_threshold_is_strict_and_accuracy_layout_matches_reference():
    # distances 3 (0.46875, hit), sqrt(13)=3.606 (0.563, miss), 0 (hit), ignored
    pred = maps([[(13, 5), (13, 7), (4, 4), (3, 3)]])
    gt = maps([[(10, 5), (10, 5), (4, 4), (0, 3)]])
    b = batch_accuracy(pred, gt)
    np.testing.assert_allclose(b.per_joint, [1, 0, 1, -1])
    np.testing.assert_array_equal(b.valid, [True, True, True, False])
    assert b.mean == pytest.approx(2 / 3)
    np.testing.assert_allclose(b.acc, [2 / 3, 1, 0, 1, -1])
    # a looser threshold turns the miss into a hit
    assert batch_accuracy(pred, gt, thr=0.6).mean == pytest.approx(1.0)


def test_mean_of_batch_means_differs_from_pooled_mean():
    # K = 2 joints, 3 samples, batch size 2 -> batches [s0, s1], [s2]
    hit, miss = ((20, 8), (21, 8)), ((30, 8), (20, 8))       # (pred, gt) pairs, distance 1 / 10
    ign = ((20, 8), None)
    rows = [(hit, hit), (miss, ign), (hit, ign)]
    pred = maps([[p for p, _ in r] for r in rows])
    gt = maps([[g for _, g in r] for r in rows])
    res = ccssl_pck(pred, gt, batch_size=2)
    # joint 0: batch accs 1/2 and 1 -> 0.75 (pooled would be 2/3); joint 1: only batch 1, acc 1
    np.testing.assert_allclose(res["per_joint"], [0.75, 1.0])
    np.testing.assert_array_equal(res["counts"], [2, 1])
    # batch means: (0.5 + 1) / 2 = 0.75 over 2 samples, 1.0 over 1 sample -> 2.5 / 3 (pooled: 3 / 4)
    assert res["mean"] == pytest.approx(2.5 / 3)
    assert res["num_samples"] == 3 and res["num_batches"] == 2
    # UDA group score: sum(pck * count) / sum(count) = (0.75 * 2 + 1 * 1) / 3
    g = group_scores(res["per_joint"], res["counts"], {"both": (0, 1), "j1": (1,)})
    assert g["both"] == pytest.approx(2.5 / 3) and g["j1"] == pytest.approx(1.0)
    # one batch of 3: joint 0 = 2/3, joint 1 = 1, mean (2/3 + 1) / 2
    one = ccssl_pck(pred, gt, batch_size=3)
    np.testing.assert_allclose(one["per_joint"], [2 / 3, 1.0])
    assert one["mean"] == pytest.approx(5 / 6)


def test_batch_without_valid_joint_counts_as_zero_in_the_mean():
    good = [[(20, 8), (30, 8)]] * 2
    pred = maps(good * 2)
    gt = maps(good + [[None, None]] * 2)
    res = ccssl_pck(pred, gt, batch_size=2)
    # batch 1: acc[0] = 1 (weight 2); batch 2: no valid joint, acc[0] stays 0 (weight 2)
    assert res["mean"] == pytest.approx(0.5)
    np.testing.assert_allclose(res["per_joint"], [1.0, 1.0])
    np.testing.assert_array_equal(res["counts"], [1, 1])
    never = ccssl_pck(maps([[(5, 5)]]), maps([[None]]), batch_size=1)
    assert math.isnan(never["per_joint"][0]) and never["mean"] == 0.0


def test_tigdog18_groups_and_joint_names():
    spec = get_spec("tigdog18")
    rng = np.random.default_rng(0)
    gt_pts = [[(int(x), int(y)) for x, y in zip(rng.integers(5, 60, 18), rng.integers(3, 14, 18))] for _ in range(8)]
    # joint j is predicted exactly in the first (j % 8) + 1 samples, 6 px off otherwise
    pred_pts = [[(x, y) if i <= j % 8 else ((x + 6) % W, y) for j, (x, y) in enumerate(row)]
                for i, row in enumerate(gt_pts)]
    res = ccssl_pck(maps(pred_pts), maps(gt_pts), batch_size=8, spec="tigdog18")
    expected = np.array([(j % 8 + 1) / 8 for j in range(18)])
    np.testing.assert_allclose(res["per_joint"], expected)
    assert res["joints"] == list(spec.joints)
    for name, idx in spec.groups.items():
        assert res["groups"][name] == pytest.approx(expected[list(idx)].mean())
    assert set(res["groups"]) == {"eye", "chin", "shoulder", "hip", "elbow", "knee", "hoof"}
    assert res["curve"]["pck"][-1] >= res["curve"]["pck"][0]


def test_reference_auc_hand_computed():
    # thresholds i/99, i = 1..80: 0.1 is beaten from i = 10 (71 thresholds), 0.5 from i = 50 (31), 0.9 never
    assert reference_auc(np.array([[0.1, -1], [0.5, 0.9]])) == pytest.approx((71 + 31) / 3 / 80)
    assert math.isnan(reference_auc(np.full((2, 2), -1.0)))


def test_torch_input_and_errors():
    torch = pytest.importorskip("torch")
    pred = maps([[(10, 5), (12, 3)]] * 3)
    gt = maps([[(11, 5), (3, 3)]] * 3)
    a = ccssl_pck(torch.from_numpy(pred), torch.from_numpy(gt), batch_size=2)
    b = ccssl_pck(pred, gt, batch_size=2)
    np.testing.assert_allclose(a["per_joint"], b["per_joint"])
    with pytest.raises(ValueError, match="differ in shape"):
        batch_distances(pred, gt[:, :1])
    with pytest.raises(ValueError, match="no batch"):
        CCSSLAccumulator().result()
    with pytest.raises(ValueError, match="spec tigdog18 has 18 joints"):
        CCSSLAccumulator(spec="tigdog18").update(pred, gt)


# --------------------------------------------------------------------------
# Independent implementation: straight loops over samples and joints, written
# from the protocol description (bearpaw get_preds / calc_dists / dist_acc /
# accuracy, the test.py validate loop and the UDA group print-out).
# --------------------------------------------------------------------------
def loop_reference(output, target, batch_size, groups, thr=0.5):
    n_all, k = output.shape[:2]

    def get_preds(hm):
        preds = np.zeros((hm.shape[0], k, 2))
        for n in range(hm.shape[0]):
            for c in range(k):
                flat = list(hm[n, c].reshape(-1))
                best = max(flat)
                i = flat.index(best)
                if best > 0:
                    preds[n, c] = (i % hm.shape[3] + 1, i // hm.shape[3] + 1)
        return preds

    pck_score, pck_count = np.zeros(k), np.zeros(k)
    meter_sum, meter_count = 0.0, 0
    for s in range(0, n_all, batch_size):
        out, tgt = output[s:s + batch_size], target[s:s + batch_size]
        p, g = get_preds(out), get_preds(tgt)
        norm = out.shape[3] / 10
        dists = np.zeros((k, out.shape[0]))
        for n in range(out.shape[0]):
            for c in range(k):
                if g[n, c, 0] > 1 and g[n, c, 1] > 1:
                    dists[c, n] = math.dist(p[n, c], g[n, c]) / norm
                else:
                    dists[c, n] = -1
        acc = [0.0] * (k + 1)
        total, cnt = 0.0, 0
        for c in range(k):
            d = [v for v in dists[c] if v != -1]
            acc[c + 1] = sum(v < thr for v in d) / len(d) if d else -1
            if acc[c + 1] >= 0:
                total += acc[c + 1]
                cnt += 1
        if cnt:
            acc[0] = total / cnt
        for c in range(k):
            if acc[c + 1] > -1:
                pck_score[c] += acc[c + 1]
                pck_count[c] += 1
        meter_sum += acc[0] * out.shape[0]
        meter_count += out.shape[0]
    with np.errstate(invalid="ignore"):
        per_joint = pck_score / pck_count
    grp = {}
    for name, idx in groups.items():
        sc = sum(per_joint[j] * pck_count[j] for j in idx if pck_count[j])
        ct = sum(pck_count[j] for j in idx)
        grp[name] = sc / ct if ct else float("nan")
    return per_joint, pck_count, meter_sum / meter_count, grp


def random_maps(rng, n, k, h=12, w=40):
    target = np.zeros((n, k, h, w), np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        for j in range(k):
            r = rng.random()
            if r < 0.15:
                continue                                   # no target
            x, y = rng.integers(0, w), rng.integers(0, h)
            if r < 0.25:
                x = 0                                      # first column -> ignored
            elif r < 0.3:
                y = 0                                      # first row -> ignored
            target[i, j] = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 2.0)
    pred = np.empty_like(target)
    for i in range(n):                                     # shift by 0-4 px: hits and misses (thr 0.5 * w/10)
        pred[i] = np.roll(target[i], shift=int(rng.integers(0, 5)), axis=2)
    pred = pred * rng.uniform(0.3, 1.0, (n, k, 1, 1)) + 0.12 * rng.standard_normal(target.shape)
    pred[rng.random((n, k)) < 0.1] = -1.0                  # some all-negative outputs
    return pred.astype(np.float32), target


@pytest.mark.parametrize("batch_size", [1, 4, 6, 7, 40])
def test_matches_independent_loop_implementation(batch_size):
    rng = np.random.default_rng(batch_size)
    k = 6
    groups = {"a": (0, 1), "b": (2,), "c": (3, 4, 5)}
    pred, target = random_maps(rng, 40, k)
    ref_pj, ref_cnt, ref_mean, ref_grp = loop_reference(pred, target, batch_size, groups)
    res = ccssl_pck(pred, target, batch_size=batch_size)
    np.testing.assert_allclose(res["per_joint"], ref_pj, equal_nan=True)
    np.testing.assert_array_equal(res["counts"], ref_cnt)
    assert res["mean"] == pytest.approx(ref_mean)
    got = group_scores(res["per_joint"], res["counts"], groups)
    for name in groups:
        assert got[name] == pytest.approx(ref_grp[name], nan_ok=True)
    # the accumulator fed batch by batch gives the same numbers
    acc = CCSSLAccumulator()
    for s in range(0, 40, batch_size):
        acc.update(pred[s:s + batch_size], target[s:s + batch_size])
    assert acc.result()["mean"] == pytest.approx(ref_mean)


def test_argmax_keeps_float64_precision():
    # two values that float32 would merge: the later, larger one is the maximum
    hm = np.zeros((1, 1, 4, 4), np.float64)
    hm[0, 0, 0, 1] = 1.0
    hm[0, 0, 2, 3] = 1.0 + 1e-12
    np.testing.assert_array_equal(heatmap_argmax_1based(hm), [[[4.0, 3.0]]])
