"""Fuzz campaign for ``read_npz`` (issue 16): thousands of generated NPZ files, valid and hostile, written to
real files and read the way ``ptycho train``/``infer``/``inspect`` read them.

Each generated file comes with the verdict of an independent oracle (``oracle`` below, written from the
contract in docs/design.md §3, never calling the code under test): *valid* files must load with the
expected values; *invalid* ones must be refused; files whose bytes were damaged may be refused or, if
accepted, must hold exactly the arrays of the intact file. Whatever happens, nothing but
DataContractError may escape and every message starts with the file's path.

The per-PR smoke runs 100 cases (~1 s here); the nightly campaign 4,000 (18-35 s on a shared 2-core machine).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import zipfile
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptycho.data_contract import read_npz
from ptycho.errors import DataContractError
from ptycho.testing.commands import run_ptycho
from ptycho.testing.npz_files import (
    deflate_bomb,
    header_length_bomb,
    npy_bytes,
    npy_header,
    npz_bytes,
    raw_npy_header,
    set_compression_method,
    zip_bytes,
)

pytestmark = pytest.mark.per_pr

# --- the oracle: the contract restated independently -------------------------------------------------

SANE = 1e6  # the contract's sane magnitude for amplitudes, coordinates, probe and object values
F32_MAX = float(np.finfo(np.float32).max)


def _real(a) -> bool:
    return a.dtype.kind in "iuf"


def _finite_within(a, limit=SANE) -> bool:
    values = a.astype(np.complex128) if a.dtype.kind == "c" else a.astype(np.float64)
    return bool(np.all(np.isfinite(values)) and (values.size == 0 or np.abs(values).max() <= limit))


def _coords_ok(a, n) -> bool:
    return a.ndim == 1 and _real(a) and len(a) == n and _finite_within(a)


def _field_ok(a, ndims) -> bool:
    return a.ndim in ndims and a.dtype.kind in "iufc" and a.size > 0 and _finite_within(a)


def expected_diffraction(arrays: dict):
    """The amplitudes ``(n, N, N)`` float32 the contract must return, or ``None`` if the file is invalid."""
    x, y = arrays.get("xcoords"), arrays.get("ycoords")
    d = arrays.get("diffraction", arrays.get("diff3d"))
    if x is None or y is None or d is None or y.ndim != 1:
        return None
    n = len(y)
    if n == 0 or not (_coords_ok(x, n) and _coords_ok(y, n)) or d.ndim != 3 or not _real(d):
        return None
    if d.shape[0] == n:
        canonical = d
    elif d.shape[2] == n and d.shape[0] == d.shape[1]:
        canonical = np.moveaxis(d, 2, 0)
    else:
        return None
    N = canonical.shape[1]
    if canonical.shape[2] != N or N not in (64, 128, 256):
        return None
    if d.dtype.kind in "iu":
        if canonical.min() < 0:
            return None
        amplitude = np.sqrt(canonical.astype(np.float64)).astype(np.float32)
    else:
        with np.errstate(over="ignore"):
            amplitude = canonical.astype(np.float32)
    if not (np.all(np.isfinite(amplitude)) and amplitude.min() >= 0 and amplitude.max() <= SANE):
        return None
    for key in ("xcoords_start", "ycoords_start"):
        if key in arrays and not _coords_ok(arrays[key], n):
            return None
    if "scan_index" in arrays:
        s = arrays["scan_index"]  # whole scan numbers in 0 .. 2**31 - 1, not bounded like coordinates
        if s.ndim != 1 or not _real(s) or len(s) != n:
            return None
        v = s.astype(np.float64)
        if not np.all(np.isfinite(v)) or np.any(v < 0) or np.any(v != np.floor(v)) or v.max() > 2**31 - 1:
            return None
    if "objectGuess" in arrays and not _field_ok(arrays["objectGuess"], (2,)):
        return None
    if "probeGuess" in arrays:
        p = arrays["probeGuess"]
        if not _field_ok(p, (2, 3)) or p.shape[-2:] != (N, N):
            return None
    return amplitude


# --- the generator -----------------------------------------------------------------------------------


@dataclass
class Case:
    kind: str
    data: bytes
    expected: np.ndarray | None  # amplitudes a valid file must load to; None: must be refused
    damaged: bool = False  # bytes damaged after writing: refusal allowed, acceptance must equal ``expected``

    def __repr__(self) -> str:  # hypothesis prints failing cases: the kind and a digest, not 100 kB of bytes
        verdict = "invalid" if self.expected is None else "damaged" if self.damaged else "valid"
        return f"Case({self.kind!r}, {verdict}, {len(self.data)} bytes, sha256 {hashlib.sha256(self.data).hexdigest()[:12]})"


ODD_DTYPES = ["timedelta64[s]", "datetime64[D]", "bool", "<U3", "|S2", "complex64", "float16", ">f8", "<i2", "|u1"]
NUMERIC = ["float32", "float64", "int16", "int32", "uint16", "int64"]


@st.composite
def dataset_arrays(draw) -> dict:
    """Mostly contract-shaped arrays with one or two things possibly wrong."""
    n = draw(st.integers(0, 4))
    N = draw(st.sampled_from([64, 64, 64, 128, 32]))
    fault = draw(st.sampled_from(["none"] * 6 + ["missing", "extra", "dtype", "shape", "value", "legacy", "nonfinite"]))
    counts = draw(st.booleans())
    shape = (n, N, N)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    diffraction = rng.poisson(4, shape).astype(draw(st.sampled_from(["int32", "uint16", "int64"]))) if counts \
        else rng.uniform(0, 3, shape).astype(draw(st.sampled_from(["float32", "float64"])))
    arrays = {"diffraction": diffraction, "xcoords": rng.uniform(30, 90, n), "ycoords": rng.uniform(30, 90, n)}
    optional = st.sets(st.sampled_from(["xcoords_start", "ycoords_start", "scan_index", "objectGuess",
                                        "probeGuess", "diff3d"]), max_size=4)
    for key in sorted(draw(optional)):  # sorted: set order follows PYTHONHASHSEED, draws must not
        arrays[key] = {
            "xcoords_start": lambda: arrays["xcoords"].copy(),
            "ycoords_start": lambda: arrays["ycoords"].copy(),
            "scan_index": lambda: np.arange(n, dtype=draw(st.sampled_from(["int64", "float64", "uint8"]))),
            "objectGuess": lambda: np.exp(1j * rng.uniform(0, 1, (N + 8, N + 8))).astype(np.complex64),
            "probeGuess": lambda: rng.uniform(0, 1, draw(st.sampled_from([(N, N), (2, N, N)]))).astype(np.complex64),
            "diff3d": lambda: diffraction.copy(),
        }[key]()
    key = draw(st.sampled_from(sorted(arrays)))
    if fault == "missing":
        del arrays[key]
    elif fault == "extra":
        arrays[draw(st.sampled_from(["notes", "positions", "diffraction_raw"]))] = rng.uniform(0, 1, (3, 2))
    elif fault == "dtype":
        arrays[key] = np.zeros(arrays[key].shape, draw(st.sampled_from(ODD_DTYPES)))
    elif fault == "shape":
        arrays[key] = np.zeros(draw(st.sampled_from([(0,), (n + 1,), (n, 2), (0, 0), (0, N, N), (N, N), (1, 1, 1, 1)])))
    elif fault == "legacy":
        arrays["diffraction"] = np.moveaxis(diffraction, 0, 2)
    elif fault in ("value", "nonfinite"):
        bad = draw(st.sampled_from([np.nan, np.inf, -1.0, 2.5, 1e7, 1e39, 1e300, -1e300] if fault == "value"
                                   else [np.nan, np.inf, -np.inf]))
        target = arrays[key]
        if target.size:
            target = target.astype(np.complex128 if target.dtype.kind == "c" else np.float64)
            target.flat[draw(st.integers(0, target.size - 1))] = bad
            arrays[key] = target
    return arrays


def _valid_file(arrays: dict, compression) -> bytes:
    return zip_bytes({f"{k}.npy": npy_bytes(v) for k, v in arrays.items()}, compression)


@st.composite
def structured_case(draw) -> Case:
    arrays = draw(dataset_arrays())
    compression = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    return Case("structured", _valid_file(arrays, compression), expected_diffraction(arrays))


def _intact(draw) -> tuple[bytes, np.ndarray]:
    """A valid file and its expected amplitudes (the oracle must agree it is valid)."""
    arrays = None
    while arrays is None or expected_diffraction(arrays) is None:
        n = draw(st.integers(1, 3))
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        arrays = {"diffraction": rng.uniform(0, 2, (n, 64, 64)).astype(np.float32),
                  "xcoords": rng.uniform(30, 90, n), "ycoords": rng.uniform(30, 90, n)}
    compression = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    return _valid_file(arrays, compression), expected_diffraction(arrays)


@st.composite
def damaged_case(draw) -> Case:
    data, expected = _intact(draw)
    how = draw(st.sampled_from(["flip", "flip", "overwrite", "truncate", "insert", "method"]))
    if how == "truncate":
        return Case("truncated", data[: draw(st.integers(0, len(data) - 1))], None)
    if how == "method":
        return Case("compression method", set_compression_method(data, draw(st.sampled_from([1, 6, 12, 14, 93, 99]))),
                    None)
    out = bytearray(data)
    at = draw(st.integers(0, len(out) - 1))
    if how == "flip":
        out[at] ^= 1 << draw(st.integers(0, 7))
    elif how == "overwrite":
        chunk = draw(st.binary(min_size=1, max_size=16))
        out[at : at + len(chunk)] = chunk
    else:
        out[at:at] = draw(st.binary(min_size=1, max_size=8))
    return Case(f"damaged ({how})", bytes(out), expected, damaged=bytes(out) != data)


HEADER_TEXTS = [
    "{'descr': '<f8', 'fortran_order': False, 'shape': (5,",  # truncated: tokenize.TokenError before
    "{'descr': '<f8', 'fortran_order': False}",
    "{'descr': 'not a dtype', 'fortran_order': False, 'shape': (5,), }",
    "{'descr': '<f8', 'fortran_order': 'yes', 'shape': (5,), }",
    "{'descr': '<f8', 'fortran_order': False, 'shape': (5.5,), }",
    "[1, 2, 3]",
    "__import__('os').system('true')",
    "",
]


@st.composite
def hostile_case(draw) -> Case:
    kind = draw(st.sampled_from(["huge shape", "bad header", "object dtype", "bomb", "not a zip", "lying size",
                                 "odd member", "empty", "header length bomb", "ratio bomb"]))
    if kind == "huge shape":
        shape = draw(st.sampled_from([(4_000_000_000,), (2**40, 64, 64), (2**62,), (3, 2**31, 2**31)]))
        member = draw(st.sampled_from(["diffraction", "xcoords", "probeGuess", "other"]))
        data = zip_bytes({f"{member}.npy": npy_header(shape, draw(st.sampled_from(["<f8", "<f4", "|u1"]))) + bytes(64)})
    elif kind == "bad header":
        text = draw(st.sampled_from(HEADER_TEXTS) | st.text(st.characters(max_codepoint=255), max_size=60))
        header = raw_npy_header(text)
        if draw(st.booleans()):
            header = header[: draw(st.integers(0, len(header)))]
        data = zip_bytes({"xcoords.npy": header, "ycoords.npy": npy_bytes(np.zeros(5))})
    elif kind == "object dtype":
        data = zip_bytes({"diffraction.npy": npy_header((2,), "|O") + b"\x80\x04\x95junk"})
    elif kind == "bomb":
        data = bombs()[draw(st.integers(0, 1))]
    elif kind == "header length bomb":  # issue 25: numpy read every declared header byte before its size check
        data = bombs()[2]
    elif kind == "ratio bomb":  # issue 25: valid zero patterns deflated past the 100:1 ceiling
        data = bombs()[3]
    elif kind == "not a zip":
        data = draw(st.sampled_from([b"", b"\x1f\x8b\x08\x00" + bytes(20), npy_bytes(np.zeros((2, 64, 64))),
                                     b"xcoords,ycoords\n1,2\n", b"\x80\x04\x95pickle"]) | st.binary(max_size=64))
    elif kind == "lying size":
        shape = draw(st.sampled_from([(5,), (1, 64, 64), (0,)]))
        declared = int(np.prod(shape)) * 8
        payload = bytes(max(0, declared + draw(st.sampled_from([-8, 8, 1, -1]))))
        data = zip_bytes({"xcoords.npy": npy_header(shape) + payload})
    elif kind == "odd member":
        data = zip_bytes({"xcoords.npy": npy_bytes(np.zeros(1)), draw(st.sampled_from(["README", "a/", "x.txt"])): b"hi"})
    else:
        data = zip_bytes({})
    return Case(kind, data, None)


@functools.cache
def bombs() -> tuple[bytes, ...]:
    """Deflate bombs (up to about 1 MB each on disk): two whose declared shapes the contract refuses from
    their headers, a header declaring 1 GiB of header, and a valid dataset of zeros over the inflate ratio."""
    n = 1024  # 16 MiB of zero patterns: valid data that deflates about 1000:1
    zeros = npz_bytes({"diffraction": np.zeros((n, 64, 64), np.float32), "xcoords": np.arange(n, dtype=float),
                       "ycoords": np.zeros(n)}, zipfile.ZIP_DEFLATED)
    return (
        deflate_bomb("diffraction", (4096, 256, 256)),  # 1 GiB of zeros, no coordinates
        deflate_bomb("xcoords", (2**28,)),  # 2 GiB of coordinates, no diffraction
        header_length_bomb("diffraction", 2**30),
        zeros,
    )

CASES = st.one_of(structured_case(), structured_case(), structured_case(), damaged_case(), hostile_case())


# --- the campaign -------------------------------------------------------------------------------------


def check_case(path, case: Case, tally: Counter) -> None:
    path.write_bytes(case.data)
    try:
        dataset = read_npz(path)
    except DataContractError as exc:
        assert str(exc).startswith(f"{path}: "), f"{case.kind}: message does not name the file: {exc}"
        assert "Traceback" not in str(exc)
        if "pickled objects" in str(exc):
            assert case.kind == "object dtype", f"{case.kind}: called pickled without an object dtype: {exc}"
        if case.kind == "ratio bomb":
            assert "PTYCHO_MAX_NPZ_RATIO" in str(exc), f"the ratio refusal does not say how to raise it: {exc}"
        assert not (case.expected is not None and not case.damaged), f"valid {case.kind} file refused: {exc}"
        tally[f"{case.kind}: refused"] += 1
        return
    assert case.expected is not None, f"invalid {case.kind} file accepted silently: {path}"
    np.testing.assert_array_equal(dataset.diffraction, case.expected, err_msg=case.kind)
    assert dataset.diffraction.dtype == np.float32 and np.all(np.isfinite(dataset.xcoords))
    tally[f"{case.kind}: loaded"] += 1


def campaign(tmp_path_factory, examples: int) -> Counter:
    folder = tmp_path_factory.mktemp("fuzz")
    tally: Counter = Counter()
    counter = itertools.count()

    @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=CASES)
    def run(case):
        check_case(folder / f"case{next(counter) % 8}.npz", case, tally)

    run()
    print(f"NPZ fuzz campaign: {sum(tally.values())} files", dict(sorted(tally.items())))
    return tally


def test_fuzz_smoke(tmp_path_factory):
    tally = campaign(tmp_path_factory, 100)
    assert sum(tally.values()) >= 100
    assert tally["structured: loaded"] >= 10 and tally["structured: refused"] >= 10  # the oracle was exercised


@pytest.mark.nightly
@pytest.mark.promote_on("ptycho/data_contract.py", "ptycho/npz_reader.py", "tests/unit/test_npz_fuzz.py")
def test_fuzz_campaign(tmp_path_factory):
    tally = campaign(tmp_path_factory, 4000)
    assert sum(tally.values()) >= 3600  # hypothesis may stop short of max_examples only on exhausting a strategy
    kinds = {key.split(":")[0] for key in tally}
    assert {"structured", "truncated", "huge shape", "bad header", "bomb", "not a zip", "lying size",
            "header length bomb", "ratio bomb"} <= kinds
    assert tally["structured: loaded"] >= 300 and tally["structured: refused"] >= 300


# --- the command line on damaged files ----------------------------------------------------------------

DAMAGED_FOR_INSPECT = {
    "truncated.npz": npz_bytes({"xcoords": np.zeros(3), "ycoords": np.zeros(3)})[:100],
    "huge.npz": zip_bytes({"diffraction.npy": npy_header((4_000_000_000,)) + bytes(8)}),
    "header.npz": zip_bytes({"xcoords.npy": raw_npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': (5,")}),
    "method.npz": set_compression_method(npz_bytes({"xcoords": np.zeros(3)}), 99),
    "overflow.npz": npz_bytes({"diffraction": np.full((2, 64, 64), 1e39), "xcoords": np.zeros(2), "ycoords": np.zeros(2)}),
}


def test_inspect_reports_damaged_datasets_without_traceback(tmp_path):
    for name, data in DAMAGED_FOR_INSPECT.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = run_ptycho("inspect", str(path), check=False)
        assert result.returncode == 1, f"{name}: exit {result.returncode}\n{result.stderr}"
        assert "Traceback" not in result.stderr and str(path) in result.stderr, f"{name}:\n{result.stderr}"


DAMAGED_RECONSTRUCTIONS = {
    **DAMAGED_FOR_INSPECT,
    "no-object.npz": npz_bytes({"positions": np.zeros((3, 2))}),
    "object-1d.npz": npz_bytes({"object": np.ones(8, np.complex64)}),
    "object-text.npz": npz_bytes({"object": np.array([["a", "b"]])}),
    "positions-3d.npz": npz_bytes({"object": np.ones((8, 8), np.complex64), "positions": np.zeros((2, 2, 2))}),
    "object-nan.npz": npz_bytes({"object": np.full((8, 8), np.nan, np.complex64)}),
    "bomb.npz": deflate_bomb("object", (2**14, 2**13), "<c8"),  # 1 GiB declared in about 1 MB
}


def test_evaluate_refuses_damaged_reconstructions_without_traceback(tmp_path):
    """The outside campaign: ``ptycho evaluate`` printed tracebacks on 241 of 6,216 damaged inputs
    (BadZipFile, EOFError, TypeError) and its unbounded reader let a 1 MB file cost 1.1 GB."""
    truth = tmp_path / "truth.npz"
    truth.write_bytes(npz_bytes({"diffraction": np.ones((2, 64, 64), np.float32), "xcoords": np.zeros(2),
                                 "ycoords": np.zeros(2), "objectGuess": np.ones((8, 8), np.complex64)}))
    good = tmp_path / "reconstruction.npz"
    good.write_bytes(npz_bytes({"object": np.ones((8, 8), np.complex64), "positions": np.full((2, 2), 4.0)}))
    assert run_ptycho("evaluate", "--reconstruction", str(good), "--truth", str(truth), check=False).returncode == 0
    for name, data in DAMAGED_RECONSTRUCTIONS.items():
        path = tmp_path / name
        path.write_bytes(data)
        for args in (["--reconstruction", path, "--truth", truth], ["--reconstruction", good, "--truth", path]):
            result = run_ptycho("evaluate", *map(str, args), check=False)
            assert result.returncode in (1, 2), f"{name} {args}: exit {result.returncode}\n{result.stderr}"
            assert "Traceback" not in result.stderr, f"{name}:\n{result.stderr}"
            assert str(path) in result.stderr or result.returncode == 2, f"{name} {args}:\n{result.stderr}"
