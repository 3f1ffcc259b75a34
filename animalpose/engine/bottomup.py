"""Bottom-up (DEKR) pipeline: whole-image training samples, multi-scale / flip inference,
COCO evaluation and the training loop.

* :class:`BottomUpDataset` - one COCO or CrowdPose image per item: random
  flip, then one affine (rotation ``U(-30, 30)``, scale ``U(0.75, 1.5)`` of
  the short side, translation) onto the square input and, with the same
  parameters, onto the heatmap; targets from
  :class:`~animalpose.codecs.dekr.DEKRCodec`.  The padding outside the image
  is ignored by the heatmap loss, and on COCO also crowd regions and persons
  without labelled joints (their segmentation, else their box); on CrowdPose
  nothing else, as DEKR's CrowdPose loader (its ``get_mask`` masks nothing).
  Persons whose annotation area is below ``min_center_area`` (32^2; the
  CrowdPose configs set 0, DEKR's CrowdPose loader has no area test) get no
  centre.
* :func:`multi_scale_size` / :func:`predict_image` - the reference test: the
  image is resized so that its short side is ``input * scale`` and its long
  side a multiple of 64; the flip test mirrors the input, shifts it
  ``flip_shift`` (3) pixels left and merges with
  :meth:`DEKRCodec.flip_merge`; heatmaps of all scales are upsampled to the
  scale-1 input (bilinear, ``align_corners=True`` + edge replicate) and
  averaged, pose candidates of all scales are pooled, pose-NMSed, optionally
  matched to the averaged heatmap (``codec.match_heatmap``), mapped back to the
  image and optionally rescored (``score *= rescore_net(pose)``).
* :func:`evaluate_bottomup` - every image of a COCO / CrowdPose source ->
  results -> the source's :func:`~animalpose.engine.evaluator.keypoint_benchmark`
  (COCO's ten stats or CrowdPose's nine, same evaluator as top-down; no
  OKS-NMS, as the reference).
* :class:`BottomUpTrainer` - :class:`~animalpose.engine.trainer.Trainer` with
  these data, :class:`~animalpose.engine.losses.DEKRLoss` and this validation.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from evaluation import coco_results

from ..codecs.dekr import DEKRCodec, offsets_to_poses
from ..keypoints import get_spec
from ..transforms import affine_points, get_affine_transform, warp_image
from .config import BottomUpConfig
from .evaluator import keypoint_benchmark
from .losses import DEKRLoss
from .trainer import Trainer

__all__ = ["BottomUpDataset", "coco_images", "multi_scale_size", "up_interpolate", "predict_image",
           "evaluate_bottomup", "BottomUpTrainer", "settings"]


def settings(cfg) -> BottomUpConfig:
    """The experiment's bottom-up settings (defaults when the config has no ``bottomup`` section)."""
    return cfg.bottomup if cfg.bottomup is not None else BottomUpConfig()


def coco_images(source, with_people: bool = False, with_annotations: bool = False) -> Tuple[object, List]:
    """``(CocoKeypoints, image ids)`` of a source from :func:`~animalpose.engine.data.build_source`
    (COCO or CrowdPose); a ``limit`` keeps the first N images; ``with_people`` keeps images with a
    labelled person, ``with_annotations`` images with any annotation (crowd and unlabelled included:
    DEKR's training set)."""
    limit = None
    if hasattr(source, "source") and hasattr(source, "n"):          # data.limit wrapper
        source, limit = source.source, source.n
    if not hasattr(source, "people") or not hasattr(source, "ann_file"):
        raise ValueError("bottom-up training and evaluation need a COCO-format dataset (dataset: coco or crowdpose)")
    ids = list(source.image_ids)
    if with_people:
        ids = [i for i in ids if any((p.keypoints[:, 2] > 0).any() for p in source.people(i))]
    elif with_annotations:
        anns = source.coco.imgToAnns
        ids = [i for i in ids if anns.get(i)]
    return source, ids[:limit] if limit else ids


def _image_path(source, image_id) -> str:
    import os
    return os.path.join(source.image_dir, source.coco.imgs[image_id]["file_name"])


def official_offset_area(keypoints: np.ndarray) -> np.ndarray:
    """DEKR's offset normaliser before augmentation, ``(P,)``: ``w^2 + h^2`` of the extent of *all*
    ``K`` keypoint rows as the file stores them (unlabelled joints at their stored position, (0, 0) in
    COCO) plus a centre row at (0, 0), in image pixels; :class:`BottomUpDataset` scales it by the
    square of the input transform's scale factor (rotation does not change it)."""
    kp = np.asarray(keypoints, np.float64)
    if kp.shape[0] == 0:
        return np.zeros(0)
    pts = np.concatenate([kp[..., :2], np.zeros((kp.shape[0], 1, 2))], 1)
    ext = pts.max(1) - pts.min(1)
    return (ext ** 2).sum(1)


class BottomUpDataset(Dataset):
    """COCO / CrowdPose images -> ``{"image" (3, S, S), "heatmaps" (K+1, h, w), "mask" (K+1, h, w),
    "offsets" (2K, h, w), "offset_weights" (2K, h, w), "index"}``.

    Randomness depends only on ``(seed, epoch, index)``.
    """

    def __init__(self, source, spec, codec: DEKRCodec, cfg: BottomUpConfig, normalize, seed: int = 0,
                 augment: bool = True):
        self.source, self.image_ids = coco_images(source, with_people=cfg.train_images == "with_people",
                                                  with_annotations=cfg.train_images == "any_annotation")
        self.spec = get_spec(spec)
        data_spec = getattr(self.source, "spec", "")
        if data_spec and self.spec.name != data_spec:
            title = keypoint_benchmark(self.source).title
            raise ValueError(f"bottom-up: spec {self.spec.name} does not match the {title} data ({data_spec})")
        # DEKR masks crowd regions and unlabelled persons of COCO; its CrowdPose loader masks nothing
        self.mask_people = keypoint_benchmark(self.source).name != "crowdpose"
        self.codec, self.cfg, self.normalize = codec, cfg, normalize
        self.seed, self.epoch, self.augment = int(seed), 0, augment

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.image_ids)

    def ignore_mask(self, image_id, h: int, w: int) -> np.ndarray:
        """``(h, w)`` float32: 0 on crowd regions and persons without labelled joints, else 1
        (all 1 on CrowdPose, see :attr:`mask_people`)."""
        mask = np.ones((h, w), np.float32)
        if not self.mask_people:
            return mask
        for ann in self.source.coco.imgToAnns.get(image_id, []):
            if not (ann.get("iscrowd", 0) or int(np.count_nonzero(np.asarray(ann["keypoints"])[2::3])) == 0):
                continue
            try:
                m = self.source.coco.annToMask(ann) > 0
            except Exception:   # noqa: BLE001 - no usable segmentation: ignore the box
                x, y, bw, bh = (int(round(v)) for v in ann["bbox"])
                m = np.zeros((h, w), bool)
                m[max(y, 0):y + bh, max(x, 0):x + bw] = True
            mask[m] = 0.0
        return mask

    def __getitem__(self, index: int) -> Dict:
        from datasets.sample import read_image
        image_id = self.image_ids[index]
        people = self.source.people(image_id)
        image = read_image(_image_path(self.source, image_id))
        h, w = image.shape[:2]
        k = self.spec.num_joints
        kp = np.stack([p.keypoints for p in people]).astype(np.float64) if people else np.zeros((0, k, 3))
        areas = np.array([float(p.extra.get("area", 0.0)) for p in people])
        file_area = official_offset_area(kp)                   # before any flip: the rows as stored
        ignore = self.ignore_mask(image_id, h, w)
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        c = self.cfg
        center = np.array([w / 2.0, h / 2.0])
        scale = (min(h, w) if c.scale_type == "short" else max(h, w)) / 200.0
        rot, flip_after, flipped = 0.0, False, False
        if self.augment:
            if rng.random() < c.flip_prob:
                if c.flip_convention == "official":
                    flip_after = True                          # DEKR: mirror the warped sample, x' = W_hm - 1 - x
                else:
                    image, ignore = image[:, ::-1].copy(), ignore[:, ::-1].copy()
                    kp = self.spec.flip_keypoints(kp, w).astype(np.float64)
                    flipped = True
            scale *= rng.uniform(c.min_scale, c.max_scale)
            rot = rng.uniform(-1.0, 1.0) * c.max_rotation
            t = int(c.max_translate * scale)
            if t > 0:
                center = center + rng.integers(-t, t, size=2)
        m_in = get_affine_transform(center, scale, rot, self.codec.input_size)
        m_out = get_affine_transform(center, scale, rot, self.codec.heatmap_size)
        img = warp_image(image, m_in, self.codec.input_size)
        mask = cv2.warpAffine((ignore * 255).astype(np.uint8), m_out, tuple(self.codec.heatmap_size)) / 255.0
        kp_out = kp.copy()
        if len(kp):
            kp_out[..., :2] = affine_points(kp[..., :2], m_out)
        origin = None                                          # DEKR's centre of a person with no labelled joint
        if c.unlabelled_center == "origin" and len(kp):
            o = np.array([[w - 1.0 if flipped else 0.0, 0.0]])   # the origin, mirrored with the image
            origin = np.tile(affine_points(o, m_out)[0], (len(kp), 1))
        if flip_after:
            w_hm = self.codec.heatmap_size[0]
            img, mask = img[:, ::-1].copy(), mask[:, ::-1].copy()
            kp_out = kp_out[:, self.spec.flip_index]
            kp_out[..., 0] = w_hm - kp_out[..., 0] - 1
            if origin is not None:
                origin[:, 0] = w_hm - origin[:, 0] - 1
        offset_areas = None                                    # "labelled": the codec's labelled extent
        if c.offset_area == "official":
            # the input transform scales both axes by w_in / (200 s): areas by its square (DEKR: t00 * t11)
            offset_areas = file_area * (self.codec.input_size[0] / (200.0 * scale)) ** 2
        enc = self.codec.encode_hm(kp_out, has_center=areas >= c.min_center_area, areas=offset_areas,
                                   ignore_mask=(mask > 0.5).astype(np.float32), unlabelled_centers=origin)
        return {"image": self.normalize(img), "heatmaps": torch.from_numpy(enc["heatmaps"]),
                "mask": torch.from_numpy(enc["mask"]), "offsets": torch.from_numpy(enc["offsets"]),
                "offset_weights": torch.from_numpy(enc["offset_weights"]), "index": int(index)}


# ---------------------------------------------------------------------- inference
def multi_scale_size(height: int, width: int, input_size: int, scale: float,
                     min_scale: float = 1.0) -> Tuple[Tuple[int, int], np.ndarray, np.ndarray]:
    """Network input ``(w, h)``, source centre and scale (``/200``) of the reference test resize:
    the short side becomes ``input_size * scale``, the long side a multiple of 64 (times ``scale``)."""
    center = np.array([int(width / 2.0 + 0.5), int(height / 2.0 + 0.5)], np.float64)
    min_input = int((min_scale * input_size + 63) // 64 * 64)
    if width < height:
        w_r = int(min_input * scale / min_scale)
        h_r = int(int((min_input / width * height + 63) // 64 * 64) * scale / min_scale)
        s = np.array([width / 200.0, h_r / w_r * width / 200.0])
    else:
        h_r = int(min_input * scale / min_scale)
        w_r = int(int((min_input / height * width + 63) // 64 * 64) * scale / min_scale)
        s = np.array([w_r / h_r * height / 200.0, height / 200.0])
    return (w_r, h_r), center, s


def up_interpolate(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """``(N, C, h, w)`` -> ``(N, C, H, W)``: bilinear with ``align_corners=True`` onto
    ``(H - H//h + 1, W - W//w + 1)``, then edge replication, so map pixel ``i`` lands on ``i * H//h``."""
    h, w = x.shape[-2:]
    sh, sw = int(size[0] / h), int(size[1] / w)
    y = F.interpolate(x, size=(size[0] - sh + 1, size[1] - sw + 1), mode="bilinear", align_corners=True)
    return F.pad(y, (0, sw - 1, 0, sh - 1), mode="replicate")


def _outputs(model, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    out = model(x)
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise ValueError("bottom-up inference needs a model returning (heatmaps, offsets), e.g. dekr_w32")
    return out[0].float(), out[1].float()


@torch.no_grad()
def predict_image(model, image: np.ndarray, codec: DEKRCodec, normalize, spec, device, flip: bool = False,
                  scales: Sequence[float] = (1.0,), flip_shift: int = 3,
                  rescore_net: Optional[torch.nn.Module] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Poses of one RGB ``image (H, W, 3)``: ``(M, K, 3)`` (x, y, joint score in image pixels)
    and pose scores ``(M,)``; see the module docstring."""
    spec = get_spec(spec)
    model.eval()
    h, w = image.shape[:2]
    side = int(codec.input_size[0])
    ratio = float(codec.stride[0])
    scales = sorted((float(s) for s in scales), reverse=True)
    if 1.0 not in scales:
        raise ValueError(f"test scales must contain 1.0, got {scales}")
    base_size, center, base_scale = multi_scale_size(h, w, side, 1.0)
    heat_sum, poses = None, []
    for s in scales:
        size, _, scale_s = multi_scale_size(h, w, side, s)
        x = normalize(warp_image(image, get_affine_transform(center, scale_s, 0, size), size))[None].to(device)
        heat, off = _outputs(model, x)
        pose = offsets_to_poses(off)
        if flip:
            xf = torch.flip(x, [3])
            if flip_shift:
                xf[..., :-flip_shift] = xf[..., flip_shift:].clone()
            heat_f, off_f = _outputs(model, xf)
            heat, pose = codec.flip_merge(heat, pose, heat_f, off_f, spec.flip_index)
        rs = ratio / s
        hh, ww = heat.shape[-2:]
        up = up_interpolate(heat, (int(rs * hh), int(rs * ww)))
        if heat_sum is not None and up.shape != heat_sum.shape:
            up = F.interpolate(up, size=heat_sum.shape[-2:], mode="bilinear", align_corners=True)
        heat_sum = up if heat_sum is None else heat_sum + up
        cand = codec.decode(heat[0], pose[0])
        cand[..., :2] *= rs
        poses.append(cand)
    heat_avg = heat_sum[0] / len(scales)
    final, scores = codec.pose_nms(heat_avg, poses, scales.index(1.0))
    if len(final):
        if codec.match_heatmap:
            final = codec.match_to_heatmap(final, heat_avg)
        final[..., :2] = affine_points(final[..., :2], get_affine_transform(center, base_scale, 0, base_size,
                                                                            inv=True))
        if rescore_net is not None:
            scores = scores * rescore_net.rescore(final).cpu().numpy()
    return final.astype(np.float32), np.asarray(scores, np.float32)


def predict_results(model, coco, image_ids, codec: DEKRCodec, normalize, spec, device, flip: bool = False,
                    scales: Sequence[float] = (1.0,), flip_shift: int = 3,
                    rescore_net: Optional[torch.nn.Module] = None,
                    progress: Optional[Callable[[int], None]] = None) -> List[dict]:
    """COCO keypoint results (:func:`evaluation.coco_results`) of :func:`predict_image` on the images
    ``image_ids`` of a COCO / CrowdPose loader ``coco``."""
    from datasets.sample import read_image
    results: List[dict] = []
    for image_id in image_ids:
        poses, scores = predict_image(model, read_image(_image_path(coco, image_id)), codec, normalize, spec,
                                      device, flip, scales, flip_shift, rescore_net)
        if len(poses):
            results.extend(coco_results([image_id] * len(poses), poses, scores))
        if progress:
            progress(1)
    return results


def evaluate_bottomup(model, source, codec: DEKRCodec, normalize, spec, device, flip: bool = False,
                      scales: Sequence[float] = (1.0,), flip_shift: int = 3,
                      rescore_net: Optional[torch.nn.Module] = None,
                      progress: Optional[Callable[[int], None]] = None) -> Dict:
    """Keypoint AP of bottom-up predictions on every image of ``source`` (a COCO or CrowdPose loader),
    scored by its :func:`~animalpose.engine.evaluator.keypoint_benchmark`.

    Returns ``{"protocol": "coco", "stats": {10 COCO / 9 CrowdPose stats}, "AP", "results": [...]}``;
    with no detected pose at all the stats are 0.
    """
    spec = get_spec(spec)
    coco, image_ids = coco_images(source)
    bench = keypoint_benchmark(coco)
    bench.check_spec(spec)
    results = predict_results(model, coco, image_ids, codec, normalize, spec, device, flip, scales, flip_shift,
                              rescore_net, progress)
    if results:
        stats = dict(bench.score(coco.ann_file, results, spec, image_ids=image_ids))
    else:
        stats = {n: 0.0 for n in bench.stat_names}
    return {"protocol": "coco", "stats": stats, "AP": stats["AP"], "results": results}


def load_rescore_net(path: Optional[str], spec, device) -> Optional[torch.nn.Module]:
    """The DEKR rescore net of ``path`` (``l{1,2,3}`` keys), or None; its features use
    :func:`~animalpose.engine.rescore.rescore_skeleton` (DEKR's limbs for COCO / CrowdPose, the
    spec's skeleton otherwise), as :func:`~animalpose.engine.rescore.fit_rescore_net` trains it."""
    if not path:
        return None
    from ..models import load_checkpoint
    from .rescore import build_rescore_net
    net = build_rescore_net(spec)
    load_checkpoint(net, path, name=path)
    return net.to(device).eval()


# ---------------------------------------------------------------------- training
class BottomUpTrainer(Trainer):
    """:class:`~animalpose.engine.trainer.Trainer` for DEKR: whole images, DEKR targets and loss,
    COCO / CrowdPose AP validation with :func:`evaluate_bottomup` (checkpointing, resume, TensorBoard
    unchanged)."""

    def build_train_set(self):
        return BottomUpDataset(self.train_source, self.spec, self.codec, settings(self.cfg), self.normalize,
                               seed=self.cfg.train.seed)

    def build_loss(self) -> torch.nn.Module:
        return DEKRLoss(self.cfg.loss.heatmap_weight, self.cfg.loss.offset_weight)

    def batch_loss(self, batch: Dict) -> torch.Tensor:
        images = batch["image"].to(self.device, non_blocking=True)
        targets = {k: batch[k].to(self.device, non_blocking=True)
                   for k in ("heatmaps", "mask", "offsets", "offset_weights")}
        heatmaps, offsets = self.net(images)
        return self.loss_fn(heatmaps, offsets, targets)["total"]

    def validate(self, epoch: int) -> Optional[Dict]:
        if self.val_source is None:
            return None
        b = settings(self.cfg)
        res = evaluate_bottomup(self.model, self.val_source, self.codec, self.normalize, self.spec, self.device,
                                flip=self.cfg.eval.flip, scales=b.test_scales, flip_shift=b.flip_shift,
                                rescore_net=load_rescore_net(b.rescore, self.spec, self.device))
        if self.writer is not None:
            self.writer.add_scalar(f"val/{keypoint_benchmark(self.val_source).name}", res["AP"], epoch)
        return res
