"""Plugin discovery: entry points, plan paths, built-ins, duplicate names, hook typos."""

from __future__ import annotations

import textwrap

import pytest

from bfplan.errors import PluginError
from bfplan.plugins import load_registry
from tests.conftest import TOY_PLUGIN, as_json

EP_MODULE = """
from bfplan import hookimpl
from bfplan.processors import SqlProcessor

@hookimpl
def bfplan_processors():
    return [SqlProcessor(name="{name}", table="ep.t", partition_column="day",
                         sql="SELECT d AS day FROM UNNEST(@dates) AS d")]

@hookimpl
def bfplan_calendars():
    return {{"weekdays": lambda start, end, **kw: []}}
"""


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A real installed distribution (dist-info with an entry point) on sys.path."""

    def install(dist: str = "bfplan-demo-plugin", name: str = "from_ep"):
        module = f"bfplan_demo_plugin_{name}_{tmp_path.name[-12:].replace('-', '_')}"  # fresh per test
        site = tmp_path / "site"
        site.mkdir(exist_ok=True)
        (site / f"{module}.py").write_text(EP_MODULE.format(name=name))
        info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
        (info / "entry_points.txt").write_text(f"[bfplan]\n{module} = {module}\n")
        monkeypatch.syspath_prepend(str(site))
        monkeypatch.delenv("BFPLAN_DISABLE_PLUGIN_AUTOLOAD")
        return dist

    return install


def test_entry_point_distribution_is_discovered_with_its_source(installed_plugin):
    installed_plugin()
    reg = load_registry()
    assert "from_ep" in reg.processors
    assert reg.source("processors", "from_ep") == "bfplan-demo-plugin 1.2.3"
    assert reg.source("calendars", "weekdays") == "bfplan-demo-plugin 1.2.3"


def test_autoload_can_be_disabled(installed_plugin, monkeypatch):
    installed_plugin()
    monkeypatch.setenv("BFPLAN_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "from_ep" not in load_registry().processors


def test_plan_path_plugin_and_builtins(bfplan):
    reg = load_registry([TOY_PLUGIN])
    assert reg.source("processors", "src") == str(TOY_PLUGIN)
    assert reg.source("warehouses", "duckdb") == "builtin"
    result = bfplan("plugins", "--json", "--plan", TOY_PLUGIN / "nonexistent.yaml")
    assert result.exit_code == 0


def test_two_plugins_with_one_name_is_an_error_naming_both(installed_plugin):
    installed_plugin(name="src")
    with pytest.raises(PluginError) as err:
        load_registry([TOY_PLUGIN])
    assert str(err.value) == f"processor 'src' is provided by two plugins: bfplan-demo-plugin 1.2.3 and {TOY_PLUGIN}"


def test_a_misspelled_hook_is_rejected(tmp_path):
    bad = tmp_path / "typo.py"
    bad.write_text(textwrap.dedent("""
        from bfplan import hookimpl

        @hookimpl
        def bfplan_processor():
            return []
    """))
    with pytest.raises(PluginError, match=r"invalid plugin .*: unknown hook bfplan_processor\(\) \(did you mean bfplan_processors\?\)"):
        load_registry([bad])


def test_a_plugin_that_fails_to_import_names_itself(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("import does_not_exist_anywhere\n")
    with pytest.raises(PluginError, match=r"plugin .*broken.py failed to import: ModuleNotFoundError"):
        load_registry([bad])


def test_plugins_command_lists_sources(bfplan, write_plan):
    plan = write_plan("""
        name: p
        dates: {start: 2021-11-01, end: 2021-11-01}
        plugins: ["{toy}"]
        phases: [{name: one, processors: [src]}]
        """)
    doc = as_json(bfplan("plugins", "--plan", plan, "--json"))
    src = next(p for p in doc["processors"] if p["name"] == "src")
    assert src == {"name": "src", "source": str(TOY_PLUGIN), "table": "toy.src", "description": ""}
    assert {w["name"] for w in doc["warehouses"]} == {"duckdb", "bigquery"}
    text = bfplan("plugins", "--plan", plan).stdout
    assert "src" in text and "-> toy.src" in text


def test_plugins_dir_adds_local_plugins(bfplan, tmp_path, write_plan):
    folder = tmp_path / "local"
    folder.mkdir()
    (folder / "extra.py").write_text(EP_MODULE.format(name="from_dir"))
    doc = as_json(bfplan("plugins", "--plugins-dir", folder, "--json"))
    assert any(p["name"] == "from_dir" and p["source"] == str(folder / "extra.py") for p in doc["processors"])
    plan = write_plan("""
        name: p
        dates: {start: 2021-11-01, end: 2021-11-01}
        phases: [{name: one, processors: [from_dir]}]
        """)
    assert bfplan("validate", plan, "--plugins-dir", folder).exit_code == 0
    missing = bfplan("validate", plan, "--plugins-dir", tmp_path / "nope")
    assert missing.exit_code == 2 and missing.stderr == f"error: --plugins-dir {tmp_path / 'nope'}: not a directory\n"
