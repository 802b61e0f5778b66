"""Hostile files, command by command and page by page: damaged model folders (weights, configuration, tokenizer)
and output paths that cannot be written (a file in the way, read-only, /proc, a full disk) each end in one message
naming the file and the fix — never a traceback — and leave nothing half-written."""

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_hostile import open_page, shows_results

from mlm_core.cli import main
from mlm_core.files import LFS_POINTER, PARTIAL


def _put(name: str, data):
    """Damage: replace the file ``name`` with ``data`` (bytes, or a function of the file's path giving them)."""
    return lambda folder: (folder / name).write_bytes(data(folder / name) if callable(data) else data)


def _vocab_only(data: bytes):
    """Damage: no tokenizer.json, so transformers builds the tokenizer from vocab.txt, which becomes ``data``."""
    return lambda folder: ((folder / "tokenizer.json").unlink(), (folder / "vocab.txt").write_bytes(data))


def _h5_weights(keep: float):
    """Damage: weights saved as tf_model.h5 instead of safetensors, then cut to their first ``keep`` share."""

    def damage(folder):
        from transformers import TFAutoModelForMaskedLM

        model = TFAutoModelForMaskedLM.from_pretrained(str(folder))
        (folder / "model.safetensors").unlink()
        model.save_pretrained(str(folder), safe_serialization=False)
        data = (folder / "tf_model.h5").read_bytes()
        (folder / "tf_model.h5").write_bytes(data[: int(len(data) * keep)] if keep else b"not HDF5 at all\n")

    return damage


HALF = lambda path: path.read_bytes()[: path.stat().st_size // 2]  # noqa: E731
DAMAGED = "is damaged or incomplete ("
DAMAGED_MODELS = [  # (what is wrong with the tiny BERT's folder, the damage, expected message)
    (
        "random bytes as weights",
        _put("model.safetensors", lambda p: os.urandom(p.stat().st_size)),
        f"weights file model.safetensors {DAMAGED}Error while deserializing header",
    ),
    ("first half of the weights", _put("model.safetensors", HALF), f"model.safetensors {DAMAGED}Error while deser"),
    ("empty weights file", _put("model.safetensors", b""), f"model.safetensors {DAMAGED}it is empty: 0 bytes)"),
    (
        "text named model.safetensors",
        _put("model.safetensors", b"weights: TODO\n" * 40),
        f"weights file model.safetensors {DAMAGED}",
    ),
    (
        "Git LFS pointer as weights",
        _put("model.safetensors", LFS_POINTER + b".github.com/spec/v1\nsize 9\n"),
        "a Git LFS pointer, not the file itself: run 'git lfs pull'",
    ),
    (
        "a folder named model.safetensors",
        lambda f: ((f / "model.safetensors").unlink(), (f / "model.safetensors").mkdir()),
        "(a folder, not a file)",
    ),
    ("tf_model.h5 that is not HDF5", _h5_weights(0), f"weights file tf_model.h5 {DAMAGED}not a readable HDF5 file)"),
    ("first half of tf_model.h5", _h5_weights(0.5), f"weights file tf_model.h5 {DAMAGED}not a readable HDF5 file)"),
    (
        "corrupt config.json",
        _put("config.json", b'{"model_type": "bert", '),
        f"configuration file config.json {DAMAGED}not valid JSON",
    ),
    ("empty config.json", _put("config.json", b""), f"config.json {DAMAGED}it is empty: 0 bytes)"),
    ("config.json holding a list", _put("config.json", b"[]"), f"config.json {DAMAGED}a JSON list instead of"),
    (
        "a word for a size in config.json",
        _put("config.json", lambda p: p.read_bytes().replace(b'"hidden_size": 32', b'"hidden_size": "big"')),
        f"config.json {DAMAGED}'hidden_size' is 'big', not a whole number above 0)",
    ),
    ("corrupt tokenizer.json", _put("tokenizer.json", HALF), f"tokenizer file tokenizer.json {DAMAGED}not valid JSON"),
    ("tokenizer.json with no model", _put("tokenizer.json", b"{}"), f"tokenizer.json {DAMAGED}Model missing"),
    ("binary vocab.txt", _vocab_only(b"\x89PNG\r\n\x1a\n" * 50), f"tokenizer file vocab.txt {DAMAGED}not UTF-8 text"),
    (
        "vocab.txt without [UNK]",
        _vocab_only(b"[PAD]\n[CLS]\n[SEP]\n[MASK]\nthe\n"),
        f"vocab.txt {DAMAGED}WordPiece error: Missing [UNK] token",
    ),
    ("corrupt tokenizer_config.json", _put("tokenizer_config.json", b"{"), f"tokenizer_config.json {DAMAGED}not valid"),
]
REMEDY = "save the model again with save_pretrained(), or download it again."


@pytest.fixture(scope="module")
def damaged_models(model_root, bert_dir) -> dict[str, Path]:
    """One copy of the tiny BERT per case, damaged as it says, under the dashboard's model root."""
    folders = {}
    for index, (name, damage, _) in enumerate(DAMAGED_MODELS):
        folders[name] = shutil.copytree(bert_dir, model_root / f"damaged-{index}")
        damage(folders[name])
    return folders


@pytest.mark.parametrize("name, message", [(c[0], c[2]) for c in DAMAGED_MODELS], ids=[c[0] for c in DAMAGED_MODELS])
def test_cli_damaged_model_folders_exit_2_with_one_line_naming_the_file(damaged_models, capsys, name, message):
    folder = str(damaged_models[name])
    assert main(["predict", "the [MASK] .", "--model", folder]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and f"'{folder}'" in captured.err, captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err and captured.out == ""
    assert REMEDY in captured.err or "git lfs pull" in captured.err


def test_damaged_model_folders_are_an_error_on_the_page_and_the_page_recovers(damaged_models, bert_dir):
    """Every DAMAGED_MODELS case typed in the sidebar: st.error with the message, no exception; then a good model."""
    at = open_page(str(bert_dir), "predict")
    for name, _, message in DAMAGED_MODELS:
        at.text_input(key="model_custom").set_value(str(damaged_models[name])).run()
        assert not at.exception, (name, at.exception)
        assert any(message in e.value for e in at.error), (name, [e.value for e in at.error])
    at.text_input(key="model_custom").set_value(str(bert_dir)).run()
    assert not at.error and shows_results(at, "predict")


def _mount_tmpfs(folder: Path, options: str) -> bool:
    """Mount a tmpfs on ``folder`` when this process may (root with mount rights); False otherwise."""
    folder.mkdir(exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    command = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]
    return subprocess.run(command, capture_output=True).returncode == 0


def _simulate_small_disk(patch: pytest.MonkeyPatch, folder: Path, size: int) -> None:
    """Where no tmpfs can be mounted: ``size`` bytes of room under ``folder``, and writes past them fail (ENOSPC)."""
    real_usage, real_write = shutil.disk_usage, Path.write_bytes

    def used() -> int:
        return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())

    def usage(path):
        inside = folder in (Path(path).absolute(), *Path(path).absolute().parents)
        return real_usage(path)._replace(free=size - used()) if inside else real_usage(path)

    def write_bytes(path, data):
        if folder in path.absolute().parents and used() + len(data) > size:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_write(path, data)

    patch.setattr(shutil, "disk_usage", usage)
    patch.setattr(Path, "write_bytes", write_bytes)


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """Paths for FILE_CASES. 'ro' cannot be written: chmod 555 for a normal user; for root, whom chmod stops not, a
    read-only tmpfs, or /sys (sysfs refuses new files) where mounting is not allowed. 'disk' has 8 KiB of room: a
    real tmpfs when we can mount one (two of the tiny model's four diagrams fit there, its 106 KB of weights do
    not), else the same limit simulated (free space reported, writes past it failing with ENOSPC)."""
    root = tmp_path_factory.mktemp("places")
    paths = {name: root / name for name in ("file", "other", "text.txt", "ro", "disk")}
    paths["file"].write_text("not a folder")
    paths["other"].mkdir()
    (paths["other"] / "notes.txt").write_text("someone's notes, not a model")
    paths["text.txt"].write_text("the cat sat on the mat and the dog ran to the red house . " * 300)
    mounted = [
        path
        for path, options in ((paths["ro"], "ro,size=64k"), (paths["disk"], "size=8k"))
        if _mount_tmpfs(path, options)
    ]
    if paths["ro"] not in mounted:
        paths["ro"].chmod(0o555)
        paths["ro"] = paths["ro"] if os.geteuid() != 0 else Path("/sys")
    with pytest.MonkeyPatch.context() as patch:
        if paths["disk"] not in mounted:
            _simulate_small_disk(patch, paths["disk"], 8192)
        yield {name.removesuffix(".txt"): str(path) for name, path in paths.items()}
    for path in mounted:
        subprocess.run(["umount", str(path)], check=True)


FILE_CASES = [  # (what is tested, arguments with {place} from `places`, expected message on stderr)
    ("diagrams into a file", ["attention", "a cat", "--out", "{file}"], "it is a file, not a folder"),
    ("diagrams under a file", ["attention", "a cat", "--out", "{file}/d"], "is a file, so no folder can be made"),
    ("diagrams under /proc", ["attention", "a cat", "--out", "/proc/mlm-explorer-out"], "'/proc' cannot be written"),
    ("diagrams, read-only", ["attention", "a cat", "--out", "{ro}/d"], "choose a folder you can write to"),
    ("diagrams, disk full half-way", ["attention", "a cat", "--out", "{disk}/d"], "the disk is full — free some"),
    ("model into a file", ["finetune", "{text}", "--out", "{file}"], "it is a file, not a folder"),
    ("model under a file", ["finetune", "{text}", "--out", "{file}/m"], "is a file, so no folder can be made"),
    ("model under /proc", ["finetune", "{text}", "--out", "/proc/mlm-explorer-out"], "'/proc' cannot be written"),
    ("model, read-only", ["finetune", "{text}", "--out", "{ro}/m"], "choose a folder you can write to"),
    ("model, disk too small", ["finetune", "{text}", "--out", "{disk}/m"], "needs about 0.10 MB and only 0.0"),
    ("model over other files", ["finetune", "{text}", "--out", "{other}"], "is a folder with other files in it"),
    ("unreadable training text", ["finetune", "/proc/self/mem", "--out", "{disk}/m"], "Cannot read '/proc/self/mem'"),
    ("unreadable pairs file", ["pairs", "/proc/self/mem"], "Cannot read '/proc/self/mem': Input/output error"),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, args, message", FILE_CASES, ids=[case[0] for case in FILE_CASES])
def test_cli_paths_that_cannot_be_read_or_written_exit_2_with_one_line(places, bert_dir, capsys, name, args, message):
    """One line naming the path and the fix, given before any training (its progress would be on stderr too), and
    nothing left behind: no new --out, no staging folder, the small disk empty again."""
    args = [arg.format(**places) for arg in args] + ["--model", str(bert_dir)]
    args += ["--max-steps", "2"] if args[0] == "finetune" else []
    out = Path(args[args.index("--out") + 1]) if "--out" in args else None
    existed = out is not None and out.exists()
    assert main(args) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert "Cannot write" not in captured.err or f"'{out}'" in captured.err
    assert out is None or existed or not out.exists()
    assert not list(Path(places["disk"]).parent.rglob(f"*{PARTIAL}*")) and not os.listdir(places["disk"])


@pytest.mark.slow
def test_cli_finetune_disk_full_while_saving_leaves_no_model_folder(bert_dir, tmp_path, capsys, monkeypatch):
    """The disk fills up after the weights are written, while the tokenizer is saved (tokenizers reports it as a
    plain Exception '… (os error 28)', as measured on a tmpfs): one line, and no folder at --out that could load.
    The run's checkpoints stay beside it (``model-checkpoints``), so the same command, rerun once there is space,
    resumes instead of training again."""
    from transformers.tokenization_utils_base import PreTrainedTokenizerBase

    def full_disk(self, folder, *args, **kwargs):
        (Path(folder) / "tokenizer.json").write_bytes(b'{"trunc')
        raise Exception("No space left on device (os error 28)")

    monkeypatch.setattr(PreTrainedTokenizerBase, "save_pretrained", full_disk)
    (tmp_path / "train.txt").write_text("the cat sat on the mat and the dog ran to the red house . " * 300)
    out = tmp_path / "model"
    assert (
        main(["finetune", str(tmp_path / "train.txt"), "--model", str(bert_dir), "--max-steps", "2", "--out", str(out)])
        == 2
    )
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (
        f"error: Cannot write the fine-tuned model to '{out}': the disk is full — free some space on "
        "that disk or choose a folder on another one."
    )
    assert "Traceback" not in "".join(err) and sorted(os.listdir(tmp_path)) == ["model-checkpoints", "train.txt"]
