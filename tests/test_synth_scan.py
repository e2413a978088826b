import json
import re
import shutil
import subprocess

import cv2
import numpy as np
import pytest
from PIL import Image

from ocr_service.synth.scan import (
    ScanParams,
    map_points,
    page_corners,
    simulate_scan,
    write_jpeg,
    write_pdf,
    write_png,
    write_tiff,
)

# Marks (x, y) in source pixels on a 850 x 1100 page (US-letter-ish at 100 dpi).
W, H = 850, 1100
MARKS = np.array([[200, 250], [650, 230], [640, 870], [210, 880], [425, 550]], dtype=float)
MARK_R = 9


def make_page(marks=MARKS, w=W, h=H, r=MARK_R):
    page = np.full((h, w), 255, np.uint8)
    for x, y in marks:
        cv2.circle(page, (int(x), int(y)), r, 0, -1, lineType=cv2.LINE_8)
    return page


def dark_centroid(img, x, y, radius):
    x0, y0 = int(max(0, x - radius)), int(max(0, y - radius))
    win = img[y0 : int(y + radius) + 1, x0 : int(x + radius) + 1].astype(np.float64)
    ink = np.clip(160.0 - win, 0, None)
    assert ink.sum() > 0, "no mark found near the predicted position"
    ys, xs = np.mgrid[0 : win.shape[0], 0 : win.shape[1]]
    return x0 + (xs * ink).sum() / ink.sum(), y0 + (ys * ink).sum() / ink.sum()


CASES = [
    ScanParams(),
    ScanParams(rotation90=90, out_dpi=200),
    ScanParams(rotation90=180, skew_deg=-4.5, scale=0.96, shift_px=(25, -30), out_dpi=300),
    ScanParams(rotation90=270, skew_deg=3.0, scale=1.05, perspective=(0.02, -0.015), out_dpi=240),
    ScanParams(skew_deg=5.0, perspective=(-0.02, 0.02), blur_sigma=1.0, noise_sigma=4, jpeg_quality=70,
               light_strength=0.2, light_angle_deg=45, bed_value=30, out_dpi=200),
]


@pytest.mark.parametrize("params", CASES)
def test_homography_maps_marks(params):
    page = make_page()
    out, truth = simulate_scan(page, params, src_dpi=100)
    assert out.dtype == np.uint8 and out.ndim == 2
    assert truth["size"] == [out.shape[1], out.shape[0]]
    pred = map_points(truth, MARKS)
    f = params.out_dpi / 100 * params.scale
    for (px, py) in pred:
        cx, cy = dark_centroid(out, px, py, radius=MARK_R * f * 2)
        assert abs(cx - px) <= 2 and abs(cy - py) <= 2, (cx, cy, px, py)


@pytest.mark.parametrize("seed", range(6))
def test_homography_random_params(seed):
    rng = np.random.default_rng(seed)
    params = ScanParams.random(rng, severity=1.5)
    page = make_page()
    out, truth = simulate_scan(page, params, src_dpi=100)
    f = params.out_dpi / 100 * params.scale
    for (px, py) in map_points(truth, MARKS):
        cx, cy = dark_centroid(out, px, py, radius=MARK_R * f * 2)
        assert abs(cx - px) <= 2 and abs(cy - py) <= 2


@pytest.mark.parametrize("rot", [0, 90, 180, 270])
def test_whole_page_on_canvas_and_corners(rot):
    params = ScanParams(rotation90=rot, skew_deg=4, perspective=(0.02, 0.02), bed_value=0,
                        shift_px=(-35, 20), margin_px=5, out_dpi=200)
    page = np.full((H, W), 255, np.uint8)
    out, truth = simulate_scan(page, params, src_dpi=100)
    quad = np.array(truth["page_quad"])
    np.testing.assert_allclose(quad, map_points(truth, page_corners(W, H)))
    oh, ow = out.shape
    assert (quad[:, 0] >= 0).all() and (quad[:, 0] <= ow - 1).all()
    assert (quad[:, 1] >= 0).all() and (quad[:, 1] <= oh - 1).all()
    center = quad.mean(axis=0)
    for corner in quad:
        d = (center - corner) / np.linalg.norm(center - corner)
        ix, iy = np.round(corner + 4 * d).astype(int)
        ox, oy = np.round(corner - 4 * d).astype(int)
        assert out[iy, ix] > 200, "inside the page should be paper"
        assert out[oy, ox] < 50, "outside the page should be the dark bed"


def test_rotation_180_is_upside_down():
    rng = np.random.default_rng(0)
    page = rng.integers(0, 256, (120, 90), dtype=np.uint8)
    out, truth = simulate_scan(page, ScanParams(rotation90=180, margin_px=0), src_dpi=300)
    assert out.shape == page.shape
    assert np.abs(out.astype(int) - page[::-1, ::-1].astype(int)).max() <= 1
    # A mark in the top-left corner ends up bottom-right.
    marked = make_page(marks=[[100, 100]])
    out, truth = simulate_scan(marked, ScanParams(rotation90=180, skew_deg=1.0), src_dpi=100)
    cx, cy = dark_centroid(out, *map_points(truth, [[100, 100]])[0], radius=25)
    assert cx > out.shape[1] * 0.8 and cy > out.shape[0] * 0.8


def test_rotation_90_is_clockwise():
    page = make_page(marks=[[100, 100]])  # top-left
    out, truth = simulate_scan(page, ScanParams(rotation90=90, margin_px=0, out_dpi=100), src_dpi=100)
    assert out.shape == (W, H)
    # Clockwise: the top-left corner goes to the top-right.
    cx, cy = dark_centroid(out, *map_points(truth, [[100, 100]])[0], radius=25)
    assert cx > out.shape[1] * 0.8 and cy < out.shape[0] * 0.2


@pytest.mark.parametrize("out_dpi,scale", [(200, 1.0), (300, 1.0), (240, 1.04), (200, 0.95)])
def test_output_dpi_scaling(out_dpi, scale):
    page = make_page()
    params = ScanParams(out_dpi=out_dpi, scale=scale, margin_px=0)
    out, truth = simulate_scan(page, params, src_dpi=150)
    f = out_dpi / 150 * scale
    assert truth["dpi"] == out_dpi and truth["src_dpi"] == 150
    assert abs(out.shape[1] - W * f) <= 1 and abs(out.shape[0] - H * f) <= 1
    a, b = map_points(truth, MARKS[:2])
    assert np.linalg.norm(b - a) == pytest.approx(np.linalg.norm(MARKS[1] - MARKS[0]) * f, rel=1e-9)
    ca = np.array(dark_centroid(out, *a, radius=MARK_R * f * 2))
    cb = np.array(dark_centroid(out, *b, radius=MARK_R * f * 2))
    assert np.linalg.norm(cb - ca) == pytest.approx(np.linalg.norm(b - a), abs=2)


def test_random_params_ranges_and_determinism():
    rng = np.random.default_rng(42)
    rots = set()
    for _ in range(300):
        p = ScanParams.random(rng, severity=2.0)
        rots.add(p.rotation90)
        assert abs(p.skew_deg) <= 5
        assert 0.95 <= p.scale <= 1.05
        assert 200 <= p.out_dpi <= 300
        assert p.jpeg_quality is None or 1 <= p.jpeg_quality <= 100
    assert rots == {0, 90, 180, 270}
    assert all(ScanParams.random(rng, rotate=False).rotation90 == 0 for _ in range(20))
    clean = ScanParams.random(rng, severity=0.0)
    assert clean.skew_deg == 0 and clean.scale == 1.0
    p = ScanParams.random(np.random.default_rng(7))
    page = make_page()
    a, ta = simulate_scan(page, p, src_dpi=100)
    b, tb = simulate_scan(page, p, src_dpi=100)
    assert np.array_equal(a, b)
    json.dumps(ta)  # the ground truth is JSON-ready
    assert ta["params"]["rotation90"] == p.rotation90


def test_params_validation():
    with pytest.raises(ValueError):
        ScanParams(rotation90=45)
    with pytest.raises(ValueError):
        ScanParams(jpeg_quality=0)
    with pytest.raises(ValueError):
        ScanParams(light_strength=1.5)
    with pytest.raises(ValueError):
        simulate_scan(np.zeros((10, 10), np.float32), ScanParams(), src_dpi=100)


def test_an_a4_page_at_300dpi_turned_a_quarter():
    # (the generator's speed is in bench/bench_accuracy.py's generation time, not asserted here)
    page = np.full((3508, 2480), 255, np.uint8)
    page[::40, :] = 0
    params = ScanParams(rotation90=90, skew_deg=3, scale=1.03, perspective=(0.01, -0.01), blur_sigma=1.2,
                        noise_sigma=5, jpeg_quality=80, light_strength=0.2, out_dpi=300)
    img, truth = simulate_scan(page, params, src_dpi=300)
    assert img.ndim == 2 and img.dtype == np.uint8 and truth["dpi"] == 300
    h, w = img.shape
    assert w > h  # turned a quarter: landscape
    assert tuple(truth["size"]) == (w, h) and tuple(truth["src_size"]) == (2480, 3508)


def _pages():
    rng = np.random.default_rng(3)
    return [simulate_scan(make_page(), ScanParams.random(rng), src_dpi=300)[0] for _ in range(3)]


def test_png_jpeg_writers(tmp_path):
    page = _pages()[0]
    p = write_png(page, tmp_path / "a.png", dpi=300)
    with Image.open(p) as im:
        assert np.array_equal(np.asarray(im), page)
        assert round(im.info["dpi"][0]) == 300
    j = write_jpeg(page, tmp_path / "a.jpg", quality=80, dpi=200)
    with Image.open(j) as im:
        assert im.format == "JPEG" and im.size == (page.shape[1], page.shape[0])
        assert round(im.info["dpi"][0]) == 200


def test_multipage_tiff_roundtrip(tmp_path):
    pages = _pages()
    path = write_tiff(pages, tmp_path / "doc.tiff", dpi=[200, 240, 300])
    with Image.open(path) as im:
        assert im.n_frames == 3
        for i, page in enumerate(pages):
            im.seek(i)
            assert np.array_equal(np.asarray(im.convert("L")), page)
            assert round(float(im.info["dpi"][0])) == [200, 240, 300][i]


@pytest.mark.parametrize("dpi", [200, [200, 300, 240]])
def test_pdf_roundtrip(tmp_path, dpi):
    pages = _pages()
    path = write_pdf(pages, tmp_path / "doc.pdf", dpi=dpi, quality=80)
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/DCTDecode") >= 3
    assert shutil.which("pdfinfo") and shutil.which("pdfimages"), "poppler-utils is installed by scripts/setup.sh"
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+3$", info, re.M), info
    dpis = dpi if isinstance(dpi, list) else [dpi] * 3
    lst = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in lst.splitlines()[2:]]
    assert len(rows) == 3
    for row, page, d in zip(rows, pages, dpis):
        # page num type width height color comp bpc enc interp object ID x-ppi y-ppi ...
        assert int(row[3]) == page.shape[1] and int(row[4]) == page.shape[0]
        assert row[5] == "gray" and row[8] == "jpeg"
        assert abs(int(row[12]) - d) <= 1
    out = tmp_path / "x"
    subprocess.run(["pdfimages", "-all", str(path), str(out)], check=True)
    got = sorted(tmp_path.glob("x-*.jpg"))
    assert len(got) == 3
    for g, page in zip(got, pages):
        with Image.open(g) as im:
            diff = np.abs(np.asarray(im.convert("L")).astype(int) - page.astype(int))
            assert diff.mean() < 4
