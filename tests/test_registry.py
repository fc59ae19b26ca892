"""The one lookup table every plug-in kind uses."""
from __future__ import annotations

import pytest

from safetune_data.errors import ConfigError, ConfigErrors, ParamError
from safetune_data.registry import Registry, schema


def _table() -> Registry:
    table: Registry = Registry("widget")

    @table.register("spinner", params=schema(speed={"type": "integer", "minimum": 1, "default": 3},
                                             colour={"enum": ["red", "blue"]}))
    def spinner(**params):
        return params

    return table


def test_unknown_name_gets_one_did_you_mean_message():
    with pytest.raises(ConfigError) as exc:
        _table().get("spiner")
    assert exc.value.message == "unknown widget 'spiner'" and exc.value.field == "widget"
    assert exc.value.hint == "did you mean 'spinner'?"
    with pytest.raises(ConfigError) as far:
        _table().get("gearbox")
    assert far.value.hint == "known: spinner"


def test_check_params_fills_defaults_and_reports_every_problem_at_once():
    table = _table()
    assert table.check_params("spinner", {"colour": "red"}) == {"speed": 3, "colour": "red"}
    with pytest.raises(ConfigErrors) as exc:
        table.check_params("spinner", {"sped": 2, "colour": "green"})
    messages = [e.message for e in exc.value.errors]
    assert "unknown parameter 'sped' for widget 'spinner'" in messages
    assert any(m.startswith("invalid value for widget 'spinner'") for m in messages)
    with pytest.raises(ParamError) as one:
        table.check_params("spinner", {"speed": 0})
    assert one.value.field == "speed"


def test_a_name_registered_twice_for_different_plugins_is_refused():
    table = _table()
    with pytest.raises(TypeError, match="registered twice"):
        table.register("spinner")(lambda: None)


def test_modules_are_imported_on_first_lookup_and_a_missing_one_is_an_error():
    lazy: Registry = Registry("widget", modules=("json",))
    assert lazy.names() == []  # the module registered nothing, but importing it worked
    broken: Registry = Registry("widget", modules=("safetune_data.no_such_module",))
    with pytest.raises(ModuleNotFoundError):
        broken.get("anything")


def test_every_plugin_table_is_a_registry():
    from safetune_data.engines import ENGINES
    from safetune_data.harness.benchmarks import BENCHMARKS
    from safetune_data.harness.judges import JUDGES
    from safetune_data.io.export import EXPORTERS
    from safetune_data.io.formats import NORMALISERS
    from safetune_data.rm.pairs import FORMATS
    from safetune_data.transforms import TRANSFORMS

    tables = [ENGINES, BENCHMARKS, JUDGES, EXPORTERS, NORMALISERS, FORMATS, TRANSFORMS]
    assert all(isinstance(t, Registry) for t in tables)
    assert all(len(t) >= 2 for t in tables)
