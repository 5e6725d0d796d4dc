"""The learner's store and checkpoint: the join, parked labels, and a state that survives a restart."""

from __future__ import annotations

from pathlib import Path

from streams.learner.checkpoint import LearnerCheckpoint, load_checkpoint, save_checkpoint
from streams.learner.store import PENDING_PARTITION, LearnerStore, SourceText, StoredLabel


def test_the_mirror_keeps_the_latest_text_and_forgets_deleted_sources(tmp_path: Path) -> None:
    store = LearnerStore(tmp_path / "l.db")
    store.mirror([SourceText("a", "v1", "general"), SourceText("b", "x", "code")], [], {0: 5})
    store.mirror([SourceText("a", "v2", "general")], ["b"], {0: 9, 1: 3})
    assert {k: v.content for k, v in store.texts(["a", "b", "c"]).items()} == {"a": "v2"}
    assert store.mirror_offsets() == {0: 9, 1: 3}


def test_a_parked_label_joins_once_its_source_arrives_and_is_parked_once(tmp_path: Path) -> None:
    store = LearnerStore(tmp_path / "l.db")
    store.park("late", None, "HQ", 1.0, partition=0, offset=7, at=1.0)
    store.park("late", None, "HQ", 1.0, partition=0, offset=7, at=2.0)  # redelivered: parked once
    assert store.pending() == 1 and store.joinable(0, 10) == []
    store.mirror([SourceText("late", "the text", "documentation")], [], {0: 1})
    [(parked, text)] = store.joinable(0, 10)
    assert (parked.label, text.content, text.doc_type) == ("HQ", "the text", "documentation")
    store.forget_parked(parked.seq + 1)
    assert store.pending() == 0 and store.joinable(0, 10) == []


def test_gathered_labels_come_back_newest_last_after_a_mark(tmp_path: Path) -> None:
    store = LearnerStore(tmp_path / "l.db")
    store.keep_labels([(0, i, StoredLabel(f"k{i}", "t", "general", "HQ", 1.0, i % 2 == 0)) for i in range(6)])
    store.keep_labels([(0, 0, StoredLabel("dup", "t", "general", "HQ", 1.0, True))])  # same offset: ignored
    mark = store.label_mark()
    store.keep_labels([(PENDING_PARTITION, 0, StoredLabel("k9", "t", "general", "LQ_EDIT", 1.0, True))])
    assert [s.key for s in store.recent_labels(10, holdout=True)] == ["k0", "k2", "k4", "k9"]
    assert [s.key for s in store.recent_labels(10, holdout=True, after=mark)] == ["k9"]


def test_the_checkpoint_round_trips_atomically(tmp_path: Path) -> None:
    path = tmp_path / "learner" / "checkpoint.bin"
    assert load_checkpoint(path) is None
    cp = LearnerCheckpoint(session=b"\x00state", base_version="0.5.0", published_version="1.2.1",
                           covered={0: 812, PENDING_PARTITION: 4}, experiment={"phase": "shadow"}, cuts=2,
                           validation_from=17)
    save_checkpoint(path, cp)
    assert load_checkpoint(path) == cp
    assert not path.with_suffix(".tmp").exists()


def test_gathered_labels_are_counted_and_read_by_the_fine_tuning_job(tmp_path: Path) -> None:
    from streams.learner.store import read_labels

    store = LearnerStore(tmp_path / "l.db")
    store.keep_labels((0, i, StoredLabel(f"k{i}", f"text {i}", "general", "HQ", 1.0, i == 2)) for i in range(4))
    store.keep_labels([(0, 1, StoredLabel("k1", "again", "general", "LQ_EDIT", 1.0, False))])  # redelivered: kept once
    assert store.label_count() == 3 and store.label_count(holdout=True) == 1
    learned = read_labels(tmp_path / "l.db", holdout=False)
    assert [(mark, s.key, s.text) for mark, s in learned] == [(1, "k0", "text 0"), (2, "k1", "text 1"), (4, "k3", "text 3")]
    assert [s.key for _, s in read_labels(tmp_path / "l.db", holdout=False, limit=2)] == ["k1", "k3"]  # most recent
    assert [s.key for _, s in read_labels(tmp_path / "l.db", holdout=True)] == ["k2"]
    try:
        read_labels(tmp_path / "none.db", holdout=False)
        raise AssertionError("a missing database must be refused")
    except FileNotFoundError as e:
        assert "assay learner" in str(e)
    assert not (tmp_path / "none.db").exists()
