"""A tiny random model of every masked-LM family transformers ships with a TF class, built locally from its config.

For tests (the family matrix) and benchmarks (a DistilBERT-base shape). Nothing touches the network. Families
whose own tokenizer needs files or packages we do not ship (SentencePiece models, XLM's Moses tokenizer) get the
locally written WordPiece tokenizer of ``synthetic.py`` — the model does not care which tokenizer made its ids;
ESM gets its own tokenizer class (``<cls>``, ``<eos>``, ``<mask>``), since its embeddings read the mask id.
"""

from __future__ import annotations

from pathlib import Path

from .synthetic import PUNCTUATION, SIZES, WORDS, wordpiece_vocab

FAMILIES = (
    "bert",
    "roberta",
    "camembert",
    "xlm-roberta",
    "roberta-prelayernorm",
    "distilbert",
    "albert",
    "electra",
    "deberta",
    "deberta-v2",
    "mpnet",
    "mobilebert",
    "convbert",
    "roformer",
    "rembert",
    "funnel",
    "longformer",
    "xlm",
    "flaubert",
    "esm",
)
ESM_SPECIALS = ("<cls>", "<pad>", "<eos>", "<unk>")
AMINO_ACIDS = tuple("LAGVSERTIDPKQNFYMHWCXBUZO")


def family_config(
    family: str,
    *,
    vocab_size: int,
    size: str = "tiny",
    pad_token_id: int = 0,
    mask_token_id: int | None = None,
    layers: int | None = None,
):
    """The config of a random ``family`` model of ``size`` ('tiny': hidden 32, 2 layers, 2 heads; 'base'), with
    ``layers`` layers instead of the size's (e.g. 6 for DistilBERT-base)."""
    from transformers import AutoConfig

    hidden, size_layers, heads, intermediate, positions = SIZES[size]
    layers = layers or size_layers
    small = hidden // 2
    common = {"vocab_size": vocab_size, "pad_token_id": pad_token_id}
    bert_like = {
        **common,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": intermediate,
        "max_position_embeddings": positions,
    }
    offset = {**bert_like, "max_position_embeddings": positions + 2}  # position ids start after the padding id
    settings = {
        "bert": bert_like,
        "roberta": offset,
        "camembert": offset,
        "xlm-roberta": offset,
        "roberta-prelayernorm": offset,
        "electra": {**bert_like, "embedding_size": small},
        "distilbert": {
            **common,
            "dim": hidden,
            "n_layers": layers,
            "n_heads": heads,
            "hidden_dim": intermediate,
            "max_position_embeddings": positions,
        },
        "albert": {**bert_like, "embedding_size": small},
        "deberta": {
            **bert_like,
            "relative_attention": True,
            "pos_att_type": ["c2p", "p2c"],
            "position_biased_input": False,
            "max_relative_positions": -1,
        },
        "deberta-v2": {
            **bert_like,
            "relative_attention": True,
            "pos_att_type": ["p2c", "c2p"],
            "position_biased_input": False,
            "position_buckets": 64,
            "norm_rel_ebd": "layer_norm",
            "share_att_key": True,
            "max_relative_positions": -1,
        },
        "mpnet": {**offset, "relative_attention_num_buckets": 32},
        "mobilebert": {
            **bert_like,
            "embedding_size": small,
            "intra_bottleneck_size": hidden,
            "num_feedforward_networks": 2,
        },
        "convbert": {**bert_like, "num_attention_heads": 2 * heads, "head_ratio": 2, "embedding_size": hidden},
        "roformer": {**bert_like, "embedding_size": hidden},
        "rembert": {**bert_like, "input_embedding_size": small, "output_embedding_size": small},
        "funnel": {
            **common,
            "d_model": hidden,
            "n_head": heads,
            "d_head": hidden // heads,
            "d_inner": intermediate,
            "block_sizes": [1] * layers,
            "num_decoder_layers": 1,
        },
        "longformer": {**offset, "attention_window": 4, "sep_token_id": 3, "bos_token_id": 2, "eos_token_id": 3},
        "xlm": {
            **common,
            "emb_dim": hidden,
            "n_layers": layers,
            "n_heads": heads,
            "max_position_embeddings": positions,
            "pad_index": pad_token_id,
            "mask_token_id": mask_token_id,
            "n_langs": 1,
        },
        "flaubert": {
            **common,
            "emb_dim": hidden,
            "n_layers": layers,
            "n_heads": heads,
            "max_position_embeddings": positions,
            "pad_index": pad_token_id,
            "mask_token_id": mask_token_id,
            "n_langs": 1,
            "pre_norm": True,
        },
        "esm": {
            **bert_like,
            "mask_token_id": mask_token_id,
            "position_embedding_type": "rotary",
            "token_dropout": True,
            "emb_layer_norm_before": False,
        },
    }
    return AutoConfig.for_model(family, **settings[family])


def build_family(
    folder: str | Path, family: str, *, size: str = "tiny", layers: int | None = None, seed: int = 0
) -> Path:
    """Write a random ``family`` masked LM of ``size`` and a tokenizer it can read to ``folder``."""
    import tensorflow as tf
    from transformers import TFAutoModelForMaskedLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _esm_tokenizer(folder) if family == "esm" else _wordpiece_tokenizer(folder, size)
    tokenizer.model_max_length = SIZES[size][4]
    tokenizer.save_pretrained(folder)
    config = family_config(
        family,
        vocab_size=len(tokenizer),
        size=size,
        pad_token_id=tokenizer.pad_token_id,
        mask_token_id=tokenizer.mask_token_id,
        layers=layers,
    )
    tf.keras.utils.set_random_seed(seed)
    model = TFAutoModelForMaskedLM.from_config(config)
    model(model.dummy_inputs)
    for variable in model.variables:  # zero-initialised weights (MobileBERT's) would make every word tie
        if not tf.reduce_any(variable != 0):
            variable.assign(tf.random.normal(variable.shape, stddev=0.02, dtype=variable.dtype))
    model.save_pretrained(folder, safe_serialization=True)
    return folder


def _wordpiece_tokenizer(folder: Path, size: str):
    from transformers import BertTokenizerFast

    vocab = wordpiece_vocab(30522 if size == "base" else None)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # no token type ids: not every family takes them (DistilBERT's call refuses them)
    return BertTokenizerFast(
        vocab_file=str(folder / "vocab.txt"), do_lower_case=True, model_input_names=["input_ids", "attention_mask"]
    )


def _esm_tokenizer(folder: Path):
    """ESM's own tokenizer class: whitespace-separated tokens, amino-acid letters, our words; ``<mask>`` last."""
    from transformers import EsmTokenizer

    vocab = [*ESM_SPECIALS, *AMINO_ACIDS, *PUNCTUATION, *WORDS, "<mask>"]
    (folder / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    return EsmTokenizer(vocab_file=str(folder / "vocab.txt"))
