-- The summary line scripts/bench reads from every wrk run (`wrk-summary {…}`): loaded by sign.lua and page.lua.
function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'wrk-summary {"requests":%d,"seconds":%.3f,"requests_per_second":%.1f,"non_2xx":%d,' ..
    '"socket_errors":%d,"timeouts":%d,"latency_ms":{"p50":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f}}\n',
    summary.requests, seconds, summary.requests / seconds, e.status, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000))
end
