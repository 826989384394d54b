-- wrk script for scripts/bench: single-signature POSTs like a phone at a stage call sends them.
-- Every request is a different signer; about 15% repeat an earlier signer of the same thread with the
-- address typed differently (upper case, spaces). Names are in several scripts, countries weighted.
--   wrk -t2 -c64 -d30s -s bench/wrk/sign.lua URL -- RUN_ID [RATE THREADS]
-- With RATE (requests/s over all threads) requests follow a fixed schedule: each thread hands out send
-- times spaced 1/(RATE/threads) apart, so the offered load does not depend on the answers (as long as a
-- connection is free); the latency wrk reports is from each send to its answer.
-- At the end it prints one JSON line starting with "wrk-summary " (requests, non-2xx, latency in ms).

local given = { "Amina", "Wei", "Sofía", "Олена", "Kwame", "Priya", "Yuki", "Mateus", "محمد", "Lars",
                "Ngozi", "Élodie", "Søren", "דוד", "Καλλιόπη", "Nguyễn", "Aroha", "Dmitri", "Imani", "Tomás" }
local family = { "Okafor", "Zhang", "García", "Kovalenko", "Mensah", "Sharma", "Tanaka", "Silva", "Haddad",
                 "Müller", "Ndlovu", "Rossi", "Kim", "O'Brien", "Dubois", "Yilmaz", "Trần", "Ivanov", "Smith" }
local countries = { "US", "US", "US", "IN", "IN", "BR", "GB", "DE", "FR", "NG", "MX", "JP", "ID", "KE", "ZA",
                    "CA", "IT", "ES", "PH", "AU", "EG", "AR", "PL", "TR", "KR", "NL", "SE", "GH", "CO", "UA" }
local domains = { "gmail.com", "gmail.com", "gmail.com", "outlook.com", "yahoo.com", "icloud.com", "example.org",
                  "proton.me", "hotmail.com" }

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } undersigned_timespec;
  int clock_gettime(int clock, undersigned_timespec *ts);
]]
local timespec = ffi.new("undersigned_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local run_id, counter, path, interval_ms, next_due
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  run_id = args[1] or tostring(os.time())
  counter = 0
  path = wrk.path
  math.randomseed(thread_id * 7919 + #run_id)
  local rate = tonumber(args[2] or "0")
  if rate > 0 then
    local threads_total = tonumber(args[3] or "2")
    interval_ms = 1000 / (rate / threads_total)
  end
end

function delay()
  if not interval_ms then return 0 end
  local now = now_ms()
  if not next_due then next_due = now end
  local wait = next_due - now
  next_due = math.max(next_due, now - 1000) + interval_ms -- fall at most 1 s behind, then catch up
  return wait > 0 and wait or 0
end

local function pick(list, n) return list[(n % #list) + 1] end

function request()
  counter = counter + 1
  local n = counter
  local email
  if n > 100 and math.random() < 0.15 then
    n = math.random(1, counter - 1)
    email = string.upper(string.format(" signer.%s.%d.%d@%s ", run_id, thread_id, n, pick(domains, n)))
  else
    email = string.format("signer.%s.%d.%d@%s", run_id, thread_id, n, pick(domains, n))
  end
  local body = string.format(
    '{"name":"%s %s","email":"%s","country":"%s","source":"web","contact_opt_in":%s}',
    pick(given, n), pick(family, n * 7), email, pick(countries, n * 13), (n % 3 == 0) and "true" or "false")
  return wrk.format("POST", path, headers, body)
end

dofile("bench/wrk/summary.lua")  -- done(): the summary line (scripts/bench runs wrk from the repository)
