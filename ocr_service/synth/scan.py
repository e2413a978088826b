"""Simulate scanning a clean rendered page, and write scan-like files.

A page is a 2-D ``uint8`` grayscale array (white paper = 255, black ink = 0)
rendered at a known dpi. :func:`simulate_scan` places it on a scanner bed
(optionally turned by a multiple of 90 degrees, skewed, scaled, shifted and
slightly keystoned), resamples it to the output dpi, then applies optical
blur, uneven lighting, sensor noise and JPEG compression. It returns the
scanned image and the ground truth: the 3x3 homography ``H`` mapping source
page pixel coordinates to output pixel coordinates (pixel centres at integer
coordinates, ``[x, y, 1]`` column vectors, as in OpenCV).

The output canvas always holds the whole page: around it lies the scanner
bed (light "paper-ish" lid or dark bed, per :attr:`ScanParams.bed_value`).
"""

from __future__ import annotations

import dataclasses
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np
from PIL import Image, TiffImagePlugin

ROTATIONS = (0, 90, 180, 270)

# Named scanner profiles: the groups calibration is cross-validated over (a threshold must hold on
# a scanner it was not fitted on). severity as in ScanParams.random; dpi / jpeg fix the output
# resolution choices and the JPEG quality range where the profile has its own.
SCAN_PROFILES: dict[str, dict[str, Any]] = {
    "flatbed": {"severity": 0.4, "dpi": (300,)},
    "office": {"severity": 1.0},
    "adf-low": {"severity": 1.3, "dpi": (200,), "jpeg": (62, 80)},
    "poor": {"severity": 1.8},
}


def profile_name(severity: float) -> str:
    """The profile label of sheets scanned with ``ScanParams.random(severity=...)``: the named
    profile of that severity when it has no fixed settings of its own, else 'severity-S'."""
    for name, spec in SCAN_PROFILES.items():
        if spec["severity"] == severity and set(spec) == {"severity"}:
            return name
    return f"severity-{severity:g}"


@dataclass(frozen=True)
class ScanParams:
    """How one page gets scanned. All pixel quantities are in output pixels.

    rotation90: the page appears turned clockwise by this many degrees (0/90/180/270).
    skew_deg: extra clockwise skew in degrees (realistic range +-5).
    scale: relative size error of the scanner (0.95..1.05 realistic).
    shift_px: (dx, dy) offset of the page from its nominal place on the bed.
    perspective: (kx, ky) keystone strength; the local scale changes by about
        +-k across the page horizontally/vertically (0..0.02 realistic).
    blur_sigma: Gaussian blur sigma (optics, focus).
    noise_sigma: Gaussian sensor noise sigma, in grey levels.
    jpeg_quality: JPEG round-trip quality, or None for lossless.
    light_strength: uneven illumination; up to this fraction darker at the dim side.
    light_angle_deg: direction in which the light falls off.
    out_dpi: output resolution.
    bed_value: grey level of the scanner bed/lid around the page.
    margin_px: bed margin kept around the page's bounding box.
    noise_seed: seed for the sensor noise (the scan is deterministic given params).
    """

    rotation90: int = 0
    skew_deg: float = 0.0
    scale: float = 1.0
    shift_px: tuple[float, float] = (0.0, 0.0)
    perspective: tuple[float, float] = (0.0, 0.0)
    blur_sigma: float = 0.0
    noise_sigma: float = 0.0
    jpeg_quality: int | None = None
    light_strength: float = 0.0
    light_angle_deg: float = 0.0
    out_dpi: int = 300
    bed_value: int = 235
    margin_px: int = 20
    noise_seed: int = 0

    def __post_init__(self) -> None:
        if self.rotation90 not in ROTATIONS:
            raise ValueError(f"rotation90 must be one of {ROTATIONS}, got {self.rotation90}")
        if not abs(self.skew_deg) <= 45:
            raise ValueError(f"skew_deg out of range: {self.skew_deg}")
        if not 0.5 <= self.scale <= 2.0:
            raise ValueError(f"scale out of range: {self.scale}")
        if not 50 <= self.out_dpi <= 1200:
            raise ValueError(f"out_dpi out of range: {self.out_dpi}")
        if self.jpeg_quality is not None and not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be 1..100 or None, got {self.jpeg_quality}")
        if self.blur_sigma < 0 or self.noise_sigma < 0 or self.margin_px < 0:
            raise ValueError("blur_sigma, noise_sigma and margin_px must be >= 0")
        if not 0 <= self.light_strength < 1:
            raise ValueError(f"light_strength must be in [0, 1), got {self.light_strength}")
        if not 0 <= self.bed_value <= 255:
            raise ValueError(f"bed_value must be 0..255, got {self.bed_value}")
        if max(abs(self.perspective[0]), abs(self.perspective[1])) >= 0.5:
            raise ValueError(f"perspective too strong: {self.perspective}")

    @classmethod
    def random(
        cls, rng: np.random.Generator, *, rotate: bool = True, severity: float = 1.0
    ) -> "ScanParams":
        """Draw plausible scanner settings.

        ``rotate``: draw ``rotation90`` uniformly from 0/90/180/270 (else 0).
        ``severity``: 0 = clean flatbed scan, 1 = typical office scanner/ADF,
        up to 2 = poor scan. Skew stays within +-5 degrees, scale within +-5 %.
        """
        s = float(np.clip(severity, 0.0, 2.0))
        u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
        skew_max = min(5.0, 2.5 * s)
        scale_max = min(0.05, 0.025 * s)
        dark_bed = rng.random() < 0.25
        return cls(
            rotation90=int(rng.choice(ROTATIONS)) if rotate else 0,
            skew_deg=u(-skew_max, skew_max),
            scale=1.0 + u(-scale_max, scale_max),
            shift_px=(u(-30, 30) * s, u(-30, 30) * s),
            perspective=(u(-0.01, 0.01) * s, u(-0.01, 0.01) * s),
            blur_sigma=u(0.2, 0.6 + 0.5 * s),
            noise_sigma=u(1.0, 2.0 + 4.0 * s),
            jpeg_quality=None if rng.random() < 0.3 else int(rng.integers(int(90 - 25 * min(s, 1.6)), 96)),
            light_strength=u(0.0, min(0.9, 0.12 * s)),
            light_angle_deg=u(0, 360),
            out_dpi=int(rng.choice((200, 240, 300))),
            bed_value=int(rng.integers(20, 70)) if dark_bed else int(rng.integers(215, 250)),
            margin_px=int(rng.integers(8, 40)),
            noise_seed=int(rng.integers(0, 2**31 - 1)),
        )

    @classmethod
    def for_profile(cls, rng: np.random.Generator, profile: str, *, rotate: bool = True) -> "ScanParams":
        """Draw settings of one named scanner profile (:data:`SCAN_PROFILES`): its severity, and
        its resolutions and JPEG quality where the profile fixes them."""
        if profile not in SCAN_PROFILES:
            raise ValueError(f"unknown scan profile {profile!r} (known: {', '.join(SCAN_PROFILES)})")
        spec = SCAN_PROFILES[profile]
        params = cls.random(rng, rotate=rotate, severity=spec["severity"])
        changes: dict[str, Any] = {}
        if "dpi" in spec:
            changes["out_dpi"] = int(rng.choice(spec["dpi"]))
        if "jpeg" in spec:
            changes["jpeg_quality"] = int(rng.integers(*spec["jpeg"]))
        return dataclasses.replace(params, **changes) if changes else params

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["shift_px"] = list(self.shift_px)
        d["perspective"] = list(self.perspective)
        return d


def _geometry(src_w: int, src_h: int, params: ScanParams, src_dpi: float) -> tuple[np.ndarray, int, int]:
    """Homography source px -> output px and the output canvas size."""
    f = params.out_dpi / src_dpi * params.scale
    # Page centred at the origin (pixel centres at integers, page edges at -0.5 / size-0.5).
    cx, cy = (src_w - 1) / 2.0, (src_h - 1) / 2.0
    t_center = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], dtype=np.float64)
    # Clockwise in image coordinates (y down) is a positive angle with this matrix.
    a = math.radians(params.rotation90 + params.skew_deg)
    c, s = math.cos(a), math.sin(a)
    rot_scale = np.array([[f * c, -f * s, 0], [f * s, f * c, 0], [0, 0, 1]], dtype=np.float64)
    # Keystone, normalised by the half extents of the turned page.
    turned = params.rotation90 in (90, 270)
    hw = (src_h if turned else src_w) * f / 2.0
    hh = (src_w if turned else src_h) * f / 2.0
    kx, ky = params.perspective
    persp = np.array([[1, 0, 0], [0, 1, 0], [kx / hw, ky / hh, 1]], dtype=np.float64)
    h0 = persp @ rot_scale @ t_center
    corners = page_corners(src_w, src_h)
    pts = map_points(h0, corners)
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    dx, dy = params.shift_px
    pad_x = params.margin_px + abs(dx)
    pad_y = params.margin_px + abs(dy)
    out_w = int(math.ceil(x1 - x0 + 2 * pad_x - 1e-6))  # epsilon: no extra column from rounding
    out_h = int(math.ceil(y1 - y0 + 2 * pad_y - 1e-6))
    # Pixel centre coordinates: the page's left edge x0 lands at pad_x + dx - 0.5.
    t_canvas = np.array([[1, 0, pad_x + dx - x0 - 0.5], [0, 1, pad_y + dy - y0 - 0.5], [0, 0, 1]])
    return t_canvas @ h0, out_w, out_h


def page_corners(width: int, height: int) -> np.ndarray:
    """The outer corners of a ``width`` x ``height`` page in pixel-centre coordinates (TL, TR, BR, BL)."""
    return np.array(
        [[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]],
        dtype=np.float64,
    )


def map_points(h: np.ndarray | dict | Sequence, points: np.ndarray | Sequence) -> np.ndarray:
    """Apply a homography (or a :func:`simulate_scan` truth dict) to ``(N, 2)`` points."""
    if isinstance(h, dict):
        h = h["homography"]
    h = np.asarray(h, dtype=np.float64)
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    q = np.c_[p, np.ones(len(p))] @ h.T
    return q[:, :2] / q[:, 2:3]


def _light_field(w: int, h: int, strength: float, angle_deg: float) -> np.ndarray:
    """Multiplicative illumination in [1 - strength, 1]: a linear fall-off plus a soft vignette."""
    gw, gh = 64, max(2, round(64 * h / max(w, 1)))
    ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float32)
    xn = xs / (gw - 1) * 2 - 1
    yn = ys / (gh - 1) * 2 - 1
    a = math.radians(angle_deg)
    ramp = (xn * math.cos(a) + yn * math.sin(a) + 1) / 2  # 0..1 towards the dim side
    vignette = (xn**2 + yn**2) / 2
    dim = 0.75 * ramp + 0.25 * vignette
    dim /= max(float(dim.max()), 1e-6)
    small = 1.0 - strength * dim
    return cv2.resize(small.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def simulate_scan(page: np.ndarray, params: ScanParams, *, src_dpi: int) -> tuple[np.ndarray, dict]:
    """Scan ``page`` (2-D uint8, rendered at ``src_dpi``) with ``params``.

    Returns ``(image, truth)``: ``image`` is a 2-D uint8 array at ``params.out_dpi``;
    ``truth`` is JSON-ready: ``homography`` (3x3 nested list, source px -> output px),
    ``params`` (dict), ``src_dpi``, ``dpi``, ``src_size`` and ``size`` (width, height),
    ``page_quad`` (the page's outer corners TL, TR, BR, BL in output pixels).
    """
    page = np.asarray(page)
    if page.ndim != 2 or page.dtype != np.uint8:
        raise ValueError(f"page must be a 2-D uint8 array, got {page.dtype} {page.shape}")
    if src_dpi <= 0:
        raise ValueError("src_dpi must be positive")
    src_h, src_w = page.shape
    H, out_w, out_h = _geometry(src_w, src_h, params, src_dpi)

    # Shrinking a lot with a bilinear warp aliases thin strokes: area-resample first.
    f = params.out_dpi / src_dpi * params.scale
    src = page
    h_warp = H
    if f < 0.9:
        rw, rh = max(1, round(src_w * f)), max(1, round(src_h * f))
        src = cv2.resize(page, (rw, rh), interpolation=cv2.INTER_AREA)
        sx, sy = rw / src_w, rh / src_h
        pre = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
        h_warp = H @ np.linalg.inv(pre)

    img = cv2.warpPerspective(
        src, h_warp, (out_w, out_h), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=int(params.bed_value),
    )
    if params.blur_sigma > 0.05:
        img = cv2.GaussianBlur(img, (0, 0), params.blur_sigma)
    if params.light_strength > 0 or params.noise_sigma > 0:
        work = img.astype(np.float32)
        if params.light_strength > 0:
            work *= _light_field(out_w, out_h, params.light_strength, params.light_angle_deg)
        if params.noise_sigma > 0:
            noise = np.random.Generator(np.random.PCG64(params.noise_seed)).standard_normal(
                (out_h, out_w), dtype=np.float32
            )
            work += noise * np.float32(params.noise_sigma)
        img = np.clip(work, 0, 255, out=work).astype(np.uint8)
    if params.jpeg_quality is not None:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(params.jpeg_quality)])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)

    truth = {
        "homography": H.tolist(),
        "params": params.to_dict(),
        "src_dpi": int(src_dpi),
        "dpi": int(params.out_dpi),
        "src_size": [int(src_w), int(src_h)],
        "size": [int(out_w), int(out_h)],
        "page_quad": map_points(H, page_corners(src_w, src_h)).tolist(),
    }
    return img, truth


# ---------------------------------------------------------------- writers


def _to_pil(page: np.ndarray | Image.Image) -> Image.Image:
    if isinstance(page, Image.Image):
        return page if page.mode in ("L", "RGB", "1") else page.convert("L")
    arr = np.asarray(page)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3):
        raise ValueError(f"page must be a uint8 grayscale or RGB array, got {arr.dtype} {arr.shape}")
    return Image.fromarray(arr)


def _dpis(dpi: int | Sequence[int] | None, n: int) -> list[int | None]:
    if dpi is None or isinstance(dpi, (int, float)):
        return [dpi] * n
    dpis = list(dpi)
    if len(dpis) != n:
        raise ValueError(f"{len(dpis)} dpi values for {n} pages")
    return dpis


def write_png(page: np.ndarray | Image.Image, path: str | Path, *, dpi: int | None = None) -> Path:
    path = Path(path)
    kw = {"dpi": (dpi, dpi)} if dpi else {}
    _to_pil(page).save(path, format="PNG", compress_level=1, **kw)
    return path


def write_jpeg(
    page: np.ndarray | Image.Image, path: str | Path, quality: int = 85, *, dpi: int | None = None
) -> Path:
    path = Path(path)
    kw = {"dpi": (dpi, dpi)} if dpi else {}
    _to_pil(page).save(path, format="JPEG", quality=int(quality), **kw)
    return path


def write_tiff(
    pages: Sequence[np.ndarray | Image.Image],
    path: str | Path,
    *,
    dpi: int | Sequence[int] | None = None,
    compression: str = "tiff_deflate",
) -> Path:
    """Multi-page TIFF (one IFD per page; ``dpi`` may differ per page). ``compression``: any Pillow TIFF compression,
    e.g. ``"tiff_deflate"``, ``"tiff_lzw"``, ``"jpeg"``, ``"group4"`` (bilevel pages only)."""
    if not pages:
        raise ValueError("no pages")
    path = Path(path)
    dpis = _dpis(dpi, len(pages))
    with TiffImagePlugin.AppendingTiffWriter(str(path), new=True) as tf:
        for page, d in zip(pages, dpis):
            kw: dict[str, Any] = {"compression": compression}
            if d:
                kw["dpi"] = (d, d)
            _to_pil(page).save(tf, format="TIFF", **kw)
            tf.newFrame()
    return path


def write_pdf(
    pages: Sequence[np.ndarray | Image.Image],
    path: str | Path,
    dpi: int | Sequence[int],
    *,
    quality: int = 85,
) -> Path:
    """Scanned-style PDF: one JPEG-compressed (DCTDecode) image per page, page size from ``dpi``."""
    if not pages:
        raise ValueError("no pages")
    path = Path(path)
    dpis = _dpis(dpi, len(pages))
    if len(set(dpis)) == 1:
        ims = [_to_pil(p) for p in pages]
        ims[0].save(path, format="PDF", save_all=True, append_images=ims[1:],
                    resolution=float(dpis[0]), quality=int(quality))
        return path
    # Mixed resolutions: Pillow takes one resolution per save, so write pages
    # one by one and concatenate the JPEG streams into a hand-built PDF.
    return _write_pdf_mixed([_to_pil(p) for p in pages], path, [int(d) for d in dpis], quality)


def _write_pdf_mixed(ims: list[Image.Image], path: Path, dpis: list[int], quality: int) -> Path:
    objs: list[bytes] = []
    kids = []
    for im, d in zip(ims, dpis):
        buf = io.BytesIO()
        im.convert("L" if im.mode in ("1", "L") else "RGB").save(buf, format="JPEG", quality=quality)
        data = buf.getvalue()
        cs = "/DeviceGray" if im.mode in ("1", "L") else "/DeviceRGB"
        w_pt, h_pt = im.width * 72.0 / d, im.height * 72.0 / d
        img_id = len(objs) + 3
        objs.append(
            f"<< /Type /XObject /Subtype /Image /Width {im.width} /Height {im.height} /ColorSpace {cs} "
            f"/BitsPerComponent 8 /Filter /DCTDecode /Length {len(data)} >>\nstream\n".encode()
            + data + b"\nendstream"
        )
        content = f"q {w_pt:.4f} 0 0 {h_pt:.4f} 0 0 cm /Im0 Do Q".encode()
        objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        page_id = len(objs) + 3
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w_pt:.4f} {h_pt:.4f}] "
            f"/Resources << /XObject << /Im0 {img_id} 0 R >> >> /Contents {img_id + 1} 0 R >>".encode()
        )
        kids.append(page_id)
    head = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode(),
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(head + objs, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, xref))
    path.write_bytes(out.getvalue())
    return path
