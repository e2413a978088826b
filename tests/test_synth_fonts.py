import shutil
import unicodedata
from pathlib import Path

import pytest
import yaml

from ocr_service.errors import ConfigError
from ocr_service.synth import fonts as F

TEST_STRING = "Đặng Thị Thuỷ Ngọc ỹ Ỹ ữ Ữ ặ Ặ Nguyễn Hồ Chí Minh"


def _catalog_entries():
    return yaml.safe_load(F.default_catalog().read_text(encoding="utf-8"))["fonts"]


def test_test_string_has_precomposed_letters():
    nfc = unicodedata.normalize("NFC", TEST_STRING)
    for ch in "ặỹỸữỮ":
        assert ch in nfc


def test_every_shipped_ttf_is_listed():
    listed = {e["file"] for e in _catalog_entries()}
    for ttf in F.font_dir().glob("*.ttf"):
        assert ttf.name in listed, f"{ttf.name} not in fonts.yaml"


def test_handwriting_fonts_exist_with_licence():
    entries = [e for e in _catalog_entries() if e["style"] == "handwriting"]
    assert len(entries) >= 6
    for e in entries:
        assert (F.font_dir() / e["file"]).is_file(), e["file"]
        lic = F.font_dir() / e["licence"]
        assert "SIL Open Font License" in lic.read_text(encoding="utf-8")


def test_asternet_split():
    inside = F.list_fonts("handwriting", asternet=True)
    outside = F.list_fonts("handwriting", asternet=False)
    assert len(inside) >= 2
    assert len(outside) >= 3
    training = {"Caveat", "Dancing Script", "Patrick Hand", "Mali", "Itim", "Sriracha",
                "Pangolin", "Sedgwick Ave", "Marck Script", "Comfortaa"}
    assert all(f.family in training for f in inside)
    assert not any(f.family in training for f in outside)


@pytest.mark.parametrize("info", F.list_fonts("handwriting"), ids=lambda f: f.family)
def test_handwriting_font_covers_vietnamese(info):
    assert F.missing_codepoints(info.path, TEST_STRING) == []
    assert F.notdef_characters(info.path, TEST_STRING) == []
    assert F.covers_vietnamese(info.path)


def test_printed_fonts_present_cover_vietnamese():
    printed = F.list_fonts("printed")
    for info in printed:
        assert F.missing_codepoints(info.path, TEST_STRING) == [], info.family


def test_detects_missing_glyphs():
    # DejaVu Sans Mono lacks several stacked-tone precomposed letters.
    mono = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
    assert mono.exists(), "fonts-dejavu-core is installed by scripts/setup.sh"
    assert F.missing_codepoints(mono, TEST_STRING + "Ề ở ỷ")
    assert not F.covers_vietnamese(mono, TEST_STRING + "Ề ở ỷ")


def test_notdef_render_check_flags_unmapped_char():
    path = F.font_path("Patrick Hand")
    # A Tibetan letter: certainly not in a Latin handwriting font.
    assert F.notdef_characters(path, "aཀ") == ["ཀ"]


def test_font_path_lookup():
    assert F.font_path("mali").name == "Mali-Regular.ttf"
    with pytest.raises(ConfigError, match=r"unknown font family 'No Such Font' \(known: Patrick Hand, Mali, .*\)"):
        F.font_path("No Such Font")


def test_missing_system_font_is_skipped(tmp_path, caplog):
    cat = tmp_path / "fonts.yaml"
    cat.write_text(
        "fonts:\n"
        "  - family: Ghost Sans\n    file: /nonexistent/Ghost.ttf\n    style: printed\n"
        "    source: debian fonts-ghost\n"
        "  - family: DejaVu Sans\n    file: /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf\n"
        "    style: printed\n",
        encoding="utf-8",
    )
    with caplog.at_level("WARNING"):
        got = F.list_fonts("printed", catalog=cat)
    assert "Ghost Sans" not in [f.family for f in got]
    assert "fonts-ghost" in caplog.text
    with pytest.raises(ConfigError, match=r"unknown font style 'cursive' \(known: printed, handwriting\)"):
        F.list_fonts("cursive")


def test_the_source_tree_holds_the_fonts(monkeypatch):
    monkeypatch.delenv(F.FONTS_ENV, raising=False)
    assert F.font_dir() == Path(F.__file__).resolve().parent / "fonts"
    assert (F.font_dir() / "PatrickHand-Regular.ttf").is_file()


def test_font_folder_from_the_environment(tmp_path, monkeypatch):
    shutil.copy(F.SOURCE_FONT_DIR / "fonts.yaml", tmp_path)
    shutil.copy(F.SOURCE_FONT_DIR / "Mali-Regular.ttf", tmp_path)
    monkeypatch.setenv(F.FONTS_ENV, str(tmp_path))
    assert F.font_dir() == tmp_path
    assert F.font_path("Mali") == tmp_path / "Mali-Regular.ttf"
    assert F.list_fonts("printed")  # system fonts are found wherever the catalogue is
    # the other handwriting fonts are not in that folder: a clear error, naming it and the way out
    with pytest.raises(ConfigError) as err:
        F.list_fonts("handwriting")
    msg = str(err.value)
    assert f"{tmp_path} has no PatrickHand-Regular.ttf" in msg
    assert "scripts/build_fonts.py" in msg and F.FONTS_ENV in msg
    with pytest.raises(ConfigError, match="handwriting font 'Itim' missing"):
        F.font_path("Itim")


def test_missing_font_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(F.FONTS_ENV, str(tmp_path / "absent"))
    with pytest.raises(ConfigError) as err:
        F.list_fonts("printed")
    assert str(tmp_path / "absent" / "fonts.yaml") in str(err.value)
    assert "scripts/build_fonts.py" in str(err.value)
