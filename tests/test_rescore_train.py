"""DEKR rescore-net training: the data of COCORescoreEval (best OKS per pose and area range) and the fit."""
import numpy as np
import pytest
import torch

from animalpose.engine.rescore import build_rescore_net, fit_rescore_net, rescore_data, rescore_skeleton
from animalpose.keypoints import get_spec
from evaluation.rescore_data import rescore_samples

SIG = get_spec("coco17").sigmas_array


def _person(x0, y0, area, ann_id, image_id, crowd=0, labelled=True):
    """A person with 17 joints on a 4 x 5 grid from (x0, y0), 10 px apart."""
    kp = np.zeros((17, 3))
    kp[:, 0] = x0 + 10 * (np.arange(17) % 4)
    kp[:, 1] = y0 + 10 * (np.arange(17) // 4)
    kp[:, 2] = 2 if labelled else 0
    if not labelled:
        kp[:, :2] = 0
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "keypoints": kp.reshape(-1).tolist(),
            "num_keypoints": 17 if labelled else 0, "area": float(area), "iscrowd": crowd,
            "bbox": [x0, y0, 40.0, 50.0]}, kp


def _det(kp, image_id, score, dx=0.0):
    d = kp.copy()
    d[:, 0] += dx
    d[:, 2] = 0.5
    return {"image_id": image_id, "category_id": 1, "keypoints": d.reshape(-1).tolist(), "score": score}


def _shift_oks(dx, area):
    """Hand formula: every joint of a labelled GT moved by dx pixels."""
    return float(np.mean(np.exp(-dx ** 2 / (2 * area * (2 * SIG) ** 2))))


@pytest.fixture()
def gt_and_results():
    a, kp_a = _person(100, 100, 5000, 1, 1)            # medium (32^2 .. 96^2)
    b, kp_b = _person(1000, 100, 20000, 2, 1)          # large
    c, _ = _person(300, 300, 3000, 3, 2, crowd=1, labelled=False)   # image 2: only an ignored (crowd) GT
    g4, kp_4 = _person(100, 100, 20000, 4, 4)
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 1200, "height": 800} for i in (1, 2, 3, 4)]
    gt = {"images": images, "annotations": [a, b, c, g4],
          "categories": [{"id": 1, "name": "person", "keypoints": [str(i) for i in range(17)], "skeleton": []}]}
    results = [_det(kp_a, 1, 0.9), _det(kp_b, 1, 0.8, dx=3.0)]
    # image 2: a pose inside the crowd box, whose box distance is 0 for every joint
    results.append(_det(np.tile([[310.0, 320.0, 0]], (17, 1)), 2, 0.7))
    results.append(_det(kp_a, 3, 0.6))                 # image 3 has no ground truth: recorded nowhere
    results += [_det(kp_4, 4, 1.0 - 0.01 * i, dx=float(i)) for i in range(25)]   # only the best 20 count
    return gt, results


def test_best_oks_per_pose_and_area_range_as_cocorescoreeval(gt_and_results):
    gt, results = gt_and_results
    poses, oks = rescore_samples(gt, results)
    per_range = 2 + 1 + 20
    assert poses.shape == (3 * per_range, 17, 3) and oks.shape == (3 * per_range,)
    shift_b = _shift_oks(3.0, 20000)
    img4 = [_shift_oks(float(i), 20000) for i in range(20)]
    want_all = [1.0, shift_b, 1.0] + img4
    # medium: B (large) is ignored, so pose B's best OKS is against A, 900 px away: 0
    want_medium = [1.0, 0.0, 1.0] + img4                # image 4's only GT is ignored: the max over it stays
    want_large = [0.0, shift_b, 1.0] + img4             # A is ignored in the large range
    np.testing.assert_allclose(oks, want_all + want_medium + want_large, rtol=1e-12, atol=1e-150)   # 900 px apart: e^-442
    # the poses are the results' own values, in score order per image
    np.testing.assert_array_equal(poses[1, :, 0], np.asarray(results[1]["keypoints"]).reshape(17, 3)[:, 0])
    np.testing.assert_array_equal(poses[3 + 19], np.asarray(results[4 + 19]["keypoints"]).reshape(17, 3))


def test_crowdpose_has_one_area_range_on_the_box_area():
    k = 14
    kp = np.zeros((k, 3))
    kp[:, 0], kp[:, 1], kp[:, 2] = 50 + 5 * np.arange(k), 60.0, 2
    ann = {"id": 1, "image_id": 1, "category_id": 1, "keypoints": kp.reshape(-1).tolist(), "num_keypoints": k,
           "iscrowd": 0, "bbox": [40.0, 40.0, 100.0, 80.0]}
    gt = {"images": [{"id": 1, "file_name": "1.jpg", "width": 300, "height": 200, "crowdIndex": 0.1}],
          "annotations": [ann], "categories": [{"id": 1, "name": "person"}]}
    d = kp.copy()
    d[:, 1] += 2.0
    res = [{"image_id": 1, "category_id": 1, "keypoints": d.reshape(-1).tolist(), "score": 0.9}]
    poses, oks = rescore_samples(gt, res, benchmark="crowdpose")
    s = get_spec("crowdpose14").sigmas_array
    area = 0.53 * 100 * 80
    assert oks.shape == (1,)
    assert oks[0] == pytest.approx(np.mean(np.exp(-4.0 / (2 * area * (2 * s) ** 2))), rel=1e-12)


def test_rescore_data_of_perfect_outputs_scores_every_person_near_one(tmp_path):
    from animalpose.codecs.dekr import DEKRCodec
    from animalpose.engine.config import load_experiment
    from animalpose.engine.data import build_normalize
    from datasets.coco import CocoKeypoints
    from datasets.render.coco_writer import render_coco_split
    from dekr_helpers import Replay, exact_dekr_outputs
    render_coco_split(tmp_path / "coco", "train2017", num_images=4, seed=3, image_size=(192, 144),
                      multi_person_fraction=0.7)
    src = CocoKeypoints.from_root(str(tmp_path / "coco"), "train2017")
    codec = DEKRCodec(input_size=(256, 256), heatmap_size=(64, 64))
    norm = build_normalize(load_experiment("demo_human_dekr").normalize)
    res = rescore_data(Replay(exact_dekr_outputs(src, 256), stride=4), src, codec, norm, "coco17",
                       torch.device("cpu"), flip=False)
    people = sum(1 for i in src.image_ids for p in src.people(i) if (p.keypoints[:, 2] > 0).any())
    n = len(res["results"])
    assert people - 1 <= n <= people                             # (two overlapping people may merge in NMS)
    assert res["poses"].shape == (3 * n, 17, 3)                  # all, medium, large: every image has people
    assert (res["oks"][:n] > 0.99).all()                         # range "all": every pose finds its person
    got = sorted(map(tuple, np.round(res["poses"][:n, :, :2].reshape(n, -1), 3)))
    want = sorted(tuple(np.round(np.asarray(r["keypoints"]).reshape(17, 3)[:, :2].reshape(-1), 3))
                  for r in res["results"])
    assert got == want


def test_fit_learns_the_targets_and_sets_oks_one_to_zero():
    rng = np.random.RandomState(0)
    poses = rng.uniform(0, 100, (2100, 17, 3))
    poses[..., 2] = rng.uniform(0, 1, (2100, 17))
    target = poses[..., 2].mean(1)                                # a function of the joint scores
    net, losses = fit_rescore_net(poses, target, "coco17", epochs=30, lr=1e-3, batch_size=256, seed=0)
    var = float(target.var())
    assert losses[-1] < 0.2 * var < losses[0]
    net2, losses2 = fit_rescore_net(poses, target, "coco17", epochs=30, lr=1e-3, batch_size=256, seed=0)
    assert losses2 == losses                                      # seeded: the same run
    ones = np.ones(2100)
    zero, _ = fit_rescore_net(poses, ones, "coco17", epochs=5, batch_size=256)
    kept, _ = fit_rescore_net(poses, ones, "coco17", epochs=5, batch_size=256, one_to_zero=False)
    assert abs(float(zero.rescore(poses).mean())) < 0.1
    assert abs(float(kept.rescore(poses).mean()) - 1.0) < 0.1


def test_fewer_samples_than_a_batch_train_one_batch_and_bad_input_is_refused():
    poses = np.random.RandomState(1).uniform(0, 50, (10, 17, 3))
    _, losses = fit_rescore_net(poses, np.full(10, 0.5), "coco17", epochs=2, batch_size=1024)
    assert len(losses) == 2 and np.isfinite(losses).all()
    with pytest.raises(ValueError, match="non-finite"):
        fit_rescore_net(poses, np.full(10, np.nan), "coco17")
    with pytest.raises(ValueError, match="N > 0"):
        fit_rescore_net(poses[:0], np.zeros(0), "coco17")


def test_features_follow_the_spec_skeleton_not_the_joint_count():
    # ap10k17 has 17 joints like COCO; its rescore features must use its own skeleton, not DEKR's COCO limbs
    assert rescore_skeleton("coco17") is None and rescore_skeleton("crowdpose14") is None
    assert rescore_skeleton("ap10k17") == "ap10k17"
    ap = get_spec("ap10k17")
    net = build_rescore_net("ap10k17")
    assert net.l1.in_features == 3 * len(ap.skeleton) + 17
    assert net.limbs == tuple((int(a), int(b)) for a, b in ap.skeleton)
    assert build_rescore_net("coco17").l1.in_features == 74
