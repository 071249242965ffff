-- W5: the token endpoint redeeming single-use codes minted beforehand, one per request, taken
-- in order from a file (one code a line). If the codes run out the thread stops: the last few
-- requests (at most one per connection) ask for discovery instead and are not counted, and
-- done() reports ran_out: wrk's clock runs on, so the harness measures again with more codes.
-- Options: path, authorization (Basic), redirect_uri, codes (file).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local codes = {}
local next_code = 1
local prefix
local filler

function init(args)
   parse_args(args)
   for line in io.lines(opt.codes) do
      if line ~= "" then table.insert(codes, line) end
   end
   prefix = "grant_type=authorization_code&redirect_uri=" .. urlencode(opt.redirect_uri) .. "&code="
   filler = wrk.format("GET", "/.well-known/openid-configuration", { ["Host"] = opt.host })
end

function request()
   local code = codes[next_code]
   next_code = next_code + 1
   if not code then
      if ran_out == 0 then
         ran_out = 1
         wrk.thread:stop()
      end
      return filler
   end
   local h = base_headers()
   h["Content-Type"] = "application/x-www-form-urlencoded"
   return wrk.format("POST", opt.path, h, prefix .. urlencode(code))
end

function response(status, headers, body)
   if status == 200 and json_string(body, "access_token") and json_string(body, "id_token") then
      completed = completed + 1
   elseif not (ran_out == 1 and body:find('"issuer"', 1, true)) then
      bad = bad + 1
   end
end
