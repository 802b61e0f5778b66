"""What every page shares, by concern: ``models`` (picker, cache, fine-tuned switch), ``links`` (deep links),
``ui`` (errors as messages, downloads, colours, tables) and ``registry`` (the page table). A package, so that
Streamlit never lists these modules as pages."""
