"""The write path, above the store: ``Writer`` (writer.py) takes a command's ``Write``,
writes it with whichever others are waiting (group_commit.py), applies the projections
in the same transaction, tells the application's cache, and answers ``Written``.

It knows the store (classledger.store) and the eventsourcing library only; the
projections and the cache are what the bootstrap (system.py) hands it."""

from classledger.writer.write import Write, Written
from classledger.writer.writer import Batch, Cache, Project, Writer

__all__ = ["Batch", "Cache", "Project", "Write", "Writer", "Written"]
