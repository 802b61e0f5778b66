"""The README's deploy section names the files a host needs; each must exist and say what it claims."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def deploy_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("## Deploy your own", 1)[1].split("\n## ", 1)[0]


def test_every_file_the_deploy_section_lists_exists():
    listed = re.findall(r"^\| `([^`]+)` \|", deploy_section(), flags=re.MULTILINE)
    assert {"streamlit_app.py", "pages/", "mlm_core/", "requirements.txt", ".streamlit/config.toml"} == set(listed)
    for name in listed:
        assert (ROOT / name).exists(), name
    assert (ROOT / "mlm_core" / "models" / "demo-en" / "model.safetensors").is_file()


def test_no_apt_packages_are_needed_so_there_is_no_packages_txt():
    assert "no `packages.txt` is needed" in deploy_section()
    assert not (ROOT / "packages.txt").exists()


def test_streamlit_config_keeps_the_stated_upload_limit_and_xsrf_protection():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == 10 and config["server"]["enableXsrfProtection"] is True
    from mlm_core.training.finetune_plan import MAX_TEXT_MB

    assert MAX_TEXT_MB == config["server"]["maxUploadSize"]


def test_requirements_are_pinned():
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert lines and all("==" in line for line in lines)


def test_every_security_claim_names_tests_that_exist():
    security = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    claims = [line for line in security.splitlines() if re.match(r"^\| \d+ \|", line)]
    assert len(claims) >= 10
    for claim in claims:
        references = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", claim)
        assert references, claim
        for path, name in references:
            source = (ROOT / path).read_text(encoding="utf-8")
            assert not name or f"def {name}(" in source, f"{path}::{name}"
