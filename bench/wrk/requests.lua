-- wrk script of the notifgql benchmark: replays pre-generated requests in random order.
--
-- wrk ... -s bench/wrk/requests.lua <url> -- <requests file> <seed>
--
-- The requests file has one request a line: METHOD <tab> PATH <tab> TOKEN <tab> BODY, where
-- TOKEN (a bearer token) and BODY (a JSON document) may be empty. Every request is formatted
-- once in init(); request() only picks one at random. response() counts GraphQL error
-- documents (answered with status 200), which wrk's own status count cannot see. done()
-- prints one line, "WRK_RESULT {json}", that bench/harness.py reads.

local threads = {}
local requests = {}
local count = 0
graphql_errors = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path = args[1]
  local seed = tonumber(args[2] or "1")
  for line in io.lines(path) do
    local method, target, token, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    if method then
      local headers = {}
      if token ~= "" then
        headers["Authorization"] = "Bearer " .. token
      end
      if body == "" then
        body = nil
      else
        headers["Content-Type"] = "application/json"
      end
      count = count + 1
      requests[count] = wrk.format(method, target, headers, body)
    end
  end
  if count == 0 then
    error("no requests in " .. path)
  end
  math.randomseed(seed)
end

function request()
  return requests[math.random(count)]
end

function response(status, headers, body)
  if body and body:find('"errors":[', 1, true) then
    graphql_errors = graphql_errors + 1
  end
end

function done(summary, latency, per_thread)
  local errors = 0
  for _, thread in ipairs(threads) do
    errors = errors + (thread:get("graphql_errors") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"graphql_errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, errors, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
