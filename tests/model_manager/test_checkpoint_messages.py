"""What a refused checkpoint's message says: pickled objects only when the file names a global that exists."""

import io
import os

import pytest

from ptycho.checkpoint_file import load_lightning_checkpoint
from ptycho.errors import ArchiveError

pytestmark = [pytest.mark.per_pr, pytest.mark.torch]


def _legacy_bytes(obj) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer, _use_new_zipfile_serialization=False)  # one plain pickle stream: easy to damage
    return buffer.getvalue()


def test_a_flipped_byte_in_a_global_name_is_damage_not_a_pickled_object(tmp_path):
    """The nightly checkpoint fuzz campaign found it: one flipped byte turned ``torch._utils`` into
    ``uorch._utils`` and the message claimed pickled objects."""
    import torch

    data = _legacy_bytes({"state_dict": {"w": torch.zeros(2)}})
    assert data.count(b"torch._utils") >= 1
    path = tmp_path / "last.bin"  # not .ckpt: the harness validates every .ckpt a test leaves
    path.write_bytes(data.replace(b"torch._utils", b"uorch._utils"))
    with pytest.raises(ArchiveError) as refused:
        load_lightning_checkpoint(path)
    message = str(refused.value)
    assert str(path) in message and "damaged" in message and "pickled objects" not in message, message


class Payload:
    """Only a full unpickle builds it (harmless even then: it asks for the working directory)."""

    def __reduce__(self):
        return (os.getcwd, ())


def test_a_real_global_is_called_a_pickled_object(tmp_path):
    path = tmp_path / "last.bin"  # not .ckpt: the harness validates every .ckpt a test leaves
    path.write_bytes(_legacy_bytes({"state_dict": Payload()}))
    with pytest.raises(ArchiveError) as refused:
        load_lightning_checkpoint(path)
    assert "holds pickled objects" in str(refused.value), str(refused.value)


def test_an_exec_payload_is_called_a_pickled_object_not_damage(tmp_path):
    """The outside campaign: ``GLOBAL exec`` was described as damage (``exec`` is a builtin, not a package)."""

    class Exec:
        def __reduce__(self):
            return (exec, ("pass",))

    path = tmp_path / "last.bin"
    path.write_bytes(_legacy_bytes({"state_dict": Exec()}))
    with pytest.raises(ArchiveError, match="holds pickled objects"):
        load_lightning_checkpoint(path)


def _checkpoint(weights) -> dict:
    configs = {k: {"x": 1} for k in ("model_config", "data_config", "training_config", "inference_config")}
    return {"hyper_parameters": configs, "state_dict": weights, "pytorch-lightning_version": "2.5"}


def _saved(tmp_path, weights, name="last.bin"):
    import torch

    path = tmp_path / name  # not .ckpt: the harness validates every .ckpt a test leaves
    torch.save(_checkpoint(weights), path)
    return path


def test_a_zeroed_run_inside_a_tensor_record_is_refused_by_its_crc(tmp_path):
    """Before: torch's zip reader checks no CRC; 173 of 226 checkpoints with a zeroed 512-byte run inside a
    tensor record loaded with changed weights and ``ptycho inspect`` called them valid."""
    import torch

    weights = torch.arange(1, 4097, dtype=torch.float32)
    path = _saved(tmp_path, {"w": weights})
    assert load_lightning_checkpoint(path)["state_dict"]["w"].equal(weights)  # the intact file loads
    data = bytearray(path.read_bytes())
    start = bytes(data).find(weights.numpy().tobytes()[:64]) + 1024  # inside the tensor's record
    data[start : start + 512] = bytes(512)
    path.write_bytes(bytes(data))
    assert torch.load(path, weights_only=True)["state_dict"]["w"].sum() != weights.sum()  # torch alone accepts it
    with pytest.raises(ArchiveError, match=r"record .*data/0 fails its CRC-32 check"):
        load_lightning_checkpoint(path)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused(tmp_path, bad):
    import torch

    path = _saved(tmp_path, {"ok": torch.ones(3), "w": torch.tensor([1.0, bad])})
    with pytest.raises(ArchiveError, match=r"weights w hold NaN or Inf"):
        load_lightning_checkpoint(path)


def test_a_compressed_record_claiming_a_gigabyte_is_refused_before_reading(tmp_path):
    """Before: a 1 MB ``.ckpt`` with one deflated 1 GiB record used 1.9 GB and ran past 90 s."""
    import zipfile

    from ptycho.testing.npz_files import zero_run_member

    path = tmp_path / "bomb.bin"
    path.write_bytes(zero_run_member("archive/data/0", b"", 2**30))
    assert zipfile.is_zipfile(path) and path.stat().st_size < 2 * 2**20
    with pytest.raises(ArchiveError, match=r"decompression bomb"):
        load_lightning_checkpoint(path)
