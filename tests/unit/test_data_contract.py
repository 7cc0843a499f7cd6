"""The NPZ data contract (docs/design.md §3): FORMAT-001, counts, every error message, and a fuzz of the loader."""

import logging
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptycho.data_contract import read_npz, write_npz
from ptycho.errors import DataContractError
from ptycho.raw_data import RawData
from ptycho.testing.npz_files import npy_header, npz_bytes, raw_npy_header, set_compression_method, zip_bytes

N = 64


def arrays(n=5, **overrides):
    rng = np.random.default_rng(0)
    base = {"diffraction": rng.uniform(0, 3, (n, N, N)).astype(np.float32),
            "xcoords": np.linspace(40, 60, n), "ycoords": np.linspace(40, 50, n)}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def save(tmp_path, data, name="d.npz"):
    path = tmp_path / name
    np.savez(path, **data)
    return path


def test_canonical_layout_is_kept(tmp_path):
    data = arrays()
    ds = read_npz(save(tmp_path, data))
    np.testing.assert_array_equal(ds.diffraction, data["diffraction"])
    assert ds.N == N and len(ds) == 5


def test_legacy_hwn_layout_with_more_patterns_than_pixels_is_transposed(tmp_path, caplog):
    n = 80  # n > H: the legacy layout is unambiguous
    canonical = np.random.default_rng(1).uniform(0, 1, (n, N, N)).astype(np.float32)
    data = arrays(n, diffraction=np.transpose(canonical, (1, 2, 0)))
    with caplog.at_level(logging.INFO):
        ds = read_npz(save(tmp_path, data))
    np.testing.assert_array_equal(ds.diffraction, canonical)
    assert "legacy (H, W, n) layout" in caplog.text and "FORMAT-001" in caplog.text


def test_legacy_layout_with_few_patterns_is_transposed(tmp_path):
    canonical = np.random.default_rng(2).uniform(0, 1, (5, N, N)).astype(np.float32)
    ds = read_npz(save(tmp_path, arrays(5, diffraction=np.transpose(canonical, (1, 2, 0)))))
    np.testing.assert_array_equal(ds.diffraction, canonical)


def test_ambiguous_cube_is_kept_canonical(tmp_path):
    cube = np.random.default_rng(3).uniform(0, 1, (N, N, N)).astype(np.float32)
    ds = read_npz(save(tmp_path, arrays(N, diffraction=cube)))
    np.testing.assert_array_equal(ds.diffraction, cube)


def test_diff3d_key_and_integer_counts(tmp_path, caplog):
    counts = np.random.default_rng(4).poisson(9, (5, N, N)).astype(np.int32)
    data = arrays(diffraction=None, diff3d=counts)
    with caplog.at_level(logging.INFO):
        ds = read_npz(save(tmp_path, data))
    np.testing.assert_allclose(ds.diffraction, np.sqrt(counts), rtol=1e-6)
    assert "treated as photon counts and square-rooted" in caplog.text


def test_multimode_probe_and_object_guess(tmp_path):
    probe = np.ones((2, N, N), np.complex64)
    ds = read_npz(save(tmp_path, arrays(probeGuess=probe, objectGuess=np.ones((100, 100), np.complex64))))
    assert ds.probeGuess.shape == (2, N, N) and ds.objectGuess.shape == (100, 100)


ERRORS = {
    "missing xcoords": (dict(xcoords=None), r"missing required key 'xcoords'"),
    "missing diffraction": (dict(diffraction=None), r"expected key 'diffraction' \(or legacy 'diff3d'\)"),
    "length mismatch": (dict(ycoords=np.zeros(4)), r"'xcoords' has 5 entries but 'ycoords' has 4"),
    "nan coords": (dict(xcoords=np.array([1, 2, np.nan, 4, 5.0])), r"'xcoords' contains NaN or Inf"),
    "nan diffraction": (dict(diffraction=np.full((5, N, N), np.nan, np.float32)), r"diffraction contains NaN"),
    "negative counts": (dict(diffraction=-np.ones((5, N, N), np.int16)), r"photon counts must be >= 0, found minimum -1"),
    "negative amplitude": (dict(diffraction=-np.ones((5, N, N))), r"amplitudes must be >= 0"),
    "non-square": (dict(diffraction=np.ones((5, N, 32))), r"patterns must be square, found 64×32"),
    "unsupported N": (dict(diffraction=np.ones((5, 32, 32))), r"pattern size N=32 is not supported; use one of \(64, 128, 256\)"),
    "wrong count": (dict(diffraction=np.ones((6, N, N))), r"does not have n=5 patterns"),
    "2-D diffraction": (dict(diffraction=np.ones((N, N))), r"diffraction must be 3-D \(n, N, N\), found shape \(64, 64\)"),
    "complex diffraction": (dict(diffraction=np.ones((5, N, N), complex)), r"found dtype complex128"),
    "bad probe shape": (dict(probeGuess=np.ones((32, 32), complex)), r"'probeGuess' has shape \(32, 32\)"),
    "3-D object": (dict(objectGuess=np.ones((2, 9, 9), complex)), r"'objectGuess' must be a numeric array with 2"),
    "scan_index length": (dict(scan_index=np.zeros(3)), r"'scan_index' has 3 entries but there are 5"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_contract_errors_name_key_found_and_expected(tmp_path, case):
    overrides, message = ERRORS[case]
    path = save(tmp_path, arrays(**overrides))
    with pytest.raises(DataContractError, match=message) as info:
        read_npz(path)
    assert str(path) in str(info.value)


# Finding 2 of issue 16: values finite in float64 but not in the float32/complex64 they are kept or
# trained in passed the contract and became inf. Each of these was accepted before the value pass moved
# after the cast and gained sane ranges.
AFTER_CAST = {
    "amplitude beyond float32": (dict(diffraction=np.full((5, N, N), 1e39)), r"diffraction contains NaN or Inf values as float32 \(values beyond"),
    "absurd amplitude": (dict(diffraction=np.full((5, N, N), 3e30)), r"diffraction reaches magnitude 3e\+30, beyond the sane limit 1e\+06"),
    "coordinates of 1e300": (dict(xcoords=np.full(5, 1e300)), r"'xcoords' reaches magnitude 1e\+300, beyond the sane limit"),
    "start coordinates": (dict(ycoords_start=np.array([0, 1, 2, 3, -1e12])), r"'ycoords_start' reaches magnitude 1e\+12"),
    "probe scaled by 1e200": (dict(probeGuess=np.ones((N, N), complex) * 1e200), r"'probeGuess' reaches magnitude 1e\+200"),
    "object beyond range": (dict(objectGuess=np.full((80, 80), 1e9 + 0j)), r"'objectGuess' reaches magnitude 1e\+09"),
    "fractional scan_index": (dict(scan_index=np.array([0, 1, 2.5, 3, 4])), r"'scan_index' must hold whole numbers >= 0, found 2.5"),
    "negative scan_index": (dict(scan_index=np.array([0, 1, -2, 3, 4])), r"'scan_index' must hold whole numbers >= 0, found -2"),
    "huge scan_index": (dict(scan_index=np.full(5, 2**40)), r"'scan_index' reaches magnitude 1.09951e\+12"),
    "empty objectGuess": (dict(objectGuess=np.zeros((0, 0), complex)), r"'objectGuess' is empty \(shape \(0, 0\)\)"),
    "probe with no modes": (dict(probeGuess=np.zeros((0, N, N), complex)), r"'probeGuess' is empty \(shape \(0, 64, 64\)\)"),
    "timedelta coords": (dict(xcoords=np.arange(5).astype("timedelta64[s]")), r"'xcoords' must be a 1-D real array, found shape \(5,\) dtype timedelta64\[s\] \(time spans, not numbers\)"),
    "datetime coords": (dict(ycoords=np.arange(5).astype("datetime64[D]")), r"'ycoords' .* dtype datetime64\[D\] \(dates, not numbers\)"),
    "timedelta diffraction": (dict(diffraction=np.ones((5, N, N), "timedelta64[ns]")), r"diffraction must be real amplitudes .* dtype timedelta64\[ns\] \(time spans"),
    "bool diffraction": (dict(diffraction=np.ones((5, N, N), bool)), r"diffraction must be real .* dtype bool \(booleans, not numbers\)"),
    "bool scan_index": (dict(scan_index=np.ones(5, bool)), r"'scan_index' must be a 1-D real array, .* dtype bool"),
    "text coords": (dict(xcoords=np.array(list("abcde"))), r"'xcoords' must be .* dtype <U1 \(text, not numbers\)"),
    "bytes probe": (dict(probeGuess=np.full((N, N), b"x")), r"'probeGuess' must be a numeric array .* dtype \|S1 \(bytes, not numbers\)"),
    "timedelta object": (dict(objectGuess=np.ones((80, 80), "timedelta64[s]")), r"'objectGuess' must be a numeric array .* timedelta64"),
}


@pytest.mark.parametrize("case", sorted(AFTER_CAST))
def test_values_are_checked_after_the_cast_within_sane_ranges(tmp_path, case):
    overrides, message = AFTER_CAST[case]
    path = save(tmp_path, arrays(**overrides))
    with pytest.raises(DataContractError, match=message) as info:
        read_npz(path)
    assert str(info.value).startswith(f"{path}: ")


def test_largest_sane_values_still_load(tmp_path):
    counts = np.full((5, N, N), 2**32 - 1, np.uint32)  # a saturated 32-bit detector counter
    ds = read_npz(save(tmp_path, arrays(diffraction=counts, xcoords=np.full(5, -9.9e5), scan_index=np.arange(5.0),
                                        probeGuess=np.full((N, N), 9e5 + 0j), objectGuess=np.ones((1, 1)))))
    assert np.all(np.isfinite(ds.diffraction)) and ds.diffraction.max() == np.float32(65536)
    assert ds.scan_index.dtype == np.int64 and list(ds.scan_index) == [0, 1, 2, 3, 4]
    assert np.all(np.isfinite((ds.diffraction.astype(np.float32) ** 2).sum(axis=(1, 2))))


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset not found: .*nothing.npz"):
        read_npz(tmp_path / "nothing.npz")


def test_pickled_object_array_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, diffraction=np.array([{"a": 1}], dtype=object), xcoords=np.zeros(1), ycoords=np.zeros(1))
    with pytest.raises(DataContractError, match="holds pickled objects, which are refused"):
        read_npz(path)


def test_raw_pickle_file_is_refused(tmp_path):
    path = tmp_path / "raw.npz"
    path.write_bytes(pickle.dumps({"diffraction": 1}))
    with pytest.raises(DataContractError, match=r"is not an NPZ file \(not a zip archive\)"):
        read_npz(path)


def test_npy_and_garbage_files_are_refused(tmp_path):
    npy = tmp_path / "a.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(DataContractError, match=r"holds a single .npy array of shape \(3,\)"):
        read_npz(npy)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataContractError, match="is a damaged zip archive"):
        read_npz(junk)


# Finding 3 of issue 16: these escaped read_npz as MemoryError, tokenize.TokenError and a NotImplementedError
# without the file name; truncated payloads and bad headers were called "pickled objects".
VALID = npz_bytes(arrays())
DAMAGED = {
    "shape (4000000000,)": (zip_bytes({"diffraction.npy": npy_header((4_000_000_000,)) + bytes(8)}),
                            r"declares shape \(4000000000,\) float64 = 29.80 GiB, above the 8.00 GiB limit .* PTYCHO_MAX_NPZ_BYTES"),
    "truncated header text": (zip_bytes({"xcoords.npy": raw_npy_header("{'descr': '<f8', 'fortran_order': False, 'shape': (5,")}),
                              r"member 'xcoords.npy' has a damaged .npy header"),
    "unknown compression": (set_compression_method(VALID, 99), r"member 'diffraction.npy' uses zip compression method 99"),
    "truncated payload": (zip_bytes({"xcoords.npy": npy_header((5,)) + bytes(20)}), r"declares shape \(5,\) float64 \(40 bytes\) but the zip lists 20"),
    "truncated file": (VALID[: len(VALID) // 2], "is a damaged zip archive"),
    "text file": (b"diffraction,xcoords\n1,2\n", r"is not an NPZ file \(not a zip archive\)"),
    "gzip file": (b"\x1f\x8b\x08\x00" + bytes(30), "is a gzip file"),
    "empty file": (b"", r"is empty \(0 bytes\)"),
    "empty archive": (zip_bytes({}), "is an empty NPZ archive"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_damaged_files_give_one_named_contract_error(tmp_path, case):
    data, message = DAMAGED[case]
    path = tmp_path / "damaged.npz"
    path.write_bytes(data)
    with pytest.raises(DataContractError, match=message) as info:
        read_npz(path)
    assert str(info.value).startswith(f"{path}: ") and "pickle" not in str(info.value)


def test_write_npz_is_atomic_and_round_trips(tmp_path):
    path = write_npz(tmp_path / "sub" / "x.npz", arrays())
    assert read_npz(path).diffraction.shape == (5, N, N)
    assert [p.name for p in path.parent.iterdir()] == ["x.npz"]


def test_failed_write_leaves_previous_file_untouched(tmp_path):
    path = write_npz(tmp_path / "x.npz", arrays())
    before = path.read_bytes()
    with pytest.raises(TypeError):
        write_npz(path, {"diffraction": np.zeros(2), "bad": object.__new__(type("Unsaveable", (), {
            "__array__": lambda self, *a, **k: (_ for _ in ()).throw(TypeError("cannot save"))}))})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]


def test_from_coords_without_pc_uses_the_same_checks():
    with pytest.raises(DataContractError, match="'xcoords' has 5 entries but 'ycoords' has 2"):
        RawData.from_coords_without_pc(np.zeros(5), np.zeros(2), np.ones((5, N, N)), np.ones((N, N)), np.zeros(5))
    counts = np.full((N, N, 3), 4, np.int64)  # ptychodus hands integer counts in legacy layout
    raw = RawData.from_coords_without_pc(np.arange(3.0), np.arange(3.0), counts, np.ones((2, N, N)), np.zeros(3))
    assert raw.diff3d.shape == (3, N, N) and np.allclose(raw.diff3d, 2.0)


KEYS = st.sampled_from(["diffraction", "diff3d", "xcoords", "ycoords", "probeGuess", "objectGuess",
                        "scan_index", "xcoords_start", "other"])
DTYPES = st.sampled_from([np.float32, np.float64, np.int16, np.uint8, np.int64, np.complex64, np.bool_])
SHAPES = st.lists(st.sampled_from([0, 1, 2, 3, 5, 64]), min_size=0, max_size=3).map(tuple)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.dictionaries(KEYS, st.tuples(SHAPES, DTYPES, st.booleans()), min_size=0, max_size=6))
def test_fuzz_loader_raises_only_documented_errors(tmp_path, entries):
    data = {}
    for key, (shape, dtype, poison) in entries.items():
        value = np.ones(shape, dtype=dtype)
        if poison and value.size and np.issubdtype(dtype, np.floating):
            value.flat[0] = np.nan
        data[key] = value
    path = tmp_path / "fuzz.npz"
    with zipfile.ZipFile(path, "w"):
        pass
    np.savez(path, **data) if data else None
    try:
        ds = read_npz(path)
    except DataContractError:
        return
    assert ds.diffraction.ndim == 3 and ds.diffraction.shape[1] == ds.diffraction.shape[2]
    assert np.all(np.isfinite(ds.diffraction)) and len(ds.xcoords) == len(ds)


# The fuzz above accepts any DataContractError, so a reader that refused every file would pass it. Its
# positive control: a contract-valid core (square float patterns, matching coordinates) with any mix of
# optional keys of valid shape and unknown extra keys must load, and keep its patterns and positions.
OPTIONAL = st.fixed_dictionaries({}, optional={
    "probeGuess": st.just(np.ones((N, N), np.complex64)),
    "objectGuess": st.just(np.ones((2 * N, 2 * N), np.complex64)),
    "scan_index": st.just("scan_index"),
    "other": st.sampled_from([np.zeros(3), np.ones((2, 2), np.int16), np.array(["text"])]),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 12), dtype=st.sampled_from([np.float32, np.float64, np.int64, np.uint16]),
       optional=OPTIONAL)
def test_fuzz_loader_accepts_every_valid_core(tmp_path, n, dtype, optional):
    data = arrays(n, diffraction=np.random.default_rng(n).integers(0, 9, (n, N, N)).astype(dtype))
    data["xcoords"], data["ycoords"] = np.linspace(60, 70, n), np.linspace(60, 66, n)
    data.update({k: (np.zeros(n, np.int64) if isinstance(v, str) else v) for k, v in optional.items()})
    ds = read_npz(save(tmp_path, data))
    assert len(ds) == n and ds.N == N
    counts = np.issubdtype(dtype, np.integer)  # integer patterns are photon counts: amplitudes are their roots
    want = np.sqrt(data["diffraction"].astype(np.float64)) if counts else data["diffraction"]
    np.testing.assert_allclose(ds.diffraction, want, rtol=1e-6)
    np.testing.assert_allclose(ds.xcoords, data["xcoords"])
