"""ingest.load_pages: every supported format, and every kind of bad input refused with an
InputFileError that names the file and the reason."""

from __future__ import annotations

import re
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from ocr_service.errors import InputFileError
from ocr_service.synth import scan
from ocr_service.pipeline.ingest import Page, load_page, load_pages, page_hash


def _page(seed: int, shape=(330, 240)) -> np.ndarray:
    """A small grayscale 'page' with distinct content per seed (blocks, so JPEG keeps it recognisable)."""
    rng = np.random.default_rng(seed)
    img = np.full(shape, 255, np.uint8)
    for _ in range(12):
        y, x = rng.integers(0, shape[0] - 40), rng.integers(0, shape[1] - 60)
        img[y:y + rng.integers(5, 40), x:x + rng.integers(10, 60)] = rng.integers(0, 120)
    return img


PAGES = [_page(1), _page(2), _page(3)]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ingest")
    out = {
        "png": scan.write_png(PAGES[0], d / "page.png", dpi=200),
        "jpg": scan.write_jpeg(PAGES[0], d / "page.jpg", quality=92, dpi=150),
        "tiff3": scan.write_tiff(PAGES, d / "three.tif", dpi=300),
        "tiff_same": scan.write_tiff([PAGES[1], PAGES[1]], d / "same.tif", dpi=300),
        "pdf1": scan.write_pdf([PAGES[0]], d / "one.pdf", 100),
        "pdf2": scan.write_pdf([PAGES[0], PAGES[2]], d / "two.pdf", 100),
    }
    return out


def _expect_error(path: Path, *words: str, **kw) -> InputFileError:
    t0 = time.perf_counter()
    with pytest.raises(InputFileError) as info:
        list(load_pages(path, **kw))
    assert time.perf_counter() - t0 < 5
    err = info.value
    msg = str(err)
    assert str(path) in msg, msg
    assert err.file == str(path)
    for w in words:
        assert w.lower() in msg.lower(), (w, msg)
    return err


# ------------------------------------------------------------------ good input


def test_png(files):
    pages = list(load_pages(files["png"]))
    assert len(pages) == 1
    p = pages[0]
    assert isinstance(p, Page)
    assert p.page_no == 1 and p.source == str(files["png"])
    assert p.image.dtype == np.uint8 and p.image.ndim == 2
    np.testing.assert_array_equal(p.image, PAGES[0])  # lossless
    assert p.sha256 == page_hash(PAGES[0])
    assert p.dpi == pytest.approx(200, abs=1)


def test_jpeg(files):
    (p,) = list(load_pages(files["jpg"]))
    assert p.page_no == 1 and p.image.shape == PAGES[0].shape and p.image.ndim == 2
    assert np.abs(p.image.astype(int) - PAGES[0]).mean() < 4
    assert p.dpi == pytest.approx(150, abs=1)


def test_multipage_tiff_pages_in_order_with_distinct_hashes(files):
    pages = list(load_pages(files["tiff3"]))
    assert [p.page_no for p in pages] == [1, 2, 3]
    for p, want in zip(pages, PAGES):
        np.testing.assert_array_equal(p.image, want)  # and in order: page 2 is the 2nd image
        assert p.sha256 == page_hash(want)
    assert len({p.sha256 for p in pages}) == 3


def test_same_pixels_same_hash_across_files_and_formats(files, tmp_path):
    same = list(load_pages(files["tiff_same"]))
    assert len(same) == 2 and same[0].sha256 == same[1].sha256
    png = scan.write_png(PAGES[1], tmp_path / "p2.png")
    (p,) = list(load_pages(png))
    assert p.sha256 == same[0].sha256  # hash of pixels, not of the wrapping file


def test_pdf_single_page(files):
    (p,) = list(load_pages(files["pdf1"]))
    assert p.page_no == 1 and p.dpi == 300
    # 100-dpi page rasterized at 300 dpi
    assert p.image.shape == pytest.approx((PAGES[0].shape[0] * 3, PAGES[0].shape[1] * 3), abs=3)


def test_pdf_multi_page_in_order(files):
    pages = list(load_pages(files["pdf2"], pdf_dpi=100))
    assert [p.page_no for p in pages] == [1, 2]
    for p, want in zip(pages, (PAGES[0], PAGES[2])):
        assert p.image.shape == want.shape
        assert np.abs(p.image.astype(int) - want).mean() < 6
    assert pages[0].sha256 != pages[1].sha256


# ------------------------------------------------------------------- bad input


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    _expect_error(p, "empty")


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "nope.png", "cannot read")


def test_truncated_png(files, tmp_path):
    data = files["png"].read_bytes()
    p = tmp_path / "half.png"
    p.write_bytes(data[:len(data) // 2])
    _expect_error(p, "truncated")


def test_truncated_jpeg(files, tmp_path):
    data = files["jpg"].read_bytes()
    p = tmp_path / "half.jpg"
    p.write_bytes(data[:len(data) // 2])
    _expect_error(p, "truncated")


def test_truncated_pdf(files, tmp_path):
    data = files["pdf2"].read_bytes()
    p = tmp_path / "cut.pdf"
    p.write_bytes(data[:int(len(data) * 0.3)])
    _expect_error(p, "pdf", "corrupt")


def test_random_bytes_with_pdf_header(tmp_path):
    p = tmp_path / "junk.pdf"
    p.write_bytes(b"%PDF-1.4\n" + np.random.default_rng(5).integers(0, 256, 8000, dtype=np.uint8).tobytes())
    _expect_error(p, "pdf", "corrupt")


def test_text_file_renamed_png(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("this is not an image\n" * 20, encoding="utf-8")
    _expect_error(p, "not a readable image")


def test_password_protected_pdf(files, tmp_path):
    from pypdf import PdfWriter

    w = PdfWriter(clone_from=str(files["pdf1"]))
    w.encrypt("secret")
    p = tmp_path / "locked.pdf"
    with p.open("wb") as fh:
        w.write(fh)
    _expect_error(p, "password")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _bilevel_png(width: int, height: int) -> bytes:
    """A valid 1-bit grayscale PNG of zero rows, built by hand (tiny file, huge image)."""
    row = b"\x00" + bytes((width + 7) // 8)  # filter byte + packed pixels
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("bomb") / "bomb.png"
    p.write_bytes(_bilevel_png(30000, 30000))
    return p


def test_decompression_bomb_refused_before_decoding(bomb, monkeypatch):
    from PIL import Image

    assert bomb.stat().st_size < 300_000  # 900 Mpx in ~100 KB

    def decoded(*_a, **_kw):  # decoding 900 Mpx would take seconds and ~1 GB
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(Image.Image, "load", decoded)
    _expect_error(bomb, "pixel", "limit")


def test_max_pixels_is_the_limit_that_holds_not_pils_own(tmp_path, monkeypatch):
    """PIL refuses at open an image over twice its global limit; an image under max_pixels is read
    all the same, and one over it is refused naming max_pixels."""
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # PIL alone refuses over 2 Mpx
    p = tmp_path / "scan.png"
    p.write_bytes(_bilevel_png(3000, 2000))  # 6 Mpx
    assert [pg.image.shape for pg in load_pages(p, max_pixels=7_000_000)] == [(2000, 3000)]
    assert Image.MAX_IMAGE_PIXELS == 1_000_000  # PIL's global is left as it was
    err = _expect_error(p, "5 million-pixel limit", max_pixels=5_000_000)
    assert "6 million" in str(err)


def test_image_over_max_pixels_refused(tmp_path):
    p = tmp_path / "big.png"
    p.write_bytes(_bilevel_png(3000, 2000))  # 6 Mpx
    err = _expect_error(p, "limit", max_pixels=5_000_000)
    assert "bomb" in str(err) or "Mpx" in str(err)
    assert len(list(load_pages(p, max_pixels=7_000_000))) == 1


def test_pdf_page_over_max_pixels_refused(files):
    _expect_error(files["pdf1"], "limit", max_pixels=100_000)


def test_file_over_max_bytes(files):
    size = files["png"].stat().st_size
    _expect_error(files["png"], "limit", max_bytes=size - 1)
    assert len(list(load_pages(files["png"], max_bytes=size))) == 1


def test_file_over_max_bytes_message_states_size_and_limit(files):
    err = _expect_error(files["png"], max_bytes=1000)
    nums = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", err.reason)]
    assert len(nums) >= 2 and nums[0] > nums[1] > 0, err.reason


def _truncated_third_page_tiff(files, tmp_path) -> Path:
    """three.tif cut in the middle of the third page's image data (pages 1 and 2 intact)."""
    data = files["tiff3"].read_bytes()
    # IFD chain: locate the 3rd IFD; the 3rd page's strip lies between the 2nd IFD and the 3rd.
    offs = []
    off = struct.unpack("<I", data[4:8])[0]
    while off:
        offs.append(off)
        n = struct.unpack("<H", data[off:off + 2])[0]
        off = struct.unpack("<I", data[off + 2 + 12 * n:off + 6 + 12 * n])[0]
    assert len(offs) == 3
    p = tmp_path / "cut3.tif"
    p.write_bytes(data[:(offs[1] + offs[2]) // 2])
    return p


def test_truncated_multipage_tiff_yields_good_pages_then_error(files, tmp_path):
    p = _truncated_third_page_tiff(files, tmp_path)
    got = []
    with pytest.raises(InputFileError) as info:
        for page in load_pages(p):
            got.append(page)
    assert [g.page_no for g in got] == [1, 2]
    np.testing.assert_array_equal(got[1].image, PAGES[1])
    assert str(p) in str(info.value) and info.value.page == 3



# -- load_page: one page alone, as a page job reads it ------------------------------------------------

@pytest.mark.parametrize("kind", ["png", "jpg", "tiff3", "pdf2"])
def test_load_page_gives_the_same_page_as_load_pages(files, kind):
    every = list(load_pages(files[kind]))
    for want in every:
        got = load_page(files[kind], want.page_no)
        assert (got.page_no, got.sha256, got.source) == (want.page_no, want.sha256, want.source)
        np.testing.assert_array_equal(got.image, want.image)


def test_load_page_of_a_pdf_rasterizes_only_that_page(files, monkeypatch):
    import pdf2image

    calls = []
    real = pdf2image.convert_from_path

    def spy(*args, **kw):
        calls.append((kw.get("first_page"), kw.get("last_page")))
        return real(*args, **kw)

    monkeypatch.setattr(pdf2image, "convert_from_path", spy)
    load_page(files["pdf2"], 2)
    assert calls == [(2, 2)]


@pytest.mark.parametrize("kind, page", [("pdf2", 3), ("tiff3", 4), ("png", 2), ("png", 0)])
def test_load_page_beyond_the_last_page_names_file_and_page(files, kind, page):
    with pytest.raises(InputFileError) as info:
        load_page(files[kind], page)
    assert info.value.file == str(files[kind]) and info.value.page == page
    assert str(files[kind]) in str(info.value) and f"page {page}" in str(info.value)


def test_load_page_of_a_truncated_tiff(files, tmp_path):
    p = _truncated_third_page_tiff(files, tmp_path)
    np.testing.assert_array_equal(load_page(p, 2).image, PAGES[1])
    with pytest.raises(InputFileError) as info:
        load_page(p, 3)
    assert info.value.page == 3 and "truncated or corrupt" in info.value.reason


def test_load_page_keeps_the_limits(files, tmp_path):
    _expect_error(files["pdf1"], "limit", max_bytes=100)
    with pytest.raises(InputFileError, match="limit"):
        load_page(files["pdf1"], 1, max_bytes=100)
    with pytest.raises(InputFileError, match="million-pixel limit") as info:
        load_page(files["tiff3"], 2, max_pixels=1000)
    assert info.value.page == 2
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    with pytest.raises(InputFileError, match="empty file"):
        load_page(empty, 1)
