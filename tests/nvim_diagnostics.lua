-- Run by tests/test_editors.py inside headless Neovim after the spec is open
-- (and editors/nvim/modelspec.lua has started the server): wait, with a
-- deadline, until the editor holds diagnostics for the buffer; if
-- $MODELSPEC_NVIM_EDIT is set, make that edit as a user would and wait for the
-- diagnostics to change; then open $MODELSPEC_NVIM_OTHER (a TOML file that is
-- no spec) in the same session; write what Neovim itself holds as JSON to
-- $MODELSPEC_NVIM_OUT and quit.
local function client_names(buf)
  local names = {}
  local attached = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = buf })
    or vim.lsp.buf_get_clients(buf) -- Neovim 0.7-0.9
  for _, client in pairs(attached) do
    table.insert(names, client.name)
  end
  return names
end

local result = {}

-- Any error still writes the file and quits: the test then shows it instead of
-- waiting for its timeout.
local function run()
  local spec = vim.api.nvim_get_current_buf()
  local wait_ms = tonumber(os.getenv("MODELSPEC_NVIM_WAIT_MS"))
  local got = vim.wait(wait_ms, function()
    return #vim.diagnostic.get(spec) > 0
  end, 20)

  local function held()
    local out = {}
    for _, d in ipairs(vim.diagnostic.get(spec)) do
      table.insert(out, {
        lnum = d.lnum, col = d.col, code = d.code, message = d.message,
        severity = d.severity,
      })
    end
    return out
  end

  -- Inlay hints (Neovim 0.10 and later): {lnum, label} as the editor holds them.
  local function hints()
    local out = {}
    for _, h in ipairs(vim.lsp.inlay_hint.get({ bufnr = spec })) do
      local label = h.inlay_hint.label
      if type(label) == "table" then
        local parts = {}
        for _, part in ipairs(label) do table.insert(parts, part.value) end
        label = table.concat(parts)
      end
      table.insert(out, { lnum = h.inlay_hint.position.line, label = label })
    end
    return out
  end

  local diagnostics = held()
  result = {
    has_lsp_start = vim.lsp.start ~= nil,
    timed_out = not got,
    file = vim.api.nvim_buf_get_name(spec),
    clients = client_names(spec),
    diagnostics = diagnostics,
  }
  if vim.lsp.inlay_hint then
    result.hints_timed_out = not vim.wait(wait_ms, function()
      return #hints() > 0
    end, 20)
    result.hints = hints()
  end
  local v = vim.version()
  result.version = string.format("%d.%d.%d", v.major, v.minor, v.patch)

  local edit = os.getenv("MODELSPEC_NVIM_EDIT")
  if edit then
    -- {line (1-based), old, new}: replace `old` in that line, in the buffer only.
    edit = vim.json.decode(edit)
    local line = vim.api.nvim_buf_get_lines(spec, edit.line - 1, edit.line, true)[1]
    local from, to = line:find(edit.old, 1, true)
    assert(from, "no " .. edit.old .. " in line " .. edit.line)
    local changed = line:sub(1, from - 1) .. edit.new .. line:sub(to + 1)
    vim.api.nvim_buf_set_lines(spec, edit.line - 1, edit.line, true, { changed })
    local function key(list)
      local parts = {}
      for _, d in ipairs(list) do
        table.insert(parts, table.concat({ d.lnum, d.col, tostring(d.code), d.message }, ":"))
      end
      return table.concat(parts, "\n")
    end
    local before = key(diagnostics)
    result.edit_timed_out = not vim.wait(wait_ms, function()
      return key(held()) ~= before
    end, 20)
    result.after_edit = held()
    if vim.lsp.inlay_hint then
      -- The test's edit is a fix: the layers after it get shapes, so hints.
      -- (Waiting for "more", not "different": hints may be cleared first.)
      local count = #result.hints
      result.hints_edit_timed_out = not vim.wait(wait_ms, function()
        return #hints() > count
      end, 20)
      result.hints_after_edit = hints()
    end
  end

  -- The server is running now, so attaching to another buffer would be
  -- immediate: a non-spec TOML file must get no client.
  vim.o.hidden = true -- keep the edited spec buffer as it is
  vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("MODELSPEC_NVIM_OTHER")))
  result.other_file = vim.api.nvim_buf_get_name(0)
  result.other_clients = client_names(0)
end

local ok, err = pcall(run)
if not ok then
  result.error = tostring(err)
end

local file = assert(io.open(os.getenv("MODELSPEC_NVIM_OUT"), "w"))
file:write(vim.json.encode(result))
file:close()
vim.cmd("qall!")
