"""The file helpers of ``mlm_core.files``: an output folder is checked before any work and written whole or not at
all; a saved model's files are checked for damage; unreadable inputs become messages. The same helpers serve the
attention diagrams and the fine-tuned model (their command-line cases are in test_hostile.py)."""

import errno
import json
import shutil
from pathlib import Path

import pytest

from mlm_core import InputError
from mlm_core.files import PARTIAL, check_output_folder, file_problem, os_error, read_input_file, staged_output


def leftovers(folder: Path) -> list[str]:
    """Staging or probe folders left anywhere under ``folder``."""
    return [str(path) for path in folder.rglob(f"*{PARTIAL}*")]


def test_a_new_folder_appears_whole_with_its_parents(tmp_path):
    """A missing --out (and its missing parents) is created by renaming the finished staging folder."""
    out = tmp_path / "a" / "b" / "out"
    with staged_output(out, what="the files") as staging:
        (staging / "one.txt").write_text("1")
        assert not out.exists()  # nothing visible until the block ends
    assert sorted(p.name for p in out.iterdir()) == ["one.txt"] and not leftovers(tmp_path)


def test_files_are_added_to_an_existing_folder_and_its_other_files_kept(tmp_path):
    """Without ``replace`` (the diagrams), an existing folder keeps what it had; our files are added or updated."""
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "one.txt").write_text("old")
    with staged_output(tmp_path, what="the files") as staging:
        (staging / "one.txt").write_text("new")
        (staging / "two.txt").write_text("2")
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        "notes.txt": "mine",
        "one.txt": "new",
        "two.txt": "2",
    }


def test_replace_swaps_an_earlier_result_whole(tmp_path):
    """With ``replace`` (a fine-tuned model), no file of the earlier result survives next to the new one."""
    out = tmp_path / "model"
    out.mkdir()
    (out / "config.json").write_text("{}")
    (out / "tf_model.h5").write_bytes(b"old weights transformers would read first")
    with staged_output(out, what="the model", replace=True) as staging:
        (staging / "config.json").write_text('{"new": 1}')
        (staging / "model.safetensors").write_bytes(b"new")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((out / "config.json").read_text()) == {"new": 1} and not leftovers(tmp_path)


@pytest.mark.parametrize("existing", [False, True], ids=["new folder", "earlier set in place"])
def test_a_failed_write_leaves_the_folder_as_it_was_and_says_why(tmp_path, existing):
    """A full disk half-way (the writer raising ENOSPC after two files) leaves no partial set and no staging."""
    out = tmp_path / "out"
    if existing:
        out.mkdir()
        (out / "one.txt").write_text("earlier")
    with pytest.raises(InputError, match=r"Cannot write the files to '.*out': the disk is full — free some space"):
        with staged_output(out, what="the files", replace=True) as staging:
            (staging / "one.txt").write_text("new")
            (staging / "two.txt").write_text("new")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert (
        sorted(p.name for p in out.iterdir()) == ["one.txt"] and (out / "one.txt").read_text() == "earlier"
        if existing
        else not out.exists()
    )
    assert not leftovers(tmp_path)


def test_a_bug_inside_the_block_is_not_turned_into_a_message(tmp_path):
    """Only operating-system errors become InputError; anything else propagates — after the clean-up."""
    with pytest.raises(KeyError):
        with staged_output(tmp_path / "out", what="the files") as staging:
            (staging / "one.txt").write_text("1")
            raise KeyError("a bug")
    assert not (tmp_path / "out").exists() and not leftovers(tmp_path)


def test_os_errors_are_read_from_rust_libraries_messages_and_nothing_else():
    """safetensors and tokenizers report a full disk as '… (os error 28)' in their own or plain Exception types."""
    assert os_error(Exception("No space left on device (os error 28)")).errno == errno.ENOSPC
    assert os_error(OSError(errno.EROFS, "Read-only file system")).errno == errno.EROFS
    assert os_error(ValueError("shapes do not match")) is None and os_error(KeyboardInterrupt()) is None


def test_the_check_creates_nothing_and_names_the_problem(tmp_path):
    """check_output_folder only probes: missing parents stay missing; each refusal names the path and the fix."""
    (tmp_path / "a-file").write_text("x")
    assert check_output_folder(tmp_path / "new" / "deeper", what="it") == tmp_path / "new" / "deeper"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
    with pytest.raises(InputError, match="it is a file, not a folder — give the path of a folder"):
        check_output_folder(tmp_path / "a-file", what="it")
    with pytest.raises(InputError, match="'.*a-file' is a file, so no folder can be made inside it"):
        check_output_folder(tmp_path / "a-file" / "sub", what="it")
    with pytest.raises(InputError, match=r"needs about [\d,]+ MB and only [\d.,]+ MB are free there"):
        check_output_folder(tmp_path, what="it", needed_bytes=shutil.disk_usage(tmp_path).free * 2)


def test_a_result_folder_is_replaced_only_when_it_holds_an_earlier_result(tmp_path):
    """With a marker (config.json), an empty folder or an earlier model is fine; someone's other files are not."""
    empty, earlier, other = (tmp_path / name for name in ("empty", "earlier", "other"))
    for folder in (empty, earlier, other):
        folder.mkdir()
    (earlier / "config.json").write_text("{}")
    (other / "notes.txt").write_text("mine")
    for folder in (empty, earlier):
        check_output_folder(folder, what="the model", replace_marker="config.json")
    with pytest.raises(InputError, match="it is a folder with other files in it — choose a new or empty folder"):
        check_output_folder(other, what="the model", replace_marker="config.json")


@pytest.mark.parametrize(
    "content, options, problem",
    [
        (b"", {}, "it is empty: 0 bytes"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n", {}, "a Git LFS pointer"),
        (b"\xff\xfe\x00", {"text": True}, "not UTF-8 text at byte 0"),
        (b'{"a": ', {"json_object": True}, "not valid JSON"),
        (b"[1, 2]", {"json_object": True}, "a JSON list instead of an object"),
        (b'{"a": 1}', {"json_object": True}, None),
        (b"\x00\x01binary weights", {}, None),
    ],
)
def test_file_problem_says_what_is_wrong_with_a_model_file(tmp_path, content, options, problem):
    path = tmp_path / "file"
    path.write_bytes(content)
    found = file_problem(path, **options)
    assert found is None if problem is None else problem in found
    assert file_problem(tmp_path) == "a folder, not a file"


def test_an_unreadable_input_file_is_a_message(tmp_path):
    with pytest.raises(InputError, match=r"Cannot read '/proc/self/mem': Input/output error — give a file"):
        read_input_file("/proc/self/mem", fix="give a file")
    with pytest.raises(InputError, match="Cannot read .*: Is a directory"):
        read_input_file(tmp_path, fix="give a file")
