-- wrk script: PUT /kv/<unique key> with a 256-byte value; prints the
-- latency percentiles (microseconds) and non-2xx count for run.sh to parse.
local body = string.rep("x", 256)
local next_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local n = 0
function request()
  n = n + 1
  return wrk.format("PUT", "/kv/b" .. tid .. "-" .. n, nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
