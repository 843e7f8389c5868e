from gatekit.cli import entry

entry()
