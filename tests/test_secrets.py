"""Issue 11.6: a database password is never printed, whatever form the URL takes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import psycopg
import pytest

from synthkit.secrets import redact

SECRET = "s3cretPW"
FORMS = [
    f"postgresql+psycopg://root:{SECRET}@127.0.0.1:5432/test",
    f"postgresql+psycopg://root@127.0.0.1:5432/test?password={SECRET}",
    f"postgresql+psycopg://root@127.0.0.1:5432/test?sslmode=disable&password={SECRET}&application_name=x",
    f"postgresql+psycopg:///test?host=127.0.0.1&user=root&password={SECRET}",
    f"postgresql+psycopg://root@127.0.0.1:5432/test?sslpassword={SECRET}",
    f"postgresql://root:{SECRET}%40x@127.0.0.1:5432/test",  # percent-encoded '@'
    f"postgresql+psycopg://root@127.0.0.1:5432/test?PASSWORD={SECRET}",
]


@pytest.mark.parametrize("url", FORMS)
def test_redact_hides_every_form(url):
    shown = redact(url)
    assert SECRET not in shown and "s3cret" not in shown
    assert "127.0.0.1" in shown or "host=127.0.0.1" in shown or "test" in shown


@pytest.fixture
def scratch_db():
    """A database of the test's own (db init must not touch the shared `test`)."""
    name = f"sk_secret_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect("postgresql://root@127.0.0.1:5432/test", autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.parametrize("url", FORMS[:4])
def test_no_password_in_output_of_a_working_database(url, sh, scratch_db):
    url = url.replace("/test", f"/{scratch_db}")
    res = sh("synthkit", "db", "init", "--db-url", url)
    assert res.returncode == 0, res.stderr
    assert SECRET not in res.stdout + res.stderr
    assert json.loads(res.stdout)["database"]


@pytest.mark.parametrize(
    "url",
    [u.replace("5432", "1") for u in FORMS if "5432" in u]
    + [
        f"postgresql+psycopg://root:{SECRET}@127.0.0.1:notaport/test",
        f"postgresql+psycopg://root@127.0.0.1:1/test?password={SECRET}&nonsense_option=1",
    ],
)
def test_no_password_in_connection_errors(url, sh):
    res = sh("synthkit", "db", "init", "--db-url", url)
    assert res.returncode == 2, res.stdout + res.stderr
    assert SECRET not in res.stdout + res.stderr and "s3cret" not in res.stderr
    assert "Traceback" not in res.stderr and res.stderr.startswith("error:")


def test_no_password_in_environment_url_errors_or_files(sh, tmp_path: Path):
    url = f"postgresql+psycopg://root@127.0.0.1:1/test?password={SECRET}"
    res = sh(
        "synthkit", "import-csv", "--artifact-dir", str(tmp_path), env={"SYNTHKIT_DB_URL": url}
    )
    assert res.returncode == 2 and SECRET not in res.stdout + res.stderr
    assert not any(
        SECRET in p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()
    )
