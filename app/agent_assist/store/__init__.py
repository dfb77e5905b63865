"""The storage room: call history in one local SQLite file (and, if kept, call audio).

``Database.open()`` opens (creating and migrating) the file under
``paths.database_path()``; ``CallRecorder`` is the event-bus subscriber that
writes each call, final utterance and notable event as it happens.
``CallAudioWriter`` keeps a call's audio as a WAV (``privacy.store_audio``);
``purge_older_than`` enforces ``privacy.retention_days``. See ``database.py``
for the durability choices and thread rules.
"""

from agent_assist.store.audio import CallAudioWriter, audio_dir, audio_path_for, repair_wav
from agent_assist.store.database import CallRecord, Database, SearchHit
from agent_assist.store.migrations import MIGRATIONS, migrate, migration
from agent_assist.store.recorder import CallRecorder
from agent_assist.store.retention import Purged, purge_older_than

__all__ = [
    "MIGRATIONS",
    "CallAudioWriter",
    "CallRecord",
    "CallRecorder",
    "Database",
    "Purged",
    "SearchHit",
    "audio_dir",
    "audio_path_for",
    "migrate",
    "migration",
    "purge_older_than",
    "repair_wav",
]
