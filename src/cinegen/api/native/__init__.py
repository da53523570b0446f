"""cinegen's own routes, in neither dialect: the task as it is stored with its live event
stream (``tasks``, ``/v1/tasks``), sharing and review (``sharing``), the admin's switch and
audit log (``admin``) and provenance checks (``verify``)."""
