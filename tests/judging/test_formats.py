"""Judged formats: every judge definition names a registered format (tests/test_architecture.py
checks that no package module names a benchmark)."""

import pytest

from evalsuite.errors import BadInputError
from evalsuite.judging.definitions import judged_benchmarks, load_definition
from evalsuite.judging.formats import JudgeFormat, get_format, registry


def test_every_definition_names_a_registered_format():
    names = judged_benchmarks()
    assert names, "no judges/*.yaml found"
    for name in names:
        definition = load_definition(name)
        assert isinstance(get_format(definition.format), JudgeFormat)
    assert all(fmt.name == name for name, fmt in registry().items())


def test_unknown_format_is_bad_input():
    with pytest.raises(BadInputError, match="unknown judge format 'pairwise_x'.*fastchat_single"):
        get_format("pairwise_x")


