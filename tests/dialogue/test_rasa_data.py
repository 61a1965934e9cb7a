"""Rasa's own checks on our data: validation and the test stories against a trained model."""
import re
import subprocess

from tests import services

RASA = str(services.VENV_DIALOGUE / "bin" / "rasa")


def run_rasa(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([RASA, *args], cwd=services.ROOT, env=services.base_env(**env),
                          capture_output=True, text=True, timeout=1800)


def test_rasa_data_validate_passes():
    result = run_rasa("data", "validate", "--domain", "domain.yml", "--data", "data",
                      "--config", "config.yml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_test_stories_pass_without_prediction_errors(trained_model, perception_url, tmp_path):
    result = run_rasa("test", "core", "--model", trained_model, "--stories", "tests/test_stories.yml",
                      "--fail-on-prediction-errors", "--out", str(tmp_path / "results"),
                      PERCEPTION_URL=perception_url)
    (services.ARTIFACTS / "rasa-test-core.log").write_text(result.stdout + result.stderr)
    failed = tmp_path / "results" / "failed_test_stories.yml"
    detail = failed.read_text()[-3000:] if failed.exists() else result.stderr[-3000:]
    assert result.returncode == 0, detail
    correct, total = map(int, re.search(r"Correct:\s+(\d+) / (\d+)", result.stdout + result.stderr).groups())
    assert total >= 20 and correct == total
