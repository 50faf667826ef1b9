"""Sub-commands of main.py, one module per area. Each module has
`register(commands, bench)` adding its sub-parsers; each parser sets
`handler=fn(args) -> int`. `dispatch.cli` wires them."""
