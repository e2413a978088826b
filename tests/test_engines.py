"""Recognition engines: reads of rendered crops, bad crops, pinned-model refusal, no egress."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr_service.engines.base import Reading
from ocr_service.errors import EngineError

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
REPO = Path(__file__).resolve().parents[1]

NAME = "Nguyễn Thị Thuỷ"
ID12 = "079203001234"
DATE = "15/08/1990"


def render(text: str, size: int = 28, font: str = FONT, pad: int = 6) -> np.ndarray:
    f = ImageFont.truetype(font, size)
    left, top, right, bottom = f.getbbox(text)
    img = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 255)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=f, fill=0)
    return np.asarray(img)


BAD_CROPS = {
    "empty": np.zeros((0, 0), np.uint8),
    "one_px_high": np.zeros((1, 300), np.uint8),
    "20000_wide": np.full((40, 20000), 255, np.uint8),
    "20000_wide_ink": np.tile(render("1234567890", 30)[:, :200], (1, 100)),
    "all_black": np.zeros((40, 300), np.uint8),
    "all_white": np.full((40, 300), 255, np.uint8),
    "none": None,
    "rgb": np.full((40, 300, 3), 255, np.uint8),
}


@pytest.fixture(scope="module")
def tesseract():
    from ocr_service.engines.tesseract import TesseractEngine

    return TesseractEngine().load()


@pytest.fixture(scope="module")
def asternet():
    from ocr_service.engines.asternet import AsterNetEngine

    return AsterNetEngine()


@pytest.fixture(scope="module")
def ppocr():
    from ocr_service.engines.ppocr import PPOCRDigitsEngine

    return PPOCRDigitsEngine()


def _check_shape(r: Reading, engine: str) -> None:
    assert r.engine == engine
    assert 0.0 <= r.confidence <= 1.0
    assert len(r.char_confidences) == len(r.text)
    if r.text:
        assert r.confidence == pytest.approx(min(r.char_confidences))


# --- Tesseract ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [16, 28, 44])
def test_tesseract_reads_vietnamese_name(tesseract, size):
    r = tesseract.read(render(NAME, size), "name")
    _check_shape(r, "tesseract")
    assert r.text == NAME
    assert r.confidence >= 0.9


@pytest.mark.parametrize("text", [ID12, "0123 4567 8901"])
def test_tesseract_reads_12_digits(tesseract, text):
    r = tesseract.read(render(text, 28, SERIF), "digits")
    _check_shape(r, "tesseract")
    assert r.text == text.replace(" ", "")
    assert r.confidence >= 0.9


def test_tesseract_reads_date(tesseract):
    r = tesseract.read(render(DATE, 28), "date")
    assert r.text == DATE and r.confidence >= 0.9


def test_tesseract_bare_matches(tesseract):
    text, conf = tesseract.read_bare(render(NAME, 28), "name")
    assert text == NAME and 0 <= conf <= 1


# --- AsterNet ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [16, 28, 44])
def test_asternet_reads_vietnamese_name(asternet, size):
    r = asternet.read(render(NAME, size), "name")
    _check_shape(r, "asternet")
    assert r.text == NAME
    assert r.confidence >= 0.9
    assert r.candidates[0] == (r.text, r.confidence)


def test_asternet_reads_address_and_digits(asternet):
    addr = "Số 12 đường Lê Lợi, phường Bến Nghé"
    assert asternet.read(render(addr, 24), "address").text == addr
    r = asternet.read(render(ID12, 28), "digits")
    assert r.text == ID12 and r.confidence >= 0.9
    assert asternet.read(render(DATE, 28), "date").text == DATE


def test_asternet_very_long_line_does_not_crash(asternet):
    line = render("Số 12 đường Lê Lợi, phường Bến Nghé, quận 1, thành phố Hồ Chí Minh, Việt Nam", 16)
    wide = np.hstack([line, line])  # aspect ~ 50:1, above the model's 32:1 limit
    assert wide.shape[1] / wide.shape[0] > 32
    x = asternet.preprocess(wide)
    assert x.shape[2] == 32 and x.shape[3] <= 1024
    r = asternet.read(wide, "address")
    _check_shape(r, "asternet")
    assert "Lê Lợi" in r.text


# --- PP-OCR ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [16, 28, 44])
def test_ppocr_reads_digits_and_date(ppocr, size):
    r = ppocr.read(render(ID12, size, SERIF), "digits")
    _check_shape(r, "ppocr")
    assert r.text == ID12 and r.confidence >= 0.9
    r = ppocr.read(render(DATE, size), "date")
    assert r.text == DATE and r.confidence >= 0.9


def test_ppocr_digits_kind_only_reads_digits(ppocr):
    # The slashes have nowhere to go but a look-alike digit: the weakest-character gate
    # must then reject the reading.
    r = ppocr.read(render(DATE, 28), "digits")
    assert r.text.isdigit() and r.confidence < 0.05
    assert ppocr.read(render(NAME, 28), "name") == Reading.empty("ppocr")


# --- bad crops ---------------------------------------------------------------------------------


@pytest.mark.parametrize("engine_fixture", ["tesseract", "asternet", "ppocr"])
@pytest.mark.parametrize("crop_name", sorted(BAD_CROPS))
def test_bad_crops_give_empty_reading(request, engine_fixture, crop_name):
    engine = request.getfixturevalue(engine_fixture)
    for kind in ("name", "digits", "date"):
        r = engine.read(BAD_CROPS[crop_name], kind)
        assert r.text == "" and r.confidence == 0.0, (crop_name, kind, r)


@pytest.mark.parametrize("engine_fixture", ["tesseract", "asternet", "ppocr"])
def test_unknown_kind_and_float_crop_do_not_raise(request, engine_fixture):
    engine = request.getfixturevalue(engine_fixture)
    assert engine.read(render(ID12), "nonsense").text == ""
    r = engine.read(render(ID12).astype(np.float64), "digits")
    assert isinstance(r, Reading)


# --- pinned model files ------------------------------------------------------------------------


def _tampered_copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as fh:
        fh.seek(os.path.getsize(dst) // 2)
        b = fh.read(1)
        fh.seek(-1, os.SEEK_CUR)
        fh.write(bytes([b[0] ^ 0x01]))
    return dst


def test_asternet_refuses_tampered_model(tmp_path):
    from ocr_service.engines import asternet
    from ocr_service.engines.onnx_env import distribution_path

    bad = _tampered_copy(distribution_path(asternet.MODEL_PIN), tmp_path)
    with pytest.raises(EngineError, match="sha256"):
        asternet.AsterNetEngine(model_path=bad)


def test_asternet_refuses_tampered_vocab(tmp_path):
    from ocr_service.engines import asternet
    from ocr_service.engines.onnx_env import distribution_path

    vocab = json.loads(distribution_path(asternet.VOCAB_PIN).read_text(encoding="utf-8"))
    vocab["chars"][1], vocab["chars"][2] = vocab["chars"][2], vocab["chars"][1]
    bad = tmp_path / "vocab.json"
    bad.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(EngineError, match="sha256"):
        asternet.AsterNetEngine(vocab_path=bad)


def test_ppocr_refuses_tampered_model(tmp_path):
    from ocr_service.engines import ppocr
    from ocr_service.engines.onnx_env import distribution_path

    bad = _tampered_copy(distribution_path(ppocr.MODEL_PIN), tmp_path)
    with pytest.raises(EngineError, match="sha256"):
        ppocr.PPOCRDigitsEngine(model_path=bad)


def test_pinned_version_mismatch_is_refused():
    from dataclasses import replace

    from ocr_service.engines import asternet
    from ocr_service.engines.onnx_env import distribution_path

    with pytest.raises(EngineError, match="exactly 9.9.9"):
        distribution_path(replace(asternet.MODEL_PIN, version="9.9.9"))
    with pytest.raises(EngineError, match="not installed"):
        distribution_path(replace(asternet.MODEL_PIN, distribution="no-such-dist-xyz"))


def test_no_asterocr_or_rapidocr_module_imported(asternet, ppocr):
    assert not any(m == "asterocr" or m.startswith(("asterocr.", "rapidocr")) for m in sys.modules)


def test_ctc_greedy_collapses_runs_and_blanks():
    from ocr_service.engines.onnx_env import collapse_spaces, ctc_greedy

    chars = ["", "a", "b", " "]
    p = np.array([[0.1, 0.8, 0.05, 0.05], [0.1, 0.9, 0.0, 0.0], [0.9, 0.1, 0, 0],
                  [0.2, 0.7, 0.1, 0], [0.1, 0.1, 0.6, 0.2]])
    res = ctc_greedy(p, chars)
    assert res.text == "aab"
    assert res.char_probs == (0.9, 0.7, 0.6)
    assert res.candidates[0] == ("aab", 0.6)
    assert res.candidates[1][0] == "aa "
    assert ctc_greedy(p, chars, allowed=[1]).text == "aa"
    assert collapse_spaces("  a  b ", (1, 2, 3, 4, 5, 6, 7)) == ("a b", (3, 4, 6))


# --- no egress, nothing under $HOME/.cache -----------------------------------------------------

_EGRESS_SCRIPT = textwrap.dedent(r"""
    import json, socket, sys
    calls = []
    def _deny(name):
        def f(*a, **k):
            calls.append(name)
            raise OSError("network disabled in test: " + name)
        return f
    socket.socket.connect = _deny("socket.connect")
    socket.socket.connect_ex = _deny("socket.connect_ex")
    socket.socket.sendto = _deny("socket.sendto")
    socket.create_connection = _deny("create_connection")
    socket.getaddrinfo = _deny("getaddrinfo")
    socket.gethostbyname = _deny("gethostbyname")

    sys.path.insert(0, sys.argv[1])
    import numpy as np
    from tests.test_engines import render
    from ocr_service.engines.tesseract import TesseractEngine
    from ocr_service.engines.registry import Engines
    out = {}
    engines = Engines()  # the pipeline's own way of loading engines
    t, a, p = engines.get("tesseract"), engines.get("asternet"), engines.get("ppocr")
    out["t"] = t.read(render("Nguyễn Thị Thuỷ"), "name").text
    out["a"] = a.read(render("Nguyễn Thị Thuỷ"), "name").text
    out["p"] = p.read(render("15/08/1990"), "date").text
    out["calls"] = calls
    out["mods"] = sorted(m for m in sys.modules if m.split(".")[0] in ("asterocr", "rapidocr", "requests",
                                                                        "urllib3", "huggingface_hub"))
    print(json.dumps(out))
""")


def test_no_network_and_no_home_cache(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "ORT_DISABLE_TELEMETRY")}
    env.update(HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, "-c", _EGRESS_SCRIPT, str(REPO)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["calls"] == []
    assert out["mods"] == []
    assert out["t"] == out["a"] == "Nguyễn Thị Thuỷ" and out["p"] == "15/08/1990"
    written = [str(p.relative_to(home)) for p in home.rglob("*")]
    assert written == [], written
    assert not (home / ".cache").exists()


def test_data_dir_receives_cache_env(tmp_path):
    """With a data directory, any cache path onnxruntime would compute lies inside it."""
    code = textwrap.dedent("""
        import os, sys
        sys.path.insert(0, sys.argv[1])
        from ocr_service.engines.onnx_env import import_onnxruntime
        import_onnxruntime(sys.argv[2])
        print(os.environ["XDG_CACHE_HOME"], os.environ["ORT_DISABLE_TELEMETRY"])
    """)
    env = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    env["HOME"] = str(tmp_path / "home")
    proc = subprocess.run([sys.executable, "-c", code, str(REPO), str(tmp_path / "data")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cache, flag = proc.stdout.split()
    assert Path(cache) == tmp_path / "data" / "cache" and flag == "1"
