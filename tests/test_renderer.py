import hashlib
import os

import cv2
import numpy as np
import pytest

from datasets.render.canvas import Part, capsule, paint_layers, visibility
from datasets.render.quadruped import Pose, get_species, pose_animal
from datasets.render.scene import Camera, render_scene


def _digest(folder):
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(folder)):
        for f in sorted(files):
            with open(os.path.join(dirpath, f), "rb") as fh:
                h.update(f.encode() + fh.read())
    return h.hexdigest()


def test_visibility_follows_layer_order_hand_built():
    back = Part("back", np.array([[0, 0], [9, 0], [9, 9], [0, 9]], float), layer=0)
    front = Part("front", np.array([[5, 0], [9, 0], [9, 9], [5, 9]], float), layer=3)
    lm = paint_layers((10, 20), [front, back])  # painting order follows layers, not list order
    assert lm[2, 2] == 0 and lm[2, 7] == 3 and lm[2, 15] == -1
    pts = np.array([[2, 2], [7, 2], [7, 2], [15, 2], [25, 2], [-1, 3]], float)
    owners = np.array([0, 0, 3, 0, 0, 9])
    np.testing.assert_array_equal(visibility(pts, owners, lm), [True, False, True, True, False, False])


def _standing(facing, translation=(160, 200), scale=120.0):
    sp = get_species("horse")
    return sp, pose_animal(sp, Pose(gait="stand"), scale, 0.0, np.array(translation, float), facing)


@pytest.mark.parametrize("facing", [1, -1])
def test_side_naming_and_depth_visibility(facing):
    sp, pa = _standing(facing)
    scene = render_scene(np.random.default_rng(0), (320, 240), "synthetic",
                         [(sp, Pose(gait="stand"), Camera(120.0, 0.0, np.array([160.0, 200.0]), facing), None)])
    a = scene.animals[0]
    near, far = ("r", "l") if facing > 0 else ("l", "r")
    # the head is on the facing side
    assert (a.points["nose"][0] - a.points["hip"][0]) * facing > 0
    # the near eye is drawn on the head; the far eye and far shoulder are behind head / torso
    assert a.visible[f"{near}_eye"] and not a.visible[f"{far}_eye"]
    assert a.visible[f"{near}_shoulder"] and not a.visible[f"{far}_shoulder"]
    assert a.visible[f"{near}_front_hoof"]
    kp = a.keypoints("tigdog18")
    assert kp.shape == (18, 3) and set(np.unique(kp[:, 2])) <= {0.0, 1.0}


def test_out_of_frame_joints_are_invisible_and_occluders_hide_joints():
    sp = get_species("horse")
    pose = Pose(gait="stand")
    cam = Camera(150.0, 0.0, np.array([100.0, 300.0]), 1)  # shifted down: hooves below the frame
    s = render_scene(np.random.default_rng(1), (320, 240), "synthetic", [(sp, pose, cam, None)])
    a = s.animals[0]
    assert a.points["r_front_hoof"][1] > 240 and not a.visible["r_front_hoof"]
    # an explicit occluder over the near shoulder hides it
    pa = pose_animal(sp, pose, 120.0, 0.0, np.array([160.0, 200.0]), 1)
    x, y = pa.points["r_shoulder"]
    occ = Part("occ", np.array([[x - 5, y - 5], [x + 5, y - 5], [x + 5, y + 5], [x - 5, y + 5]]), 1000)
    lm = paint_layers((240, 320), pa.parts + [occ])
    names = ["r_shoulder", "r_eye"]
    vis = visibility(np.stack([pa.points[n] for n in names]), np.array([pa.owners[n] for n in names]), lm)
    np.testing.assert_array_equal(vis, [False, True])


def test_gait_is_periodic_and_moves_the_legs():
    sp = get_species("tiger")
    pts = {}
    for ph in (0.0, 0.25, 1.0):
        pa = pose_animal(sp, Pose(phase=ph, gait="walk"), 100.0, 0.0, np.zeros(2), 1)
        pts[ph] = np.stack([pa.points[k] for k in sorted(pa.points)])
    np.testing.assert_allclose(pts[0.0], pts[1.0], atol=1e-9)
    hoof = sorted(pa.points).index("r_front_hoof")
    assert np.linalg.norm(pts[0.0][hoof] - pts[0.25][hoof]) > 5.0


def test_capsule_polygon_contains_its_axis():
    poly = capsule((10, 10), (50, 10), 5, 3)
    lm = paint_layers((30, 60), [Part("c", poly, 0)])
    assert lm[10, 10] == 0 and lm[10, 50] == 0 and lm[10, 30] == 0 and lm[20, 30] == -1


def test_synthetic_writer_is_deterministic(tmp_path):
    from datasets.render.animal_writers import write_synthetic_animal
    a, b, c = (str(tmp_path / n) for n in "abc")
    write_synthetic_animal(a, "horse", 3, seed=5, size=(96, 72))
    write_synthetic_animal(b, "horse", 3, seed=5, size=(96, 72))
    write_synthetic_animal(c, "horse", 3, seed=6, size=(96, 72))
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_synthetic_vertices_agree_with_mask_and_joints(animal_data):
    from datasets.synthetic_animal import VERTEX_IDS
    _, written = animal_data
    w = written["synthetic_horse"][0]
    v = w["vertices"]
    assert v.shape == (3299, 3)
    np.testing.assert_array_equal(v[VERTEX_IDS["horse"]], w["joints"])
    mask = cv2.imread(w["prefix"] + "seg.png", cv2.IMREAD_GRAYSCALE) > 127
    vis = v[:, 2] > 0
    xi, yi = np.floor(v[vis, 0] + 0.5).astype(int), np.floor(v[vis, 1] + 0.5).astype(int)
    assert mask[yi, xi].mean() > 0.99          # visible vertices lie on the silhouette
    assert vis.mean() > 0.3 and (~vis).sum() > 0  # and occlusion hides some of them


def test_videos_move_smoothly_within_a_shot(animal_data):
    _, written = animal_data
    frames = written["tigdog_horse"]
    steps = []
    for prev, cur in zip(frames, frames[1:]):
        if prev["shot_id"] != cur["shot_id"]:
            continue
        both = (prev["joints"][:, 2] > 0) & (cur["joints"][:, 2] > 0)
        steps.append(np.linalg.norm(prev["joints"][both, :2] - cur["joints"][both, :2], axis=1))
    steps = np.concatenate(steps)
    assert np.median(steps) < 4.0 and np.percentile(steps, 95) < 15.0  # within LK's 15 px rejection radius


def _flat_fraction(paths, masks=None):
    """Median fraction of pixels (inside the masks, if given) whose Laplacian is ~0 (perfectly flat shading)."""
    vals = []
    for i, p in enumerate(paths):
        g = cv2.imread(p, cv2.IMREAD_GRAYSCALE).astype(np.float32)
        flat = np.abs(cv2.Laplacian(g, cv2.CV_32F)) < 1.5
        if masks is not None:
            inside = cv2.erode((cv2.imread(masks[i], cv2.IMREAD_GRAYSCALE) > 127).astype(np.uint8), np.ones((5, 5)))
            flat = flat[inside > 0]
        vals.append(float(flat.mean()))
    return float(np.median(vals))


def test_target_domain_looks_different_from_source(animal_data):
    _, written = animal_data
    synth = [w["prefix"] + "img.png" for w in written["synthetic_horse"]]
    masks = [w["prefix"] + "seg.png" for w in written["synthetic_horse"]]
    real = [w["path"] for w in written["tigdog_horse"]][:10]
    # flat CAD shading of the synthetic animals vs fur, clutter and sensor noise everywhere in the target
    assert _flat_fraction(synth, masks) > 0.7
    # the synthetic backgrounds are random "photographs" (textured), as in the reference data
    assert _flat_fraction(synth) < 0.7
    assert _flat_fraction(real) < 0.45


def test_video_frames_keep_the_light_and_camera_of_their_shot(animal_data):
    """A rendered shot keeps one light, colour balance, blur and occluder set; consecutive frames
    differ by the motion and the sensor noise only (per-frame looks made them flicker by ~20 grey levels)."""
    _, written = animal_data
    frames = {}
    for rec in written["tigdog_horse"]:
        frames.setdefault(rec["shot_id"], []).append(rec)
    changes = []
    for recs in frames.values():
        recs = sorted(recs, key=lambda r: r["frame_id"])
        means = [cv2.imread(r["path"]).reshape(-1, 3).astype(np.float64).mean(0) for r in recs]
        changes += [np.abs(b - a).max() for a, b in zip(means, means[1:])]
    assert len(changes) >= 10 and max(changes) < 3.0, changes
