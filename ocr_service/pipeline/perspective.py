"""Perspective: a phone photo of a sheet flattened from the sheet's own edges, before it is oriented.

The paper is found as the largest bright region against a darker background (a table, a dark scanner
bed); its outline is reduced to four corners, each side refined by a line fitted to its edge points.
Only a clearly keystoned quadrilateral is warped to a rectangle: a scan without a visible paper edge,
or a paper that is merely turned on the bed (a rotated rectangle), is returned untouched, since
deskew and registration handle those; so is a bright region whose four corners are too far from
square to be a sheet seen by a camera (a lit patch of a dark page, not its outline).
"""

from __future__ import annotations

import cv2
import numpy as np

WORK_SIDE = 800  # long side (px) at which the paper's outline is found
MIN_PAPER_SHARE = 0.2  # the paper must cover at least this share of the image
MIN_KEYSTONE = 0.03  # relative departure from a rectangle below which nothing is warped
MAX_KEYSTONE = 0.35  # a corner further than ~30° off square is no sheet's outline (a bright blotch)


def _order(quad: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left: clockwise around their centre (on
    screen), starting at the one nearest the image's top-left. Going round the centre keeps four
    distinct corners even for a quadrilateral turned near 45°, where picking each corner by the
    smallest or largest x+y and x-y can pick one corner twice."""
    quad = np.asarray(quad, np.float64)
    c = quad.mean(axis=0)
    quad = quad[np.argsort(np.arctan2(quad[:, 1] - c[1], quad[:, 0] - c[0]))]
    return np.roll(quad, -int(np.argmin(quad.sum(axis=1))), axis=0)


def _refine(quad: np.ndarray, contour: np.ndarray) -> np.ndarray:
    """Corners as intersections of lines fitted to the outline points along each side."""
    pts = contour.reshape(-1, 2).astype(np.float64)
    lines = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        ab = b - a
        length = float(np.hypot(*ab))
        t = ((pts - a) @ ab) / (length ** 2)
        rel = pts - a
        dist = np.abs(ab[0] * rel[:, 1] - ab[1] * rel[:, 0]) / length
        near = pts[(t > 0.1) & (t < 0.9) & (dist < max(3.0, 0.01 * length))]
        if len(near) < 10:
            return quad
        vx, vy, x0, y0 = cv2.fitLine(near.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        lines.append((np.array([x0, y0], np.float64), np.array([vx, vy], np.float64)))
    out = []
    for i in range(4):  # corner i lies between side i-1 and side i
        (p1, d1), (p2, d2) = lines[i - 1], lines[i]
        m = np.array([d1, -d2]).T
        if abs(np.linalg.det(m)) < 1e-6:
            return quad
        s = np.linalg.solve(m, p2 - p1)
        out.append(p1 + s[0] * d1)
    refined = np.array(out)
    return refined if np.abs(refined - quad).max() < 10 else quad


def find_paper(gray: np.ndarray) -> np.ndarray | None:
    """The paper's four corners (TL, TR, BR, BL, in ``gray``'s pixels) when its edges are visible
    against a darker background; None otherwise (a scan whose paper fills the image, a light bed)."""
    scale = min(1.0, WORK_SIDE / max(gray.shape))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    small = cv2.GaussianBlur(small, (5, 5), 0)
    _, bright = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    border = np.concatenate([bright[0], bright[-1], bright[:, 0], bright[:, -1]])
    if border.mean() > 0.5 * 255:  # the image edge is mostly paper-bright: no background to see
        return None
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea)
    if cv2.contourArea(contour) < MIN_PAPER_SHARE * small.size:
        return None
    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    quad = None
    for eps in (0.01, 0.02, 0.03, 0.05, 0.08):
        approx = cv2.approxPolyDP(hull, eps * perimeter, True)
        if len(approx) == 4:
            quad = approx.reshape(4, 2).astype(np.float64)
            break
    if quad is None:
        return None
    quad = _refine(_order(quad), contour)
    return quad / scale


def keystone(quad: np.ndarray) -> float:
    """How far a quadrilateral (TL, TR, BR, BL) is from a rectangle: the larger relative difference
    of its opposite sides, or of a corner angle from 90° (as a share of 90°)."""
    side = [float(np.hypot(*(quad[(i + 1) % 4] - quad[i]))) for i in range(4)]
    sides = max(abs(side[0] - side[2]) / max(side[0], side[2]), abs(side[1] - side[3]) / max(side[1], side[3]))
    angles = []
    for i in range(4):
        a, b = quad[i - 1] - quad[i], quad[(i + 1) % 4] - quad[i]
        cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        angles.append(abs(np.degrees(np.arccos(np.clip(cos, -1, 1))) - 90) / 90)
    return max(sides, max(angles))


def flatten(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(the page warped to a rectangle, the corners it was warped from) for a photo with perspective;
    (``gray`` unchanged, None) for anything else."""
    quad = find_paper(gray)
    if quad is None or not MIN_KEYSTONE <= keystone(quad) <= MAX_KEYSTONE:
        return gray, None
    tl, tr, br, bl = quad
    w = int(round((np.hypot(*(tr - tl)) + np.hypot(*(br - bl))) / 2))
    h = int(round((np.hypot(*(bl - tl)) + np.hypot(*(br - tr))) / 2))
    # the edge pixels themselves are paper: map corner to corner at the pixels' outer edges
    rect = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]], np.float32)
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), rect)
    out = cv2.warpPerspective(gray, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=255)
    return out, quad
