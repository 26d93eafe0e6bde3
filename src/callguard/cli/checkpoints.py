"""``serve``'s checkpoint options: signed checkpoints written while the service runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from .._i18n import _
from ._common import say, user_errors

__all__ = ["checkpoint_options", "checkpoint_scheduler"]


def checkpoint_options(f: Any) -> Any:
    """``--signing-key``, ``--checkpoint-dir``, ``--checkpoint-every`` (serve)."""
    f = click.option("--checkpoint-every", default=60.0, show_default=True, metavar="MINUTES",
                     type=click.FloatRange(min=0, min_open=True),
                     help="Minutes between checkpoints.")(f)  # fmt: skip
    f = click.option("--checkpoint-dir", default=None, metavar="DIR",
                     type=click.Path(file_okay=False),
                     help="Write signed checkpoints here while serving.")(f)  # fmt: skip
    return click.option(
        "--signing-key",
        default=None,
        metavar="FILE",
        type=click.Path(exists=True, dir_okay=False),
        help="The key that signs the checkpoints (with --checkpoint-dir).",
    )(f)


def checkpoint_scheduler(
    location: str, signing_key: str | None, checkpoint_dir: str | None, every: float
) -> Any:
    """The scheduler of ``serve``'s checkpoints, or None when none are asked for."""
    if (signing_key is None) != (checkpoint_dir is None):
        raise click.UsageError(
            say(
                _(
                    "{first} and {second} go together",
                    first="--signing-key",
                    second="--checkpoint-dir",
                )
            )
        )
    if signing_key is None or checkpoint_dir is None:
        return None
    from .._checkpoint_scheduler import CheckpointScheduler

    with user_errors():
        return CheckpointScheduler(
            location, signing_key, checkpoint_dir, every=timedelta(minutes=every)
        )
