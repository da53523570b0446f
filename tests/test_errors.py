"""SpecError quotes what it refuses, but never more of it than a reader needs."""

from cinegen.errors import SpecError, excerpt


def test_a_short_value_is_quoted_whole():
    assert excerpt("1e308") == "'1e308'" and excerpt(True) == "True"
    assert str(SpecError("size", "must be WIDTHxHEIGHT", value="¹²⁸x¹²⁸")) == (
        "size: must be WIDTHxHEIGHT (got '¹²⁸x¹²⁸')"
    )


def test_a_long_value_is_cut_and_its_length_said():
    text = excerpt("a" * 50_000_000)
    assert text == repr("a" * 60) + "… (50000000 characters)"
    listed = excerpt(list(range(100_000)))
    assert listed.startswith("[0, 1, 2") and len(listed) < 100
    error = SpecError("prompt", "is too long", value="b" * 1_000_000, allowed="1..32000")
    assert len(str(error)) < 150 and str(error).endswith("; allowed: 1..32000")
