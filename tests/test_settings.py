"""The one settings object: defaults, config file, environment, overrides; errors name the source."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from ocr_service import settings
from ocr_service.errors import ConfigError
from ocr_service.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_defaults_are_safe():
    s = settings.load(env={})
    assert s.bind_host == "127.0.0.1" and s.broker_url == "" and s.workers == 0
    assert s.database.startswith("sqlite:///") and s.database.endswith("ocr-data/ocr-service.db")


def test_file_then_environment_then_overrides(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('workers = 3\ndata_dir = "/srv/ocr"\nbind_port = 9000\n', encoding="utf-8")
    env = {"OCR_SERVICE_CONFIG": str(cfg), "OCR_SERVICE_WORKERS": "5"}
    s = settings.load(env=env, overrides={"bind_port": 9100, "engines": None})
    assert s.workers == 5 and s.data_dir == Path("/srv/ocr") and s.bind_port == 9100 and s.engines == "tesseract"
    assert s.database == "sqlite:////srv/ocr/ocr-service.db"
    assert settings.load(env={"OCR_SERVICE_DATABASE_URL": "postgresql+psycopg://x@h/db"}).database == \
        "postgresql+psycopg://x@h/db"


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().workers = 2  # type: ignore[misc]


@pytest.mark.parametrize("content, message", [
    ("wrkers = 2\n", "unknown setting 'wrkers'"),
    ('workers = "many"\n', "setting 'workers' must be int"),
    ("workers = [\n", "not valid TOML"),
])
def test_bad_config_file_names_the_file_and_the_key(tmp_path, content, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        settings.load(env={}, config_file=cfg)
    assert str(cfg) in err.value.message


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match=r"\$OCR_SERVICE_BIND_PORT"):
        settings.load(env={"OCR_SERVICE_BIND_PORT": "eighty"})
    with pytest.raises(ConfigError, match="not a TCP port"):
        settings.load(env={"OCR_SERVICE_BIND_PORT": "70000"})


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        settings.load(env={"OCR_SERVICE_CONFIG": str(tmp_path / "nope.toml")})


def test_the_docs_table_lists_every_setting_with_its_variable():
    rows = re.findall(r"^\| `(\w+)` \| `(OCR_SERVICE_\w+)` \|", DOC.read_text(encoding="utf-8"), re.M)
    documented = dict(rows)
    names = [f.name for f in dataclasses.fields(Settings)]
    assert sorted(documented) == sorted(names)
    assert all(var == "OCR_SERVICE_" + name.upper() for name, var in documented.items())


def test_cli_config_option_reaches_the_command(tmp_path):
    from typer.testing import CliRunner

    from ocr_service.cli import app

    cfg = tmp_path / "c.toml"
    cfg.write_text(f'templates_dir = "{tmp_path}"\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["--config", str(cfg), "templates", "list"])
    assert res.exit_code == 0 and res.stdout.strip() == ""  # an empty templates dir lists nothing
    res = CliRunner().invoke(app, ["templates", "list"])
    assert "dc01@tt66-2015" in res.stdout
