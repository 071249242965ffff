-- One request, the same every time: W1 discovery, W2 JWKS, W7 userinfo, W8 introspection.
-- Options: method, path, cookie, authorization, body (already form-encoded), expect (a Lua
-- pattern the response body must match; with it every body is read, without it none is).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
   parse_args(args)
   wrk.method = opt.method or "GET"
   wrk.path = opt.path
   wrk.headers = base_headers()
   if opt.body and opt.body ~= "" then
      wrk.body = opt.body
      wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
   end
   if not opt.expect or opt.expect == "" then
      response = nil
   end
end

function response(status, headers, body)
   if status == 200 and body:find(opt.expect) then
      completed = completed + 1
   else
      bad = bad + 1
   end
end
