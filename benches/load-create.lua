-- wrk script for benches/load.sh: POST /Users with the body of suites/load/bulk-create.yaml (a
-- unique userName and mail per request, a random externalId), then write the run's figures as
-- one JSON line to $BENCH_OUT (done() below), so the script needs no parsing of wrk's text.
-- setup() runs in the main Lua state and hands each thread its number as the global `tid`
-- (a `local tid` here would shadow it in the thread's own state).
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end

function init(args)
  token = os.getenv("SCIM_TOKEN")
  prefix = os.getenv("BENCH_PREFIX") or "wrk"
  counter = 0
  math.randomseed(os.time() + (tid or 0))
  headers = {
    ["Accept"] = "application/scim+json",
    ["Content-Type"] = "application/scim+json",
    ["Authorization"] = "Bearer " .. token,
  }
end

local function uuid()
  return string.format("%04x%04x-%04x-4%03x-%04x-%04x%04x%04x",
    math.random(0, 0xffff), math.random(0, 0xffff), math.random(0, 0xffff),
    math.random(0, 0xfff), math.random(0x8000, 0xbfff),
    math.random(0, 0xffff), math.random(0, 0xffff), math.random(0, 0xffff))
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s-t%d-u%d@example.com",'
    .. '"externalId":"%s","name":{"givenName":"Load","familyName":"User %d"},'
    .. '"emails":[{"value":"%s-t%d-mail%d@example.com","type":"work","primary":true}],"active":true}',
    prefix, tid, counter, uuid(), counter, prefix, tid, counter)
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  local f = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  f:write(string.format(
    '{"requests":%d,"duration_s":%.3f,"p50_ms":%.3f,"p99_ms":%.3f,"errors":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.connect + e.read + e.write + e.status + e.timeout))
  f:close()
end
