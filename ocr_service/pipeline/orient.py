"""Orientation (0/90/180/270) and deskew.

Orientation compares the page with the template's blank: at each quarter turn, how well the
page's coarse ink layout correlates with the blank's. Skew comes from the page alone (the angle
at which text lines give the sharpest horizontal projection profile), so it also works on
pages of other forms.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MAX_SKEW_DEG = 8.0
MAX_INK_LEVEL = 190  # relative to the local paper (255): anything lighter is paper, not ink


@dataclass(frozen=True)
class Orientation:
    rotation: int  # quarter turns applied clockwise to make the page upright: 0, 90, 180, 270
    skew_deg: float  # small-angle correction applied after the quarter turn (counter-clockwise positive)
    score: float  # how much better the chosen quarter turn matched than the runner-up (0..1)


def binarize_ink(gray: np.ndarray) -> np.ndarray:
    """Ink mask (uint8 0/255) robust to uneven light: dark relative to the local background."""
    k = max(15, (min(gray.shape) // 20) | 1)
    background = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    norm = cv2.divide(gray, background, scale=255)
    _, ink = cv2.threshold(norm, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    ink[norm > MAX_INK_LEVEL] = 0  # on a blank sheet Otsu splits paper noise: ink must be really dark
    if ink.mean() > 0.5 * 255:  # Otsu split the paper itself: nothing dark enough to be ink
        ink[:] = 0
    return ink


def _shrink(gray: np.ndarray, target_long_side: int) -> tuple[np.ndarray, float]:
    scale = target_long_side / max(gray.shape)
    if scale >= 1:
        return gray, 1.0
    return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale


def rotate90(gray: np.ndarray, rotation: int) -> np.ndarray:
    """Turn an image clockwise by ``rotation`` degrees (a multiple of 90), exactly."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(gray, -k)) if k else gray


def rotate_small(gray: np.ndarray, angle_deg: float, fill: int = 255) -> np.ndarray:
    """Rotate counter-clockwise by a small angle about the centre, keeping the whole page."""
    if abs(angle_deg) < 1e-3:
        return gray
    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos + 0.5), int(h * cos + w * sin + 0.5)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(gray, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=fill)


def estimate_skew(gray: np.ndarray, max_angle: float = MAX_SKEW_DEG) -> float:
    """The counter-clockwise rotation (degrees) that makes text lines horizontal.

    Projection-profile search, coarse then fine; accurate to about 0.05° on text pages.
    Returns 0.0 for a page without enough ink to tell.
    """
    small, _ = _shrink(gray, 1400)
    ink = binarize_ink(small)
    if ink.mean() < 0.002 * 255:
        return 0.0
    # Join characters into line blobs so the profile sees text lines, not letters.
    ink = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 1)))
    ys, xs = np.nonzero(ink)
    pts = np.column_stack([xs, ys]).astype(np.float32)
    if len(pts) > 40_000:  # a sample keeps the profile's shape at a fraction of the cost
        pts = pts[np.random.default_rng(0).choice(len(pts), 40_000, replace=False)]
    cx, cy = ink.shape[1] / 2, ink.shape[0] / 2
    height = int(np.hypot(*ink.shape)) + 2

    def sharpness(angle: float) -> float:
        a = np.deg2rad(angle)
        # y coordinate after rotating counter-clockwise by `angle` about the centre
        y = -(pts[:, 0] - cx) * np.sin(a) + (pts[:, 1] - cy) * np.cos(a) + height / 2
        hist = np.bincount(np.clip(y.astype(np.int32), 0, height - 1), minlength=height).astype(np.float64)
        return float(np.sum(np.diff(hist) ** 2))

    best = 0.0
    for step, span in ((0.5, max_angle), (0.1, 0.6), (0.02, 0.12)):
        angles = np.arange(best - span, best + span + 1e-9, step)
        scores = [sharpness(a) for a in angles]
        best = float(angles[int(np.argmax(scores))])
    return best


def _layout_signature(gray: np.ndarray, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    """Coarse ink density on a fixed grid, over the page's content bounding box."""
    ink = binarize_ink(gray)
    ys, xs = np.nonzero(ink)
    if len(xs) < 50:
        return np.zeros(size[0] * size[1], np.float32)
    x0, x1 = np.percentile(xs, [0.5, 99.5]).astype(int)
    y0, y1 = np.percentile(ys, [0.5, 99.5]).astype(int)
    crop = ink[y0:y1 + 1, x0:x1 + 1].astype(np.float32)
    sig = cv2.resize(crop, size, interpolation=cv2.INTER_AREA).ravel()
    sig -= sig.mean()
    n = np.linalg.norm(sig)
    return sig / n if n > 0 else sig


def estimate_orientation(gray: np.ndarray, reference: np.ndarray) -> tuple[int, float]:
    """(quarter turns clockwise to make ``gray`` upright, margin over the runner-up)."""
    small, _ = _shrink(gray, 700)
    ref_small, _ = _shrink(reference, 700)
    ref_sig = _layout_signature(ref_small)
    scores = []
    skews: dict[int, float] = {}
    for rotation in (0, 90, 180, 270):
        turned = rotate90(small, rotation)
        # a half turn keeps the skew angle: estimate it once per axis
        if rotation % 180 not in skews:
            skews[rotation % 180] = estimate_skew(turned, max_angle=MAX_SKEW_DEG)
        scores.append(float(_layout_signature(rotate_small(turned, skews[rotation % 180])) @ ref_sig))
    order = np.argsort(scores)[::-1]
    return int(order[0]) * 90, float(scores[order[0]] - scores[order[1]])


def whiten_background(gray: np.ndarray) -> np.ndarray:
    """The page with a dark scanner bed around the paper painted white (a light bed is left alone)."""
    small, scale = _shrink(gray, 500)
    _, bright = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    border = np.concatenate([bright[0], bright[-1], bright[:, 0], bright[:, -1]])
    if border.mean() > 0.5 * 255:  # the image edge is mostly paper-bright: no dark bed
        return gray
    n, labels, stats, _ = cv2.connectedComponentsWithStats(bright)
    if n < 2:
        return gray
    paper = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    pts = cv2.findNonZero((labels == paper).astype(np.uint8))
    hull = cv2.convexHull(pts)
    mask = np.zeros_like(small)
    cv2.fillConvexPoly(mask, hull, 255)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
    mask = cv2.resize(mask, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_NEAREST)
    out = gray.copy()
    out[mask == 0] = 255
    return out


def orient(gray: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, Orientation]:
    """The page turned upright and deskewed, and what was done to it."""
    gray = whiten_background(gray)
    rotation, margin = estimate_orientation(gray, reference)
    turned = rotate90(gray, rotation)
    skew = estimate_skew(turned)
    return rotate_small(turned, skew), Orientation(rotation, skew, margin)
