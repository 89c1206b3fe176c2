"""Imports from the optional extras of ``pyproject.toml``: the platform runs without them.

``train`` (scikit-learn) serves ``ggzy monitoring scan --train`` and ``ggzy monitoring
evaluate``; nothing else in the platform loads it.  Such an import is written inside the
function that needs it, under :func:`needs`, so a missing extra is a :class:`MissingExtra`
naming the extra to install, raised when the feature is used::

    with extras.needs("train", "the trained calibration"):
        from sklearn.ensemble import RandomForestClassifier
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

#: extra -> (distribution it installs, top-level module of that distribution)
EXTRAS = {"train": ("scikit-learn", "sklearn")}


class MissingExtra(ImportError):
    """An optional feature was used without its extra installed."""

    def __init__(self, extra: str, feature: str):
        package = EXTRAS[extra][0]
        super().__init__(f"{feature} needs {package}, which is in the '{extra}' extra: "
                         f"pip install 'ggzy[{extra}]'")
        self.extra, self.package, self.feature = extra, package, feature


@contextmanager
def needs(extra: str, feature: str) -> Iterator[None]:
    """Turn the extra's own module missing into :class:`MissingExtra`; other import errors pass."""
    module = EXTRAS[extra][1]
    try:
        yield
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != module:
            raise
        raise MissingExtra(extra, feature) from exc
