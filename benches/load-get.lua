-- wrk script for benches/load.sh: wrk's own static GET (no request() here, so wrk sends one
-- pre-built request at full speed) with the Accept header scimtest sends; done() writes the run's
-- figures as one JSON line to $BENCH_OUT.
wrk.headers["Accept"] = "application/scim+json"

function done(summary, latency, requests)
  local e = summary.errors
  local f = assert(io.open(os.getenv("BENCH_OUT"), "w"))
  f:write(string.format(
    '{"requests":%d,"duration_s":%.3f,"p50_ms":%.3f,"p99_ms":%.3f,"errors":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.connect + e.read + e.write + e.status + e.timeout))
  f:close()
end
