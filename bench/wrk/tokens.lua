-- wrk script of every bench row: each request carries a bearer token from
-- a file, and done() prints one machine-readable line.
--
--   wrk ... -s tokens.lua URL -- TOKEN_FILE OFFSET THREADS [HEADERS]
--
-- Each thread takes a disjoint share of the file: thread t (1-based) sends
-- tokens OFFSET+t-1, OFFSET+t-1+THREADS, ... (0-based, wrapping at the
-- file's end), so with a file of N distinct tokens no token is sent twice
-- until N requests have gone out. run.sh advances OFFSET by each run's
-- request count, so consecutive runs of a row keep going through the file.
-- Requests are formatted once, in init, so request() costs every row the
-- same: a table lookup. Rows with one token (repeated-token rows, and the
-- rows that ignore tokens) use a one-line file. HEADERS, when given, are
-- extra "Name: value" lines (newline-separated) sent with every request:
-- the decision row's X-Original-Method and X-Original-URI. (wrk -H would
-- not do: wrk.format with a headers table drops wrk.headers.)

local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

local reqs, n, i

function init(args)
  local path, offset, threads = args[1], tonumber(args[2] or "0"), tonumber(args[3] or "1")
  local extra = {}
  for line in string.gmatch(args[4] or "", "[^\n]+") do
    local name, value = string.match(line, "^([^:]+):%s*(.*)$")
    assert(name, "bad header line: " .. line)
    extra[name] = value
  end
  local tokens = {}
  for line in io.lines(path) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  assert(#tokens > 0, "no tokens in " .. path)
  reqs, n = {}, 0
  local k = offset + (id - 1)
  local share = math.max(1, math.floor(#tokens / threads))
  for _ = 1, share do
    local tok = tokens[(k % #tokens) + 1]
    n = n + 1
    local headers = { ["Authorization"] = "Bearer " .. tok }
    for name, value in pairs(extra) do headers[name] = value end
    reqs[n] = wrk.format("GET", wrk.path, headers)
    k = k + threads
  end
  i = 0
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
