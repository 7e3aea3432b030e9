"""Judged formats: every judge definition names a registered format (tests/test_architecture.py
checks that no package module names a benchmark)."""

import pytest

from evalsuite.errors import BadInputError
from evalsuite.judging.definitions import judged_benchmarks, load_definition
from evalsuite.judging.formats import JudgeFormat, get_format, load_format_module, registry


def test_every_definition_names_a_registered_format():
    names = judged_benchmarks()
    assert names, "no judged benchmark declared (judges/<name>/)"
    for name in names:
        definition = load_definition(name)
        assert isinstance(get_format(definition.format), JudgeFormat)
    assert all(fmt.name == name for name, fmt in registry().items())


def test_unknown_format_is_bad_input():
    with pytest.raises(BadInputError, match="unknown judge format 'pairwise_x'.*fastchat_single"):
        get_format("pairwise_x")




def test_a_benchmarks_own_format_module_is_loaded_once_and_registered(tmp_path):
    """A definition's `format_module:` (a .py beside it): its FORMAT is registered under its name;
    a missing file, one without FORMAT, a failing import or a taken name is one line of bad input."""
    definition = load_definition("logickor")  # names judges/logickor/format.py
    assert get_format(definition.format) is get_format("logickor_v2")
    assert "logickor_v2" not in registry()  # not a package format
    with pytest.raises(BadInputError, match="cannot import the judge format module.*no such file"):
        load_format_module(tmp_path / "missing.py")
    (tmp_path / "empty.py").write_text("X = 1\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="defines no FORMAT"):
        load_format_module(tmp_path / "empty.py")
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="cannot import the judge format module.*ModuleNotFoundError"):
        load_format_module(tmp_path / "broken.py")
    (tmp_path / "taken.py").write_text(
        "from evalsuite.judging.formats.fastchat_single import FastChatSingle\nFORMAT = FastChatSingle()\n",
        encoding="utf-8")
    with pytest.raises(BadInputError, match="'fastchat_single' is taken"):
        load_format_module(tmp_path / "taken.py")
