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
