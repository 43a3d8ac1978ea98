"""Multi-user todo API with an MCP server."""

__version__ = "0.1.0"
