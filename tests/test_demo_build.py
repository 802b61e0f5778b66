from mlm_core.demo_build import Document, brown_to_text, split_documents


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
