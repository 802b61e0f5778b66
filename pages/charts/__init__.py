"""Pure chart builders for the pages: data in, Altair chart out; no Streamlit calls."""
