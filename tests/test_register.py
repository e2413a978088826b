"""Registration against ground truth from the scan simulator.

simulate_scan's ``homography`` maps template pixels (the sheet is rendered at 300 dpi, the working
resolution) to scan pixels; register() maps page pixels to template pixels. On an upright scan
their composition must be the identity. After orient() (quarter turns), the warped page must put
the marks and the written content where they are on the clean sheet.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import DC01_SERIAL
from ocr_service.forms import qr
from ocr_service.synth import scan
from ocr_service.forms.model import box_to_px
from ocr_service.pipeline import orient, register

DPI = 300
MAX_RESIDUAL = 3.0
MAX_ERROR_PX = 2.0


def field_centres(template) -> np.ndarray:
    out = []
    for f in template.fields:
        x, y, w, h = box_to_px(f.box_mm, DPI)
        out.append((x + w / 2, y + h / 2))
    w, h = template.page_px(DPI)
    out += [(40, 40), (w - 40, 40), (w - 40, h - 40), (40, h - 40)]  # and near the page corners
    return np.array(out, np.float64)


def truth_error(reg, truth, template) -> float:
    """Largest distance (template px) between a point and its round trip template → scan → template."""
    pts = field_centres(template)
    back = scan.map_points(np.asarray(reg.homography) @ np.asarray(truth["homography"]), pts)
    return float(np.abs(back - pts).max())


def mark_centres(img: np.ndarray, template) -> np.ndarray:
    """Centroids of the dark registration marks found near their template places."""
    out = []
    for m in template.registration.marks:
        x, y, w, h = box_to_px(m, DPI)
        r = 20
        win = img[y - r:y + h + r, x - r:x + w + r]
        ys, xs = np.nonzero(win < 128)
        assert len(xs) > 0.5 * w * h, "mark missing in the warped page"
        out.append((xs.mean() + x - r, ys.mean() + y - r))
    return np.array(out)


def local_shifts(a: np.ndarray, b: np.ndarray, centres, half=(64, 160)) -> list[tuple[float, float, float]]:
    """Phase-correlation shift (dx, dy, response) between a and b around each centre."""
    out = []
    for cx, cy in centres:
        cx, cy = int(cx), int(cy)
        pa = a[cy - half[0]:cy + half[0], cx - half[1]:cx + half[1]].astype(np.float32)
        pb = b[cy - half[0]:cy + half[0], cx - half[1]:cx + half[1]].astype(np.float32)
        pa = (pa - pa.mean()) / (pa.std() + 1e-6)
        pb = (pb - pb.mean()) / (pb.std() + 1e-6)
        win = cv2.createHanningWindow((pa.shape[1], pa.shape[0]), cv2.CV_32F)
        (dx, dy), resp = cv2.phaseCorrelate(pa, pb, win)
        out.append((dx, dy, resp))
    return out


# Upright scans (skewed, scaled, keystoned, degraded): composition with the truth is the identity.
UPRIGHT = {
    "300dpi-skew-5": dict(skew_deg=-5.0, out_dpi=300, noise_sigma=2.0, blur_sigma=0.5),
    "200dpi-skew+5-scale+5": dict(skew_deg=5.0, scale=1.05, out_dpi=200, blur_sigma=0.8, noise_sigma=3.0),
    "300dpi-scale-5-perspective-jpeg": dict(skew_deg=2.0, scale=0.95, perspective=(0.01, -0.01), out_dpi=300,
                                            jpeg_quality=70, noise_sigma=4.0, light_strength=0.3),
    "240dpi-darkbed-shift": dict(skew_deg=-1.2, out_dpi=240, bed_value=30, shift_px=(25.0, -20.0),
                                 blur_sigma=0.6, noise_sigma=2.0, jpeg_quality=85),
}


@pytest.mark.parametrize("name", list(UPRIGHT))
def test_register_upright_scan_matches_truth(dc01, dc01_filled, scan_of, name):
    img, truth = scan_of(dc01_filled, **UPRIGHT[name])
    reg = register.register(img, dc01)
    assert reg.ok, reg.reason
    assert reg.reason == ""
    assert reg.dpi == DPI
    assert reg.method == "marks"
    assert reg.residual_px is not None and reg.residual_px < MAX_RESIDUAL
    assert truth_error(reg, truth, dc01) < MAX_ERROR_PX
    assert reg.qr_text == f"dc01|tt66-2015|{DC01_SERIAL}"
    assert qr.parse(reg.qr_text) == ("dc01", "tt66-2015", DC01_SERIAL)


# Scans in every quarter turn, through orient() first.
TURNED = {
    "r90-300dpi": dict(rotation90=90, skew_deg=-5.0, out_dpi=300, noise_sigma=2.0),
    "r180-200dpi-darkbed": dict(rotation90=180, skew_deg=5.0, scale=1.05, out_dpi=200, blur_sigma=0.8,
                                noise_sigma=3.0, bed_value=30),
    "r270-300dpi-perspective-jpeg": dict(rotation90=270, skew_deg=2.0, scale=0.95, perspective=(0.01, -0.01),
                                         out_dpi=300, jpeg_quality=70, noise_sigma=4.0, light_strength=0.3),
}


@pytest.mark.parametrize("name", list(TURNED))
def test_register_after_orient_lands_content_in_place(dc01, dc01_filled, dc01_reference, scan_of, name):
    img, _ = scan_of(dc01_filled, **TURNED[name])
    upright, _ = orient.orient(img, dc01_reference)
    reg = register.register(upright, dc01)
    assert reg.ok, reg.reason
    assert reg.residual_px < MAX_RESIDUAL
    assert reg.qr_text == f"dc01|tt66-2015|{DC01_SERIAL}"
    warped = register.warp(upright, reg.homography, dc01, DPI)
    assert warped.shape == dc01_filled.image.shape
    # the four registration marks where the template has them
    want = mark_centres(dc01_filled.image, dc01)
    got = mark_centres(warped, dc01)
    assert np.abs(got - want).max() < MAX_ERROR_PX
    # the written content (not used by registration) where it is on the clean sheet
    centres = [np.array(box_to_px(dc01.field(n).box_mm, DPI)[:2]) + (320, 40)
               for n in ("hdr_province", "full_name", "permanent_address", "mother_name", "household_book_no",
                         "declared_on")]
    shifts = [(dx, dy) for dx, dy, resp in local_shifts(warped, dc01_filled.image, centres) if resp > 0.5]
    assert len(shifts) >= 4
    assert max(np.hypot(dx, dy) for dx, dy in shifts) < MAX_ERROR_PX


def test_local_shift_check_detects_misregistration(dc01, dc01_filled):
    """The ground-truth check above would notice a 3 px error."""
    off = register.warp(dc01_filled.image, np.array([[1, 0, 3], [0, 1, -2], [0, 0, 1.0]]), dc01, DPI)
    centres = [np.array(box_to_px(dc01.field("full_name").box_mm, DPI)[:2]) + (320, 40)]
    (dx, dy, _), = local_shifts(off, dc01_filled.image, centres)
    assert np.hypot(dx, dy) == pytest.approx(np.hypot(3, 2), abs=0.3)


# ----------------------------------------------------------------- CC01 (features)


@pytest.mark.parametrize("params", [
    dict(skew_deg=-3.0, out_dpi=300, noise_sigma=2.0, blur_sigma=0.6),
    dict(skew_deg=4.0, scale=1.04, out_dpi=200, jpeg_quality=80, noise_sigma=3.0),
], ids=["300dpi", "200dpi"])
def test_register_cc01_by_features(cc01, cc01_filled, scan_of, params):
    img, truth = scan_of(cc01_filled, **params)
    reg = register.register(img, cc01)
    assert reg.ok, reg.reason
    assert reg.method == "features"
    assert reg.residual_px < MAX_RESIDUAL
    assert truth_error(reg, truth, cc01) < MAX_ERROR_PX
    assert reg.qr_text is None  # CC01 prints no QR code


# --------------------------------------------------------------- refusals


def test_wrong_form_cc01_against_dc01(dc01, cc01_filled, scan_of):
    img, _ = scan_of(cc01_filled, skew_deg=-3.0, out_dpi=300, noise_sigma=2.0, blur_sigma=0.6)
    reg = register.register(img, dc01)
    assert not reg.ok
    assert "not this form" in reg.reason and "dc01" in reg.reason
    assert reg.homography is None


def test_wrong_form_dc01_against_cc01(cc01, dc01_filled, scan_of):
    img, _ = scan_of(dc01_filled, **UPRIGHT["300dpi-skew-5"])
    reg = register.register(img, cc01)
    assert not reg.ok and "not this form" in reg.reason


def test_blank_white_page(dc01):
    reg = register.register(np.full((3508, 2480), 255, np.uint8), dc01)
    assert not reg.ok and "blank page" in reg.reason


def test_blank_page_with_light_bed_scan(dc01, dc01_reference):
    img, _ = scan.simulate_scan(np.full((3508, 2480), 250, np.uint8), scan.ScanParams(skew_deg=1.0), src_dpi=DPI)
    upright, _ = orient.orient(img, dc01_reference)
    reg = register.register(upright, dc01)
    assert not reg.ok and "blank page" in reg.reason


def test_blank_page_with_sensor_noise(dc01, dc01_reference):
    img, _ = scan.simulate_scan(np.full((3508, 2480), 250, np.uint8), scan.ScanParams(noise_sigma=2.0),
                                src_dpi=DPI)
    upright, _ = orient.orient(img, dc01_reference)
    reg = register.register(upright, dc01)
    assert not reg.ok and "blank page" in reg.reason, reg.reason


def test_tiny_page(dc01):
    reg = register.register(np.full((40, 30), 255, np.uint8), dc01)
    assert not reg.ok and "too small" in reg.reason

