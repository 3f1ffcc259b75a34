"""DEKR targets and decoding (Geng et al., CVPR 2021): bottom-up, disentangled keypoint regression.

Shapes: ``P`` people, ``K`` joints, ``H x W`` heatmap; ``M`` decoded poses.

Encode (:meth:`DEKRCodec.encode_hm`, all coordinates in heatmap pixels):

* ``K + 1`` heatmaps: one per joint (``sigma``, 2) plus the person centre as the
  last channel (``center_sigma``, 4).  The centre is the mean of the person's
  labelled joints; persons flagged ``has_center=False`` (the reference: COCO
  area < 32^2, or no labelled joint) get none.  Each point draws an
  unnormalised float-centred Gaussian in the window
  ``[floor(x - 3s - 1), ceil(x + 3s + 2))``; people combine by maximum.  Points
  with ``v = 0`` or outside ``[0, W) x [0, H)`` are skipped.
* heatmap loss mask: 1 inside any drawn window, ``bg_weight`` (0.1) elsewhere,
  times the optional ignore mask (crowd regions).
* ``2K`` offsets ``pixel - joint`` (x in channel ``2j``, y in ``2j + 1``) for
  the pixels of the square ``[int(c) - r, int(c) + r)`` around each centre
  (``r = offset_radius``, 4), weight ``1 / sqrt(area)`` with ``area = w^2 + h^2``
  of the person's labelled-joint extent (heatmap pixels).  Where squares
  overlap, the smaller person (by that area) wins, joint by joint.

Decode (:meth:`DEKRCodec.decode`, torch, one image):

* ``pose_j(p) = p - offset_j(p)`` (:func:`offsets_to_poses`);
* centre peaks: max-pool NMS on the centre map (kernel 3, 5 or 7 when the mean
  map side exceeds ``pool_thresholds`` 200 / 300), top ``max_people`` (30),
  score ``> keypoint_threshold`` (0.01);
* :meth:`pose_nms`: joint score = centre score x heatmap value read at the
  joint (floor index, as the reference); two poses are duplicates when more
  than ``nms_num_threshold`` (8) joints lie closer than ``nms_threshold``
  (0.05) x sqrt(area); of each duplicate group the pose with the highest mean
  heatmap value is kept; pose score = mean joint score.

Heatmap matching (:meth:`DEKRCodec.match_to_heatmap`, the reference's
``TEST.MATCH_HMP``, off by default there and here): after pose NMS each
regressed joint is *absorbed* by the nearest of the ``max_people`` strongest
local maxima (5x5 max-pool NMS) of its joint heatmap when that peak is closer
than ``max_absorb_distance`` (75 px of a 512 input), then *adjusted*: when the
joint score exceeds ``adjust_threshold`` (0.05), an isotropic unnormalised
Gaussian ``A exp(-|p - mu|^2 / 2 s^2)`` is least-squares fitted to the heatmap
in the ``(2 n + 1)^2`` window (``n = adjust_kernel``, 6; clipped at the
border) round the rounded joint, starting from ``s = 2``, and ``mu`` replaces
the joint.  The reference fits each joint with ``scipy.optimize.curve_fit``
(Levenberg-Marquardt, 300 evaluations) and leaves joints whose fit fails; here
all joints are fitted at once by a batched Levenberg-Marquardt
(:func:`fit_gaussians`) and a fit that fails (non-finite, or its centre
outside the window) leaves the joint too.  Only the joint channels are used
(the centre is the last channel here).

Flip test (:meth:`DEKRCodec.flip_merge`): heatmaps of the mirrored input are
mirrored back with the joint channels swapped (the centre stays last); its
offsets become poses with ``x = W - x - 1`` and the joints swapped, are
mirrored back and averaged with the poses of the plain input.  The input
shift that goes with it is in :mod:`animalpose.engine.bottomup`.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .base import _size, as_numpy

__all__ = ["DEKRCodec", "offsets_to_poses", "joint_areas", "person_centers", "fit_gaussians"]


def person_centers(keypoints: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Mean of the labelled joints of ``keypoints (P, K, 3)`` -> ``(P, 2)`` and whether any is labelled ``(P,)``."""
    kp = np.asarray(keypoints, np.float64)
    lab = kp[..., 2] > 0
    n = lab.sum(1)
    c = (kp[..., :2] * lab[..., None]).sum(1) / np.maximum(n, 1)[:, None]
    return c, n > 0


def joint_areas(keypoints: np.ndarray) -> np.ndarray:
    """``w^2 + h^2`` of the labelled joints' bounding box per person ``(P,)`` (0 without labels)."""
    kp = np.asarray(keypoints, np.float64)
    lab = kp[..., 2] > 0
    big = np.where(lab[..., None], kp[..., :2], np.inf)
    small = np.where(lab[..., None], kp[..., :2], -np.inf)
    ext = small.max(1) - big.min(1)                       # (P, 2)
    ext = np.where(np.isfinite(ext), ext, 0.0)
    return (ext ** 2).sum(1)


def offsets_to_poses(offsets: torch.Tensor) -> torch.Tensor:
    """``offsets (N, 2K, H, W)`` -> candidate poses ``(N, K, 2, H, W)``: pixel location minus offset."""
    n, c, h, w = offsets.shape
    off = offsets.view(n, c // 2, 2, h, w)
    ys = torch.arange(h, dtype=offsets.dtype, device=offsets.device).view(1, 1, h, 1).expand(1, 1, h, w)
    xs = torch.arange(w, dtype=offsets.dtype, device=offsets.device).view(1, 1, 1, w).expand(1, 1, h, w)
    loc = torch.cat([xs, ys], dim=1)[:, None]              # (1, 1, 2, H, W)
    return loc - off


def fit_gaussians(patches: torch.Tensor, valid: torch.Tensor, init: torch.Tensor,
                  iterations: int = 100) -> Tuple[torch.Tensor, torch.Tensor]:
    """Least-squares fits of ``A exp(-((x - x0)^2 + (y - y0)^2) / (2 s^2))`` to ``B`` patches.

    ``patches (B, S, S)`` values, ``valid (B, S, S)`` bool (pixels that take part;
    border windows are smaller), ``init (B, 4)`` start ``(A, x0, y0, s)`` in patch
    pixels (x = column).  Batched Levenberg-Marquardt (Marquardt's diagonal
    damping, float64).  Returns ``params (B, 4)`` and ``ok (B,)``: finite, with
    the centre inside the patch.
    """
    dt = torch.float64
    p = init.to(dt).clone()
    b, s, _ = patches.shape
    ys, xs = torch.meshgrid(torch.arange(s, dtype=dt, device=patches.device),
                            torch.arange(s, dtype=dt, device=patches.device), indexing="ij")
    xs, ys = xs.reshape(1, -1), ys.reshape(1, -1)
    h = patches.to(dt).reshape(b, -1)
    m = valid.to(dt).reshape(b, -1)

    def model(q):
        d2 = (xs - q[:, 1:2]) ** 2 + (ys - q[:, 2:3]) ** 2
        e = torch.exp(-d2 / (2 * q[:, 3:4] ** 2))
        return e, d2

    def cost(q):
        e, _ = model(q)
        return (((q[:, 0:1] * e - h) * m) ** 2).sum(1)

    lam = torch.full((b,), 1e-3, dtype=dt, device=patches.device)
    cur = cost(p)
    eye = torch.eye(4, dtype=dt, device=patches.device)
    for _ in range(iterations):
        e, d2 = model(p)
        a, sg = p[:, 0:1], p[:, 3:4]
        r = (a * e - h) * m                                                     # (B, n)
        jac = torch.stack([e, a * e * (xs - p[:, 1:2]) / sg ** 2, a * e * (ys - p[:, 2:3]) / sg ** 2,
                           a * e * d2 / sg ** 3], 2) * m[..., None]             # (B, n, 4)
        jtj = jac.transpose(1, 2) @ jac
        g = (jac.transpose(1, 2) @ r[..., None])[..., 0]
        damp = jtj + lam[:, None, None] * (jtj * eye + 1e-12 * eye)
        step = torch.linalg.solve(damp, -g[..., None])[..., 0]
        step = torch.nan_to_num(step, nan=0.0, posinf=0.0, neginf=0.0)
        trial = p + step
        new = cost(trial)
        better = torch.isfinite(new) & (new < cur)
        p = torch.where(better[:, None], trial, p)
        cur = torch.where(better, new, cur)
        lam = torch.where(better, lam / 10, lam * 10).clamp(1e-12, 1e12)
    ok = torch.isfinite(p).all(1) & (p[:, 3].abs() > 1e-6)
    ok &= (p[:, 1] >= 0) & (p[:, 1] <= s - 1) & (p[:, 2] >= 0) & (p[:, 2] <= s - 1)
    return p.to(init.dtype), ok


class DEKRCodec:
    """DEKR target generator and decoder (see the module docstring).

    Args:
        input_size, heatmap_size: ``(w, h)`` of the network input and output
            (512 / 128 for W32); keypoints given to :meth:`encode` are in input
            pixels and divided by the stride ``input / heatmap``.
        sigma, center_sigma: Gaussian sigmas of the joint and centre heatmaps.
        bg_weight: heatmap loss weight outside every Gaussian window.
        offset_radius: half side of the square of offset-regressing pixels.
        max_people, keypoint_threshold, pool_thresholds: centre-peak selection.
        nms_threshold, nms_num_threshold: pose NMS.
        decrease: score factor of poses from scales other than 1 (multi-scale).
        match_heatmap, max_absorb_distance, adjust_threshold, adjust_kernel:
            the reference's ``TEST.MATCH_HMP`` step (:meth:`match_to_heatmap`);
            the distance is in pixels of the (scale-1) network input.
        area_map, area_map_dtype, center_test: the official offset generator's
            quirks, off by default (see :meth:`_offsets_reference`).
            ``area_map: per_joint | shared``: one area map for all joints, so
            the overlap test of joint ``j`` compares with the person who last
            wrote *any* joint at the pixel. ``area_map_dtype: float64 | float32``:
            a float32 map, so a person whose area rounds down loses its own
            later joints to a larger person written before it. ``center_test:
            position | truncated``: ``int()`` truncates first, so a centre in
            ``(-1, 0)`` counts as inside and writes offsets round pixel 0.
    """

    #: the offset-writer options and their (kit) defaults
    OFFSET_QUIRKS = {"area_map": ("per_joint", "shared"), "area_map_dtype": ("float64", "float32"),
                     "center_test": ("position", "truncated")}

    name = "dekr"

    def __init__(self, input_size=(512, 512), heatmap_size=(128, 128), sigma: float = 2.0,
                 center_sigma: float = 4.0, bg_weight: float = 0.1, offset_radius: int = 4,
                 max_people: int = 30, keypoint_threshold: float = 0.01,
                 pool_thresholds: Sequence[float] = (300.0, 200.0), nms_threshold: float = 0.05,
                 nms_num_threshold: int = 8, decrease: float = 0.9, match_heatmap: bool = False,
                 max_absorb_distance: float = 75.0, adjust_threshold: float = 0.05, adjust_kernel: int = 6,
                 area_map: str = "per_joint", area_map_dtype: str = "float64", center_test: str = "position"):
        self.input_size = _size(input_size, "input_size")
        self.heatmap_size = _size(heatmap_size, "heatmap_size")
        if not (float(sigma) > 0 and float(center_sigma) > 0):
            raise ValueError(f"sigma and center_sigma must be > 0, got {sigma}, {center_sigma}")
        self.sigma, self.center_sigma = float(sigma), float(center_sigma)
        self.bg_weight, self.offset_radius = float(bg_weight), int(offset_radius)
        self.max_people, self.keypoint_threshold = int(max_people), float(keypoint_threshold)
        self.pool_thresholds = tuple(float(v) for v in pool_thresholds)
        self.nms_threshold, self.nms_num_threshold = float(nms_threshold), int(nms_num_threshold)
        self.decrease = float(decrease)
        if float(max_absorb_distance) < 0 or int(adjust_kernel) < 1:
            raise ValueError(f"max_absorb_distance must be >= 0 and adjust_kernel >= 1, got "
                             f"{max_absorb_distance}, {adjust_kernel}")
        self.match_heatmap = bool(match_heatmap)
        self.max_absorb_distance, self.adjust_threshold = float(max_absorb_distance), float(adjust_threshold)
        self.adjust_kernel = int(adjust_kernel)
        for name, value in (("area_map", area_map), ("area_map_dtype", area_map_dtype),
                            ("center_test", center_test)):
            if value not in self.OFFSET_QUIRKS[name]:
                raise ValueError(f"codec option {name} must be one of {' | '.join(self.OFFSET_QUIRKS[name])}, "
                                 f"got {value!r}")
        self.area_map, self.area_map_dtype, self.center_test = area_map, area_map_dtype, center_test

    def __repr__(self) -> str:
        return (f"DEKRCodec(input_size={self.input_size}, heatmap_size={self.heatmap_size}, sigma={self.sigma:g}, "
                f"center_sigma={self.center_sigma:g})")

    @property
    def stride(self) -> np.ndarray:
        """Input pixels per heatmap pixel ``(sx, sy)``."""
        return np.asarray(self.input_size, np.float64) / np.asarray(self.heatmap_size, np.float64)

    # ------------------------------------------------------------------ encode
    def encode(self, keypoints, has_center=None, areas=None, ignore_mask=None) -> Dict[str, np.ndarray]:
        """Targets of ``keypoints (P, K, 3)`` in **input** pixels; see :meth:`encode_hm`."""
        kp = np.array(as_numpy(keypoints, np.float64), copy=True).reshape(-1, *np.shape(keypoints)[-2:])
        kp[..., :2] /= self.stride
        return self.encode_hm(kp, has_center, areas, ignore_mask)

    def encode_hm(self, keypoints, has_center=None, areas=None, ignore_mask=None,
                  unlabelled_centers=None) -> Dict[str, np.ndarray]:
        """Targets of ``keypoints (P, K, 3)`` (x, y, v) in heatmap pixels.

        ``has_center (P,)`` bool (default: every person with a labelled joint),
        ``areas (P,)`` offset normalisers (default :func:`joint_areas`),
        ``ignore_mask (H, W)`` multiplied into the heatmap mask (0 = ignore),
        ``unlabelled_centers (P, 2)``: where given, a person with no labelled
        joint but ``has_center`` gets its centre there (DEKR puts it at the image
        origin; ``bottomup.unlabelled_center: origin``); otherwise it has none.

        Returns ``heatmaps (K+1, H, W)``, ``mask (K+1, H, W)``, ``offsets (2K, H, W)``,
        ``offset_weights (2K, H, W)`` (float32) and ``centers (P, 3)`` (x, y, v).
        """
        kp = np.asarray(keypoints, np.float64)
        if kp.ndim != 3 or kp.shape[-1] != 3:
            raise ValueError(f"keypoints must have shape (P, K, 3), got {kp.shape}")
        p, k = kp.shape[:2]
        w, h = self.heatmap_size
        ctr, labelled = person_centers(kp)
        ok = labelled if has_center is None else labelled & np.asarray(has_center, bool).reshape(p)
        if unlabelled_centers is not None and has_center is not None and p:
            extra = ~labelled & np.asarray(has_center, bool).reshape(p)
            ctr = np.where(extra[:, None], np.asarray(unlabelled_centers, np.float64).reshape(p, 2), ctr)
            ok = ok | extra
        centers = np.concatenate([ctr, ok[:, None].astype(np.float64)], 1)
        pts = np.concatenate([kp, centers[:, None]], 1)                       # (P, K+1, 3)
        sig = np.full(k + 1, self.sigma)
        sig[-1] = self.center_sigma
        heatmaps, mask = self._gaussians(pts, sig, (w, h))
        if ignore_mask is not None:
            mask = mask * np.asarray(ignore_mask, np.float32)[None]
        area = joint_areas(kp) if areas is None else np.asarray(areas, np.float64).reshape(p)
        quirks = (self.area_map, self.area_map_dtype, self.center_test) != ("per_joint", "float64", "position")
        writer = self._offsets_reference if quirks else self._offsets
        offsets, weights = writer(kp, centers, area, (w, h))
        return {"heatmaps": heatmaps, "mask": mask.astype(np.float32), "offsets": offsets,
                "offset_weights": weights, "centers": centers.astype(np.float32)}

    def _gaussians(self, pts: np.ndarray, sigma: np.ndarray, size) -> Tuple[np.ndarray, np.ndarray]:
        """Max over people of windowed Gaussians at ``pts (P, C, 3)``; ``(C, H, W)`` maps and loss mask."""
        w, h = size
        c = pts.shape[1]
        if pts.shape[0] == 0:
            return np.zeros((c, h, w), np.float32), np.full((c, h, w), self.bg_weight, np.float32)
        x, y = pts[..., 0], pts[..., 1]
        draw = (pts[..., 2] > 0) & (x >= 0) & (y >= 0) & (x < w) & (y < h)    # (P, C)
        s = sigma[None, :]
        gx_lo, gx_hi = np.floor(x - 3 * s - 1), np.ceil(x + 3 * s + 2)
        gy_lo, gy_hi = np.floor(y - 3 * s - 1), np.ceil(y + 3 * s + 2)
        ax, ay = np.arange(w), np.arange(h)
        inx = (ax >= gx_lo[..., None]) & (ax < gx_hi[..., None]) & draw[..., None]   # (P, C, W)
        iny = (ay >= gy_lo[..., None]) & (ay < gy_hi[..., None]) & draw[..., None]   # (P, C, H)
        gx = np.exp(-(ax - x[..., None]) ** 2 / (2 * s[..., None] ** 2)) * inx
        gy = np.exp(-(ay - y[..., None]) ** 2 / (2 * s[..., None] ** 2)) * iny
        heat = (gy[..., :, None] * gx[..., None, :]).max(0)                        # (C, H, W)
        inside = (iny[..., :, None] & inx[..., None, :]).any(0)
        return heat.astype(np.float32), np.where(inside, 1.0, self.bg_weight).astype(np.float32)

    def _offsets(self, kp: np.ndarray, centers: np.ndarray, area: np.ndarray, size):
        """Offsets and weights ``(2K, H, W)``: people written largest first, so the smaller wins overlaps."""
        w, h = size
        p, k = kp.shape[:2]
        off = np.zeros((k, 2, h, w), np.float32)
        wt = np.zeros((k, 2, h, w), np.float32)
        r = self.offset_radius
        cx, cy = centers[:, 0], centers[:, 1]
        valid = (centers[:, 2] > 0) & (cx >= 0) & (cy >= 0) & (cx < w) & (cy < h)
        joint_ok = (kp[..., 2] > 0) & (kp[..., 0] >= 0) & (kp[..., 1] >= 0) & (kp[..., 0] < w) & (kp[..., 1] < h)
        for i in np.argsort(-area, kind="stable"):                 # one slice write per person
            if not valid[i] or not joint_ok[i].any():
                continue
            ix, iy = int(cx[i]), int(cy[i])
            x0, x1 = max(ix - r, 0), min(ix + r, w)
            y0, y1 = max(iy - r, 0), min(iy + r, h)
            js = np.flatnonzero(joint_ok[i])
            gx = np.arange(x0, x1, dtype=np.float64)[None, None, :] - kp[i, js, 0][:, None, None]
            gy = np.arange(y0, y1, dtype=np.float64)[None, :, None] - kp[i, js, 1][:, None, None]
            shape = (len(js), y1 - y0, x1 - x0)
            off[js, 0, y0:y1, x0:x1] = np.broadcast_to(gx, shape)
            off[js, 1, y0:y1, x0:x1] = np.broadcast_to(gy, shape)
            wt[js, :, y0:y1, x0:x1] = 1.0 / np.sqrt(max(area[i], 1.0))
        return off.reshape(2 * k, h, w), wt.reshape(2 * k, h, w)

    def _offsets_reference(self, kp: np.ndarray, centers: np.ndarray, area: np.ndarray, size):
        """The official ``OffsetGenerator`` loop, with this codec's quirk options.

        People are taken in file order and joints in order. For each person and
        joint, every pixel of the centre square is written unless it already
        holds a non-zero offset and the area map there is *smaller* than this
        person's area. A pixel whose offset is exactly ``(0, 0)`` counts as
        empty, as in the reference. The area map is per joint or shared, and
        float64 or float32. A centre is tested after ``int()`` with
        ``center_test: truncated``, and before it otherwise.
        """
        w, h = size
        p, k = kp.shape[:2]
        off = np.zeros((k, 2, h, w), np.float32)
        wt = np.zeros((k, 2, h, w), np.float32)
        amap = np.zeros((1 if self.area_map == "shared" else k, h, w), np.dtype(self.area_map_dtype))
        r = self.offset_radius
        for i in range(p):
            cx, cy, cv = centers[i]
            if cv <= 0:
                continue
            ix, iy = int(cx), int(cy)
            tx, ty = (ix, iy) if self.center_test == "truncated" else (cx, cy)
            if tx < 0 or ty < 0 or tx >= w or ty >= h:
                continue
            x0, x1 = max(ix - r, 0), min(ix + r, w)
            y0, y1 = max(iy - r, 0), min(iy + r, h)
            weight = 1.0 / np.sqrt(max(area[i], 1.0))
            for j in range(k):
                x, y, v = kp[i, j]
                if v <= 0 or x < 0 or y < 0 or x >= w or y >= h:
                    continue
                a = amap[0 if self.area_map == "shared" else j, y0:y1, x0:x1]
                ox = off[j, 0, y0:y1, x0:x1]
                oy = off[j, 1, y0:y1, x0:x1]
                write = ~(((ox != 0) | (oy != 0)) & (a < area[i]))          # float32 map vs float64 area
                gx = np.broadcast_to(np.arange(x0, x1, dtype=np.float64)[None, :] - x, write.shape)
                gy = np.broadcast_to(np.arange(y0, y1, dtype=np.float64)[:, None] - y, write.shape)
                ox[write], oy[write] = gx[write], gy[write]
                wt[j, :, y0:y1, x0:x1][:, write] = weight
                a[write] = area[i]
        return off.reshape(2 * k, h, w), wt.reshape(2 * k, h, w)

    # ------------------------------------------------------------------ decode
    def pool_kernel(self, height: int, width: int) -> int:
        """Max-pool kernel of the centre NMS: 7 / 5 / 3 by the mean map side vs ``pool_thresholds``."""
        side = (height + width) / 2.0
        return 7 if side > self.pool_thresholds[0] else 5 if side > self.pool_thresholds[1] else 3

    def center_peaks(self, center_map: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Flat indices and scores of the centre peaks of ``center_map (H, W)``: local maxima
        (max-pool NMS), the top ``max_people``, score ``> keypoint_threshold``."""
        h, w = center_map.shape
        k = self.pool_kernel(h, w)
        hm = center_map[None, None]
        peaks = hm * (F.max_pool2d(hm, k, 1, (k - 1) // 2) == hm).to(hm.dtype)
        scores, idx = peaks.flatten().topk(min(self.max_people, h * w))
        keep = scores > self.keypoint_threshold
        return idx[keep], scores[keep]

    def decode(self, heatmaps: torch.Tensor, poses: torch.Tensor) -> torch.Tensor:
        """Candidate poses of one image at its centre peaks.

        ``heatmaps (K+1, H, W)`` (centre last), ``poses (K, 2, H, W)`` (see
        :func:`offsets_to_poses`, flip-merged if wanted) -> ``(M, K, 3)``
        (x, y in heatmap pixels, centre score), M <= ``max_people``.
        """
        idx, scores = self.center_peaks(heatmaps[-1])
        k = poses.shape[0]
        flat = poses.reshape(k, 2, -1)[:, :, idx].permute(2, 0, 1)               # (M, K, 2)
        return torch.cat([flat, scores[:, None, None].expand(-1, k, 1)], dim=2)

    def flip_merge(self, heatmaps: torch.Tensor, poses: torch.Tensor, heatmaps_flip: torch.Tensor,
                   offsets_flip: torch.Tensor, flip_index: Sequence[int]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Average the outputs of an image ``(N, K+1, H, W)``, ``(N, K, 2, H, W)`` with those of
        its mirror (heatmaps and raw offsets ``(N, 2K, H, W)``); ``flip_index (K,)`` swaps joints."""
        k = poses.shape[1]
        w = heatmaps.shape[-1]
        fi = torch.as_tensor(list(flip_index), dtype=torch.long, device=heatmaps.device)
        heat_index = torch.cat([fi, torch.tensor([k], device=heatmaps.device)])
        hm = (heatmaps + torch.flip(heatmaps_flip, [3])[:, heat_index]) / 2.0
        pf = offsets_to_poses(offsets_flip)[:, fi]
        pf = torch.stack([w - pf[:, :, 0] - 1, pf[:, :, 1]], dim=2)
        return hm, (poses + torch.flip(pf, [4])) / 2.0

    @staticmethod
    def heat_values(poses: torch.Tensor, heatmap: torch.Tensor) -> torch.Tensor:
        """Joint heatmap values at ``poses (M, K, 2)`` from ``heatmap (K+1, H, W)`` (floor index,
        clamped into the map) -> ``(M, K)``."""
        _, h, w = heatmap.shape
        k = poses.shape[1]
        yb = poses[..., 1].floor().clamp(0, h - 1).long()
        xl = poses[..., 0].floor().clamp(0, w - 1).long()
        flat = heatmap[:k].reshape(k, -1)
        return flat[torch.arange(k, device=poses.device)[None, :], yb * w + xl]

    def pose_nms(self, heatmap: torch.Tensor, poses: List[torch.Tensor],
                 scale1_index: int = 0) -> Tuple[np.ndarray, np.ndarray]:
        """DEKR pose NMS over the candidates of all scales.

        ``heatmap (K+1, H, W)`` is the (scale-averaged) heatmap at the
        resolution of the pose coordinates; ``poses`` one ``(M_s, K, 3)``
        tensor per scale (x, y, centre score); the scores of scales other than
        ``scale1_index`` are normalised to its maximum and multiplied by
        ``decrease``.  Returns ``poses (M, K, 3)`` (x, y, joint score) and
        ``scores (M,)`` (mean joint score), NumPy float32.
        """
        poses = [p.clone() for p in poses]
        ref = poses[scale1_index]
        top = ref[:, :, 2].max() if ref.shape[0] else 1.0
        for i, p in enumerate(poses):
            if i != scale1_index and p.shape[0]:
                p[:, :, 2] = p[:, :, 2] / p[:, :, 2].max() * top * self.decrease
        allp = torch.cat(poses, 0) if poses else torch.zeros(0, heatmap.shape[0] - 1, 3)
        k = heatmap.shape[0] - 1
        if allp.shape[0] == 0:
            return np.zeros((0, k, 3), np.float32), np.zeros(0, np.float32)
        coord = allp[:, :, :2]
        heat = self.heat_values(coord, heatmap)                               # (M, K)
        heat_score = heat.mean(1)
        joint_scores = allp[:, :, 2] * heat
        keep = self._nms_core(coord, heat_score)
        coord, joint_scores, heat_score = coord[keep], joint_scores[keep], heat_score[keep]
        if len(keep) > self.max_people:
            top_idx = torch.topk(heat_score, self.max_people).indices
            coord, joint_scores = coord[top_idx], joint_scores[top_idx]
        out = torch.cat([coord, joint_scores[..., None]], 2).detach().cpu().numpy().astype(np.float32)
        return out, out[:, :, 2].mean(1)

    def _nms_core(self, coord: torch.Tensor, heat_score: torch.Tensor) -> List[int]:
        """Indices kept by DEKR's greedy duplicate grouping (in candidate order, best of each group)."""
        ext = coord.max(1).values - coord.min(1).values                        # (M, 2)
        area = (ext ** 2).sum(1)                                               # (M,)
        dist = (coord[:, None] - coord[None]).pow(2).sum(-1).sqrt()            # (M, M, K)
        close = (dist < self.nms_threshold * area.sqrt()[:, None, None]).sum(-1)
        dup = (close > self.nms_num_threshold).cpu().numpy()
        hs = heat_score.detach().cpu().numpy()
        ignored, keep = set(), []
        for i in range(dup.shape[0]):                                          # one step per candidate pose
            if i in ignored:
                continue
            group = np.flatnonzero(dup[i])
            if group.size == 0:
                continue
            best = int(group[np.argmax(hs[group])])
            if best in ignored:
                continue
            keep.append(best)
            ignored.update(group.tolist())
        return keep

    # ------------------------------------------------------------------ heatmap matching
    def absorb(self, poses: torch.Tensor, heatmap: torch.Tensor) -> torch.Tensor:
        """Move each joint of ``poses (M, K, >=2)`` (x, y first) onto the nearest of the
        ``max_people`` strongest 5x5 local maxima of its channel of ``heatmap (K+1, H, W)``
        when closer than ``max_absorb_distance``; returns a new tensor."""
        out = poses.clone()
        m, k = poses.shape[:2]
        if m == 0:
            return out
        hm = heatmap[:k][None]
        peaks = hm * (F.max_pool2d(hm, 5, 1, 2) == hm).to(hm.dtype)
        w = hm.shape[-1]
        val, idx = peaks[0].reshape(k, -1).topk(min(self.max_people, peaks[0, 0].numel()), dim=1)   # (K, P)
        pk = torch.stack([idx % w, torch.div(idx, w, rounding_mode="floor")], 2).to(poses.dtype)  # (K, P, 2)
        dist = (poses[:, :, None, :2] - pk[None]).norm(dim=-1)                                  # (M, K, P)
        dist = dist.masked_fill(~(val > 0)[None], float("inf"))
        best, arg = dist.min(2)                                                                 # (M, K)
        snap = pk[torch.arange(k, device=poses.device)[None, :], arg]                           # (M, K, 2)
        near = (best < self.max_absorb_distance)[..., None]
        out[..., :2] = torch.where(near, snap, poses[..., :2])
        return out

    def adjust(self, poses: torch.Tensor, heatmap: torch.Tensor) -> torch.Tensor:
        """Sub-pixel refinement of the joints of ``poses (M, K, 3)`` whose score exceeds
        ``adjust_threshold``: Gaussian fit (:func:`fit_gaussians`) to ``heatmap (K+1, H, W)``
        in the ``(2 n + 1)^2`` window round the rounded joint; returns a new tensor."""
        out = poses.clone()
        m, k = poses.shape[:2]
        sel = (poses[..., 2] > self.adjust_threshold).nonzero(as_tuple=False)                  # (B, 2)
        if sel.shape[0] == 0:
            return out
        n = self.adjust_kernel
        _, h, w = heatmap.shape
        joint = sel[:, 1]
        xy = poses[sel[:, 0], joint, :2]
        cx = torch.floor(xy[:, 0] + 0.5).long().clamp(0, w - 1)
        cy = torch.floor(xy[:, 1] + 0.5).long().clamp(0, h - 1)
        off = torch.arange(-n, n + 1, device=heatmap.device)
        gx, gy = cx[:, None] + off[None], cy[:, None] + off[None]                              # (B, S)
        vx, vy = (gx >= 0) & (gx < w), (gy >= 0) & (gy < h)
        patches = heatmap[joint[:, None, None], gy.clamp(0, h - 1)[:, :, None], gx.clamp(0, w - 1)[:, None, :]]
        valid = vy[:, :, None] & vx[:, None, :]
        init = torch.stack([heatmap[joint, cy, cx].to(torch.float64), torch.full_like(cx, n, dtype=torch.float64),
                            torch.full_like(cx, n, dtype=torch.float64),
                            torch.full_like(cx, 2, dtype=torch.float64)], 1)
        params, ok = fit_gaussians(patches, valid, init)
        new = torch.stack([cx - n + params[:, 1], cy - n + params[:, 2]], 1).to(poses.dtype)
        out[sel[ok, 0], joint[ok], :2] = new[ok]
        return out

    def match_to_heatmap(self, poses, heatmap: torch.Tensor):
        """The reference's heatmap matching of decoded ``poses (M, K, 3)`` (x, y, joint score,
        NumPy or torch, same frame as ``heatmap (K+1, H, W)``): :meth:`absorb`, then
        :meth:`adjust`.  Returns the same type as ``poses``."""
        is_np = isinstance(poses, np.ndarray)
        p = torch.as_tensor(poses, dtype=torch.float64, device=heatmap.device)
        hm = heatmap.to(torch.float64)
        p = self.adjust(self.absorb(p, hm), hm)
        return p.cpu().numpy().astype(poses.dtype) if is_np else p.to(poses.dtype)
