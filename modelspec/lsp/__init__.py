"""`modelspec lsp`: a Language Server Protocol server for spec files (stdio).

Framework-free like `check`: every answer comes from the checker's Report on
the editor's buffer (never the file on disk). `server.py` is the only module
that knows pygls; the others turn a Report and the text into LSP types.

Features: diagnostics (`check`'s, same lines and columns, code MSxxx) on open
and after each change (debounced, MODELSPEC_LSP_DEBOUNCE_MS, default 120);
hover on a layer (input and output shapes, parameters, weight shapes), inlay
hints (`-> (12, 12, 64)  102,464 params`), the totals on `[model]` (code lens
and hover); completion, go to definition, quick fixes.

Settings, as initializationOptions, `workspace/didChangeConfiguration` or the
client's answer to `workspace/configuration` for the section "modelspec":
`{"strict": true}` (warnings are errors, as `check --strict`) and
`{"set": ["train.batch_size=8"]}` (as `check --set`).
"""
