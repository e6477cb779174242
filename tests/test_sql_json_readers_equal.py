"""json_numeric reads VALR's common shape (digits with at most one point) without a regular expression
(figure 2's CPU, docs/performance.md); on any input it must answer exactly as the regular-expression
reader did. The reader as it was, below, runs beside the current one on generated inputs: digits,
signs, points, exponents, spaces and garbage around VALR's shape, JSON numbers, nulls, objects."""

from __future__ import annotations

from random import Random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from tests.support.sql import rows

# The reader before the fast path (db/functions/00_support/json_numeric.sql, 2026-12-07), session-local.
READERS_BEFORE = r"""
CREATE FUNCTION pg_temp.json_numeric_before(p_value jsonb) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_text text;
BEGIN
    IF jsonb_typeof(p_value) = 'number' THEN
        RETURN (p_value #>> '{}')::numeric;
    END IF;
    IF jsonb_typeof(p_value) = 'string' THEN
        v_text := btrim(p_value #>> '{}');
        IF v_text ~ '^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$' AND length(v_text) <= 100 THEN
            RETURN v_text::numeric;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
"""

# Characters the fast paths' checks tell apart from digits.
GARBAGE = list(".+-eE :TZz/x\u0661\u00a0") + ["0", "9"]
DIGITS = "0123456789"
# jsonb refuses U+0000 anywhere (a generated key of it failed the statement, not the readers).
KEYS = st.text(st.characters(blacklist_characters="\x00"), max_size=3)
others = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) \
    | st.integers(10**11, 10**14) | st.dictionaries(KEYS, st.integers(), max_size=2) \
    | st.lists(st.integers(), max_size=2) | st.text(st.sampled_from(GARBAGE), max_size=26)


def mutated(r: Random, text: str) -> str:
    """`text` with up to two characters changed, dropped or added anywhere."""
    for _ in range(r.choice([0, 0, 1, 2])):
        at = r.randint(0, len(text))
        text = text[:at] + r.choice(["", *GARBAGE]) + text[at + r.randint(0, 1):]
    return text


def number_text(r: Random) -> str:
    """Signs, digits, a point, an exponent and spaces, in VALR's order or not."""
    digits = lambda: "".join(r.choices(DIGITS, k=r.randint(0, 5)))  # noqa: E731
    text = (r.choice(["", "", "+", "-"]) + digits() + r.choice(["", ".", "."]) + digits()
            + r.choice(["", "", "e", "E-", "e+"]) + r.choice(["", "", "1", "999", "1000"]))
    return mutated(r, r.choice(["", "", " "]) + text + r.choice(["", "", " "]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), odd=st.lists(others, max_size=20))
def test_the_reader_answers_as_the_regular_expression_did(postgresql, seed, odd):
    r = Random(seed)  # 300 strings an example (hypothesis' own draws would be too many)
    postgresql.rollback()  # each example on its own (a raising reader aborts the transaction)
    postgresql.execute(READERS_BEFORE)
    differ = rows(postgresql, """
        SELECT v::text FROM unnest(%s::jsonb[]) v
         WHERE lth_pvr.json_numeric(v) IS DISTINCT FROM pg_temp.json_numeric_before(v)
            OR lth_pvr.json_numeric(v)::text IS DISTINCT FROM pg_temp.json_numeric_before(v)::text""",
                  ([Jsonb(number_text(r)) for _ in range(300)] + [Jsonb(v) for v in odd],))
    assert differ == []


def test_valrs_shape_and_the_edges_of_the_fast_path_read_as_before(postgresql):
    """Named inputs on both sides of the fast path's edge, whatever the generator draws."""
    postgresql.execute(READERS_BEFORE)
    shapes = ['"0.0001"', '"1149500"', '"5."', '".5"', '"."', '""', '" 12 "', '"1.2.3"', '"-2"', '"+.5"', '"1e3"',
              '"0.0001 "', '"٣"', '"1_000"', '"00012.50"', '12.5', 'null', '{}']
    differ = rows(postgresql, """
        SELECT v::text FROM unnest(%s::jsonb[]) v
         WHERE lth_pvr.json_numeric(v)::text IS DISTINCT FROM pg_temp.json_numeric_before(v)::text""", (shapes,))
    assert differ == []
