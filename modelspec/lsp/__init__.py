"""`modelspec lsp`: a Language Server Protocol server for spec files.

Framework-free like `check`: every answer comes from the checker's Report on the
editor's buffer text. `server.py` is the only module that knows pygls; the
others turn a Report and the text into LSP types (lsprotocol).
"""
