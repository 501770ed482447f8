"""Settings: documented defaults, TOML file, SHUANGSUI_* environment, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.errors import ConfigError
from pipeline.core.settings import load_settings


def test_defaults_follow_the_seed(tmp_path: Path) -> None:
    s = load_settings(env={}, config=None)
    assert (s.bureau, s.section_general, s.section_policy) == ("烟台市工业和信息化局", "综合科", "产业政策科")
    assert (s.days_lower_half, s.days_publish, s.days_penalty) == (5, 20, 7)
    assert s.db_url.startswith("sqlite:///") and s.db_url.endswith("var/shuangsui.sqlite3")


def test_toml_then_environment_then_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "shuangsui.toml"
    cfg.write_text('bureau = "某某市工业和信息化局"\ndays_publish = 15\ninbox = "/srv/in"\n', encoding="utf-8")
    s = load_settings(cfg, env={"SHUANGSUI_DAYS_PUBLISH": "18", "SHUANGSUI_WATCH_MODE": "polling"})
    assert s.bureau == "某某市工业和信息化局"
    assert s.days_publish == 18
    assert s.watch_mode == "polling"
    assert s.inbox == Path("/srv/in")
    assert load_settings(cfg, env={}, inbox=Path("x")).inbox == Path("x")


@pytest.mark.parametrize(("content", "env", "needle"), [
    ("days_publish = 'twenty'", {}, "days_publish"),
    ("nonsense = 1", {}, "nonsense"),
    ("", {"SHUANGSUI_WATCH_MODE": "inotify"}, "watch_mode"),
    ("bureau = ", {}, "TOML"),
])
def test_bad_configuration_is_refused_with_the_setting_named(
        tmp_path: Path, content: str, env: dict[str, str], needle: str) -> None:
    cfg = tmp_path / "shuangsui.toml"
    cfg.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, env=env)
    assert needle in info.value.message

