-- modelspec's language server in Neovim, for TOML files that define `model` or
-- `layers` ([model], [[layers]], model = {...}, layers = [...]). Put this file
-- in ~/.config/nvim/plugin/ (or `dofile` it from init.lua).
-- vim.g.modelspec_lsp_cmd overrides the command.
local function is_spec(buf)
  for _, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    if line:match("^%[model%]") or line:match("^%[%[layers%]%]")
      or line:match("^model%s*=") or line:match("^layers%s*=") then
      return true
    end
  end
  return false
end

-- The nearest folder above the file holding .git, else the file's folder.
local function root_dir(buf)
  local dir = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(buf), ":p:h")
  local d = dir
  while not (vim.uv or vim.loop).fs_stat(d .. "/.git") do
    local parent = vim.fn.fnamemodify(d, ":h")
    if parent == d then return dir end
    d = parent
  end
  return d
end

local clients = {} -- root folder -> client id (Neovim 0.7 only)

local function start(buf)
  if not is_spec(buf) then return end
  local config = {
    name = "modelspec",
    cmd = vim.g.modelspec_lsp_cmd or { "modelspec", "lsp" },
    root_dir = root_dir(buf),
  }
  if vim.lsp.start then -- Neovim 0.8 and later: reuses a running client
    vim.lsp.start(config, { bufnr = buf })
    return
  end
  local id = clients[config.root_dir]
  if not (id and vim.lsp.get_client_by_id(id)) then
    id = vim.lsp.start_client(config)
    clients[config.root_dir] = id
  end
  if id then vim.lsp.buf_attach_client(buf, id) end
end

local group = vim.api.nvim_create_augroup("modelspec_lsp", { clear = true })
vim.api.nvim_create_autocmd({ "BufReadPost", "BufWritePost" }, {
  group = group,
  pattern = "*.toml",
  callback = function(args) start(args.buf) end,
})

-- Neovim 0.10 and later: each layer's output shape and parameter count beside
-- its [[layers]] header (the server's inlay hints).
if vim.lsp.inlay_hint then
  vim.api.nvim_create_autocmd("LspAttach", {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == "modelspec" then
        vim.lsp.inlay_hint.enable(true, { bufnr = args.buf })
      end
    end,
  })
end
