"""Every parser of user text, fed random text: no exception escapes except the one that
means "this input is wrong", which the bot turns into a message (hypothesis). Also the one
renderer that cuts HTML: what it cuts still parses."""

from __future__ import annotations

import re
from html import escape, unescape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.callbacks import decode
from bot.local_api import html_problem
from bot.render import truncate
from kurse.agencies import normalise_access_code
from kurse.errors import InvalidAccessCode
from kurse.forms import KEYS, parse_course_form, parse_moment, parse_seats, split_key

KEY_WORDS = sorted({k for keys in KEYS.values() for k in keys})
line = st.one_of(
    st.text(max_size=80),
    st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(KEY_WORDS), st.text(max_size=60)),
    st.builds(
        lambda d, m, y, h: f"Beginn: {d}.{m}.{y} {h}:00",
        st.integers(-5, 40),
        st.integers(-5, 20),
        st.integers(0, 99999),
        st.integers(-5, 30),
    ),
)
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.lists(line, max_size=80))
def test_the_course_form_reader_reports_problems_and_never_crashes(lines):
    form = parse_course_form("\n".join(lines))

    for error in form.errors:
        assert error.line >= 0
        assert error.field
        assert error.reason
    if not form.errors:
        assert {"title", "start_at", "end_at", "location", "seats"} <= form.values.keys()


@FUZZ
@given(st.text(max_size=120))
def test_seat_lists_are_read_or_refused_with_value_or_key_error(text):
    try:
        seats = parse_seats(text)
    except (ValueError, KeyError):
        return
    assert seats
    assert all(0 <= n < 10**6 for n in seats.values())


@FUZZ
@given(st.text(max_size=60), st.booleans())
def test_dates_are_read_as_aware_times_or_refused_with_value_error(text, end_of_day):
    try:
        moment = parse_moment(text, end_of_day=end_of_day)
    except ValueError:
        return
    assert moment.tzinfo is not None


@FUZZ
@given(st.text(max_size=200))
def test_access_codes_are_normalised_or_refused_as_invalid(text):
    try:
        code = normalise_access_code(text)
    except InvalidAccessCode:
        return
    assert len(code) == 10
    assert code.isupper()


@FUZZ
@given(
    st.one_of(
        st.none(), st.text(max_size=100), st.binary(max_size=80).map(lambda b: b.decode("latin-1"))
    )
)
def test_callback_data_is_decoded_only_in_the_shapes_we_make(data):
    callback = decode(data)

    if callback is not None:
        assert len((data or "").encode()) <= 64
        assert callback.action in data


@FUZZ
@given(line)
def test_a_dialog_answer_loses_only_a_known_key_in_front(text):
    name, value = split_key(text)

    if name is None:
        assert value == text
    else:
        assert name in KEYS
        assert text.rstrip().endswith(value)
        assert len(value) < len(text)


segment = st.one_of(
    st.text(max_size=300).map(escape),
    st.sampled_from(["<b>", "</b>", "<i>", "</i>", "<code>", "</code>", "\n"]),
)


def balanced(segments: list[str]) -> str:
    """Random escaped text with properly nested tags, as the renderers make it."""
    out, stack = [], []
    for s in segments:
        if s.startswith("</"):
            if stack and stack[-1] == s[2:-1]:
                out.append(f"</{stack.pop()}>")
        elif s.startswith("<"):
            stack.append(s[1:-1])
            out.append(s)
        else:
            out.append(s)
    return "".join(out) + "".join(f"</{t}>" for t in reversed(stack))


@FUZZ
@given(st.lists(segment, max_size=120), st.integers(60, 4096))
def test_truncated_html_stays_within_the_limit_and_still_parses(segments, limit):
    html = balanced(segments)

    cut = truncate(html, limit)

    assert len(cut) <= limit
    assert html_problem({"parse_mode": "HTML", "text": cut}) in (None, "message is too long")
    if len(html) <= limit:
        assert cut == html
    else:
        visible = unescape(re.sub(r"<[^>]*>", "", cut))
        assert visible.endswith("…")
        assert unescape(re.sub(r"<[^>]*>", "", html)).startswith(visible[:-1])


def test_a_cut_inside_deeply_nested_tags_still_fits_the_limit():
    html = "&#x27;&#x27;<b><b>" + "<code>" * 5 + "x" * 200 + "</code>" * 5 + "</b></b>"

    cut = truncate(html, 88)

    assert len(cut) <= 88
    assert html_problem({"parse_mode": "HTML", "text": cut}) is None


@FUZZ
@given(st.text(max_size=400))
def test_whatever_follows_kurse_is_read_as_a_code_a_month_or_at_most_eight_words(typed):
    from kurse.search import MAX_WORD, MAX_WORDS, parse_query
    from tests.conftest import T0

    query = parse_query(typed, T0)

    assert len(query.words) <= MAX_WORDS
    assert all(len(w) <= MAX_WORD for w in query.words)
