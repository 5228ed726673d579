"""Every template in prompts/ renders with its variables, and a missing variable fails loudly."""

import pytest

from chatrec.prompts import render, template_names
from chatrec.results import Recommendation

REC = Recommendation("x", "Solaris", 0.9, "You are interested in space: it is about space.", year=1972, kind="movie")


def test_there_are_templates_in_both_languages() -> None:
    assert {"reply.en.j2", "reply.zh.j2"} <= set(template_names())


@pytest.mark.parametrize("name", template_names())
def test_each_template_renders(name: str) -> None:
    text = render(name, recommendations=[REC], interests=["space"], avoided=["horror"])
    assert "Solaris" in text and "1972" in text and REC.why in text and "horror" in text
    empty = render(name, recommendations=[], interests=[], avoided=[])
    assert empty and "Solaris" not in empty


@pytest.mark.parametrize("name", template_names())
def test_a_missing_variable_is_an_error(name: str) -> None:
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        render(name, recommendations=[REC])
