-- W3/W4: the same authorization request with the same session cookie every time; each answer
-- must be a redirect carrying a fresh code (and, with expect=id_token, an ID Token).
-- Options: path (with the query), cookie, expect (extra parameter that must be present).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
   parse_args(args)
   wrk.path = opt.path
   wrk.headers = base_headers()
end

function response(status, headers, body)
   local location = header(headers, "Location")
   if status < 300 or status > 303 or not param_from(location, "code")
      or (opt.expect and opt.expect ~= "" and not param_from(location, opt.expect)) then
      bad = bad + 1
   else
      completed = completed + 1
   end
end
