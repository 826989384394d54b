-- GETs of the signing page as a phone asks for it (gzip, a language), for scripts/bench: the same script
-- against intake and against nginx serving the same bytes. Prints the same summary line as sign.lua.
wrk.method = "GET"
wrk.headers["Accept-Encoding"] = "gzip, deflate, br"
wrk.headers["Accept-Language"] = "en-GB,en;q=0.9"

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'wrk-summary {"requests":%d,"seconds":%.3f,"requests_per_second":%.1f,"non_2xx":%d,' ..
    '"socket_errors":%d,"timeouts":%d,"latency_ms":{"p50":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f}}\n',
    summary.requests, seconds, summary.requests / seconds, e.status, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000))
end
