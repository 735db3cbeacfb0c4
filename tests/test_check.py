"""`digest check`: one line per service, exit 0 when everything answers, 1 when something does not, 2 for bad config."""

import pytest

from digest.clock import Clock
from digest.config import TelegramConfig
from digest.deliver.telegram import BotAPI, Part
from tests.conftest import LLM_KEY, SMTP_PASSWORD, TOKEN, write_config
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.smtp import USER, FakeSMTP
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
def services():
    with FakeOpenAI() as llm, FakeTelegram(TOKEN) as telegram, FakeSMTP(SMTP_PASSWORD) as smtp:
        telegram.add_chat(-1001, "AI 논문 채널")
        yield llm, telegram, smtp


ENV = {"TELEGRAM_BOT_TOKEN": TOKEN, "SMTP_PASSWORD": SMTP_PASSWORD, "OPENAI_API_KEY": LLM_KEY}


def llm_only(tmp_path, llm, **more) -> str:
    return str(write_config(tmp_path, llm__base_url=llm.url, llm__backoff_seconds=0.01, **more))


@pytest.mark.parametrize(
    ("family", "mode"),
    [
        ("openai", "structured output json_schema"),
        ("reasoning", "structured output json_schema"),
        ("deepseek", "structured output json_object (json_schema refused or ignored)"),
        ("ignorer", "structured output text, the JSON Schema in the prompt (response_format refused or ignored)"),
    ],
)
def test_check_names_the_structured_output_mode_that_works(tmp_path, run_cli, family, mode):
    with FakeOpenAI(family=family) as llm:
        result = run_cli("check", "--config", llm_only(tmp_path, llm), env=ENV)
        assert result.exit_code == 0, result.output
        assert f"llm: ok ({llm.url}, model gpt-6-luna, 1-paper call ok, {mode})" in result.output
        calls = len(llm.calls)
        # a second check tries the ladder from its top again (the server may have learned json_schema since)
        # and ends where the first did
        assert run_cli("check", "--config", llm_only(tmp_path, llm), env=ENV).exit_code == 0
        assert llm.calls[calls].mode == "json_schema" and llm.calls[-1].mode == llm.calls[calls - 1].mode


def test_check_finds_a_refused_parameter_at_setup(tmp_path, run_cli):
    with FakeOpenAI(family="reasoning") as llm:
        result = run_cli("check", "--config", llm_only(tmp_path, llm, llm__temperature=0.2), env=ENV)
    assert result.exit_code == 1
    assert (
        f"llm: {llm.url}, model gpt-6-luna: a 1-paper call failed: HTTP 400 from {llm.url}/chat/completions: "
        "Unsupported parameter: 'temperature' is not supported with this model. — the server refuses "
        "'temperature', which llm.temperature sends: set llm.temperature: null to leave it out"
    ) in result.output
    assert len(llm.calls) == 1  # not retried: the same request would be refused again


def test_check_says_when_the_server_retires_the_model(tmp_path, run_cli):
    with FakeOpenAI(shutdown_date="2027-01-14") as llm:
        result = run_cli("check", "--config", llm_only(tmp_path, llm), env=ENV)
    assert result.exit_code == 0
    assert "the server says it shuts down 2027-01-14: choose another llm.model before then" in result.output


def check_config(tmp_path, server, telegram, smtp, **more):
    settings = {
        "llm__base_url": server.url,
        "delivery__telegram__enabled": True,
        "delivery__telegram__api_url": telegram.url,
        "delivery__telegram__chat_ids": [-1001],
        "delivery__email__enabled": True,
        "delivery__email__smtp_host": "127.0.0.1",
        "delivery__email__smtp_port": smtp.port,
        "delivery__email__security": "none",
        "delivery__email__username": USER,
        "delivery__email__recipients": ["a@example.com"],
        "delivery__email__timeout_seconds": 5,
    }
    settings.update(more)
    return str(write_config(tmp_path, server.url, **settings))


def test_check_says_ok_for_every_service_that_answers(tmp_path, services, run_cli):
    server, telegram, smtp = services
    result = run_cli("check", "--config", check_config(tmp_path, server, telegram, smtp), env=ENV)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("config: ok")
    assert lines[1] == f"folders: ok (writable: {tmp_path / 'output'})"
    assert lines[2] == f"llm: ok ({server.url}, model gpt-6-luna, 1-paper call ok, structured output json_schema)"
    assert lines[3] == "telegram: ok (bot @digest_test_bot)"
    assert lines[4] == "telegram feedback: ok (👍/👎/🔖 taps are read with getUpdates)"
    assert lines[5] == "telegram chat -1001: ok (channel 'AI 논문 채널')"
    assert lines[6] == f"email: ok (127.0.0.1:{smtp.port} none, logged in as digest; 1 recipient(s))"
    assert [r.path for r in server.http.requests] == ["/v1/models", "/v1/chat/completions"]
    assert {r.headers.get("Authorization") for r in server.http.requests} == {f"Bearer {LLM_KEY}"}
    assert server.count("classify") == 1 and len(server.calls[0].ids) == 1
    assert [m for m, _ in telegram.calls] == ["getMe", "getWebhookInfo", "getChat", "getChatMember"]
    assert not telegram.sent
    assert smtp.logins == [(smtp.logins[0][0], True)] and not smtp.received


def test_check_reaches_a_chat_and_a_recipient_that_want_only_some_topics(tmp_path, services, run_cli):
    server, telegram, smtp = services
    config = check_config(
        tmp_path,
        server,
        telegram,
        smtp,
        delivery__telegram__chat_ids=[{"id": -1001, "topics": ["Computer Vision"]}],
        delivery__email__recipients=[{"address": "a@example.com", "topics": ["Computer Vision"]}],
    )
    result = run_cli("check", "--config", config, env=ENV)
    assert result.exit_code == 0, result.output
    assert "telegram chat -1001: ok (channel 'AI 논문 채널')" in result.output.splitlines()
    assert f"email: ok (127.0.0.1:{smtp.port} none, logged in as digest; 1 recipient(s))" in result.output


def test_check_names_what_is_wrong_and_exits_1(tmp_path, services, run_cli):
    server, telegram, smtp = services
    config = check_config(
        tmp_path,
        server,
        telegram,
        smtp,
        delivery__telegram__chat_ids=[-1001, "@nowhere"],
        llm__model="gpt-5-nonexistent",
    )
    result = run_cli("check", "--config", config, env={**ENV, "SMTP_PASSWORD": "wrong-password"})
    assert result.exit_code == 1
    out = result.output
    assert "llm: " in out and "llm.model 'gpt-5-nonexistent' is not among its models (gpt-6-luna)" in out
    assert "telegram chat @nowhere: HTTP 400 Bad Request: chat not found (wrong id, or the bot was never added" in out
    assert f"email: SMTP 127.0.0.1:{smtp.port} (none): login refused (535" in out

    bad_token = run_cli("check", "--config", config, env={**ENV, "TELEGRAM_BOT_TOKEN": "1:not-the-token"})
    assert "telegram: getMe failed: HTTP 401 Unauthorized (the token is wrong or revoked)" in bad_token.output
    for text in (out, bad_token.output):
        assert TOKEN not in text and "not-the-token" not in text and SMTP_PASSWORD not in text


def test_check_reports_unreachable_services(tmp_path, run_cli):
    dead = "http://127.0.0.1:9"
    config = str(
        write_config(
            tmp_path,
            dead,
            llm__base_url=f"{dead}/v1",
            delivery__telegram__enabled=True,
            delivery__telegram__api_url=dead,
            delivery__telegram__chat_ids=[1],
            delivery__telegram__max_retries=0,
        )
    )
    result = run_cli("check", "--config", config, env={"TELEGRAM_BOT_TOKEN": TOKEN})
    assert result.exit_code == 1
    assert f"llm: cannot reach {dead}/v1/models (ConnectError)" in result.output
    assert "telegram: getMe failed: Connection refused (ConnectError)" in result.output
    assert "email: disabled" in result.output
    assert TOKEN not in result.output


def test_check_without_llm_or_channels_is_ok_and_says_what_is_off(tmp_path, run_cli):
    result = run_cli("check", "--config", str(write_config(tmp_path)))
    assert result.exit_code == 0
    assert "llm: not used (OPENAI_API_KEY is not set and llm.base_url is null)" in result.output
    assert "telegram: disabled" in result.output and "email: disabled" in result.output


def test_check_with_bad_config_exits_2(tmp_path, run_cli):
    config = write_config(tmp_path, delivery__email__security="tls")
    result = run_cli("check", "--config", str(config))
    assert result.exit_code == 2 and "delivery.email.security" in result.output


def test_429_waits_retry_after_seconds_then_sends(server):
    waits = []
    with FakeTelegram(TOKEN) as telegram:
        telegram.add_chat(5)
        telegram.script("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
        with BotAPI(TelegramConfig(api_url=telegram.url), TOKEN, Clock(sleep=waits.append)) as api:
            api.send(5, Part("sendMessage", "message 1/1", "<b>안녕</b> &amp; 😀"))
        assert waits == [7.0]
        assert [s.text for s in telegram.sent] == ["안녕 & 😀"]


def test_telegram_retries_on_the_shared_policy_through_the_injected_clock():
    """5xx: backoff doubling (capped at max_retry_after_seconds); 429: retry_after as asked; a 429 asking
    longer than max_retry_after_seconds: no wait at all, the call fails at once."""
    from digest.deliver.telegram import TelegramError

    waits: list[float] = []
    settings = {"backoff_seconds": 2.0, "max_retry_after_seconds": 3.0, "max_retries": 4}
    with FakeTelegram(TOKEN) as telegram:
        telegram.add_chat(5)
        telegram.script("sendMessage", 502, "Bad Gateway", times=3)
        telegram.script("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
        config = TelegramConfig(api_url=telegram.url, **settings)
        with BotAPI(config, TOKEN, Clock(sleep=waits.append)) as api:
            api.send(5, Part("sendMessage", "message 1/1", "안녕"))
            assert waits == [2.0, 3.0, 3.0, 1.0] and [s.text for s in telegram.sent] == ["안녕"]

            waits.clear()
            telegram.script("sendMessage", 429, "Too Many Requests: retry after 60", retry_after=60)
            with pytest.raises(TelegramError, match="max_retry_after_seconds 3s: not waiting"):
                api.send(5, Part("sendMessage", "message 1/1", "안녕"))
            assert waits == []


def test_check_says_when_the_bot_sees_a_chat_but_may_not_post_in_it(tmp_path, services, run_cli):
    server, telegram, smtp = services
    telegram.add_chat(-1002, "읽기 전용 채널", bot_status="member")
    telegram.add_chat(-1003, "연구실 그룹", kind="supergroup", bot_status="member")
    telegram.add_chat(-1004, "떠난 그룹", kind="group", bot_status="left")
    config = check_config(tmp_path, server, telegram, smtp, delivery__telegram__chat_ids=[-1002, -1003, -1004])
    result = run_cli("check", "--config", config, env=ENV)
    assert result.exit_code == 1
    assert (
        "telegram chat -1002: channel '읽기 전용 채널': @digest_test_bot is member here: make it an administrator "
        "with the right to post messages" in result.output
    )
    assert "telegram chat -1003: ok (supergroup '연구실 그룹')" in result.output
    assert (
        "telegram chat -1004: group '떠난 그룹': @digest_test_bot may not send messages here (status left)"
        in result.output
    )
