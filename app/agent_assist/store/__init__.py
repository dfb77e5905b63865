"""The storage room: call history in one local SQLite file.

``Database.open()`` opens (creating and migrating) the file under
``paths.database_path()``; ``CallRecorder`` is the event-bus subscriber that
writes each call, final utterance and notable event as it happens. See
``database.py`` for the durability choices and thread rules.
"""

from agent_assist.store.database import CallRecord, Database, SearchHit
from agent_assist.store.migrations import MIGRATIONS, migrate, migration
from agent_assist.store.recorder import CallRecorder

__all__ = ["MIGRATIONS", "CallRecord", "CallRecorder", "Database", "SearchHit", "migrate", "migration"]
