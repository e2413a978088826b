"""Users, passwords and API tokens: the auth module and the CLI that manages them."""

from __future__ import annotations

import pytest
from api_fixtures import TestClient, bearer
from sqlalchemy import select
from typer.testing import CliRunner

from ocr_service.cli import app
from ocr_service.errors import ConfigError, ConflictError
from ocr_service.service import auth
from ocr_service.service.api import create_app
from ocr_service.service.store import open_store
from ocr_service.service.store import repository as repo
from ocr_service.service.store.models import ApiToken
from ocr_service.settings import Settings

runner = CliRunner()


def cli(tmp_path, *args, input=None):
    return runner.invoke(app, list(args), input=input, env={"OCR_SERVICE_DATA_DIR": str(tmp_path / "data")})


def test_passwords_are_argon2id_and_checked():
    h = auth.hash_password("correct horse battery")
    assert h.startswith("$argon2id$")
    assert auth.verify_password(h, "correct horse battery")
    assert not auth.verify_password(h, "correct horse batterY")
    assert not auth.verify_password(None, "x") and not auth.verify_password("not a hash", "x")
    for bad in ("", "          ", "short"):
        with pytest.raises(ConfigError):
            auth.hash_password(bad)


def test_users_add_reads_the_password_from_stdin_and_tokens_authenticate(tmp_path):
    res = cli(tmp_path, "users", "add", "hoa.le", "--role", "reviewer", input="correct horse battery\n")
    assert res.exit_code == 0, res.output
    assert "hoa.le" in res.stderr and res.stdout == ""
    store = open_store(None, tmp_path / "data")
    try:
        with store.session(write=False) as s:
            user = repo.get_user(s, "hoa.le")
            assert user.role == "reviewer" and user.password_hash.startswith("$argon2id$")
            assert "correct horse" not in user.password_hash
            assert auth.verify_password(user.password_hash, "correct horse battery")
            assert [e.action for e in repo.list_audit(s, entity_type="user").items] == ["user.create"]

        res = cli(tmp_path, "tokens", "create", "hoa.le", "--name", "laptop")
        assert res.exit_code == 0, res.output
        token = res.stdout.strip()
        assert res.stdout == token + "\n" and len(token) >= 40  # the token, once, and nothing else on stdout
        assert "revoke" in res.stderr and token not in res.stderr
        with store.session(write=False) as s:  # stored hashed only
            assert not any(token in str(v) for e in repo.list_audit(s).items for v in (e.old, e.new))

        client = TestClient(create_app(Settings(data_dir=tmp_path / "data"), store))
        me = client.get("/api/v1/me", headers=bearer(token))
        assert me.status_code == 200 and me.json()["username"] == "hoa.le" and me.json()["role"] == "reviewer"

        listed = cli(tmp_path, "users", "list")
        assert listed.exit_code == 0 and listed.stdout.split("\t")[:4] == ["1", "hoa.le", "reviewer", "active"]

        with store.session(write=False) as s:
            token_id = s.scalars(select(ApiToken)).one().id
        res = cli(tmp_path, "tokens", "revoke", str(token_id))
        assert res.exit_code == 0, res.output
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
        assert cli(tmp_path, "tokens", "revoke", "999").exit_code == 9  # not found
    finally:
        store.close()


@pytest.mark.parametrize("password, why", [("\n", "empty"), ("short\n", "shorter than 10"), ("", "empty")])
def test_users_add_refuses_empty_and_short_passwords(tmp_path, password, why):
    res = cli(tmp_path, "users", "add", "ana", "--role", "clerk", input=password)
    assert res.exit_code == 2 and why in res.stderr


def test_users_add_refuses_unknown_roles_names_and_duplicates(tmp_path):
    res = cli(tmp_path, "users", "add", "ana", "--role", "boss", input="correct horse battery\n")
    assert res.exit_code == 2 and "unknown role" in res.stderr
    res = cli(tmp_path, "users", "add", "../ana", "--role", "clerk", input="correct horse battery\n")
    assert res.exit_code == 2 and "user name" in res.stderr
    assert cli(tmp_path, "users", "add", "ana", "--role", "clerk", input="correct horse battery\n").exit_code == 0
    res = cli(tmp_path, "users", "add", "ana", "--role", "admin", input="correct horse battery\n")
    assert res.exit_code == 10 and "already exists" in res.stderr
    assert cli(tmp_path, "tokens", "create", "nobody").exit_code == 9


def test_no_default_user_or_token(tmp_path):
    store = open_store(None, tmp_path / "data", create=True)
    try:
        with store.session(write=False) as s:
            assert auth.list_users(s) == []
        with store.session() as s:
            with pytest.raises(ConflictError):
                auth.add_user(s, "a", "correct horse battery", role="admin", actor="t")
                auth.add_user(s, "a", "correct horse battery", role="admin", actor="t")
    finally:
        store.close()
