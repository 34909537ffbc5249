-- wrk script: GET /Users?filter=userName eq "<random seeded user>" (the lookup Okta and Entra
-- make before every create).
function init(args)
  token = os.getenv("SCIM_TOKEN")
  seeded = tonumber(os.getenv("BENCH_SEEDED") or "1000")
  attr = os.getenv("BENCH_ATTR") or "userName"
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 1000)
end

function request()
  local n = math.random(0, seeded - 1)
  local value = "seed" .. n
  if attr == "displayName" then value = "Seed%20" .. n end
  local path = wrk.path .. "/Users?filter=" .. attr .. "%20eq%20%22" .. value .. "%22"
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
