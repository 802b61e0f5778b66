from scripts.build_demo.corpus import Document, brown_to_text, split_documents, wordnet_examples


def test_brown_word_tag_format_becomes_plain_text():
    tagged = (
        "\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' was/bedz found/vbn ,/, and/cc "
        "Atlanta's/np$ mayor/nn (/( Hartsfield/np )/) agreed/vbd ./.\n\n\n\tA/at second/od one/cd ./.\n"
    )
    assert brown_to_text(tagged) == (
        'The jury said "no evidence" was found, and Atlanta\'s mayor (Hartsfield) agreed.\nA second one.'
    )


def test_split_is_by_document_and_stable():
    documents = [Document("brown", f"c{i:03d}", f"text {i}") for i in range(400)]
    train, held_out = split_documents(documents)
    assert len(train) + len(held_out) == 400 and 5 <= len(held_out) <= 40
    assert not set(train) & set(held_out)
    assert split_documents(documents) == (train, held_out)


def test_wordnet_usage_examples_become_sentences(tmp_path):
    data = tmp_path / "wordnet" / "usr" / "share" / "wordnet"
    data.mkdir(parents=True)
    (data / "data.noun").write_text(
        '  1 This software and database is being provided to you, "the LICENSEE", by Princeton\n'
        '03619890 06 n 01 kitchen 0 000 | a room equipped for preparing meals; "she put the milk in the kitchen"\n'
        '04256520 06 n 01 sofa 0 000 | an upholstered seat; "he fell asleep on the sofa!"; "a short one"\n',
        encoding="latin-1",
    )
    for part in ("verb", "adj", "adv"):
        (data / f"data.{part}").write_text(
            f'00000001 00 {part[0]} 01 word 0 000 | a gloss; "it rained all day in {part}"\n', encoding="latin-1"
        )
    documents = wordnet_examples(tmp_path)
    assert [d.source for d in documents] == ["wordnet"]
    assert documents[0].text == (
        "She put the milk in the kitchen. He fell asleep on the sofa! "
        "It rained all day in verb. It rained all day in adj. It rained all day in adv."
    )


def test_the_three_runs_keep_the_settings_the_shipped_model_was_trained_with():
    """Against the previous recipe's literal values (its first, second_* and third_* fields)."""
    from mlm_core.training.loop import TrainingConfig
    from scripts.build_demo.recipe import DemoRecipe, phase_config

    recipe = DemoRecipe()
    shared = dict(batch_size=32, mask_probability=0.15, whole_words=True, jit_compile=True, eval_seed=1)
    expected = [
        TrainingConfig(
            total_steps=3000,
            learning_rate=1.5e-4,
            head_learning_rate=1e-3,
            warmup_steps=200,
            eval_every=200,
            seed=0,
            **shared,
        ),
        TrainingConfig(
            total_steps=1500,
            learning_rate=6e-5,
            head_learning_rate=3e-4,
            warmup_steps=100,
            eval_every=250,
            seed=2,
            **shared,
        ),
        TrainingConfig(
            total_steps=1200,
            learning_rate=5e-5,
            head_learning_rate=2e-4,
            warmup_steps=100,
            eval_every=200,
            seed=4,
            **shared,
        ),
    ]
    assert [phase_config(recipe, phase) for phase in recipe.phases] == expected
    assert [phase.everyday for phase in recipe.phases] == [False, False, True]
    shorter = recipe.with_first_steps(10)
    assert shorter.phases[0].steps == 10 and shorter.phases[1:] == recipe.phases[1:]


def test_the_model_card_fills_every_placeholder(tmp_path):
    from dataclasses import asdict

    from scripts.build_demo.recipe import DemoRecipe, write_model_card

    metrics = {"loss": 3.7, "perplexity": 40.4, "top1": 0.374, "top5": 0.559, "n_predictions": 3672}
    (tmp_path / "model.safetensors").write_bytes(b"0" * 2_000_000)
    summary = {
        "recipe": asdict(DemoRecipe()),
        "held_out": metrics,
        "everyday_held_out": metrics,
        "steps": 5700,
        "train_blocks": 12345,
        "documents": 700,
        "held_out_documents": 35,
    }
    write_model_card(tmp_path, summary)
    card = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "{" not in card and "Folder size: 2.0 MB" in card and "5,700 steps in all" in card
    assert "| 3 | 1,200 | 5e-05 | 0.0002 | 100 | 200 | 4 | half WordNet examples, half corpus |" in card
    assert card.count("| 37.4 % | 55.9 % |") == 2
