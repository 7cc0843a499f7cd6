"""Doctor checks that used to pass whatever happened now fail for a real reason (no engine imports)."""

from pathlib import Path

from ptycho.doctor import FAIL, OK
from ptycho.doctor.checkout import find_root
from ptycho.doctor.environment import check_accelerators, check_python, expects_gpu
from ptycho.doctor.harness import check_tier_commands
from ptycho.testing.nox_sessions import nox_sessions

ROOT = Path(__file__).resolve().parents[2]
CPU_ONLY_TORCH = {"threads": 2, "cuda_devices": []}


def test_python_and_numpy_below_the_declared_minimums_fail(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "ptychopinn"\nrequires-python = ">=99"\ndependencies = ["numpy>=999", "scipy>=1.0"]\n'
    )
    check = check_python(tmp_path)
    assert check.status == FAIL and check.fix
    assert "does not satisfy python>=99" in check.detail and "does not satisfy numpy>=999" in check.detail
    assert str(tmp_path / "pyproject.toml") in check.detail
    assert check_python(ROOT).status == OK


def test_tier_command_without_a_session_running_its_tier_fails(tmp_path):
    (tmp_path / "noxfile.py").write_text(
        "import nox\n"
        "@nox.session\ndef per_pr(session): _tier(session, 'per_pr')\n"
        "@nox.session(name='nightly')\ndef night(session): _tier(session, 'weekly')\n"
    )
    (tmp_path / "run.sh").write_text('case "$1" in\n    demo) ;;\nesac\n')
    check = check_tier_commands(tmp_path)
    assert check.status == FAIL
    assert "session 'nightly' does not run tier 'nightly'" in check.detail
    assert "noxfile.py has no session 'weekly'" in check.detail
    assert "run.sh has no 'test' command" in check.detail
    (tmp_path / "noxfile.py").unlink()
    assert check_tier_commands(tmp_path).status == FAIL
    assert check_tier_commands(None).status == FAIL
    assert check_tier_commands(ROOT).status == OK


def test_expected_gpu_that_torch_cannot_see_fails(monkeypatch):
    monkeypatch.delenv("PTYCHO_EXPECT_GPU", raising=False)
    assert check_accelerators(CPU_ONLY_TORCH, expects_gpu()).status == OK
    monkeypatch.setenv("PTYCHO_EXPECT_GPU", "1")
    check = check_accelerators(CPU_ONLY_TORCH, expects_gpu())
    assert check.status == FAIL and "a GPU is expected but torch sees none" in check.detail and check.fix
    assert check_accelerators(None, expect_gpu=True).status == FAIL
    assert check_accelerators({"threads": 2, "cuda_devices": ["NVIDIA H200"]}, expect_gpu=True).status == OK


def test_checkout_is_found_from_the_working_folder_not_the_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_root() is None  # the installed package's own folder is never a fallback
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "ptychopinn"\n')
    assert find_root(nested) == tmp_path.resolve()
    assert set(nox_sessions(ROOT / "noxfile.py")) >= {"per_pr", "nightly", "weekly"}


def test_tensorflow_that_does_not_import_fails(monkeypatch):
    from ptycho.doctor import environment

    monkeypatch.setattr(environment, "_probe", lambda code: (None, "ImportError: simulated"))
    check = environment.check_tensorflow()
    assert check.status == FAIL and "simulated" in check.detail and check.fix


def test_old_torch_and_missing_lightning_fail():
    from ptycho.doctor.environment import check_lightning, check_torch

    old = {"version": "1.13.0", "seconds": 1.0, "lightning": None, "lightning_error": "ImportError: simulated"}
    assert check_torch(old, "").status == FAIL and "older than" in check_torch(old, "").detail
    assert check_torch(None, "ImportError: x").status == FAIL
    assert check_lightning(old, "").status == FAIL and "simulated" in check_lightning(old, "").detail
    assert check_lightning(None, "ImportError: x").status == FAIL


def test_simulated_data_that_breaks_the_contract_fails(monkeypatch):
    from ptycho import data_contract
    from ptycho.doctor.workflow import check_simulated_data
    from ptycho.errors import DataContractError

    assert check_simulated_data().status == OK

    def broken(arrays, source):
        raise DataContractError(f"{source}: simulated breach")

    monkeypatch.setattr(data_contract, "from_arrays", broken)
    check = check_simulated_data()
    assert check.status == FAIL and "simulated breach" in check.detail and check.fix


def test_unreadable_shared_scan_fails(tmp_path, monkeypatch):
    from ptycho.doctor import SKIP
    from ptycho.doctor.harness import VELOCIPROBE, check_shared_data

    monkeypatch.setenv("PTYCHO_SHARED_DATA", str(tmp_path))
    assert check_shared_data(None).status == SKIP  # optional: absent is not a failure
    (tmp_path / VELOCIPROBE).write_bytes(b"not a bz2 stream")
    check = check_shared_data(None)
    assert check.status == FAIL and "unreadable" in check.detail and check.fix


def test_config_bridge_that_does_not_round_trip_fails(monkeypatch):
    from ptycho import params
    from ptycho.doctor.workflow import check_config_bridge

    real = params.update_legacy_dict

    def drops_n(legacy, config):
        result = real(legacy, config)
        result.pop("N", None)
        return result

    monkeypatch.setattr(params, "update_legacy_dict", drops_n)
    check = check_config_bridge()
    assert check.status == FAIL and "does not round-trip" in check.detail and check.fix


def test_missing_baselines_file_fails(tmp_path):
    from ptycho.doctor.harness import check_baselines

    check = check_baselines(tmp_path, None)
    assert check.status == FAIL and "missing" in check.detail and check.fix
    assert check_baselines(None, None).status == FAIL


def test_smoke_run_whose_command_fails_is_a_cross(monkeypatch):
    import subprocess

    from ptycho.doctor.workflow import smoke
    from ptycho.testing import commands

    def fails(*args, **kwargs):
        return subprocess.CompletedProcess(args, 1, "", "Traceback ...\nRuntimeError: simulated training failure\n")

    monkeypatch.setattr(commands, "run_ptycho", fails)
    check = smoke("tensorflow")
    assert check.status == FAIL and "train+save failed" in check.detail and "simulated training failure" in check.detail
    assert check.fix
