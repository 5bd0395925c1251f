-- The sandbox Redis 7.2 gives scripts, built once per Lua state by `engine.rs`.
--
-- Redis patches Lua with read-only tables; stock Lua 5.1 has none, so every table a script can
-- reach from its globals (the globals themselves, redis, string, math, table, cjson, bit, ...)
-- is an empty proxy whose metatable reads through to the real table and refuses writes with
-- Redis' "Attempt to modify a readonly table". setmetatable and rawset refuse proxies too.
-- Reading a global that does not exist is Redis' "Script attempted to access nonexistent global
-- variable". Rust passes `rs` (its functions, and `hooks`, which it fills for the length of one
-- run with the functions that reach the server) and gets back the control table at the end.
local rs = ...
local dbg = debug
local error, type, tostring, select, unpack = error, type, tostring, select, unpack
local raw_setmetatable, raw_getmetatable, raw_rawset = setmetatable, getmetatable, rawset
local raw_pcall, raw_xpcall = pcall, xpcall
local hooks = rs.hooks
local INTERNAL = '=redsim'

local readonly = raw_setmetatable({}, {__mode = 'k'})
local function refuse() error('Attempt to modify a readonly table', 2) end

local function protect(t)
  if type(t) ~= 'table' or readonly[t] then return t end
  for k, v in next, t do
    if type(v) == 'table' then t[k] = protect(v) end
  end
  local mt = {__index = t, __newindex = refuse}
  local proxy = raw_setmetatable({}, mt)
  local shown = raw_setmetatable({}, {__index = mt, __newindex = refuse, __metatable = false})
  mt.__metatable = shown
  readonly[proxy] = true
  readonly[shown] = true
  return proxy
end

local function guarded_setmetatable(t, mt)
  if readonly[t] then error('Attempt to modify a readonly table', 2) end
  return raw_setmetatable(t, mt)
end
local function guarded_rawset(t, k, v)
  if readonly[t] then error('Attempt to modify a readonly table', 2) end
  return raw_rawset(t, k, v)
end

-- Rust functions raise Redis errors as a message marked \1redis\1...\1 (mlua raises only error
-- objects of its own, and Redis' functions must stay C functions so that the frame of a
-- `return redis.call(...)` tail call survives for the error's line number).
local function error_table(e)
  if type(e) == 'table' then return e end
  local m = tostring(e):match('\1redis\1(.-)\1')
  if m then return {err = m} end
  return nil
end

-- Lua's pcall, with Redis' error tables turned back into their message (as Redis 7 does).
local function unwrap(ok, ...)
  if not ok then
    local e = error_table((...))
    if e and e.err == rs.timed_out then error(e, 0) end
    if e and type(e.err) == 'string' then return false, e.err end
  end
  return ok, ...
end
local function script_pcall(f, ...) return unwrap(raw_pcall(f, ...)) end

-- A Redis error table raised from a Rust function: {err = 'CODE message'}.
local function raise(msg) error({err = msg}) end
local function checked(v, ok)
  if not ok then error(v) end
  return v
end

local function error_reply(e)
  if select('#', e) ~= 1 or type(e) ~= 'string' then return {err = 'ERR wrong number or type of arguments'} end
  if e:sub(1, 1) == '-' then e = e:sub(2) end
  local code, msg = e:match('^(%S+) (.*)$')
  if not code then code, msg = 'ERR', e end
  msg = msg:gsub('[\r\n]+$', '')
  return {err = code .. ' ' .. msg}
end
local function status_reply(s)
  if select('#', s) ~= 1 or type(s) ~= 'string' then return {err = 'ERR wrong number or type of arguments'} end
  return {ok = s}
end

local function log(...)
  local n = select('#', ...)
  if n < 2 then raise('ERR redis.log() requires two arguments or more.') end
  local level = ...
  if type(level) ~= 'number' then raise('ERR First argument must be a number (log level).') end
  if level < 0 or level > 3 then raise('ERR Invalid debug level.') end
  local parts = {}
  for i = 2, n do
    local s = select(i, ...)
    if type(s) == 'string' or type(s) == 'number' then parts[#parts + 1] = tostring(s) end
  end
  hooks.log(level, table.concat(parts, ' '))
end

local function version_fields(t)
  t.REDIS_VERSION = rs.version
  t.REDIS_VERSION_NUM = rs.version_num
  t.LOG_DEBUG, t.LOG_VERBOSE, t.LOG_NOTICE, t.LOG_WARNING = 0, 1, 2, 3
  t.log = log
  return t
end

local redis = version_fields({
  sha1hex = function(...)
    if select('#', ...) ~= 1 then raise('ERR wrong number of arguments') end
    return rs.sha1hex(tostring((...)))
  end,
  error_reply = error_reply,
  status_reply = status_reply,
  setresp = function(...)
    if select('#', ...) ~= 1 then raise('ERR redis.setresp() requires one argument.') end
    local v = tonumber((...))
    if v ~= 2 and v ~= 3 then raise('ERR RESP version must be 2 or 3.') end
    hooks.setresp(v)
  end,
  set_repl = function(...)
    if select('#', ...) ~= 1 then raise('ERR redis.set_repl() requires one argument.') end
    local v = tonumber((...)) or 0
    if v < 0 or v > 3 or v % 1 ~= 0 then
      raise('ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.')
    end
    hooks.set_repl(v)
  end,
  replicate_commands = function() return true end,
  breakpoint = function() return false end,
  debug = function() end,
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
})

math.random = rs.random
math.randomseed = rs.randomseed

local real = {}
for _, name in ipairs({
  'string', 'math', 'table', 'coroutine', 'xpcall', 'tostring', 'getfenv', 'next', 'assert',
  'tonumber', 'rawequal', 'collectgarbage', 'getmetatable', 'type', 'select', 'unpack',
  'gcinfo', 'pairs', 'rawget', 'ipairs', '_VERSION', 'setfenv', 'error',
  'newproxy',
}) do
  real[name] = _G[name]
end
-- Compiled code would bypass every check: refused, as Redis does. Loaded chunks get the sandbox.
local raw_loadstring, raw_setfenv = loadstring, setfenv
real.loadstring = function(s, name)
  if type(s) == 'string' and s:byte(1) == 27 then return nil, 'binary chunks are not allowed' end
  local f, err = raw_loadstring(s, name)
  if f then raw_setfenv(f, real._G) end
  return f, err
end
real.setmetatable = guarded_setmetatable
real.rawset = guarded_rawset
real.pcall = script_pcall
real.redis = redis
for name, lib in next, rs.libs do real[name] = lib end

-- While FUNCTION LOAD runs a library's code, its globals are only this `redis`.
local loading_api = {redis = version_fields({
  register_function = function(...) return checked(hooks.register(...)) end,
})}

local current = real
local globals = {}
local function missing(_, name)
  local v = current[name]
  if v == nil then
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end
  return v
end
local globals_mt = {__index = missing, __newindex = refuse}
globals_mt.__metatable = raw_setmetatable({}, {__index = globals_mt, __newindex = refuse, __metatable = false})
readonly[globals_mt.__metatable] = true
raw_setmetatable(globals, globals_mt)
readonly[globals] = true
for k, v in next, real do real[k] = protect(v) end
loading_api.redis = protect(loading_api.redis)
real._G = globals
for _, name in ipairs({'debug', 'dofile', 'loadfile', 'print', 'require', 'module', 'package', 'io', 'os'}) do
  _G[name] = nil
end

-- Redis' error handler: a message becomes {err = 'ERR message'}, and the table records where in
-- the user's code it happened (the first frame that is neither C nor this prelude).
local function handler(err)
  err = error_table(err) or {err = 'ERR ' .. tostring(err)}
  for level = 2, 32 do
    local i = dbg.getinfo(level, 'nSl')
    if not i then break end
    if i.what ~= 'C' and i.source ~= INTERNAL then
      err.source = i.source
      err.line = i.currentline
      break
    end
  end
  return err
end

local function as_array(list)
  local t = {}
  for i = 1, #list do t[i] = list[i] end
  return t
end

return {
  env = globals,
  -- The real `redis` table: a run puts its `call` and `pcall` there.
  redis = redis,
  -- Runs a script body (eval: KEYS and ARGV become globals) or a function callback.
  run = function(f, keys, args, eval)
    if eval then
      real.KEYS, real.ARGV = keys, args
      return raw_xpcall(f, handler)
    end
    return raw_xpcall(function() return f(keys, args) end, handler)
  end,
  -- Runs a library's code with the load-time globals; the error is Redis' message.
  load = function(f)
    current = loading_api
    local ok, err = raw_pcall(f)
    current = real
    if ok then return nil end
    local e = error_table(err)
    if e then return tostring(e.err) end
    return 'ERR ' .. tostring(err)
  end,
  as_array = as_array,
}
