"""Opening a dashboard page in Streamlit's AppTest through the real router, with link parameters."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def open_page(page: str, model: str, *, timeout: float = 180, **params: str) -> AppTest:
    """The app opened at ``?page=…&model=…`` plus ``params``, as a deep link would open it, after its first run."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.query_params["page"] = page
    at.query_params["model"] = model
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()
