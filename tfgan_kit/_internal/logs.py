"""The `tfgan_kit` logger, and how callbacks and loaders speak through it."""

import logging

logger = logging.getLogger("tfgan_kit")


def report(message: str, verbose: int, level: int = logging.WARNING) -> None:
    """A callback's message through the `tfgan_kit` logger, unless `verbose` is 0.

    Warnings reach stderr even when the application configured no logging (Python's
    last-resort handler). Information is logged where the application lets the logger
    show it, and printed otherwise, as Keras' own callbacks print their progress.
    """
    if not verbose:
        return
    if level >= logging.WARNING or (logger.isEnabledFor(level) and logger.hasHandlers()):
        logger.log(level, message, stacklevel=2)  # the record names the callback's line
    else:
        print(message)
