-- wrk script: POSTs signed WhatsApp webhooks, cycling through pre-signed
-- bodies (one wamid each) read from BODIES_FILE ("<signature>\t<body>" lines),
-- optionally paced with DELAY_MS per request and connection, and prints one
-- machine-readable RESULT line.
local bodies = {}
local idx = 0
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")

function init(args)
  for line in io.lines(os.getenv("BODIES_FILE")) do
    local tab = line:find("\t", 1, true)
    bodies[#bodies + 1] = { sig = line:sub(1, tab - 1), body = line:sub(tab + 1) }
  end
  idx = math.random(#bodies)
end

function request()
  idx = idx % #bodies + 1
  local b = bodies[idx]
  return wrk.format("POST", "/webhooks/whatsapp",
    { ["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = b.sig }, b.body)
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
