"""Untrusted text, in one place: what arXiv metadata and LLM answers may carry into a report or a channel.

- arXiv text (titles, abstracts, authors) is written by anyone in TeX: `normalize_arxiv` turns the TeX most
  titles and abstracts use into plain Unicode, and removes control, bidi and zero-width characters (U+202E
  reverses the text after it, so a title could make a URL read backwards).
- LLM text is data that an abstract can steer (prompt injection): `strip_llm` removes everything a chat
  app or mail client turns into a link or an action (URLs, bare domains on any TLD, e-mail addresses,
  @handles, #hashtags, /commands, Markdown/HTML links and markup) and every arXiv id that is not one of the
  papers the call was about.
- Each output format then gets its escaper: `md_escape`, `telegram_html`, and for HTML pages jinja's
  autoescape after `plain_text`.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import replace

from digest.ids import ARXIV_ID, strip_version
from digest.models import Paper

# ----- characters that must never reach a reader -----

# Bidi embeddings/overrides/isolates and marks, zero-width characters, the BOM; C0/C1 controls except
# tab and newline; lone surrogates (they cannot be encoded for any channel); the noncharacters U+FDD0-U+FDEF,
# U+FFFE and U+FFFF (XML forbids the last two: one in a title would make feed.xml unreadable).
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufdd0-\ufdef\ufffe\uffff"
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]"
)
# Kept on purpose: U+200C/U+200D (zero-width non-joiner/joiner) that emoji sequences and some scripts need.


def remove_controls(text: str) -> str:
    """Text without control, bidi or zero-width characters (tab, newline and carriage return are kept)."""
    return _INVISIBLE.sub("", str(text))


# ----- arXiv TeX -----

_SYMBOLS = {
    "times": "×",
    "pm": "±",
    "mp": "∓",
    "cdot": "·",
    "cdots": "⋯",
    "ldots": "…",
    "dots": "…",
    "approx": "≈",
    "sim": "∼",
    "simeq": "≃",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "neq": "≠",
    "ne": "≠",
    "ll": "≪",
    "gg": "≫",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "Rightarrow": "⇒",
    "leftrightarrow": "↔",
    "infty": "∞",
    "in": "∈",
    "propto": "∝",
    "sqrt": "√",
    "sum": "∑",
    "prod": "∏",
    "partial": "∂",
    "nabla": "∇",
    "circ": "°",
    "degree": "°",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Sigma": "Σ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
    "%": "%",
    "&": "&",
    "_": "_",
    "#": "#",
    "$": "$",
    "{": "{",
    "}": "}",
    ",": " ",
    ";": " ",
    " ": " ",
    "quad": " ",
    "qquad": " ",
    "textasciitilde": "~",
}
# Commands whose argument is the text to keep: \emph{x} -> x.
_WRAPPERS = (
    "emph|textbf|textit|texttt|textrm|textsf|textsc|textup|textnormal|text|mathrm|mathbf|mathit|mathsf|mathtt|"
    "mathcal|mathbb|mathfrak|mathscr|boldsymbol|bm|operatorname|underline|overline|hat|tilde|bar|vec|mbox|hbox|url"
)
_WRAPPER = re.compile(rf"\\(?:{_WRAPPERS})\s*\{{([^{{}}]*)\}}")
_FONT_SWITCH = re.compile(r"\{\\(?:bf|it|em|tt|sc|rm|sf)\s+([^{}]*)\}")
_COMMAND = re.compile(r"\\(?:([A-Za-z]+)(\s?)|([%&_#${}, ;]))")
# Inline math: $...$ whose delimiters touch non-space (so "$5 and $10" is not math), \( \), \[ \], $$ $$.
# (Bounded: a formula is short, and an unclosed \( must not make every later one rescan the rest.)
_MATH = re.compile(
    r"\$\$(.{1,1000}?)\$\$|\$(?=\S)([^$]{0,1000}?\S)\$(?!\d)|\\\((.{1,1000}?)\\\)|\\\[(.{1,1000}?)\\\]", re.DOTALL
)
_SUPERSCRIPTS = str.maketrans("0123456789+-n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻ⁿ")
_UNESCAPED_TILDE = re.compile(r"(?<!\\)~")


def _commands(text: str) -> str:
    def command(m: re.Match) -> str:
        name = m.group(1) or m.group(3)
        # A word command swallows the space after it in TeX; keep one when it ends a word ("\\alpha x").
        space = " " if m.group(2) else ""
        return _SYMBOLS.get(name, name) + space

    return _COMMAND.sub(command, text)


def _math(body: str) -> str:
    body = _WRAPPER.sub(r"\1", body)
    body = re.sub(r"\^\{?([0-9+\-n]+)\}?", lambda m: m.group(1).translate(_SUPERSCRIPTS), body)
    body = _commands(body)
    body = body.replace("{", "").replace("}", "")
    return body.strip()


def normalize_tex(text: str) -> str:
    """The TeX of arXiv titles and abstracts as plain text: `$2.69\\times$` -> 2.69×, `\\emph{x}` -> x,
    `11\\%` -> 11%, `~` -> a space. Unknown commands lose their backslash; text without TeX is unchanged."""
    if "\\" not in text and "$" not in text and "~" not in text:
        return text
    text = _MATH.sub(lambda m: _math(next(g for g in m.groups() if g is not None)), text)
    for _ in range(3):  # nested wrappers: \textbf{\emph{x}}
        text = _WRAPPER.sub(r"\1", text)
        text = _FONT_SWITCH.sub(r"\1", text)
    text = text.replace("``", "\u201c").replace("''", "\u201d")
    text = _UNESCAPED_TILDE.sub(" ", text)
    return _commands(text)


# Markdown emphasis some authors type into abstracts (**bold**, __Bold words__): the marks go, the words
# stay. A dunder name (__init__) is code, not emphasis, and stays as written.
_STARS = re.compile(r"\*\*")
_UNDERSCORES = re.compile(r"(?<![\w_])__(?![a-z0-9_]{1,40}__)(?=\S)(.{1,300}?)(?<=\S)__(?![\w_])")


def normalize_arxiv(text: str, *, one_line: bool = True) -> str:
    """arXiv metadata for reading: TeX to plain text, Markdown emphasis marks dropped, no control/bidi/
    zero-width characters, NFC; on one line (titles, authors) or with its paragraph breaks (abstracts)."""
    text = normalize_tex(remove_controls(unicodedata.normalize("NFC", str(text))))
    text = _UNDERSCORES.sub(r"\1", _STARS.sub("", text))
    if one_line:
        return re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r" *\n *", "\n", text).strip()


def normalize_paper(paper: Paper) -> Paper:
    """A paper's title, abstract and authors as normalize_arxiv makes them."""
    return replace(
        paper,
        title=normalize_arxiv(paper.title),
        abstract=normalize_arxiv(paper.abstract, one_line=False),
        authors=[name for a in paper.authors if (name := normalize_arxiv(a))],
    )


# ----- LLM text -----

# Every pattern here stays linear in the text's length: no unbounded run that can start anywhere in a long
# unbroken string and fail only at its end (an 80,000-character answer once took five minutes). Link texts
# stop at the next bracket, scheme, e-mail and host parts have the lengths the standards give them.
_MD_IMAGE_OR_LINK = re.compile(r"!?\[([^\[\]]*)\]\([^()]*\)")
_MD_REF_LINK = re.compile(r"!?\[([^\[\]]*)\]\[[^\[\]]*\]")
_HTML_TAG = re.compile(r"</?[A-Za-z!][^<>]*>")
_URL = re.compile(r"[a-z][a-z0-9+.\-]{0,31}://\S*|www\.\S+|(?:mailto|tg|javascript|data):\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+\-]{1,64}@[\w\-]{1,63}(?:\.[\w\-]{1,63}){1,10}", re.UNICODE)
# A host name on any top-level domain, with an optional port and path: evil.ru, evil.shop/x, a.b.example:8080.
_DOMAIN = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.){1,10}(?:[a-z]{2,63}|xn--[a-z0-9\-]+)(?![a-z])(?::\d+)?(?:/\S*)?",
    re.IGNORECASE,
)
_HANDLE = re.compile(r"@\w+")
_HASHTAG = re.compile(r"(?<![A-Za-z0-9_&#])#\w+")
_COMMAND_WORD = re.compile(r"(?<![\w/])/[A-Za-z0-9_]+(?:@\w+)?")
_ID_MENTION = re.compile(rf"(?:arxiv\s*[:：]?\s*)?(?<![\d.])({ARXIV_ID})(?:v\d+)?(?!\d)", re.IGNORECASE)
_MARKUP = re.compile(r"\*\*|__|~~|`+|^\s*(?:#{1,6}|>+)\s+", re.MULTILINE)
_HALF_LINK = re.compile(r"\]\(")  # what is left of a link whose parts were removed: it must not close one later
_SPACE_BEFORE_PUNCT = re.compile(r" ([,.;:!?)\]])")  # after whitespace was collapsed to single spaces
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]|<\s*>")


def _strip_once(text: str, allowed: frozenset[str]) -> str:
    text = _MD_IMAGE_OR_LINK.sub(r"\1", text)
    text = _MD_REF_LINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    text = _URL.sub("", text)
    text = _EMAIL.sub("", text)
    text = _DOMAIN.sub("", text)
    text = _HANDLE.sub("", text)
    text = _HASHTAG.sub("", text)
    text = _COMMAND_WORD.sub("", text)
    text = _ID_MENTION.sub(lambda m: m.group(1) if strip_version(m.group(1)) in allowed else "", text)
    text = _MARKUP.sub("", text)
    text = _HALF_LINK.sub("] (", text)
    text = _EMPTY_BRACKETS.sub("", text)
    text = re.sub(r"\s+", " ", text).strip()
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


def strip_llm(text: str, allowed_ids: Iterable[str] = ()) -> str:
    """LLM text as plain words on one line, with nothing a reader's app would make a link or an action of.

    An arXiv id survives only if it is in `allowed_ids` (the papers that call was about), and then only
    as the bare id: links to it are always built from arXiv metadata, never from LLM text."""
    allowed = frozenset(strip_version(i) for i in allowed_ids)
    text = remove_controls(html.unescape(str(text)))
    # Removing one thing can join the pieces of another ("ev[x](y)il.ru"): repeat until nothing changes.
    for _ in range(8):
        cleaned = _strip_once(text, allowed)
        if cleaned == text:
            break
        text = cleaned
    return text


# ----- escaping per output format -----

_ANY_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+", re.IGNORECASE)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")


def plain_text(text: str) -> str:
    """Untrusted text for any format: no links, URLs, markup or control characters, on one line."""
    text = remove_controls(str(text))
    text = _MD_IMAGE_OR_LINK.sub(r"\1", text)
    text = _ANY_URL.sub("", text)
    text = _HTML_TAG.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


def md_escape(text: str) -> str:
    """Markdown-safe: no emphasis, links, HTML or headings can be formed by the text."""
    return _MD_SPECIAL.sub(r"\\\1", plain_text(text))


def telegram_html(text: str) -> str:
    """Text for a Telegram HTML message: <, > and & as entities, control/bidi characters dropped.

    Quotes stay as they are: Telegram accepts them in text, and &#x27; would count against the limit."""
    return html.escape(remove_controls(str(text)), quote=False)


def short_title(title: str, limit: int) -> str:
    """A title in at most `limit` characters, as a reader recognises it: the name before a colon when it
    fits ("AgentX: …" -> "AgentX"), else its first words and "…"."""
    title = " ".join(title.split())
    head, colon, _ = title.partition(":")
    if colon and 2 <= len(head) <= limit:
        return head
    if len(title) <= limit:
        return title
    cut = title[: limit - 1].rsplit(" ", 1)[0]  # at the last word that fits (a single long word: cut inside)
    return cut.rstrip(",;:-–— ") + "…"
