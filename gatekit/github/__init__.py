"""gatekit on GitHub: the Actions step (``check --ci``), workflow commands, the job
summary and step outputs, commit statuses and check runs through the REST API."""
