"""The tables, one module per concept; import any of them from here. Ids are prefixed random
strings (``task_…``) so that a log line says what an id names; times are timezone-aware UTC.

A *task* is one request (one ``GenerationSpec``); it holds ``n_variants`` *generations*, one
set of files each. Every state change of a task also writes a ``TaskEvent`` row, so progress
streams and audits read one table.

| concept | tables | module |
|---|---|---|
| what every table shares | ``Base``, ``new_id``, ``utcnow`` | ``base.py`` |
| who calls | ``Account``, ``ApiKey``, ``StudioSession``, ``SignInLink`` | ``accounts.py`` |
| requests, their files | ``Task``, ``Generation``, ``TaskEvent``; ``TASK_MOVES`` | ``tasks.py`` |
| what an account brings | ``Upload``, ``Character`` | ``uploads.py`` |
| the operator's side | ``Suspension``, ``AuditEvent`` | ``admin.py`` |
| sharing | ``Share`` | ``shares.py`` |
| webhooks | ``WebhookEndpoint``, ``WebhookDelivery``, ``WebhookUrlApproval`` | ``webhooks.py`` |
| Files and Batch APIs | ``StoredFile``, ``Batch``, ``BatchRequest`` | ``batches.py`` |
| running workers | ``WorkerRow`` | ``workers.py`` |

Trap: importing this package registers every table on ``Base.metadata``, which Alembic's
``env.py`` and the migration test compare against; a new table module must be imported here.
"""

from cinegen.store.models.accounts import Account, ApiKey, Role, SignInLink, StudioSession
from cinegen.store.models.admin import AuditEvent, Suspension
from cinegen.store.models.base import Base, UtcDateTime, new_id, utcnow
from cinegen.store.models.batches import Batch, BatchRequest, BatchState, StoredFile
from cinegen.store.models.shares import Share, ShareState
from cinegen.store.models.tasks import TASK_MOVES, Generation, Task, TaskEvent, TaskState
from cinegen.store.models.uploads import Character, Upload
from cinegen.store.models.webhooks import (
    DeliveryState,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookUrlApproval,
)
from cinegen.store.models.workers import WorkerRow

__all__ = [
    "TASK_MOVES",
    "Account",
    "ApiKey",
    "AuditEvent",
    "Base",
    "Batch",
    "BatchRequest",
    "BatchState",
    "Character",
    "DeliveryState",
    "Generation",
    "Role",
    "Share",
    "ShareState",
    "SignInLink",
    "StoredFile",
    "StudioSession",
    "Suspension",
    "Task",
    "TaskEvent",
    "TaskState",
    "Upload",
    "UtcDateTime",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookUrlApproval",
    "WorkerRow",
    "new_id",
    "utcnow",
]
