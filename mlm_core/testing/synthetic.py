"""Small models and tokenizers built locally, with random weights, for tests and benchmarks.

Nothing here touches the network. Shapes are real (a ``base`` BERT has BERT-base's 110M parameters), so
benchmarks measure the true cost; the weights are random, so predictions are noise.
"""

from __future__ import annotations

from pathlib import Path

WORDS = (
    "the a an and or of to in on at for with from by is was are were be been has have had it its this that "
    "cat dog mat floor rug bed chair table door window room house home garden road street city paris france "
    "capital river bank money account sat sit looked around ran walked ate slept saw said went came big small "
    "red blue green old new good bad happy sad day night morning week year time man woman child people "
    "i you he she we they my your his her our their not no yes very much more most some many all one two three"
).split()
SPECIAL_BERT = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PUNCTUATION = tuple(".,;:!?'\"()-")
LETTERS = tuple("abcdefghijklmnopqrstuvwxyz0123456789")

SIZES = {
    # hidden, layers, heads, intermediate, max positions
    "tiny": (32, 2, 2, 37, 128),
    "base": (768, 12, 12, 3072, 512),
}


def wordpiece_vocab(size: int | None = None) -> list[str]:
    """Special tokens, a few hundred words, letters and ``##`` pieces; padded with ``[unusedN]`` to ``size``."""
    vocab = list(SPECIAL_BERT) + list(PUNCTUATION) + list(LETTERS) + [f"##{c}" for c in LETTERS] + list(WORDS)
    vocab = list(dict.fromkeys(vocab))
    if size is not None:
        vocab += [f"[unused{i}]" for i in range(size - len(vocab))]
    return vocab


def build_bert(
    folder: str | Path, *, size: str = "tiny", vocab_size: int | None = None, mlm_head: bool = True, seed: int = 0
) -> Path:
    """Write a random BERT (with or without MLM head) and its WordPiece tokenizer to ``folder``."""
    import tensorflow as tf
    from transformers import BertConfig, BertTokenizerFast, TFBertForMaskedLM, TFBertModel

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = wordpiece_vocab(vocab_size or (30522 if size == "base" else None))
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    hidden, layers, heads, intermediate, positions = SIZES[size]
    tokenizer.model_max_length = positions
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=positions,
        pad_token_id=0,
    )
    tf.keras.utils.set_random_seed(seed)
    model = (TFBertForMaskedLM if mlm_head else TFBertModel)(config)
    model(model.dummy_inputs)
    model.save_pretrained(folder, safe_serialization=True)
    return folder


def build_camembert_style(folder: str | Path, *, seed: int = 0) -> Path:
    """Write a tiny random CamemBERT with a SentencePiece-style (Unigram, ``▁``) tokenizer whose mask is ``<mask>``."""
    import tensorflow as tf
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import CamembertConfig, PreTrainedTokenizerFast, TFCamembertForMaskedLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    pieces = [f"\u2581{w}" for w in WORDS] + list(LETTERS) + list(PUNCTUATION) + ["\u2581"]
    vocab = [(token, 0.0) for token in specials] + [(piece, -float(len(piece))) for piece in pieces]
    backend = Tokenizer(models.Unigram(vocab, unk_id=3))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    backend.add_special_tokens(specials + [AddedToken("<mask>", lstrip=True, special=True)])
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        cls_token="<s>",
        sep_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        model_max_length=128,
    )
    tokenizer.save_pretrained(folder)
    config = CamembertConfig(
        vocab_size=len(backend.get_vocab()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=130,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    tf.keras.utils.set_random_seed(seed)
    model = TFCamembertForMaskedLM(config)
    model(model.dummy_inputs)
    model.save_pretrained(folder, safe_serialization=True)
    return folder
