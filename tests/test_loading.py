"""Plugin loading: an installed plugin that a plan also lists loads once; a broken installed
plugin names its distribution and how to skip it; --plugins-dir imports only plugins; hook typos
get a did-you-mean; a bfplan_* function without @hookimpl is a warning."""

from __future__ import annotations

import textwrap

import pytest
from structlog.testing import capture_logs

from bfplan.errors import PluginError
from bfplan.plugins import load_registry
from tests.conftest import as_json

MODULE = """
from bfplan import hookimpl
from bfplan.processors import SqlProcessor

@hookimpl
def bfplan_processors():
    return [SqlProcessor(name="shared", table="ep.t", partition_column="day",
                         sql="SELECT d AS day FROM UNNEST(@dates) AS d")]
"""


@pytest.fixture
def install(tmp_path, monkeypatch):
    """Install a distribution (a dist-info with a ``bfplan`` entry point) on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("BFPLAN_DISABLE_PLUGIN_AUTOLOAD")

    def make(dist: str, source: str) -> str:
        module = f"{dist.replace('-', '_')}_{tmp_path.name[-10:].replace('-', '_')}"
        (site / f"{module}.py").write_text(source)
        info = site / f"{dist.replace('-', '_')}-0.4.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.4.0\n")
        (info / "entry_points.txt").write_text(f"[bfplan]\n{module} = {module}\n")
        return module

    return make


def test_an_installed_plugin_the_plan_also_lists_loads_once(install, tmp_path, bfplan, write_plan):
    module = install("sales-plugin", MODULE)
    reg = load_registry([tmp_path / "site" / f"{module}.py"])
    assert reg.source("processors", "shared") == "sales-plugin 0.4.0"
    plan = write_plan(f"""
        name: p
        dates: {{start: 2021-11-01, end: 2021-11-01}}
        plugins: ["{tmp_path / 'site' / module}.py"]
        phases: [{{name: one, processors: [shared]}}]
        """)
    assert bfplan("validate", plan).exit_code == 0
    assert bfplan("plugins", "--plan", plan).exit_code == 0


def test_a_copy_of_an_installed_plugin_loads_once(install, tmp_path):
    install("sales-plugin", MODULE)
    copy = tmp_path / "plugins" / "sales.py"
    copy.parent.mkdir()
    copy.write_text(MODULE)
    assert load_registry([copy]).source("processors", "shared") == "sales-plugin 0.4.0"


def test_a_broken_installed_plugin_names_its_distribution_and_the_way_to_skip_it(install, tmp_path, bfplan,
                                                                                write_plan):
    module = install("broken-plugin", "import no_such_module_here\n")
    with pytest.raises(PluginError) as err:
        load_registry()
    assert str(err.value) == (
        f"installed plugin '{module}' (distribution broken-plugin 0.4.0) failed to load: ModuleNotFoundError: "
        "No module named 'no_such_module_here'; skip it with --disable-plugin broken-plugin, or set "
        "BFPLAN_DISABLE_PLUGIN_AUTOLOAD=1 to load no installed plugin")
    plan = write_plan("""
        name: p
        dates: {start: 2021-11-01, end: 2021-11-01}
        plugins: ["{toy}"]
        phases: [{name: one, processors: [src]}]
        """)
    assert bfplan("validate", plan).exit_code != 0
    assert bfplan("validate", plan, "--disable-plugin", "broken-plugin").exit_code == 0
    assert bfplan("validate", plan, "--disable-plugin", module).exit_code == 0
    assert bfplan("plugins", "--disable-plugin", "broken_plugin").exit_code == 0


def test_plugins_dir_imports_only_modules_that_define_hooks(bfplan, tmp_path):
    folder = tmp_path / "local"
    folder.mkdir()
    (folder / "extra.py").write_text(MODULE)
    marker = tmp_path / "ran"
    (folder / "generate_data.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    doc = as_json(bfplan("plugins", "--plugins-dir", folder, "--json"))
    assert any(p["name"] == "shared" for p in doc["processors"])
    assert not marker.exists()


def test_a_misspelt_hook_gets_a_did_you_mean(tmp_path):
    bad = tmp_path / "typo.py"
    bad.write_text(textwrap.dedent("""
        from bfplan import hookimpl

        @hookimpl
        def bfplan_procesors():
            return []
    """))
    with pytest.raises(PluginError) as err:
        load_registry([bad])
    assert str(err.value) == (f"invalid plugin {bad}: unknown hook bfplan_procesors() "
                              "(did you mean bfplan_processors?)")


def test_a_hook_function_without_hookimpl_is_a_warning(tmp_path):
    plain = tmp_path / "plain.py"
    plain.write_text(textwrap.dedent("""
        def bfplan_gates():
            return []

        def bfplan_procesors():
            return []
    """))
    with capture_logs() as logs:
        load_registry([plain])
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        f"plugin {plain}: bfplan_gates() has no @hookimpl, so bfplan never calls it",
        f"plugin {plain}: bfplan_procesors() has no @hookimpl, so bfplan never calls it "
        "(did you mean bfplan_processors?)",
    ]


def test_an_unknown_processor_says_when_installed_plugins_are_not_loaded(bfplan, tmp_path, monkeypatch):
    plan = tmp_path / "plan.yaml"
    plan.write_text("name: p\ndates: {start: 2021-11-01, end: 2021-11-02}\nwarehouse: {type: duckdb, path: w.duckdb}\n"
                    "phases: [{name: a, processors: [zzz_loader]}]\n")
    monkeypatch.setenv("BFPLAN_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = bfplan("validate", plan)
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("unknown processor 'zzz_loader' (installed plugins are not loaded: "
                                          "BFPLAN_DISABLE_PLUGIN_AUTOLOAD is set; list the plugin under plugins: or "
                                          "pass --plugins-dir)")
