-- wrk script: POSTs signed WhatsApp webhooks, cycling through pre-signed
-- bodies (one wamid each) read from BODIES_FILE ("<signature>\t<body>" lines),
-- optionally paced with DELAY_MS per request and connection, and prints one
-- machine-readable RESULT line.
--
-- Each request's bytes are formatted once, in init(), not per request: wrk
-- shares the two cores with the gateway and the broker, and formatting a
-- ~1.5 KB request in Lua for every send cost it ~5 us of CPU per request
-- that /healthz (wrk's static request) does not pay.
local requests = {}
local idx = 0
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")

function init(args)
  for line in io.lines(os.getenv("BODIES_FILE")) do
    local tab = line:find("\t", 1, true)
    requests[#requests + 1] = wrk.format("POST", "/webhooks/whatsapp",
      { ["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = line:sub(1, tab - 1) },
      line:sub(tab + 1))
  end
  idx = math.random(#requests)
end

function request()
  idx = idx % #requests + 1
  return requests[idx]
end

if delay_ms > 0 then
  function delay() return delay_ms end
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT %.1f %.3f %.3f %d %d\n", summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.timeout, summary.requests))
end
