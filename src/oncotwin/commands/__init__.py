"""The ``oncotwin`` subcommands, one module each with ``main(comm, args) -> int`` (the cli layer).

``oncotwin.cli`` parses the arguments and imports only the module of the command given, so a command
loads only its own stack (``oncotwin report`` needs neither DOLFINx nor the case schema).
"""
