"""The Telegram escaper and splitter, checked against the fake Bot API's own HTML parser."""

import html
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.deliver.tghtml import escape, pack, split_html, to_plain, utf16_len, visible_len
from tests.fakes.telegram import ParseError, parse_html

KOREAN = "".join(chr(c) for c in range(0xAC00, 0xAC00 + 400))
LATEX = [
    "$\\mathcal{O}(n^2)$",
    "\\frac{a<b}{c>d}",
    "x_{i}^{2}",
    "$\\alpha \\& \\beta$",
    "<sup>2</sup>",
    "a &amp; b",
    "&lt;tag&gt;",
    "&#x1F600;",
    "&",
    "<",
    ">",
    '"',
    "'",
]
EMOJI = ["😀", "👩‍💻", "🇰🇷", "🧠", "✅", "\U0001f9ea"]
pieces = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=KOREAN + " .,\n", min_size=50, max_size=900),
    st.sampled_from(LATEX + EMOJI + ["\n", "\n\n", " ", "\u202e", "\u200b", "\u2066", "\x85"]),
)
texts = st.lists(pieces, max_size=40).map("".join)


def accepted(message: str, limit: int = 4096) -> str:
    """What Telegram would show for the message; fails the test if Telegram would reject it."""
    try:
        shown = parse_html(message)
    except ParseError as exc:
        pytest.fail(f"Telegram would reject {message[:200]!r}: {exc}")
    assert shown.strip(), "empty message"
    assert utf16_len(shown) <= limit
    return shown


# Written from the Unicode categories, independently of digest.text: controls (but tab and line breaks),
# surrogates, and the bidi and zero-width format characters that reorder or hide text.
BIDI_AND_ZERO_WIDTH = set("\u00ad\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063")
BIDI_AND_ZERO_WIDTH |= set("\u2064\u2066\u2067\u2068\u2069\ufeff")


def readable(ch: str) -> bool:
    if ch in "\t\n\r":
        return True
    return unicodedata.category(ch) not in ("Cc", "Cs") and ch not in BIDI_AND_ZERO_WIDTH


def no_space(text: str) -> str:
    return "".join(text.split())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_escaped_text_parses_back_to_itself(text):
    escaped = escape(text)
    assert parse_html(escaped) == "".join(ch for ch in text if readable(ch))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts, min_size=1, max_size=6), st.sampled_from([64, 300, 4096]))
def test_split_messages_are_accepted_and_lose_no_character(paragraphs, limit):
    # Formatted like the report: bold headings, links with escaped text, paragraphs of escaped text.
    markup = "\n\n".join(
        f'<b>{escape(p[:30])}</b>\n<a href="https://arxiv.org/abs/2606.0{i:04d}">{escape(p[30:90])}</a>: '
        f"<i>{escape(p[90:])}</i>"
        for i, p in enumerate(paragraphs)
    )
    messages = split_html(markup, limit=limit)
    shown = [accepted(m, limit) for m in messages]
    assert no_space("".join(shown)) == no_space(parse_html(markup))


@settings(max_examples=100, deadline=None)
@given(st.lists(texts, min_size=1, max_size=8))
def test_packed_topics_are_accepted_and_keep_their_order(topics):
    blocks = [f"<b>topic {i}</b>\n{escape(t)}" for i, t in enumerate(topics)]
    messages = pack(blocks, limit=500)
    shown = "".join(accepted(m, 500) for m in messages)
    assert no_space(shown) == no_space("".join(parse_html(b) for b in blocks))


def test_a_long_korean_topic_is_cut_at_paragraphs_with_tags_closed_and_reopened():
    paragraph = "가나다라마바사 " * 100  # 800 characters
    markup = "<b>긴 주제</b>\n\n<i>" + "\n\n".join([paragraph] * 12) + "</i>"
    messages = split_html(markup)
    assert len(messages) == 3
    for m in messages:
        accepted(m)
        assert m.count("<i>") == m.count("</i>") == 1
    assert messages[1].startswith("<i>가나다") and messages[0].endswith("</i>")


def test_length_is_counted_in_utf16_units_after_entity_parsing():
    emoji = "😀" * 2048  # 4096 UTF-16 units: fits exactly
    assert split_html(escape(emoji)) == [emoji]
    assert len(split_html(escape(emoji + "😀"))) == 2
    amps = "&" * 4096  # 20480 characters of markup, 4096 visible
    assert split_html(escape(amps)) == [html.escape(amps)]
    assert visible_len("<b>a&lt;b</b>") == 3


def test_never_cuts_inside_a_tag_or_entity():
    markup = ('<a href="https://arxiv.org/abs/2606.00001">' + "&lt;" * 50 + "</a>") * 4
    for limit in range(1, 60):
        for m in split_html(markup, limit=limit):
            assert len(parse_html(m)) <= limit


def test_plain_fallback_has_no_tags_and_decoded_entities():
    assert to_plain('<b>A &lt;b&gt; &amp; C</b>\n<a href="x">link</a>') == "A <b> & C\nlink"


def test_fake_telegram_checks_expandable_blockquotes_like_telegram():
    assert parse_html("<blockquote expandable><b>1.</b> 요약</blockquote>") == "1. 요약"
    for bad in (
        "<blockquote expandable>open",
        "<blockquote><blockquote expandable>x</blockquote></blockquote>",
        '<blockquote expandable="yes">x</blockquote>',
        "<blockquote collapsed>x</blockquote>",
    ):
        with pytest.raises(ParseError):
            parse_html(bad)


def test_a_long_expandable_blockquote_is_split_into_valid_messages():
    body = "\n".join(f"• {'가나다라 마바사 ' * 12}{n}" for n in range(60))
    messages = split_html(f"<b>▍LLM</b>\n<blockquote expandable>{body}</blockquote>")
    assert len(messages) > 1
    for m in messages:
        assert m.count("<blockquote expandable>") == m.count("</blockquote>") == 1
        assert 0 < utf16_len(parse_html(m)) <= 4096
