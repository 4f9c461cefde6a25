"""Text we did not write, made to show as written: one function per renderer.

Streamlit renders Markdown in element bodies, captions, alerts, metric labels and values, radio
options and widget labels and help: links, images, emphasis, `:red[...]` directives, LaTeX
`$...$`, and after parsing it turns `:name:` into emoji or icons, `http://…`, `www.…` and
`name@host` into links, and ` -> ` into arrows. Plotly renders a subset of HTML (`<a href>`,
`<b>`, `<br>`, `<span style>`) in titles, labels, ticks, legends and hover text. A parameter from a
URL, a name from MOR's tables or an error's text goes through `markdown_text` or `plotly_text`
where it meets the renderer, once; selectbox options and st.dataframe cells and headers are
plain text and take the value as it is.
"""
from __future__ import annotations

import re

# Line breaks become spaces (a value is one line of text); other C0 and C1 controls, bidi
# embeddings, overrides and isolates, and lone surrogates become U+FFFD: none shows as text.
_LINE_BREAKS = re.compile("\r\n|[\r\n\t\v\f\x1c-\x1e\x85\u2028\u2029]")
_UNSHOWABLE = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                         "\ud800-\udfff]")
# Escaped wherever they stand: escapes, code, emphasis, strikethrough, HTML and autolinks,
# entities, maths, tables. A colon also takes a WORD JOINER (below): `:red[x]`, `:smile:`,
# `:material/x:`, `http://` and `[label]: url` all need one.
_ALWAYS = frozenset("\\`*~<>&$|")
# Only at the start of a value, which may start a line: headings, lists, setext underlines.
_LINE_START = re.compile(r"[#+=-]|\d+[.)]")
# Streamlit finds some patterns in the text after parsing, escapes gone: `:name:` emoji and
# icons, autolinks (`http://`, `www.`, `name@host`) and arrows (`->`, `<=`, `--`). An invisible
# WORD JOINER breaks each; the text reads the same.
_JOINER = "\u2060"
_BEFORE_JOINER = re.compile(r"(?=@)|(?i:(?<=www)(?=\.))|(?<=[-<>~])(?=[-<>=])")
_PLOTLY = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}


def one_line(value) -> str:
    """`value` as text on one line, without control characters."""
    return _UNSHOWABLE.sub("\ufffd", _LINE_BREAKS.sub(" ", str(value)))


def markdown_text(value) -> str:
    """`value` for a Streamlit Markdown body, label or help text, showing exactly as written.

    Only what can start a construct is escaped, so that a path or a parameter name still
    reads plainly in the source: `_` unless between letters or digits (no emphasis there),
    `]` before `(`, `[` or the end (a link needs one of them; a reference needs a definition,
    which needs a colon), and the first character where a line could start."""
    text = _BEFORE_JOINER.sub(_JOINER, one_line(value).strip())
    out = []
    for i, c in enumerate(text):
        before, after = text[i - 1:i], text[i + 1:i + 2]
        if c in _ALWAYS or (c == "_" and not (before.isalnum() and after.isalnum())) \
                or (c == "]" and after in ("", "(", "[")):
            out.append("\\" + c)
        elif c == ":":
            out.append("\\:" + _JOINER)
        else:
            out.append(c)
    start = _LINE_START.match(text)
    if start:   # `# x`, `- x`, `+ x`, `===`, `1. x`: the mark escaped
        i = start.end() - 1
        out[i] = "\\" + out[i]
    return "".join(out)


def plotly_text(value) -> str:
    """`value` for a plotly title, label, tick, legend or hover text, showing as written.

    Plotly decodes only `&amp;`, `&lt;`, `&gt;` and numeric references, hence `&#34;`."""
    return "".join(_PLOTLY.get(c, c) for c in one_line(value))
