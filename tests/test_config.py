from pathlib import Path

import pytest
import yaml

from digest.config import Config, load_config
from digest.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_TOPICS = [
    "Inference acceleration",
    "Computer Vision",
    "LLM",
    "General AI",
    "Reinforcement Learning",
    "AI in Healthcare",
    "Multimodal",
    "Model training technique",
]


def test_shipped_config_is_the_built_in_default():
    from digest import plugins

    shipped = load_config(ROOT / "config.yaml")
    default = Config(base_dir=shipped.base_dir)
    assert shipped.model_dump(exclude={"delivery"}) == default.model_dump(exclude={"delivery"})
    for name in plugins.channels():  # Slack and Discord are plugins: their settings exist once asked for
        assert shipped.delivery.settings(name).model_dump() == default.delivery.settings(name).model_dump(), name
    assert shipped.topic_names == SAMPLE_TOPICS
    assert all(t.description and t.keywords and t.arxiv for t in shipped.categories)


def test_shipped_config_has_every_contract_key():
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert {"title", "output_dir", "max_papers_per_category"} <= set(raw["report"])
    assert {"categories", "listing_url", "rss_url", "api_url", "api_delay_seconds", "announce_types"} <= set(
        raw["arxiv"]
    )
    assert {"base_url", "model", "api_key_env", "batch_size", "concurrency", "max_retries"} <= set(raw["llm"])
    assert {"enabled", "api_url", "token_env", "chat_ids"} <= set(raw["delivery"]["telegram"])
    assert {"enabled", "smtp_host", "smtp_port", "security", "username", "password_env", "sender", "recipients"} <= set(
        raw["delivery"]["email"]
    )
    assert {"cron", "timezone"} <= set(raw["schedule"]) and "path" in raw["state"]


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    (tmp_path / "config.yaml").write_text("state:\n  path: db/state.sqlite3\n")
    config = load_config(tmp_path / "config.yaml")
    assert config.state_path == tmp_path / "db/state.sqlite3"
    assert config.output_dir == tmp_path / "output"


def test_secret_from_dotenv_beside_the_config(tmp_path, monkeypatch):
    (tmp_path / "config.yaml").write_text("{}\n")
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-from-dotenv\n")
    config = load_config(tmp_path / "config.yaml")
    assert config.secret("OPENAI_API_KEY") == "sk-from-dotenv"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert config.secret("OPENAI_API_KEY") == "sk-from-env"


BAD = [
    ("report:\n  titel: x\n", "report.titel: unknown key"),
    ("llm:\n  batch_size: many\n", "llm.batch_size"),
    ("schedule:\n  cron: '0 25 * * *'\n", "schedule.cron: '0 25 * * *' does not parse"),
    ("schedule:\n  timezone: Mars/Olympus\n", "schedule.timezone: unknown time zone 'Mars/Olympus'"),
    ("delivery:\n  email:\n    security: tls\n", "delivery.email.security"),
    ("categories:\n  - name: LLM\n  - name: LLM\n", "categories: topic 'LLM' is listed twice"),
    ("arxiv:\n  categories: []\n", "arxiv.categories"),
    ("report: [1, 2\n", "not valid YAML"),
    ("- just\n- a list\n", "top level must be a mapping"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_bad_config_names_the_key(tmp_path, text, message):
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "config.yaml")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("text, message", BAD[:4])
def test_bad_config_exits_2_with_one_line(tmp_path, run_cli, text, message):
    (tmp_path / "config.yaml").write_text(text)
    result = run_cli("run", "--config", str(tmp_path / "config.yaml"))
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_missing_config_exits_2_naming_the_path(tmp_path, run_cli):
    result = run_cli("status", "--config", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert f"config file not found: {tmp_path / 'nope.yaml'}" in result.output


def test_config_from_environment_variable(tmp_path, run_cli):
    (tmp_path / "custom.yaml").write_text("report:\n  bogus: 1\n")
    result = run_cli("status", env={"DIGEST_CONFIG": str(tmp_path / "custom.yaml")})
    assert result.exit_code == 2 and "custom.yaml: report.bogus: unknown key" in result.output


def test_llm_request_parameters_are_off_unless_set(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("llm:\n  temperature: null\n  reasoning_effort: null\n  max_output_tokens: null\n")
    llm = load_config(path).llm
    assert (llm.temperature, llm.reasoning_effort, llm.max_output_tokens, llm.extra_body) == (None, None, None, {})
    assert llm.structured_output == "auto" and llm.model == "gpt-6-luna"
    path.write_text("llm:\n  structured_output: xml\n")
    with pytest.raises(ConfigError, match="llm.structured_output"):
        load_config(path)


HINTS = [
    (
        "delivery:\n  telegram:\n    chat_id: -1001\n",
        "delivery.telegram.chat_id: unknown key (did you mean 'chat_ids'?)",
    ),
    ("report:\n  titel: x\n", "report.titel: unknown key (did you mean 'title'?)"),
    (
        "llm:\n  api_key: sk-live-123456\n",
        "llm.api_key: unknown key: the API key is never written in config.yaml; put it in the environment variable "
        "llm.api_key_env names (OPENAI_API_KEY by default) or in a .env file beside config.yaml",
    ),
    ("delivery:\n  telegram:\n    token: '1:abc'\n", "the bot token is never written in config.yaml"),
    ("delivery:\n  email:\n    password: hunter22\n", "the SMTP password is never written in config.yaml"),
    ("schedule:\n  timezone: KST\n", "schedule.timezone: unknown time zone 'KST' (did you mean 'Asia/Seoul'?)"),
    ("schedule:\n  timezone: seoul\n", "(did you mean 'Asia/Seoul'?)"),
    ("schedule:\n  timezone: Asia/Seul\n", "(did you mean 'Asia/Seoul'?)"),
    ("schedule:\n  cron: '30 10 * *'\n", "schedule.cron: '30 10 * *' does not parse (expected 5 fields"),
]


@pytest.mark.parametrize("text, message", HINTS)
def test_a_config_mistake_is_answered_with_the_fix(tmp_path, text, message):
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "config.yaml")
    assert message in str(err.value)
    assert "sk-live-123456" not in str(err.value) and "hunter22" not in str(err.value)
