"""Problems found together: one shape, listed in one place."""

from clm.errors import Problem, Problems, listed


def test_a_problem_reads_place_then_message_and_a_whole_one_just_its_message():
    assert (
        str(Problem("line 3, field owner", "no user 'zed'")) == "line 3, field owner: no user 'zed'"
    )
    assert str(Problem("", "a rule needs --from STAGE")) == "a rule needs --from STAGE"


def test_listed_in_order_after_the_file_with_how_many_more():
    problems = [Problem("stages[0].key", "missing"), Problem("rules[1]", "no stage 'x'")]
    assert listed(problems, source="model.toml") == [
        "model.toml: stages[0].key: missing",
        "model.toml: rules[1]: no stage 'x'",
    ]
    assert listed(problems[:1], total=5) == ["stages[0].key: missing", "and 4 more"]


def test_an_error_that_names_its_only_problem_lists_nothing_before_it():
    one = [Problem("line 2", "bad")]
    assert Problems(one, "line 2: bad; nothing imported", in_summary=True).lines() == []
    assert Problems(one, "1 problem in the model").found_in("m.toml").lines() == [
        "m.toml: line 2: bad"
    ]


def test_an_argument_that_is_not_text_is_one_error_and_changes_nothing(clm):
    """Bytes the locale cannot decode reach clm as lone surrogates, which no database stores:
    refused before any command runs, shown escaped."""
    clm("customer", "add", "Acme")
    message = clm.error("customer", "add", "Bad \udcff name")
    assert message == (
        "Error: argument 'Bad \\udcff name' is not valid text: clm reads its arguments as "
        "UTF-8 (check the terminal's locale)"
    )
    clm.error("customer", "list", "--where", "name = '\udcff'")
    assert [c["slug"] for c in clm.json("customer", "list")] == ["acme"]
