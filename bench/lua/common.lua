-- Shared by every bench script: options from the arguments after "--" (key=value), counters
-- kept per thread, and one machine-readable result line from done().
--
-- Globals kept in each thread's Lua state: opt (the options), bad (responses that were 2xx/3xx
-- but not what the workload expects), completed (finished units of work: flows, exchanges),
-- ran_out (1 when a thread used up its prepared inputs and stopped early).

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

opt = {}
bad = 0
completed = 0
ran_out = 0

function parse_args(args)
   for _, a in ipairs(args) do
      local k, v = a:match("^([%w_]+)=(.*)$")
      if k then opt[k] = v end
   end
   return opt
end

function header(headers, name)
   -- Servers differ in the case of header names (Location / location).
   return headers[name] or headers[name:lower()] or headers[name:gsub("^%l", string.upper)]
end

function urlencode(s)
   return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

function param_from(location, name)
   if not location then return nil end
   return location:match("[?&#]" .. name .. "=([^&#]+)")
end

function json_string(body, name)
   return body:match('"' .. name .. '"%s*:%s*"([^"]+)"')
end

function base_headers()
   -- wrk.format() adds no Host header of its own: every request names one (host=HOST:PORT).
   local h = { ["Host"] = opt.host }
   if opt.cookie and opt.cookie ~= "" then h["Cookie"] = opt.cookie end
   if opt.authorization and opt.authorization ~= "" then h["Authorization"] = opt.authorization end
   return h
end

function done(summary, latency, requests)
   local b, c, r = 0, 0, 0
   for _, t in ipairs(threads) do
      b = b + (t:get("bad") or 0)
      c = c + (t:get("completed") or 0)
      r = r + (t:get("ran_out") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},"bad":%d,"completed":%d,"ran_out":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean, b, c, r))
end
