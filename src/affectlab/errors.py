"""One exception family for everything a user can cause, so the CLI can print it as one line."""


class AffectLabError(Exception):
    """Base class: the message says what went wrong and what to do."""


class DataNotFoundError(AffectLabError):
    """A dataset, file or directory is missing or not in the expected layout."""


class DataFormatError(AffectLabError):
    """A file exists but its content cannot be read as the expected format."""


class LabelError(AffectLabError):
    """A raw label is unknown to a scheme or cannot be mapped."""


class ConfigError(AffectLabError):
    """A configuration value is invalid or names something that does not exist."""


class InputError(AffectLabError):
    """Input given at prediction time is unusable (empty text, wrong type)."""
