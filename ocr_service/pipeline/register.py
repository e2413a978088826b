"""Registration: find where the template's page lies in an upright page image.

Coarse: ORB features matched against the template's blank (works on any printed form).
Marks: where the template prints registration marks, their centres fix the transform.
Fine: small patches of the blank's printed structure (labels, lines, boxes) are located in the
page by normalized cross-correlation; a homography is fitted to them, and the residual is how
far, in pixels at the working resolution, the located patches lie from where the fitted
transform puts them. A page whose residual exceeds the template's limit, or whose patches do not
match at all (another form, a blank sheet), is not registered, with the reason.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from ocr_service.forms.model import Template, box_to_px
from ocr_service.forms import qr
from ocr_service.forms.render import reference_image
from ocr_service.pipeline.orient import binarize_ink

WORK_DPI = 300
COARSE_DPI = 100
PATCH = 72  # anchor patch side at the working dpi (6 mm)
SEARCH = 24  # how far (px) around its predicted place a patch is searched for
MIN_PATCH_SCORE = 0.55
MIN_COARSE_INLIERS = 25


@dataclass(frozen=True)
class Registration:
    """Where the template lies in the page: ``homography`` maps page pixels to template pixels
    at ``dpi``. ``ok`` is False with a ``reason`` when the page must be rescanned."""

    ok: bool
    reason: str
    homography: np.ndarray | None
    residual_px: float | None
    dpi: int
    matched_share: float = 0.0  # share of anchor patches found where expected
    method: str = ""
    qr_text: str | None = None
    prior: np.ndarray | None = None  # a failed page's best transform so far (coarse or final), for fallbacks


@dataclass(frozen=True)
class _Reference:
    image: np.ndarray
    keypoints: tuple
    descriptors: np.ndarray
    coarse_scale: float
    anchors: np.ndarray  # (N, 2) anchor centres in template pixels at the working dpi


_ORB = None


def _orb():
    global _ORB
    if _ORB is None:
        _ORB = cv2.ORB_create(nfeatures=4000, scaleFactor=1.2, nlevels=8, fastThreshold=12)
    return _ORB


@functools.lru_cache(maxsize=8)
def _reference(template: Template, dpi: int) -> _Reference:
    ref = reference_image(template, dpi)
    scale = COARSE_DPI / dpi
    small = cv2.resize(ref, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    kps, desc = _orb().detectAndCompute(small, None)
    return _Reference(ref, tuple(kps), desc, scale, _pick_anchors(template, ref, dpi))


def _pick_anchors(template: Template, ref: np.ndarray, dpi: int, max_anchors: int = 80) -> np.ndarray:
    """Anchor centres: structured printed places outside the writing areas, spread over the page."""
    h, w = ref.shape
    writing = np.zeros((h, w), np.uint8)
    for f in template.fields:
        x, y, bw, bh = box_to_px(f.box_mm, dpi)
        writing[max(0, y - dpi // 50):y + bh, x:x + bw] = 1
    if template.registration.qr_box_mm:
        x, y, bw, bh = box_to_px(template.registration.qr_box_mm, dpi)
        writing[y:y + bh, x:x + bw] = 1
    corners = cv2.goodFeaturesToTrack(ref, maxCorners=4000, qualityLevel=0.05, minDistance=PATCH // 2,
                                      blockSize=7)
    if corners is None:
        return np.zeros((0, 2), np.float32)
    half = PATCH // 2
    margin = half + SEARCH + 2
    cell = max(w, h) // 10
    chosen: dict[tuple[int, int], tuple[float, float, float]] = {}
    for (cx, cy) in corners.reshape(-1, 2):
        x, y = int(cx), int(cy)
        if x < margin or y < margin or x >= w - margin or y >= h - margin:
            continue
        if writing[y - half:y + half, x - half:x + half].mean() > 0.15:
            continue
        patch = ref[y - half:y + half, x - half:x + half]
        gx = cv2.Sobel(patch, cv2.CV_32F, 1, 0)
        gy = cv2.Sobel(patch, cv2.CV_32F, 0, 1)
        # both gradient directions present: the patch pins x and y, not just one of them
        strength = float(min(np.abs(gx).mean(), np.abs(gy).mean()))
        key = (x // cell, y // cell)
        if strength > 2 and (key not in chosen or chosen[key][2] < strength):
            chosen[key] = (cx, cy, strength)
    pts = sorted(chosen.values(), key=lambda p: -p[2])[:max_anchors]
    return np.array([(p[0], p[1]) for p in pts], np.float32).reshape(-1, 2)


def _coarse(page: np.ndarray, ref: _Reference, dpi: int) -> tuple[np.ndarray | None, int]:
    # bring the page to about the coarse resolution of the reference
    page_scale = ref.coarse_scale * ref.image.shape[0] / page.shape[0]
    small = cv2.resize(page, None, fx=page_scale, fy=page_scale, interpolation=cv2.INTER_AREA)
    kps, desc = _orb().detectAndCompute(small, None)
    if desc is None or ref.descriptors is None or len(kps) < 10:
        return None, 0
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(desc, ref.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < MIN_COARSE_INLIERS:
        return None, len(good)
    src = np.float32([kps[m.queryIdx].pt for m in good])
    dst = np.float32([ref.keypoints[m.trainIdx].pt for m in good])
    h_small, mask = cv2.findHomography(src, dst, cv2.RANSAC, 4.0, maxIters=4000, confidence=0.999)
    inliers = int(mask.sum()) if mask is not None else 0
    if h_small is None or inliers < MIN_COARSE_INLIERS:
        return None, inliers
    s_page = np.diag([page_scale, page_scale, 1.0])
    s_ref_inv = np.diag([1 / ref.coarse_scale, 1 / ref.coarse_scale, 1.0])
    return s_ref_inv @ h_small @ s_page, inliers


BLANK_REASON = "blank page: no printed form found"


def is_blank(page: np.ndarray) -> bool:
    """True for a page with (almost) no ink: an empty sheet, or the back of one."""
    return binarize_ink(cv2.resize(page, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)).mean() < 0.002 * 255


def match_score(page: np.ndarray, template: Template, dpi: int = WORK_DPI) -> int:
    """How many of the page's features match the template's blank (any rotation): the evidence
    for which form a page is."""
    return _coarse(page, _reference(template, dpi), dpi)[1]


def _refine_with_marks(page: np.ndarray, h: np.ndarray, template: Template, dpi: int) -> np.ndarray | None:
    """Homography from the registration marks' centres, searched near where ``h`` predicts them."""
    h_inv = np.linalg.inv(h)
    src, dst = [], []
    for mark in template.registration.marks:
        x, y, bw, bh = box_to_px(mark, dpi)
        centre = np.array([[[x + bw / 2, y + bh / 2]]], np.float32)
        px, py = cv2.perspectiveTransform(centre, h_inv)[0, 0]
        scale = np.sqrt(abs(np.linalg.det(h_inv[:2, :2])))
        r = int(max(bw, bh) * scale * 1.5) + 10
        x0, y0 = max(0, int(px) - r), max(0, int(py) - r)
        win = page[y0:int(py) + r, x0:int(px) + r]
        if win.size == 0:
            continue
        _, dark = cv2.threshold(win, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
        n, _, stats, cents = cv2.connectedComponentsWithStats(dark)
        expected = bw * bh * scale * scale
        best = None
        for i in range(1, n):
            area = stats[i, cv2.CC_STAT_AREA]
            ww, hh = stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]
            if 0.5 * expected < area < 1.6 * expected and 0.6 < ww / max(hh, 1) < 1.6 and area > 0.7 * ww * hh:
                d = np.hypot(cents[i][0] + x0 - px, cents[i][1] + y0 - py)
                if best is None or d < best[0]:
                    best = (d, cents[i][0] + x0, cents[i][1] + y0)
        if best is not None:
            src.append(best[1:])
            dst.append((x + bw / 2, y + bh / 2))
    if len(src) < 3:
        return None
    src_a, dst_a = np.float32(src), np.float32(dst)
    if len(src) == 3:
        return np.vstack([cv2.getAffineTransform(src_a, dst_a), [0, 0, 1]])
    m, _ = cv2.findHomography(src_a, dst_a, 0)
    return m


def locate_anchors(aligned: np.ndarray, ref: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each anchor patch of ``ref`` is found in ``aligned`` (subpixel), and its match score."""
    half = PATCH // 2
    found = np.full((len(anchors), 2), np.nan, np.float32)
    scores = np.zeros(len(anchors), np.float32)
    h, w = aligned.shape
    for i, (cx, cy) in enumerate(anchors):
        x, y = int(round(cx)), int(round(cy))
        tmpl = ref[y - half:y + half, x - half:x + half]
        y0, y1 = y - half - SEARCH, y + half + SEARCH
        x0, x1 = x - half - SEARCH, x + half + SEARCH
        if y0 < 0 or x0 < 0 or y1 > h or x1 > w:
            continue
        res = cv2.matchTemplate(aligned[y0:y1, x0:x1], tmpl, cv2.TM_CCOEFF_NORMED)
        _, score, _, (mx, my) = cv2.minMaxLoc(res)
        dx, dy = _subpixel(res, mx, my)
        found[i] = (x0 + mx + dx + half + (cx - x), y0 + my + dy + half + (cy - y))
        scores[i] = score
    return found, scores


def _subpixel(res: np.ndarray, mx: int, my: int) -> tuple[float, float]:
    def peak(a, b, c):
        d = a - 2 * b + c
        return 0.0 if abs(d) < 1e-9 else float(np.clip(0.5 * (a - c) / d, -0.5, 0.5))
    dx = peak(res[my, mx - 1], res[my, mx], res[my, mx + 1]) if 0 < mx < res.shape[1] - 1 else 0.0
    dy = peak(res[my - 1, mx], res[my, mx], res[my + 1, mx]) if 0 < my < res.shape[0] - 1 else 0.0
    return dx, dy


def warp(page: np.ndarray, homography: np.ndarray, template: Template, dpi: int) -> np.ndarray:
    """The page resampled into template coordinates at ``dpi`` (outside the page: white)."""
    return cv2.warpPerspective(page, homography, template.page_px(dpi), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def register(page: np.ndarray, template: Template, dpi: int = WORK_DPI) -> Registration:
    """Register an upright page to ``template``. Never raises for a bad page: returns ok=False."""
    fail = functools.partial(Registration, False, homography=None, residual_px=None, dpi=dpi)
    if page.ndim != 2 or min(page.shape) < 64:
        return fail("page image too small to register")
    if is_blank(page):
        return fail(BLANK_REASON)
    ref = _reference(template, dpi)
    h, inliers = _coarse(page, ref, dpi)
    if h is None:
        return fail(f"not this form ({template.id}): only {inliers} features match its blank")
    method = "features"
    if template.registration.method == "marks":
        h_marks = _refine_with_marks(page, h, template, dpi)
        if h_marks is not None:
            h, method = h_marks, "marks"
    fail = functools.partial(fail, prior=h)
    if len(ref.anchors) < 8:
        return fail(f"template {template.id} has too few printed anchors to check registration")
    aligned = warp(page, h, template, dpi)
    found, scores = locate_anchors(aligned, ref.image, ref.anchors)
    good = scores >= MIN_PATCH_SCORE
    share = float(good.mean())
    if good.sum() < 8 or share < 0.4:
        return fail(f"not this form ({template.id}) or too distorted: {share:.0%} of printed anchors found",
                    matched_share=share, method=method)
    # correction mapping where patches were found to where the template has them
    corr, mask = cv2.findHomography(found[good], ref.anchors[good], cv2.RANSAC, 3.0, maxIters=2000)
    if corr is None:
        return fail("registration did not converge", matched_share=share, method=method)
    mask = mask.ravel().astype(bool)
    final = corr @ h
    projected = cv2.perspectiveTransform(found[good][mask].reshape(-1, 1, 2), corr).reshape(-1, 2)
    errors = np.linalg.norm(projected - ref.anchors[good][mask], axis=1)
    residual = float(np.sqrt(np.mean(errors ** 2))) if len(errors) else float("inf")
    inlier_share = float(mask.sum()) / len(ref.anchors)
    qr_text = read_qr(page, final, template, dpi) if template.registration.qr_box_mm else None
    if residual > template.registration.max_residual_px or inlier_share < 0.3:
        return Registration(False, f"registration residual {residual:.1f} px is over the "
                            f"{template.registration.max_residual_px:g} px limit",
                            final, residual, dpi, inlier_share, method, qr_text, prior=final)
    return Registration(True, "", final, residual, dpi, inlier_share, method, qr_text)


def read_qr(page: np.ndarray, homography: np.ndarray, template: Template, dpi: int) -> str | None:
    """The text of the QR code printed in the template's QR box, if one can be decoded
    (only the box's neighbourhood is resampled, not the whole page)."""
    x, y, bw, bh = box_to_px(template.registration.qr_box_mm, dpi)
    pad = dpi // 10
    x0, y0 = max(0, x - pad), max(0, y - pad)
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64)
    crop = cv2.warpPerspective(page, shift @ homography, (bw + 2 * pad, bh + 2 * pad), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=255)
    return qr.decode(crop)
