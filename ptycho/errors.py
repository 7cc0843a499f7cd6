"""Named exceptions, so callers can catch what a user caused apart from programming errors."""


class PtychoError(Exception):
    """Base class of every error ptychopinn raises on purpose."""


class DataContractError(PtychoError, ValueError):
    """An NPZ file or array does not meet the data contract (docs/design.md §3)."""


class ConfigError(PtychoError, ValueError):
    """A configuration value is invalid, or a workflow started with an incomplete config."""


class ArchiveError(PtychoError, ValueError):
    """A model archive is missing, tampered, unsafe or written by another backend."""


class TrainingDivergedError(PtychoError, RuntimeError):
    """Training produced a non-finite loss or weights; nothing was written."""


class NonFiniteResultError(PtychoError, RuntimeError):
    """A reconstruction or a metric came out NaN or Inf; nothing was written."""
