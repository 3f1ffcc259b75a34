import numpy as np
import pytest

from animalpose.keypoints import (KeypointMapping, KeypointSpec, get_mapping, get_spec, list_mappings,
                                  list_specs)


def test_registry_lists_required_specs():
    assert {"tigdog18", "animalpose20", "coco17", "crowdpose14", "tigdog14"} <= set(list_specs())
    with pytest.raises(KeyError, match="unknown keypoint spec 'nope'.*tigdog18"):
        get_spec("nope")


def test_tigdog18_matches_reference_order_pairs_and_groups():
    s = get_spec("tigdog18")
    assert s.num_joints == 18
    assert s.joints[7] == "hip" and s.joints[2] == "chin"
    # reference flip pairs (matchedParts['real_animal'])
    assert sorted(s.flip_pairs) == [(0, 1), (3, 4), (5, 6), (8, 9), (10, 11), (12, 13), (14, 15), (16, 17)]
    # report groups of the UDA evaluation script
    assert dict(s.groups) == {"eye": (0, 1), "chin": (2,), "hoof": (3, 4, 5, 6), "hip": (7,),
                              "knee": (8, 9, 10, 11), "shoulder": (12, 13), "elbow": (14, 15, 16, 17)}
    covered = sorted(i for g in s.groups.values() for i in g)
    assert covered == list(range(18))
    # every pair joins an l_ joint with its r_ twin
    for a, b in s.flip_pairs:
        assert s.joints[a].startswith("l_") and s.joints[b] == "r_" + s.joints[a][2:]


def test_tiger_remap_swaps_knee_and_elbow_blocks():
    s = get_spec("tigdog18")
    expected = np.array([1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17, 18, 13, 14, 9, 10, 11, 12]) - 1
    np.testing.assert_array_equal(s.remaps["tiger"], expected)
    raw = np.arange(18 * 3, dtype=np.float32).reshape(18, 3)
    canon = s.remap(raw, "tiger")
    np.testing.assert_array_equal(canon[8], raw[14])      # canonical knee <- raw elbow slot
    np.testing.assert_array_equal(s.remap(canon, "tiger"), raw)  # involution


def test_flip_keypoints_hand_computed():
    s = get_spec("tigdog18")
    kp = np.zeros((18, 3), np.float32)
    kp[0] = [10, 20, 1]     # l_eye
    kp[1] = [30, 22, 1]     # r_eye
    kp[7] = [50, 60, 1]     # hip (unpaired)
    kp[5] = [0, 0, 0]       # unlabelled stays put
    f = s.flip_keypoints(kp, width=100)
    np.testing.assert_allclose(f[0], [100 - 30 - 1, 22, 1])   # new l_eye = mirrored old r_eye
    np.testing.assert_allclose(f[1], [100 - 10 - 1, 20, 1])
    np.testing.assert_allclose(f[7], [49, 60, 1])
    np.testing.assert_allclose(f[6], [0, 0, 0])
    np.testing.assert_allclose(s.flip_keypoints(f, 100), kp)


def test_coco_sigmas_equal_pycocotools():
    from pycocotools.cocoeval import Params
    p = Params(iouType="keypoints")
    np.testing.assert_allclose(get_spec("coco17").sigmas_array, p.kpt_oks_sigmas)
    s = get_spec("coco17")
    assert s.joints[0] == "nose" and s.joints[16] == "right_ankle" and len(s.skeleton) == 19


def test_crowdpose_and_animalpose_specs():
    c = get_spec("crowdpose14")
    assert c.joints[12:] == ("head", "neck") and len(c.sigmas) == 14
    a = get_spec("animalpose20")
    assert a.joints[:5] == ("l_eye", "r_eye", "nose", "l_earbase", "r_earbase")
    assert a.joints[17:] == ("throat", "withers", "tailbase")
    assert len(a.flip_pairs) == 8 and len(a.sigmas) == 20
    with pytest.raises(ValueError, match="defines no OKS sigmas"):
        get_spec("tigdog18").sigmas_array


def test_animalpose_to_tigdog14_equals_published_index_list():
    m = get_mapping("animalpose20", "tigdog14")
    # UDA_PoseEstimation: tigdog14[i] = animalpose[pts_index[i]]
    pts_index = [0, 1, 13, 14, 15, 16, 9, 10, 11, 12, 5, 6, 7, 8]
    src = np.arange(20 * 3, dtype=np.float32).reshape(20, 3)
    np.testing.assert_array_equal(m.apply(src), src[pts_index])
    sub = get_mapping("tigdog18", "tigdog14")
    x = np.arange(18 * 3, dtype=np.float32).reshape(18, 3)
    np.testing.assert_array_equal(sub.apply(x), x[[0, 1, 3, 4, 5, 6, 8, 9, 10, 11, 14, 15, 16, 17]])


@pytest.mark.parametrize("name", list_mappings())
def test_mappings_commute_with_horizontal_flip(name):
    m = get_mapping(name)
    src, dst = get_spec(m.src), get_spec(m.dst)
    rng = np.random.default_rng(0)
    kp = np.concatenate([rng.uniform(0, 99, (src.num_joints, 2)), np.ones((src.num_joints, 1))], 1)
    a = m.apply(src.flip_keypoints(kp, 100))
    b = dst.flip_keypoints(m.apply(kp), 100)
    np.testing.assert_allclose(a[m.mask], b[m.mask], atol=1e-5)


def test_human_to_animal_mapping_masks_unmapped_joints():
    m = get_mapping("coco17", "animalpose20")
    ap = get_spec("animalpose20")
    mask = m.mask
    for j in ("throat", "withers", "tailbase", "l_f_knee", "r_b_elbow"):
        assert not mask[ap.index(j)]
    for j in ("l_eye", "nose", "l_f_elbow", "l_f_paw", "l_b_knee", "r_b_paw"):
        assert mask[ap.index(j)]
    kp = np.ones((17, 3), np.float32)
    out = m.apply(kp)
    assert out.shape == (20, 3)
    np.testing.assert_array_equal(out[~mask], 0)
    np.testing.assert_array_equal(out[mask], 1)
    with pytest.raises(ValueError, match="expected 17 coco17 joints"):
        m.apply(np.ones((18, 3)))


def test_spec_validation_rejects_bad_definitions():
    with pytest.raises(ValueError, match="bad flip pair"):
        KeypointSpec("x", ("a", "b"), ((0, 0),), ())
    with pytest.raises(ValueError, match="2 sigmas for 3 joints"):
        KeypointSpec("x", ("a", "b", "c"), (), (), sigmas=(0.1, 0.1))
    with pytest.raises(ValueError, match="mapped twice"):
        KeypointMapping("m", "coco17", "tigdog18", ((0, 1), (1, 1)))
