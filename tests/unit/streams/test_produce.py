"""What `assay produce` sends for files, folders and JSON Lines."""

from __future__ import annotations

import io

import orjson

from streams.produce import ProduceReport, documents_from_jsonl, documents_from_paths, iter_files


def test_folder_walk_honours_the_ignore_list_and_size_cap(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("def f():\n    return 1\n")
    (tmp_path / "README.md").write_text("# Title\n")
    for ignored in (".git", "node_modules", "__pycache__", ".venv"):
        (tmp_path / ignored).mkdir()
        (tmp_path / ignored / "x.py").write_text("x = 1")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "big.txt").write_text("y" * 5000)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    report = ProduceReport()
    files = [p.relative_to(tmp_path).as_posix() for p in iter_files(tmp_path, 1000, report)]
    assert files == ["README.md", "pkg/mod.py"]
    assert [(p.rsplit("/", 1)[-1], why.split(" ")[0]) for p, why in report.skipped] == [
        ("big.txt", "5000"), ("__init__.py", "empty")]


def test_folder_documents_share_a_set_id_and_keep_undecodable_bytes(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    docs = dict(documents_from_paths([tmp_path], 10_000, ProduceReport()))
    a = orjson.loads(docs[(tmp_path / "a.py").as_uri()])
    assert a["set_id"] == tmp_path.as_uri() and a["uri"] == a["id"] and a["content"] == "x = 1\n"
    assert docs[(tmp_path / "latin1.txt").as_uri()] == "café".encode("latin-1")  # the pipeline dead-letters it


def test_jsonl_lines_keep_their_bytes_and_use_the_id_as_key():
    lines = io.StringIO('{"id": "a", "content": "x"}\n\n{"content": "no id"}\nnot json\n')
    assert list(documents_from_jsonl(lines)) == [
        ("a", b'{"id": "a", "content": "x"}'), (None, b'{"content": "no id"}'), (None, b"not json")]
