-- wrk script for bench/kv/run.sh. The environment picks the request:
--   KV_TARGET=cairn|etcd   KV_OP=put|get
--   KV_KEYS    key names spread over (default 10000); each request picks one at random
--   KV_VALUE   value size in bytes (default 256)
-- cairn put: PUT /v1/kv/bench/k<i> (raw body); get: GET /v1/kv/bench/k<i>?consistent.
-- etcd  put: POST /v3/kv/put, get: POST /v3/kv/range (linearizable: the
-- default), both JSON with base64 key and value (etcd's grpc-gateway).
-- done() prints one RESULT line (latencies in microseconds) for run.sh.
local target = os.getenv("KV_TARGET") or "cairn"
local op = os.getenv("KV_OP") or "put"
local nkeys = tonumber(os.getenv("KV_KEYS") or "10000")
local vsize = tonumber(os.getenv("KV_VALUE") or "256")

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local q = {}
    for j = 3, 0, -1 do
      local k = math.floor(n / 64 ^ j) % 64
      q[#q + 1] = b64chars:sub(k + 1, k + 1)
    end
    if not b then q[3], q[4] = "=", "=" elseif not c then q[4] = "=" end
    out[#out + 1] = table.concat(q)
  end
  return table.concat(out)
end

local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

local value = string.rep("v", vsize)
local reqs = {}  -- one prepared request per key

function init(args)
  math.randomseed(os.time() + tid * 7919)
  local json_hdr = { ["Content-Type"] = "application/json" }
  local evalue = b64(value)
  for i = 0, nkeys - 1 do
    local key = "bench/k" .. i
    if target == "etcd" then
      local path = op == "put" and "/v3/kv/put" or "/v3/kv/range"
      local body = op == "put" and ('{"key":"' .. b64(key) .. '","value":"' .. evalue .. '"}')
        or ('{"key":"' .. b64(key) .. '"}')
      reqs[i] = wrk.format("POST", path, json_hdr, body)
    elseif op == "put" then
      reqs[i] = wrk.format("PUT", "/v1/kv/" .. key, nil, value)
    else
      reqs[i] = wrk.format("GET", "/v1/kv/" .. key .. "?consistent")
    end
  end
end

function request()
  return reqs[math.random(0, nkeys - 1)]
end

function done(summary, latency, requests)
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d p999_us=%d non2xx=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
