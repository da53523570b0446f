"""Settings: environment variables and a TOML file; unknown keys are errors, not defaults."""

import pytest
from pydantic import ValidationError

from cinegen.config import Settings


def test_environment_variables_override_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("CINEGEN_CRF", "28")
    monkeypatch.setenv("CINEGEN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CINEGEN_MODEL_PATHS__LTX_VIDEO", str(tmp_path / "ltx"))
    s = Settings()
    assert s.crf == 28 and s.data_dir == tmp_path
    assert s.model_paths == {"ltx-video": tmp_path / "ltx"}


def test_toml_file_is_read_and_unknown_keys_refused(monkeypatch, tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('default_model = "wan-tiny-random"\nvisible_mark_text = "studio"\n')
    monkeypatch.setenv("CINEGEN_CONFIG", str(good))
    s = Settings()
    assert (s.default_model, s.visible_mark_text) == ("wan-tiny-random", "studio")
    bad = tmp_path / "bad.toml"
    bad.write_text("visible_mark_txt = 'typo'\n")
    monkeypatch.setenv("CINEGEN_CONFIG", str(bad))
    with pytest.raises(ValidationError, match="visible_mark_txt"):
        Settings()


def test_missing_config_file_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("CINEGEN_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(FileNotFoundError, match=r"nope\.toml"):
        Settings()


def test_out_of_range_values_are_refused():
    with pytest.raises(ValidationError, match="crf"):
        Settings(crf=60)
    with pytest.raises(ValidationError, match="visible_mark_logo"):
        Settings(visible_mark_logo="/no/such/logo.png")


def test_unknown_environment_variables_are_refused(monkeypatch):
    monkeypatch.setenv("CINEGEN_WATERMARK_TXT", "typo")
    with pytest.raises(ValueError, match="CINEGEN_WATERMARK_TXT"):
        Settings()


def test_default_model_and_aliases_are_checked_against_the_registry():
    with pytest.raises(ValidationError, match="default_model"):
        Settings(default_model="nope")
    with pytest.raises(ValidationError, match="hide the models"):
        Settings(preset_aliases={"wan": "turbo"})
    with pytest.raises(ValidationError, match="visible_mark_text"):
        Settings(visible_mark_text="   ")


def test_the_marks_old_setting_names_still_work_with_a_warning(monkeypatch, tmp_path):
    with pytest.warns(FutureWarning, match="setting watermark_key is now invisible_mark_key"):
        s = Settings(watermark_key="ours", watermark=False)
    assert (s.invisible_mark_key, s.visible_mark) == ("ours", False)
    monkeypatch.setenv("CINEGEN_INVISIBLE_WATERMARK", "false")
    monkeypatch.setenv("CINEGEN_WATERMARK_TEXT", "old")
    monkeypatch.setenv("CINEGEN_VISIBLE_MARK_TEXT", "new")  # the new name wins
    with pytest.warns(
        FutureWarning, match="setting CINEGEN_INVISIBLE_WATERMARK is now CINEGEN_INVISIBLE_MARK"
    ):
        s = Settings()
    assert (s.invisible_mark, s.visible_mark_text) == (False, "new")
    config = tmp_path / "old.toml"
    config.write_text('watermark_logo = "/no/such/logo.png"\n')
    monkeypatch.setenv("CINEGEN_CONFIG", str(config))
    with pytest.raises(ValidationError, match="visible_mark_logo"), pytest.warns(FutureWarning):
        Settings()
