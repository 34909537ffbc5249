-- wrk script: POST /Users with a unique userName per request (thread id + counter).
local counter = 0
local tid = 0
local threads = {}

function setup(thread)
  tid = tid + 1
  thread:set("tid", tid)
  table.insert(threads, thread)
end

function init(args)
  token = os.getenv("SCIM_TOKEN")
  prefix = os.getenv("BENCH_PREFIX") or "bench"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s-%d-%d","displayName":"Bench User","emails":[{"value":"u%d@example.com","type":"work"}]}',
    prefix, tid, counter, counter)
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/scim+json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

function response(status, headers, body)
  if status ~= 201 then
    errors = (errors or 0) + 1
  end
end
