"""`make backup` / `make restore` on an embedded data folder: what the archive holds, and
what a restore refuses (a folder in use, an altered archive) without writing anything.
The drill under writes, on both stores, is tests/e2e/test_restore_drill.py."""
import io
import json
import os
import stat
import tarfile

import pytest

from deploy import restore
from deploy.backup import backup, stores
from deploy.setup import prepare
from shared.config import load


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    for name in [k for k in os.environ if k.endswith("DATABASE_URL")] + ["SECRET_KEY", "BACKUP_DIR"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    umask = os.umask(0o022)  # load() tightens this process's umask: given back afterwards
    os.umask(umask)
    settings = load()
    prepare(settings)
    pdf = settings.data_dir / "documents" / "038" / "2025-2026" / "ATT-1.pdf"
    pdf.parent.mkdir(parents=True)
    pdf.write_bytes(b"%PDF-1.4 an attestation")
    (pdf.parent / ".ATT-2.pdf.x.tmp").write_bytes(b"%PDF half written")
    yield settings
    os.umask(umask)


def restore_into(monkeypatch, data_dir, archive) -> int:
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    return restore.main([str(archive)])


def test_the_archive_holds_every_store_the_documents_and_a_manifest(embedded, tmp_path, monkeypatch, capsys):
    archive = backup(embedded)
    assert archive.parent == embedded.data_dir / "backups"
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert set(manifest["stores"]) == set(stores())
    assert {f"stores/{store}.db" for store in stores()} <= names
    assert "documents/038/2025-2026/ATT-1.pdf" in names and not any(".tmp" in name for name in names)
    assert set(manifest["files"]) == names - {"manifest.json"}
    adhesion = manifest["stores"]["adhesion"]
    assert adhesion["alembic_revision"] and adhesion["tables"]["departments"] == 1  # the first start's 38
    assert manifest["versions"]["sqlite"] and manifest["started_at"] <= manifest["finished_at"]

    monkeypatch.setenv("BACKUP_DIR", str(tmp_path / "elsewhere"))
    assert backup(load()).parent == tmp_path / "elsewhere"

    target = tmp_path / "restored"
    assert restore_into(monkeypatch, target, archive) == 0
    assert "make run" in capsys.readouterr().out
    assert (target / "documents/038/2025-2026/ATT-1.pdf").read_bytes() == b"%PDF-1.4 an attestation"
    assert (target / "secret_key").read_text() == (embedded.data_dir / "secret_key").read_text()
    assert {p.name for p in target.iterdir()} >= {f"{store}.db" for store in stores()}


def test_a_restore_refuses_a_folder_in_use_and_an_altered_archive(embedded, tmp_path, monkeypatch, capsys):
    archive = backup(embedded)
    assert restore_into(monkeypatch, embedded.data_dir, archive) == 1
    assert "n'est pas vide" in capsys.readouterr().err

    altered = tmp_path / "altered.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(altered, "w:gz") as out:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name.endswith("ATT-1.pdf"):
                data = data.replace(b"attestation", b"attestatiom")
            out.addfile(member, io.BytesIO(data))
    target = tmp_path / "restored"
    assert restore_into(monkeypatch, target, altered) == 1
    assert "archive altérée" in capsys.readouterr().err
    assert not [p for p in target.iterdir() if not p.name.startswith(".")] if target.exists() else True

    assert restore_into(monkeypatch, tmp_path / "other", tmp_path / "missing.tar.gz") == 1
    assert "introuvable" in capsys.readouterr().err
    assert restore.main([]) == 2
