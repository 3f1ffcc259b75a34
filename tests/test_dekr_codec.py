"""DEKR target generator and decoder on hand-built multi-person cases."""
import numpy as np
import pytest
import torch

from animalpose.codecs.dekr import DEKRCodec, joint_areas, offsets_to_poses, person_centers
from animalpose.keypoints import get_spec

SPEC = get_spec("coco17")


def _person(cx, cy, half, seed):
    """17 labelled joints spread in a box of half side ``half`` around (cx, cy)."""
    rng = np.random.default_rng(seed)
    kp = np.zeros((17, 3))
    kp[:, 0] = cx + rng.uniform(-half, half, 17)
    kp[:, 1] = cy + rng.uniform(-half, half, 17)
    kp[:, 2] = 2
    return kp


def _decode_exact(codec, targets, flip=False):
    hm = torch.from_numpy(targets["heatmaps"])
    poses = offsets_to_poses(torch.from_numpy(targets["offsets"])[None])[0]
    cand = codec.decode(hm, poses)
    return codec.pose_nms(hm, [cand])


@pytest.fixture
def codec():
    return DEKRCodec(input_size=(256, 256), heatmap_size=(64, 64))


def test_centres_and_areas_by_hand():
    kp = np.array([[[0, 0, 2], [4, 0, 1], [2, 6, 2], [100, 100, 0]]], float)
    c, ok = person_centers(kp)
    np.testing.assert_allclose(c, [[2.0, 2.0]])
    assert ok.tolist() == [True]
    np.testing.assert_allclose(joint_areas(kp), [4 ** 2 + 6 ** 2])
    c, ok = person_centers(np.zeros((1, 4, 3)))
    assert ok.tolist() == [False]


def test_heatmaps_mask_and_background_weight(codec):
    kp = np.zeros((1, 17, 3))
    kp[0, :, :2] = [20.25, 30.5]
    kp[0, :, 2] = 2
    kp[0, 5, 2] = 0                                   # unlabelled: not drawn
    kp[0, 6, :2] = [70, 10]                           # outside the 64x64 map: not drawn
    t = codec.encode_hm(kp)
    hm, mask = t["heatmaps"], t["mask"]
    assert hm.shape == mask.shape == (18, 64, 64)
    # float-centred, unnormalised Gaussian with sigma 2 (joints) and 4 (centre = mean of the labelled joints)
    ys, xs = np.mgrid[:64, :64]
    cx = (20.25 * 15 + 70) / 16                        # mean of the 16 labelled joints (off-map ones count)
    cy = (30.5 * 15 + 10) / 16
    win = (xs >= np.floor(20.25 - 7)) & (xs < np.ceil(20.25 + 8)) & (ys >= np.floor(30.5 - 7)) & (ys < np.ceil(30.5 + 8))
    np.testing.assert_allclose(hm[0], np.exp(-((xs - 20.25) ** 2 + (ys - 30.5) ** 2) / 8) * win, atol=1e-6)
    cwin = (xs >= np.floor(cx - 13)) & (xs < np.ceil(cx + 14)) & (ys >= np.floor(cy - 13)) & (ys < np.ceil(cy + 14))
    np.testing.assert_allclose(hm[17], np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / 32) * cwin, atol=1e-6)
    assert hm[5].max() == 0 and hm[6].max() == 0
    # loss mask: 1 inside a window, background weight 0.1 elsewhere
    np.testing.assert_array_equal(mask[0], np.where(win, 1.0, 0.1).astype(np.float32))
    assert set(np.unique(mask[5])) == {np.float32(0.1)}
    ignore = np.ones((64, 64), np.float32)
    ignore[:, :10] = 0
    assert codec.encode_hm(kp, ignore_mask=ignore)["mask"][:, :, :10].max() == 0


def test_offsets_radius_and_area_normalisation(codec):
    kp = _person(30.3, 40.7, 6, seed=0)[None]
    t = codec.encode_hm(kp)
    off, w = t["offsets"], t["offset_weights"]
    cx, cy = kp[0, :, 0].mean(), kp[0, :, 1].mean()
    ix, iy = int(cx), int(cy)
    sel = np.zeros((64, 64), bool)
    sel[iy - 4:iy + 4, ix - 4:ix + 4] = True               # the square [int(c) - 4, int(c) + 4)
    area = joint_areas(kp)[0]
    for j in range(17):
        np.testing.assert_allclose(w[2 * j][sel], 1 / np.sqrt(area), rtol=1e-6)
        np.testing.assert_allclose(w[2 * j + 1][sel], 1 / np.sqrt(area), rtol=1e-6)
        assert not w[2 * j][~sel].any()
        ys, xs = np.nonzero(sel)
        np.testing.assert_allclose(off[2 * j][sel], xs - kp[0, j, 0], atol=1e-5)        # pixel - joint
        np.testing.assert_allclose(off[2 * j + 1][sel], ys - kp[0, j, 1], atol=1e-5)
    # explicit areas are used as given
    t2 = codec.encode_hm(kp, areas=[400.0])
    np.testing.assert_allclose(t2["offset_weights"][0][sel], 1 / 20.0)


def test_overlap_goes_to_the_smaller_person(codec):
    big = _person(30, 30, 12, seed=1)
    small = _person(30, 30, 3, seed=2)
    big[:, :2] += 30 - big[:, :2].mean(0)                 # same centre pixel for both
    small[:, :2] += 30.4 - small[:, :2].mean(0)
    for order in ([big, small], [small, big]):
        t = codec.encode_hm(np.stack(order))
        sel = (slice(26, 34), slice(26, 34))
        np.testing.assert_allclose(t["offset_weights"][0][sel], 1 / np.sqrt(joint_areas(small[None])[0]), rtol=1e-6)
        np.testing.assert_allclose(t["offsets"][0][sel], np.arange(26, 34)[None, :] - small[0, 0] + 0 * t["offsets"][0][sel],
                                   atol=1e-5)


def test_no_centre_without_labels_or_when_flagged(codec):
    a, b = _person(15, 15, 5, 3), _person(45, 45, 5, 4)
    t = codec.encode_hm(np.stack([a, b]), has_center=[True, False])
    assert t["centers"][:, 2].tolist() == [1.0, 0.0]
    assert t["heatmaps"][17][40:50, 40:50].max() < 1e-3          # no centre peak for b
    assert t["offset_weights"][:, 40:50, 40:50].max() == 0        # and no offsets
    assert t["heatmaps"][0][35:55, 35:55].max() > 0.5             # but b's joints are drawn


def test_decoding_exact_targets_returns_ground_truth(codec):
    people = np.stack([_person(14, 16, 7, 10), _person(44, 20, 9, 11), _person(30, 48, 8, 12)])
    people[1, 4, 2] = 0                                           # an unlabelled joint
    poses, scores = _decode_exact(codec, codec.encode_hm(people))
    assert poses.shape == (3, 17, 3) and scores.shape == (3,)
    lab = people[..., 2] > 0
    for gt, m in zip(people, lab):
        err = np.abs(poses[:, m, :2] - gt[None, m, :2]).max(axis=(1, 2))
        assert err.min() < 1e-4                                   # every person found exactly
    assert (scores > 0.5).all()


def test_encode_in_input_pixels_divides_by_stride(codec):
    people = np.stack([_person(14, 16, 7, 10), _person(44, 20, 9, 11)])
    a = codec.encode_hm(people)
    scaled = people.copy()
    scaled[..., :2] *= 4
    b = codec.encode(scaled)
    for k in ("heatmaps", "mask", "offsets", "offset_weights"):
        np.testing.assert_allclose(a[k], b[k], atol=1e-5)


def test_centre_peaks_threshold_and_top_k():
    codec = DEKRCodec(input_size=(64, 64), heatmap_size=(16, 16), max_people=2, keypoint_threshold=0.2)
    c = torch.zeros(16, 16)
    c[2, 3], c[8, 8], c[8, 9], c[12, 4], c[14, 14] = 0.9, 0.5, 0.4, 0.7, 0.1
    idx, sc = codec.center_peaks(c)
    assert idx.tolist() == [2 * 16 + 3, 12 * 16 + 4] and torch.allclose(sc, torch.tensor([0.9, 0.7]))
    codec.max_people = 30
    idx, _ = codec.center_peaks(c)
    assert sorted(idx.tolist()) == sorted([2 * 16 + 3, 8 * 16 + 8, 12 * 16 + 4])   # (8, 9) suppressed, 0.1 too low
    assert codec.pool_kernel(128, 128) == 3 and codec.pool_kernel(256, 160) == 5 and codec.pool_kernel(400, 300) == 7


def test_pose_nms_merges_duplicates_and_keeps_the_best():
    codec = DEKRCodec(input_size=(256, 256), heatmap_size=(64, 64))
    people = np.round(np.stack([_person(20, 20, 10, 5), _person(44, 44, 10, 6)]))   # peaks exactly on pixels
    t = codec.encode_hm(people)
    hm = torch.from_numpy(t["heatmaps"])
    a = torch.from_numpy(np.concatenate([people[0][:, :2], np.full((17, 1), 0.9)], 1)).float()
    near = a.clone()
    near[:, 0] += 1.0                                              # a duplicate of person 0 (< 0.05 sqrt(area))
    b = torch.from_numpy(np.concatenate([people[1][:, :2], np.full((17, 1), 0.8)], 1)).float()
    poses, scores = codec.pose_nms(hm, [torch.stack([near, a, b])])
    assert poses.shape[0] == 2
    np.testing.assert_allclose(poses[0, :, :2], people[0][:, :2], atol=1e-5)   # the exact one has the higher heat
    np.testing.assert_allclose(poses[1, :, :2], people[1][:, :2], atol=1e-5)
    # joint score = centre score x heatmap value at the joint (floor index); pose score = their mean
    np.testing.assert_allclose(poses[0, :, 2], 0.9 * codec.heat_values(a[None, :, :2], hm)[0].numpy(), rtol=1e-5)
    np.testing.assert_allclose(scores, poses[:, :, 2].mean(1), rtol=1e-6)


def test_flip_merge_of_mirrored_exact_targets_is_the_identity(codec):
    people = np.stack([_person(20, 24, 8, 7), _person(42, 36, 9, 8)])
    t = codec.encode_hm(people)
    flipped = SPEC.flip_keypoints(people, 64)                      # x' = W - x - 1, left/right swapped
    tf = codec.encode_hm(flipped)
    hm = torch.from_numpy(t["heatmaps"])[None]
    poses = offsets_to_poses(torch.from_numpy(t["offsets"])[None])
    hm_m, poses_m = codec.flip_merge(hm, poses, torch.from_numpy(tf["heatmaps"])[None],
                                     torch.from_numpy(tf["offsets"])[None], SPEC.flip_index)
    np.testing.assert_allclose(hm_m.numpy(), hm.numpy(), atol=5e-3)
    # where both the plain and the mirrored targets regress offsets, the merged poses equal the plain ones
    both = (t["offset_weights"][0] > 0) & (np.flip(tf["offset_weights"][0], 1) > 0)
    assert both.sum() > 20
    pm = poses_m[0].numpy()[:, :, both]
    np.testing.assert_allclose(pm, poses[0].numpy()[:, :, both], atol=1e-4)
    merged, _ = codec.pose_nms(hm_m[0], [codec.decode(hm_m[0], poses_m[0])])
    for gt in people:
        assert np.abs(merged[:, :, :2] - gt[None, :, :2]).max(axis=(1, 2)).min() < 1e-3


def test_multi_scale_scores_are_normalised_and_decreased(codec):
    people = np.stack([_person(20, 20, 8, 5)])
    t = codec.encode_hm(people)
    hm = torch.from_numpy(t["heatmaps"])
    p = torch.from_numpy(np.concatenate([people[0][:, :2], np.full((17, 1), 0.5)], 1)).float()
    far = p.clone()
    far[:, :2] += 30
    far[:, 2] = 0.25
    poses, _ = codec.pose_nms(hm, [far[None], p[None]], scale1_index=1)
    assert poses.shape[0] == 2
    heat_far = codec.heat_values(far[None, :, :2], hm)[0].numpy()
    row = [i for i in range(2) if abs(poses[i, 0, 0] - far[0, 0].item()) < 1e-4][0]
    np.testing.assert_allclose(poses[row, :, 2], 0.5 * 0.9 * heat_far, rtol=1e-5)   # max -> scale-1 max x 0.9


# ---------------------------------------------------------------------- heatmap matching (TEST.MATCH_HMP)
def _gauss(h, w, x0, y0, s, a=1.0):
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    return a * np.exp(-((xs - x0) ** 2 + (ys - y0) ** 2) / (2 * s ** 2))


def test_gaussian_fit_recovers_an_analytic_gaussian():
    from animalpose.codecs.dekr import fit_gaussians
    truth = [(0.8, 6.3, 5.7, 2.5), (0.3, 4.1, 7.9, 1.6), (1.2, 6.0, 6.0, 3.0)]
    patches = torch.tensor(np.stack([_gauss(13, 13, x, y, s, a) for a, x, y, s in truth]))
    valid = torch.ones(3, 13, 13, dtype=torch.bool)
    valid[1, :, :3] = False                          # a window clipped at the left border
    init = torch.tensor([[p[6, 6].item(), 6.0, 6.0, 2.0] for p in patches], dtype=torch.float64)
    params, ok = fit_gaussians(patches, valid, init)
    assert ok.all()
    np.testing.assert_allclose(params.numpy(), np.array(truth), atol=1e-6)


def test_absorb_snaps_to_the_nearest_peak_within_the_distance():
    codec = DEKRCodec(input_size=(64, 64), heatmap_size=(64, 64), max_absorb_distance=5.0)
    hm = torch.zeros(3, 40, 40)                      # K = 2 joints + centre
    hm[0] = torch.tensor(_gauss(40, 40, 10, 10, 2) + 0.8 * _gauss(40, 40, 30, 30, 2))
    hm[1] = torch.tensor(_gauss(40, 40, 20, 5, 2))
    poses = torch.tensor([[[12.0, 11.0, 0.9], [20.0, 12.0, 0.9]],      # joint 0 -> (10, 10); joint 1 too far
                          [[27.0, 29.0, 0.9], [23.0, 8.0, 0.9]]])      # joint 0 -> (30, 30); joint 1 -> (20, 5)
    out = codec.absorb(poses, hm)
    np.testing.assert_allclose(out[..., :2].numpy(), [[[10, 10], [20, 12]], [[30, 30], [20, 5]]])
    np.testing.assert_allclose(out[..., 2].numpy(), poses[..., 2].numpy())


def test_match_to_heatmap_refines_joints_above_the_score_threshold():
    codec = DEKRCodec(input_size=(64, 64), heatmap_size=(64, 64), match_heatmap=True,
                      max_absorb_distance=6.0, adjust_threshold=0.05)
    hm = torch.zeros(3, 48, 48)
    hm[0] = torch.tensor(_gauss(48, 48, 20.3, 14.6, 8.0))             # upsampled-map sigma (2 x stride 4)
    hm[1] = torch.tensor(_gauss(48, 48, 40.6, 3.2, 8.0))              # near the border: clipped window
    poses = np.array([[[22.0, 16.0, 0.5], [41.0, 2.0, 0.5]],
                      [[21.0, 15.0, 0.01], [30.0, 30.0, 0.5]]], np.float32)
    out = codec.match_to_heatmap(poses, hm)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0, :2], [20.3, 14.6], atol=1e-4)   # absorbed to (20, 15), then fitted
    np.testing.assert_allclose(out[0, 1, :2], [40.6, 3.2], atol=1e-4)
    np.testing.assert_allclose(out[1, 0, :2], [20.0, 15.0])               # absorbed, score too low to adjust
    np.testing.assert_allclose(out[:, :, 2], poses[:, :, 2])


def test_matching_exact_targets_keeps_the_ground_truth(codec):
    people = np.stack([_person(20, 20, 8, 1), _person(44, 40, 10, 2)])
    t = codec.encode_hm(people)
    matched = DEKRCodec(input_size=(256, 256), heatmap_size=(64, 64), match_heatmap=True, max_absorb_distance=3.0)
    poses, _ = _decode_exact(matched, t)
    refined = matched.match_to_heatmap(poses, torch.from_numpy(t["heatmaps"]))
    order = np.argsort(refined[:, 0, 0])
    np.testing.assert_allclose(refined[order, :, :2], people[:, :, :2], atol=0.05)
