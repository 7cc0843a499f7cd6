"""Impossible numbers are usage errors (exit 2, naming the flag) caught while the command line is parsed, and
an output folder that cannot be written stops a command before any work (finding 9 of issue 16:
``simulate --n-positions -3`` wrote 61 patterns, ``infer --M 0`` failed after loading the model, and a
TensorFlow ``train`` into an unwritable folder failed only once training had finished)."""

from __future__ import annotations

import argparse
import os
import time

import pytest

from ptycho.cli import options
from ptycho.cli.main import build_parser, main
from ptycho.data_contract import write_npz
from ptycho.simulation import SimulationSpec, simulate_dataset
from ptycho.testing.commands import run_ptycho

pytestmark = pytest.mark.per_pr

NUMBER_TYPES = {
    # 2147483648: the outside campaign's --refine, accepted before (a count of 2^31 iterations)
    options.positive_int: ("0", "-3", "2.5", "x", "2147483648"),
    options.non_negative_int: ("-1", "2.5", "x", "2147483648"),
    options.seed_int: ("-1", "x", str(2**32)),
    options.positive_float: ("0", "-1e-3", "nan", "inf", "x"),
    options.photon_count: ("0", "nan", "1e300"),
}
# what each command needs besides the flag under test, so that only that flag can be wrong
REQUIRED = {
    "simulate": ["--output", "x.npz"],
    "train": ["--train-data", "x.npz"],
    "infer": ["--model", "m", "--data", "x.npz"],
    "reconstruct": ["--data", "x.npz"],
    "evaluate": ["--reconstruction", "r.npz", "--truth", "t.npz"],
    "demo": [],
    "harness plot": ["history.jsonl"],
    "harness trend": ["history.jsonl"],
}


def _subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """``(command words, parser)`` of every command, nested ones (``harness plot``) included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _subcommands(sub, (*prefix, name))
            return
    yield prefix, parser


def _numeric_flags():
    for words, parser in _subcommands(build_parser()):
        for action in parser._actions:
            if action.option_strings and action.type is not None and action.type not in (str,):
                yield words, action


SWEEP = [
    pytest.param(words, action.option_strings[0], value, id=f"{'-'.join(words)}{action.option_strings[0]}={value}")
    for words, action in _numeric_flags()
    if action.type in NUMBER_TYPES and action.help != argparse.SUPPRESS
    for value in NUMBER_TYPES[action.type]
]


def test_no_command_takes_a_bare_int_or_float():
    """Every numeric flag of every command uses a type of ``ptycho.cli.options`` that states its range."""
    bare = [f"{' '.join(w)} {a.option_strings[0]}" for w, a in _numeric_flags() if a.type in (int, float)]
    assert not bare, f"numeric flags without a range: {bare}"
    assert len(SWEEP) > 60  # the sweep below really covers the commands: about 35 flags, 2-5 values each


@pytest.mark.parametrize(("words", "flag", "value"), SWEEP)
def test_every_numeric_flag_refuses_impossible_values_as_usage_errors(words, flag, value, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*words, *REQUIRED[" ".join(words)], f"{flag}={value}"])
    assert exit_.value.code == 2
    assert f"argument {flag}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["simulate", "--output", "{tmp}/s.npz", "--n-positions", "-3"], "--n-positions"),
        (["simulate", "--output", "{tmp}/s.npz", "--n-positions", "0"], "--n-positions"),
        (["infer", "--model", "{tmp}", "--data", "{tmp}/s.npz", "--M", "0"], "--M"),
        (["infer", "--model", "{tmp}", "--data", "{tmp}/s.npz", "--M", "-5"], "--M"),
        (["train", "--train-data", "{tmp}/s.npz", "--output-dir", "{tmp}/t", "--epochs", "0"], "--epochs"),
        (["simulate", "--output", "{tmp}/s.npz", "--nphotons", "nan"], "--nphotons"),
    ],
    ids=["n-positions=-3", "n-positions=0", "M=0", "M=-5", "epochs=0", "nphotons=nan"],
)
def test_reported_cases_exit_2_naming_the_flag_before_any_work(argv, flag, tmp_path):
    start = time.perf_counter()
    result = run_ptycho(*(a.format(tmp=tmp_path) for a in argv), check=False)
    assert result.returncode == 2, result.stderr
    assert f"argument {flag}" in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir()), "a refused command must not write anything"
    # the parser refuses before any framework is imported: about 0.5 s here, where loading a model takes 10
    assert time.perf_counter() - start < 5


def test_tensorflow_resume_is_refused_as_usage(tmp_path):
    result = run_ptycho("train", "--train-data", str(tmp_path / "s.npz"), "--resume", check=False)
    assert result.returncode == 2
    assert "--resume applies only to the PyTorch engine; drop it or add --backend pytorch" in result.stderr


def test_infer_window_larger_than_the_patterns_is_refused_before_the_model_loads(tiny_npz, tmp_path):
    result = run_ptycho("infer", "--model", str(tmp_path / "no-model"), "--data", str(tiny_npz), "--M", "65",
                        "--output-dir", str(tmp_path / "out"), check=False)
    assert result.returncode == 2  # the missing model would be exit 1: the window was judged first
    assert "--M 65: the stitched window is larger than the 64×64 patterns" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "--output", "s.npz", "--scan-step", "1e-9"], "above the 1e+07 allowed"),
        (["simulate", "--output", "s.npz", "--object-size", "100000"], "--object-size 100000: at most 16384 px"),
        (["simulate", "--output", "s.npz", "--N", "256", "--object-size", "2000", "--scan-step", "1"],
         "GiB of 256×256 patterns, above the 8 GiB allowed"),
    ],
    ids=["scan-step", "object-size", "pattern-bytes"],
)
def test_simulations_too_large_for_memory_are_usage_errors(argv, message, capsys, tmp_path, monkeypatch):
    """A MemoryError traceback before: 1e-9 px steps asked for 946 GiB of coordinates."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def tiny_npz(tmp_path_factory):
    _, arrays = simulate_dataset(SimulationSpec(N=64, object_size=128, scan_step=12, seed=5))
    return write_npz(tmp_path_factory.mktemp("usage") / "tiny.npz", arrays)


@pytest.fixture
def unwritable(tmp_path):
    """A folder that cannot be written: read-only where permissions bind, else (root ignores them) a path
    under a regular file, which no one can create."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if not os.access(locked, os.W_OK):
        yield locked
    else:
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        yield blocker / "out"
    locked.chmod(0o700)


@pytest.mark.parametrize(
    ("argv", "flag", "target"),
    [
        (["train", "--backend", "tensorflow", "--train-data", "{data}", "--output-dir", "{out}", "--epochs", "2",
          "--n-groups", "16", "--n-filters-scale", "1"], "--output-dir", "{out}"),
        (["infer", "--model", "{data_dir}", "--data", "{data}", "--output-dir", "{out}"], "--output-dir", "{out}"),
        (["simulate", "--output", "{out}/s.npz"], "--output", "{out}"),
        (["reconstruct", "--data", "{data}", "--output-dir", "{out}", "--iterations", "1"], "--output-dir", "{out}"),
        (["demo", "--output-dir", "{out}", "--epochs", "1"], "--output-dir", "{out}"),
        (["evaluate", "--reconstruction", "{data}", "--truth", "{data}", "--output", "{out}/m.json"], "--output",
         "{out}"),
    ],
    ids=["train-tensorflow", "infer", "simulate", "reconstruct", "demo", "evaluate"],
)
def test_unwritable_output_folder_stops_before_any_work(argv, flag, target, tiny_npz, unwritable):
    fill = {"data": tiny_npz, "data_dir": tiny_npz.parent, "out": unwritable}
    start = time.perf_counter()
    result = run_ptycho(*(a.format(**fill) for a in argv), check=False)
    seconds = time.perf_counter() - start
    assert result.returncode == 1, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert f"{flag} {target.format(**fill)}: cannot write into this folder" in message, result.stderr
    assert "Traceback" not in result.stderr and "trained" not in result.stdout
    # no framework import, no training: about 1 s here, where a TensorFlow training of 2 epochs takes 15
    assert seconds < 8, f"the folder was checked only after {seconds:.1f} s of work"
