-- W6: refresh_token grant with rotation. Every response's refresh token goes back in the queue
-- and is used by the next request (one request is in flight per connection, so the queue
-- holds one token per connection). wrk tells request() nothing about the connection, hence
-- the queue rather than a per-connection slot.
-- Options: path, authorization (Basic), tokens (file, one refresh token a line; wrk checks the
-- first request before it starts, so the file holds one token more than connections).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local queue = {}
local head, tail = 1, 0

local function push(v)
   tail = tail + 1
   queue[tail] = v
end

local function pop()
   if head > tail then return nil end
   local v = queue[head]
   queue[head] = nil
   head = head + 1
   return v
end

function init(args)
   parse_args(args)
   for line in io.lines(opt.tokens) do
      if line ~= "" then push(line) end
   end
end

function request()
   local token = pop() or "none-left"
   local h = base_headers()
   h["Content-Type"] = "application/x-www-form-urlencoded"
   return wrk.format("POST", opt.path, h, "grant_type=refresh_token&refresh_token=" .. urlencode(token))
end

function response(status, headers, body)
   local token = status == 200 and json_string(body, "refresh_token")
   if token and json_string(body, "access_token") then
      push(token)
      completed = completed + 1
   else
      bad = bad + 1
   end
end
