from mlm_core.tools.demo_corpus import Document, brown_to_text, split_documents, wordnet_examples


def test_brown_word_tag_format_becomes_plain_text():
    tagged = ("\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' was/bedz found/vbn ,/, and/cc "
              "Atlanta's/np$ mayor/nn (/( Hartsfield/np )/) agreed/vbd ./.\n\n\n\tA/at second/od one/cd ./.\n")
    assert brown_to_text(tagged) == ('The jury said "no evidence" was found, and Atlanta\'s mayor (Hartsfield) '
                                     'agreed.\nA second one.')


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
        "  1 This software and database is being provided to you, \"the LICENSEE\", by Princeton\n"
        '03619890 06 n 01 kitchen 0 000 | a room equipped for preparing meals; "she put the milk in the kitchen"\n'
        '04256520 06 n 01 sofa 0 000 | an upholstered seat; "he fell asleep on the sofa!"; "a short one"\n',
        encoding="latin-1")
    for part in ("verb", "adj", "adv"):
        (data / f"data.{part}").write_text(
            f'00000001 00 {part[0]} 01 word 0 000 | a gloss; "it rained all day in {part}"\n', encoding="latin-1")
    documents = wordnet_examples(tmp_path)
    assert [d.source for d in documents] == ["wordnet"]
    assert documents[0].text == ("She put the milk in the kitchen. He fell asleep on the sofa! "
                                 "It rained all day in verb. It rained all day in adj. It rained all day in adv.")
