"""The jobs package: the outbox (jobs asked for inside a transaction, sent after commit), job runs (claim,
heartbeat, attempts), the registry of task names and job kinds, the worker's start-up hooks."""
