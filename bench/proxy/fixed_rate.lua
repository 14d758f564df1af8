-- wrk at a fixed mean rate: each connection waits an exponential (Poisson)
-- gap before each request. MEAN_MS per connection x connections = the rate
-- (10 connections x 10 ms = 1,000 req/s). wrk's latency histogram is then
-- the latency at that rate, not under saturation.
local mean_ms = tonumber(os.getenv("MEAN_MS") or "10")
math.randomseed(os.time())
function delay()
  return -math.log(1 - math.random()) * mean_ms
end
