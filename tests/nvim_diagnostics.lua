-- Run by tests/test_editors.py inside headless Neovim after the spec is open
-- (and editors/nvim/modelspec.lua has started the server): wait, with a
-- deadline, until the editor holds diagnostics for the buffer; then open
-- $MODELSPEC_NVIM_OTHER (a TOML file that is no spec) in the same session; write
-- what Neovim itself holds as JSON to $MODELSPEC_NVIM_OUT and quit.
local function client_names(buf)
  local names = {}
  local attached = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = buf })
    or vim.lsp.buf_get_clients(buf) -- Neovim 0.7-0.9
  for _, client in pairs(attached) do
    table.insert(names, client.name)
  end
  return names
end

local spec = vim.api.nvim_get_current_buf()
local wait_ms = tonumber(os.getenv("MODELSPEC_NVIM_WAIT_MS"))
local got = vim.wait(wait_ms, function()
  return #vim.diagnostic.get(spec) > 0
end, 20)

local diagnostics = {}
for _, d in ipairs(vim.diagnostic.get(spec)) do
  table.insert(diagnostics, {
    lnum = d.lnum, col = d.col, code = d.code, message = d.message,
    severity = d.severity,
  })
end
local result = {
  has_lsp_start = vim.lsp.start ~= nil,
  timed_out = not got,
  file = vim.api.nvim_buf_get_name(spec),
  clients = client_names(spec),
  diagnostics = diagnostics,
}
local v = vim.version()
result.version = string.format("%d.%d.%d", v.major, v.minor, v.patch)

-- The server is running now, so attaching to another buffer would be
-- immediate: a non-spec TOML file must get no client.
vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("MODELSPEC_NVIM_OTHER")))
result.other_file = vim.api.nvim_buf_get_name(0)
result.other_clients = client_names(0)

local file = assert(io.open(os.getenv("MODELSPEC_NVIM_OUT"), "w"))
file:write(vim.json.encode(result))
file:close()
vim.cmd("qall!")
