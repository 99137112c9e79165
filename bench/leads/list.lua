-- wrk script: GET the request paths of $PATHS_FILE in turn (each thread starts
-- at its own offset) with the bearer token $TOKEN; prints one RESULT line:
-- "req/s p50_ms p99_ms errors requests" (non-2xx answers count as errors:
-- wrk's own status counter, summary.errors.status; a Lua response() callback
-- would copy every ~30 KB page into Lua and cost wrk more CPU than lead-store
-- spends on the request, on the same 2 cores).
-- Each path's request bytes are formatted once, in init(), not per request:
-- wrk shares the two cores with lead-store and PostgreSQL (pgbench's side
-- formats nothing either).
local requests = {}
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  local token = os.getenv("TOKEN")
  for line in io.lines(os.getenv("PATHS_FILE")) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("GET", line, { ["Authorization"] = "Bearer " .. token })
    end
  end
  counter = id * 7919
end

function request()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT %.1f %.3f %.3f %d %d\n", summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests))
end
