"""How background work runs: every unit of it is a procrastinate job in the one PostgreSQL.

- `app.py`: the job app, with each feature's tasks registered from its Blueprint;
- `queues.py`: the queue names;
- `context.py`: the one way a task gets its process's `Runtime`;
- `deferral.py`: deferring jobs on the caller's own transaction (the outbox's atomicity);
- `worker.py`: the worker loop and its supervision (restart after a failure, graceful stop);
- `recovery.py`: bringing back the jobs of a killed or stopped worker;
- `maintenance.py`: the periodic system-wide tasks (recovery, spent assertion ids).

Nothing is imported here: a feature's `tasks.py` imports `queues` and `context` without pulling
the job app, which imports every feature's tasks.
"""
