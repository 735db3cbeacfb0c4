"""digest/text.py: arXiv TeX normalisation, control/bidi removal, stripping LLM text, arXiv id grammar."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.ids import answer_id, is_arxiv_id
from digest.render import environment
from digest.text import normalize_arxiv, strip_llm, telegram_html

SENT = {"2606.00001", "hep-th/9901001"}

# What a reader's app would make a link or an action of; checked with patterns written for the test.
HOSTILE = [
    "evil.ru",
    "evil.shop",
    "sub.evil.example/x?y=1",
    "EVIL.RU",
    "xn--80ak6aa92e.com",
    "https://evil.example/a",
    "http://x.y",
    "www.evil.com",
    "mailto:a@b.c",
    "tg://resolve?domain=x",
    "a.b+c@evil.org",
    "@evil_bot",
    "@channel",
    "#PWNED",
    "#해시태그",
    "/start",
    "/kick@bot",
    "[click](http://evil.example)",
    "![img](http://evil.example/p.png)",
    '<a href="http://evil.example">x</a>',
    "2401.99999",
    "arXiv:2402.00001v2",
    "arxiv 2403.12345",
    "math.AG/0101001",
    "**bold**",
    "`code`",
    "\u202e",
    "\u200b",
]
KOREAN = "".join(chr(c) for c in range(0xAC00, 0xAC00 + 200))
words = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet=KOREAN + "abcXYZ019 .,:/@#-_()[]<>", max_size=12),
    st.sampled_from(["2606.00001", "arXiv:2606.00001v3", " ", "\n", "모델은", "3.5배", "C#", "and/or", "e.g."]),
)
llm_texts = st.lists(words, max_size=25).map(" ".join) | st.lists(words, max_size=25).map("".join)

_LINKISH = [
    re.compile(r"[a-z][a-z0-9+.\-]*://", re.I),
    re.compile(r"www\.", re.I),
    re.compile(r"[A-Za-z0-9\-]\.[A-Za-z]{2,}"),  # a host name on any TLD
    re.compile(r"@\w"),
    re.compile(r"(?<![A-Za-z0-9_&#])#\w"),
    re.compile(r"(?<![\w/])/[A-Za-z0-9_]"),
    re.compile(r"\]\(|<[A-Za-z/!][^<>]*>|\*\*|`"),  # a stray "<" is left to each format's escaper
    re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u200e\u200f]"),
]


def ids_in(text: str) -> set[str]:
    return set(re.findall(r"(?<![\d.])\d{4}\.\d{4,5}(?!\d)|[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7}", text))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(llm_texts)
def test_llm_text_keeps_no_link_handle_command_or_foreign_id(text):
    clean = strip_llm(text, SENT)
    for pattern in _LINKISH:
        assert not pattern.search(clean), (pattern.pattern, clean)
    assert ids_in(clean) <= SENT
    assert "\n" not in clean
    assert strip_llm(clean, SENT) == clean  # stable: a second pass finds nothing more


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["모델은", "추론", "속도를", "3.5배", "높였다.", "C#", "and/or", "LoRA,"]), max_size=20)
)
def test_plain_korean_llm_text_is_left_alone(words):
    text = " ".join(words)
    assert strip_llm(text, SENT) == text


@pytest.mark.parametrize(
    "hostile",
    ["evil.ru", "evil.shop", "a@evil.org", "@evil", "#PWNED", "/start", "2401.99999", "arXiv:2402.00001v2"],
)
def test_each_issue_example_is_stripped_from_llm_text(hostile):
    assert strip_llm(f"이 논문은 {hostile} 에서 확인하세요. 2606.00001 참고", SENT) == (
        "이 논문은 에서 확인하세요. 2606.00001 참고"
    )


@pytest.mark.parametrize(
    ("tex", "plain"),
    [
        (r"Speeds up decoding by $2.69\times$", "Speeds up decoding by 2.69×"),
        (r"\emph{Sparse} attention with 11\% fewer~FLOPs", "Sparse attention with 11% fewer FLOPs"),
        (r"$\mathcal{O}(n^2)$ memory", "O(n²) memory"),
        (r"\textbf{\emph{Nested}} commands and $\alpha$-divergence", "Nested commands and α-divergence"),
        (r"costs $5 and $10 per run", "costs $5 and $10 per run"),
        (r"error $\leq 10^{-3}$ \& speed $\geq$ 2x", "error ≤ 10⁻³ & speed ≥ 2x"),
        ("A\u202etxt.exe title\u200b here\x07", "Atxt.exe title here"),
        ("Plain title, untouched", "Plain title, untouched"),
    ],
)
def test_arxiv_tex_becomes_plain_text(tex, plain):
    assert normalize_arxiv(tex) == plain


def test_abstract_keeps_its_paragraphs():
    assert normalize_arxiv("First $x$ line.\n  Second\u202e one.", one_line=False) == "First x line.\nSecond one."


@pytest.mark.parametrize(
    "good", ["2605.01234", "2605.01234v3", "0704.0001", "hep-th/9901001", "math.AG/0101001v2", "cond-mat/0001001"]
)
def test_arxiv_id_grammar_accepts_new_and_old_style(good):
    assert is_arxiv_id(good)


@pytest.mark.parametrize(
    "bad",
    ["2605.00010) [PWNED](http://evil.example/x", "2605.00003</a><b>x", "2613.00001", "26050.1234", "x/1", "", "abc"],
)
def test_arxiv_id_grammar_rejects_anything_else(bad):
    assert not is_arxiv_id(bad)


def test_answer_ids_are_cleaned_in_one_place():
    assert answer_id(" arXiv:2605.01234v2 ") == "2605.01234"
    assert answer_id("https://arxiv.org/abs/2605.01234v1") == "2605.01234"
    assert answer_id("hep-th/9901001v3") == "hep-th/9901001"


def test_render_telegram_filter_is_the_property_tested_escaper():
    from digest.deliver.tghtml import escape

    assert escape is telegram_html
    hostile = "a < b & \u202ec\x07"
    assert str(environment().filters["tg"](hostile)) == escape(hostile) == "a &lt; b &amp; c"


def test_markdown_emphasis_typed_into_an_abstract_is_dropped_but_identifiers_stay():
    from digest.text import normalize_arxiv

    text = "We propose **FooNet**, a __Fast and Small__ model (see __init__, snake_case, a**b)."
    assert normalize_arxiv(text) == "We propose FooNet, a Fast and Small model (see __init__, snake_case, ab)."


# Long unbroken strings that made a backtracking pattern rescan the rest of the text at every position
# (an 80,000-character gist of one of these took 297 s). bench/text_clean.py prints the figures; here the
# alarm only guards against a return of that: each string takes well under a second.
ADVERSARIAL_UNITS = ["a", "a.", "2401.", "x-", "_", "[", "[a](", "<a", "a@", "@a.", "__a ", "\\(", "$a"]


@pytest.mark.parametrize("unit", ADVERSARIAL_UNITS)
def test_cleaning_an_answer_of_the_largest_size_finishes(unit):
    import signal

    from digest.llm import MAX_ANSWER_CHARS

    text = unit * (MAX_ANSWER_CHARS // len(unit))

    def too_slow(*_):
        raise AssertionError(f"cleaning {len(text):,} characters of {unit!r} did not finish in 60 s")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(60)
    try:
        cleaned = strip_llm(text, SENT)
        normalize_arxiv(text)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    for pattern in _LINKISH:
        assert not pattern.search(cleaned[:2000]), (unit, pattern.pattern)


def test_characters_xml_forbids_never_reach_a_report():
    title = "Diffusion\ufffe Models\uffff for \ufdd0Robots"
    assert normalize_arxiv(title) == "Diffusion Models for Robots"
    assert strip_llm("요약\ufffe 문장\uffff입니다.") == "요약 문장입니다."


def test_a_short_title_is_the_name_before_a_colon_or_its_first_words():
    from digest.text import short_title

    assert short_title("AgentX: Scaling Agents to Many Tools", 12) == "AgentX"
    assert short_title("Efficient Attention for Long Context Models", 12) == "Efficient…"
    assert short_title("Short", 12) == "Short"
    assert len(short_title("Supercalifragilisticexpialidocious", 12)) == 12
