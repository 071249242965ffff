-- W9: a complete flow per iteration: authorize (session cookie) -> token (code exchange)
-- [-> userinfo]. Each response queues the step that follows from it; a connection whose queue
-- is empty starts a new flow. completed counts flows that reached their last step with success.
-- Options: authorize_path (with the query), cookie, token_path, authorization (Basic),
-- redirect_uri, userinfo_path (empty: no userinfo step).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local queue = {}
local head, tail = 1, 0
local kinds = {}

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

local authorize_req, code_prefix

function init(args)
   parse_args(args)
   local h = { ["Host"] = opt.host, ["Cookie"] = opt.cookie }
   authorize_req = wrk.format("GET", opt.authorize_path, h)
   code_prefix = "grant_type=authorization_code&redirect_uri=" .. urlencode(opt.redirect_uri) .. "&code="
end

-- Requests go out in the order they are made and each connection waits for its answer, but
-- answers on different connections come back in any order: so a response is recognised by
-- what it carries, not by position.
function request()
   local step = pop()
   if step == nil then
      return authorize_req
   end
   return step
end

local function token_request(code)
   local h = {
      ["Host"] = opt.host,
      ["Authorization"] = opt.authorization,
      ["Content-Type"] = "application/x-www-form-urlencoded",
   }
   return wrk.format("POST", opt.token_path, h, code_prefix .. urlencode(code))
end

local function userinfo_request(access_token)
   return wrk.format("GET", opt.userinfo_path, {
      ["Host"] = opt.host, ["Authorization"] = "Bearer " .. access_token,
   })
end

function response(status, headers, body)
   if status >= 300 and status <= 303 then
      local code = param_from(header(headers, "Location"), "code")
      if code then
         push(token_request(code))
      else
         bad = bad + 1
      end
   elseif status == 200 and body:find('"access_token"', 1, true) then
      local access_token = json_string(body, "access_token")
      if opt.userinfo_path and opt.userinfo_path ~= "" then
         push(userinfo_request(access_token))
      else
         completed = completed + 1
      end
   elseif status == 200 and body:find('"sub"', 1, true) then
      completed = completed + 1
   else
      bad = bad + 1
   end
end
