-- wrk 4.1 script for recfuse-service (examples/service), driven by scripts/loadtest.sh.
--
--   wrk -t T -c T -d 10s -s scripts/loadtest.lua http://127.0.0.1:PORT -- mode=mix rate=1000 ...
--
-- Arguments after "--" (key=value):
--   mode=recommend|mix|visibility   recommend: GET /recommend only; mix: /recommend, /search and
--                                   POST /events by weight; visibility: POST an event on a user's
--                                   current top-1 item and poll /recommend until it is gone
--   rate=R        offered load in requests/s over all threads (0 = as fast as possible)
--   threads=T     wrk's -t (and -c): the schedule gives each thread R/T requests/s
--   users=PATH    user ids, one a line (drawn uniformly); items=N item ids 1..N
--   words=PATH    title words, one a line (/search queries of 1 or 2 words)
--   k=10          k of /recommend and /search
--   weights=R,S,E percentages of /recommend, /search and /events in mode=mix (default 80,15,5)
--   batch=B       events per POST in mode=mix: 1..B, drawn uniformly (default 4)
--   seed=S        every thread draws from its own generator seeded with S and its number
--   window=PATH   restart window file ("kill T" and "ready T" lines, epoch seconds) written by
--                 loadtest.sh while wrk runs; failures overlapping [kill, ready] are counted apart
--   acked=PREFIX  every thread appends the (user, item) pairs of its acknowledged events to
--                 PREFIX.<thread>, "user item" a line (loadtest.sh checks them after a restart)
--   goals=LIST    comma-separated "key<=x" or "key>=x" on the result's top-level numbers; the
--                 result gets "goals" {goal: met} and "goals_met"
--   out=PATH      where done() writes its JSON line (also printed to stdout)
--
-- Timing. Every thread holds ONE connection (wrk -t T -c T), so a thread's request() and
-- response() calls alternate and pair up: each request is timed here with CLOCK_MONOTONIC, from
-- the start of request() to the start of response(), per endpoint, and a request that gets no
-- response (a socket error, after which wrk reconnects and asks for the next request) is seen as
-- "lost" at the thread's next request(). wrk's own latency statistics are not used: they cannot
-- tell endpoints apart, and on a loaded machine Debian's wrk 4.1.0 reported impossible figures
-- (on one connection, a mean latency of 1.2 ms over 5,131 requests in 3 s; this timing gave
-- 0.59 ms); on a quiet machine the two agree within 3 %.
--
-- Fixed rate. wrk 4.1 sends the next request as soon as a response arrives. With rate=R each
-- thread owns a schedule of slots T/R seconds apart (threads staggered), and delay() returns
-- the time to the thread's next slot (whole milliseconds, as wrk's timer takes them; the average
-- rate is exact because slots are absolute). A slot that passed while the thread waited on a
-- response is sent at once; how late sends were is reported as schedule_lag (if its p99 is
-- small, the offered rate was held and the latencies carry no coordinated omission). Slots that
-- pass while the service is unreachable (the restart) are dropped, not replayed as a burst.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } recfuse_timespec;
int clock_gettime(int clock_id, recfuse_timespec *tp);
int usleep(unsigned int usec);
]]
local timespec = ffi.new("recfuse_timespec")
local function clock(id)
  ffi.C.clock_gettime(id, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end
local function mono() return clock(1) end -- CLOCK_MONOTONIC
local function wall() return clock(0) end -- CLOCK_REALTIME, comparable with `date +%s.%N`

-- ---- JSON: a small decoder (for /recommend responses) and an encoder (for the result line) -----
local json_decode
do
  local function skip(s, i) return (s:find("[^ \t\r\n]", i)) or #s + 1 end
  local value
  local function str(s, i) -- s:sub(i, i) == '"'
    local out, j = {}, i + 1
    while true do
      local c = s:sub(j, j)
      if c == '"' then return table.concat(out), j + 1 end
      if c == "" then error("unterminated string") end
      if c == "\\" then
        local e = s:sub(j + 1, j + 1)
        local map = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
        if e == "u" then
          out[#out + 1] = "?" -- not needed by the checks: ids and counts are ASCII
          j = j + 6
        else
          out[#out + 1] = map[e] or e
          j = j + 2
        end
      else
        out[#out + 1] = c
        j = j + 1
      end
    end
  end
  value = function(s, i)
    i = skip(s, i)
    local c = s:sub(i, i)
    if c == "{" then
      local t = {}
      i = skip(s, i + 1)
      if s:sub(i, i) == "}" then return t, i + 1 end
      while true do
        local key
        key, i = str(s, skip(s, i))
        i = skip(s, i)
        if s:sub(i, i) ~= ":" then error("':' expected at " .. i) end
        t[key], i = value(s, i + 1)
        i = skip(s, i)
        c = s:sub(i, i)
        if c == "}" then return t, i + 1 end
        if c ~= "," then error("',' expected at " .. i) end
        i = i + 1
      end
    elseif c == "[" then
      local t = {}
      i = skip(s, i + 1)
      if s:sub(i, i) == "]" then return t, i + 1 end
      while true do
        t[#t + 1], i = value(s, i)
        i = skip(s, i)
        c = s:sub(i, i)
        if c == "]" then return t, i + 1 end
        if c ~= "," then error("',' expected at " .. i) end
        i = i + 1
      end
    elseif c == '"' then
      return str(s, i)
    elseif s:sub(i, i + 3) == "true" then
      return true, i + 4
    elseif s:sub(i, i + 4) == "false" then
      return false, i + 5
    elseif s:sub(i, i + 3) == "null" then
      return nil, i + 4
    end
    local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
    if not num or num == "" then error("bad JSON at " .. i) end
    return tonumber(num), i + #num
  end
  json_decode = function(s)
    local ok, v = pcall(value, s, 1)
    if ok then return v end
    return nil
  end
end

local function json_encode(v)
  local t = type(v)
  if t == "nil" then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if v == math.floor(v) and math.abs(v) < 1e15 then return string.format("%d", v) end
    return string.format("%.6g", v)
  end
  if t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  end
  if #v > 0 then
    local parts = {}
    for i = 1, #v do parts[i] = json_encode(v[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = json_encode(tostring(k)) .. ":" .. json_encode(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- ---- arguments ---------------------------------------------------------------------------------
opt = { -- global, so that done() reads thread 1's copy
  mode = "recommend", rate = "0", threads = "1", users = "", items = "1682", words = "", k = "10",
  weights = "80,15,5", batch = "4", seed = "1", window = "", acked = "", goals = "", out = "",
}
local function parse_args(args)
  for _, a in ipairs(args or {}) do
    local key, val = a:match("^([%w_]+)=(.*)$")
    if not key or opt[key] == nil then error("loadtest.lua: unknown argument '" .. a .. "'") end
    opt[key] = val
  end
end
local function read_lines(path)
  local out = {}
  if path == "" then return out end
  local f = io.open(path, "r")
  if not f then error("loadtest.lua: cannot read " .. path) end
  for line in f:lines() do
    if line ~= "" then out[#out + 1] = line end
  end
  f:close()
  return out
end
local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- ---- statistics ----------------------------------------------------------------------------------
-- wrk copies a thread's globals to done() with thread:get, which handles flat tables only (a
-- nested table crashes wrk 4.1), so each thread keeps its figures in one flat table `counts`:
-- "name" -> count, and histograms as "name|bucket" -> count, where the bucket is the latency in
-- us rounded down to 1 us below 1 ms, 10 us below 10 ms, 100 us below 100 ms and 1 ms above; and
-- its failures as strings "send_time seen_time endpoint status" in `failures` (status 0: no
-- response).
counts, failures, max_latency, last_2xx, first_send = {}, {}, 0, 0, nil
local max_failures = 20000
local function add(name, n) counts[name] = (counts[name] or 0) + n end
local function bucket(us)
  if us < 1000 then return math.floor(us) end
  if us < 10000 then return math.floor(us / 10) * 10 end
  if us < 100000 then return math.floor(us / 100) * 100 end
  return math.floor(us / 1000) * 1000
end
local function hist_add(name, seconds) add(name .. "|" .. bucket(seconds * 1e6), 1) end

-- The upper edge of the first bucket at or below which a fraction p of the samples lie, in ms
-- (never below the true percentile, and at most one bucket width, 0.5 to 1 %, above it).
local function bucket_width(b)
  if b < 1000 then return 1 end
  if b < 10000 then return 10 end
  if b < 100000 then return 100 end
  return 1000
end
local function hist_percentile(h, p)
  local keys, total = {}, 0
  for b, n in pairs(h or {}) do
    keys[#keys + 1] = b
    total = total + n
  end
  if total == 0 then return nil end
  table.sort(keys)
  local need, seen = math.max(1, math.ceil(p * total)), 0
  for _, b in ipairs(keys) do
    seen = seen + h[b]
    if seen >= need then return (b + bucket_width(b)) / 1000 end
  end
end

-- ---- the main state: setup() keeps the threads for done() ---------------------------------------
local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("tid", #threads)
end

-- ---- per-thread state (each wrk thread runs this file in its own Lua state) ---------------------
tid = tid or 1
local users, words, n_items, k, w_recommend, w_search, batch_max
local interval, next_slot, slot_of_request, timer_pending
local skip_verify -- wrk calls request() once on thread 1 to check the script: not a real request
local pending     -- the request in flight: {ep=, t0=, wall0=, events=, pairs=}
local acked_file  -- opt.acked .. "." .. tid, line-buffered

function init(args)
  parse_args(args)
  math.randomseed(tonumber(opt.seed) * 1000003 + tid * 7919)
  users = read_lines(opt.users)
  if #users == 0 then for u = 1, 943 do users[u] = tostring(u) end end
  words = read_lines(opt.words)
  if #words == 0 then words = { "the", "love", "star", "man", "night", "story", "war", "life" } end
  n_items = tonumber(opt.items)
  k = tonumber(opt.k)
  local w = {}
  for x in opt.weights:gmatch("[^,]+") do w[#w + 1] = tonumber(x) end
  local sum = w[1] + w[2] + w[3]
  w_recommend, w_search = w[1] / sum, (w[1] + w[2]) / sum
  batch_max = tonumber(opt.batch)
  local rate, n_threads = tonumber(opt.rate), math.max(tonumber(opt.threads), 1)
  skip_verify = (tid == 1)
  if opt.acked ~= "" then
    acked_file = assert(io.open(opt.acked .. "." .. tid, "w"))
    acked_file:setvbuf("line") -- wrk never closes the threads' Lua states: flush each line
  end
  if rate > 0 then
    interval = n_threads / rate
    next_slot = mono() + 0.05 + (tid - 1) * interval / n_threads
  elseif opt.mode ~= "visibility" then
    delay = nil -- wrk then sends back to back (it looks for delay() after init)
  end
end

local function record_failure(p, status, t1)
  add("failures", 1)
  if #failures < max_failures then
    failures[#failures + 1] = string.format("%.6f %.6f %s %d", p.wall0, t1, p.ep, status)
  end
end

-- ---- visibility probes ---------------------------------------------------------------------------
-- probe: GET /recommend -> target = top-1 item, rated = n_rated; post: POST the event (user,
-- target, 5); check: GET /recommend until target is gone and n_rated == rated + 1 (an item in the
-- top-k is unrated, so the event adds one rating), or 1 s passed.
local vis = { state = "probe", user = nil, target = nil, rated = nil, t_post = nil, checks = 0 }
local function vis_next_user()
  vis.state = "probe"
  vis.user = users[math.random(#users)]
end

local function recommend_path(user) return "/recommend?user=" .. urlencode(user) .. "&k=" .. k end
local json_headers = { ["Content-Type"] = "application/json" }

-- Returns the endpoint's name, the request, the number of events it posts and their pairs.
local function make_request()
  if opt.mode == "visibility" then
    if not vis.user then vis_next_user() end
    if vis.state == "post" then
      local body = '[{"user":' .. vis.user .. ',"item":' .. vis.target .. ',"value":5}]'
      return "events", wrk.format("POST", "/events", json_headers, body), 1, vis.user .. " " .. vis.target
    end
    return vis.state == "probe" and "probe" or "check", wrk.format("GET", recommend_path(vis.user)), 0
  end
  local r = (opt.mode == "mix") and math.random() or 0
  local user = users[math.random(#users)]
  if r < w_recommend then return "recommend", wrk.format("GET", recommend_path(user)), 0 end
  if r < w_search then
    local q = words[math.random(#words)]
    if math.random() < 0.5 then q = q .. " " .. words[math.random(#words)] end
    local path = "/search?q=" .. urlencode(q) .. "&user=" .. urlencode(user) .. "&k=" .. k
    return "search", wrk.format("GET", path), 0
  end
  local n, parts, pairs_ = math.random(batch_max), {}, {}
  for i = 1, n do
    local u, item = users[math.random(#users)], math.random(n_items)
    parts[i] = string.format('{"user":%s,"item":%d,"value":%d}', u, item, math.random(5))
    pairs_[i] = u .. " " .. item
  end
  local body = "[" .. table.concat(parts, ",") .. "]"
  return "events", wrk.format("POST", "/events", json_headers, body), n, table.concat(pairs_, "\n")
end

function delay()
  if not interval then -- mode=visibility without a rate: a short pause between probes
    return vis.state == "probe" and 5 or 0
  end
  -- After a socket error wrk reconnects and calls delay() again although the timer it set for
  -- the next request may still be pending (it cannot cancel it); every such timer later fires and
  -- writes a request, even while another one is in flight on the new connection. While the
  -- service is down that happens hundreds of times a second: answering 0 (no slot taken) when a
  -- timer is pending or the last request got no answer makes these timers fire at once, during
  -- the outage, so none is left to fire when the service is back.
  if timer_pending or pending then return 0 end
  timer_pending = true
  local now = mono()
  slot_of_request = next_slot
  next_slot = next_slot + interval
  local d = slot_of_request - now
  if d <= 0 then return 0 end
  return math.floor(d * 1000)
end

function request()
  local now, wnow = mono(), wall()
  timer_pending = false
  if skip_verify then
    skip_verify = false
    local _, req = make_request()
    return req
  end
  if pending then -- the previous request got no response: a socket error, then a reconnect
    add("lost", 1)
    if pending.ep == "events" then add("events_unknown", pending.events) end
    record_failure(pending, 0, wnow)
    if opt.mode == "visibility" then vis_next_user() end
    -- While the service is down wrk reconnects and writes again at once, thousands of times a
    -- second; a 10 ms pause (this thread serves only this connection) leaves the CPU to the
    -- restarting service.
    ffi.C.usleep(10000)
    now, wnow = mono(), wall()
    if next_slot then next_slot = math.max(next_slot, now) end -- the outage's slots are dropped
  end
  if slot_of_request then -- (a request after a reconnect has no slot: wrk skips delay() then)
    hist_add("lag", math.max(0, now - slot_of_request))
    slot_of_request = nil
  end
  first_send = first_send or wnow
  local ep, req, n, pairs_ = make_request()
  pending = { ep = ep, t0 = now, wall0 = wnow, events = n, pairs = pairs_ }
  if ep == "events" and opt.mode == "visibility" then vis.t_post = now end
  return req
end

local function visibility_response(ep, status, body, now)
  if ep == "probe" then
    local r = status == 200 and json_decode(body) or nil
    if r and not r.cold_start and r.items and r.items[1] and r.n_rated then
      vis.target, vis.rated, vis.state, vis.checks = r.items[1].item, r.n_rated, "post", 0
    else
      add("vis_skipped", 1)
      vis_next_user()
    end
  elseif ep == "events" then
    if status == 200 then
      hist_add("vis_ack", now - vis.t_post)
      vis.state = "check"
    else
      add("vis_failed", 1)
      vis_next_user()
    end
  else -- check
    local r = status == 200 and json_decode(body) or nil
    local gone = r ~= nil and r.n_rated == vis.rated + 1
    for _, it in ipairs(gone and r.items or {}) do
      if it.item == vis.target then gone = false end
    end
    if gone then
      add("vis_probes", 1)
      if vis.checks == 0 then add("vis_first_try", 1) end
      hist_add("vis", now - vis.t_post)
      vis_next_user()
    elseif now - vis.t_post > 1.0 then
      add("vis_failed", 1)
      vis_next_user()
    else
      vis.checks = vis.checks + 1
    end
  end
end

function response(status, headers, body)
  local now, wnow = mono(), wall()
  local p = pending
  pending = nil
  if not p then return end
  add(p.ep .. ":n", 1)
  hist_add("latency:" .. p.ep, now - p.t0)
  hist_add("latency", now - p.t0)
  max_latency = math.max(max_latency, now - p.t0)
  if status >= 200 and status < 300 then
    last_2xx = wnow
    add(p.ep .. ":2xx", 1)
    add("events_acked", p.events)
    if acked_file and p.pairs then acked_file:write(p.pairs, "\n") end
  else
    local class = (status >= 400 and status < 600) and (math.floor(status / 100) .. "xx") or "other"
    add(p.ep .. ":" .. class, 1)
    add("events_rejected", p.events)
    record_failure(p, status, wnow)
  end
  if opt.mode == "visibility" then visibility_response(p.ep, status, body, now) end
end

-- ---- the result line (in the main state, after the threads stopped) ------------------------------
local function read_window(path)
  if path == "" then return nil end
  local f = io.open(path, "r")
  if not f then return nil end
  local w = {}
  for line in f:lines() do
    local key, t = line:match("^(%a+)%s+([%d%.]+)")
    if key then w[key] = tonumber(t) end
  end
  f:close()
  if w.kill and w.ready then return w end
  return nil
end

local function round3(x) return x and math.floor(x * 1000 + 0.5) / 1000 or nil end

function done(summary, latency, requests)
  local total, hists, all_failures, max_latency, last_2xx, first_send = {}, {}, {}, 0, 0, nil
  for _, t in ipairs(threads) do
    local f = t:get("first_send")
    if f and (not first_send or f < first_send) then first_send = f end
    max_latency = math.max(max_latency, t:get("max_latency"))
    last_2xx = math.max(last_2xx, t:get("last_2xx"))
    for key, n in pairs(t:get("counts")) do
      local name, b = key:match("^(.*)|(%d+)$")
      if name then
        hists[name] = hists[name] or {}
        hists[name][tonumber(b)] = (hists[name][tonumber(b)] or 0) + n
      else
        total[key] = (total[key] or 0) + n
      end
    end
    for _, f in ipairs(t:get("failures")) do all_failures[#all_failures + 1] = f end
  end
  local function count(name) return total[name] or 0 end
  local args = threads[1]:get("opt")
  local duration = summary.duration / 1e6
  local out = {
    mode = args.mode,
    threads = #threads,
    connections = #threads,
    duration_s = round3(duration),
    requests = summary.requests,
    rps = round3(summary.requests / duration),
    p50_ms = round3(hist_percentile(hists.latency, 0.5)),
    p90_ms = round3(hist_percentile(hists.latency, 0.9)),
    p99_ms = round3(hist_percentile(hists.latency, 0.99)),
    max_ms = round3(max_latency * 1000),
    socket_errors = { connect = summary.errors.connect, read = summary.errors.read,
      write = summary.errors.write, timeout = summary.errors.timeout },
    non2xx = 0,
    lost = count("lost"),
    endpoints = {},
  }
  if tonumber(args.rate) > 0 then
    out.rate_target = tonumber(args.rate)
    out.schedule_lag_p50_ms = round3(hist_percentile(hists.lag, 0.5))
    out.schedule_lag_p99_ms = round3(hist_percentile(hists.lag, 0.99))
  end
  for _, ep in ipairs({ "recommend", "search", "events", "probe", "check" }) do
    local n = count(ep .. ":n")
    if n > 0 then
      out.non2xx = out.non2xx + n - count(ep .. ":2xx")
      out.endpoints[ep] = {
        requests = n, rps = round3(n / duration), ["2xx"] = count(ep .. ":2xx"),
        ["4xx"] = count(ep .. ":4xx"), ["5xx"] = count(ep .. ":5xx"), other = count(ep .. ":other"),
        p50_ms = round3(hist_percentile(hists["latency:" .. ep], 0.5)),
        p99_ms = round3(hist_percentile(hists["latency:" .. ep], 0.99)),
      }
    end
  end
  if out.endpoints.events then
    out.events_acked = count("events_acked")
    out.events_unknown = count("events_unknown")   -- in batches that got no response
    out.events_rejected = count("events_rejected") -- in batches answered with a non-2xx status
  end
  if args.mode == "visibility" then
    -- visible_*: from sending the POST to the response of the first /recommend that reflects it;
    -- ack_*: the POST alone
    out.visible_probes = count("vis_probes")
    out.visible_failed = count("vis_failed")
    out.visible_skipped = count("vis_skipped")
    out.visible_on_first_recommend = count("vis_first_try")
    out.visible_p50_ms = round3(hist_percentile(hists.vis, 0.5))
    out.visible_p99_ms = round3(hist_percentile(hists.vis, 0.99))
    out.visible_max_ms = round3(hist_percentile(hists.vis, 1.0))
    out.ack_p50_ms = round3(hist_percentile(hists.vis_ack, 0.5))
    out.ack_p99_ms = round3(hist_percentile(hists.vis_ack, 0.99))
  end
  -- A failure (non-2xx, or no response) whose lifetime [send, seen] overlaps the restart window
  -- [kill, ready] belongs to the restart; every other one is an error.
  local w = read_window(args.window)
  local in_window, outside, examples = 0, 0, {}
  local origin = w and w.kill or (first_send or 0)
  for _, f in ipairs(all_failures) do
    local t0, t1, ep, status = f:match("^(%S+) (%S+) (%S+) (%S+)")
    t0, t1 = tonumber(t0), tonumber(t1)
    if w and t1 >= w.kill and t0 <= w.ready then
      in_window = in_window + 1
    else
      outside = outside + 1
      if #examples < 5 then -- times in s from the kill (or from the first request)
        examples[#examples + 1] = string.format("%s status %s sent %+.3f s seen %+.3f s", ep, status,
          t0 - origin, t1 - origin)
      end
    end
  end
  if #examples > 0 then out.failures_outside_examples = examples end
  out.failures_outside_restart = outside + count("failures") - #all_failures -- those not kept: errors
  if w then
    out.restart_window_s = round3(w.ready - w.kill)
    out.failures_in_restart = in_window -- attempts: wrk retries at once after each failure
    out.served_after_restart_s = round3(last_2xx - w.ready) -- the last 2xx response after it
  end
  if args.goals ~= "" then
    out.goals, out.goals_met = {}, true
    for goal in args.goals:gmatch("[^,]+") do
      local key, op, x = goal:match("^([%w_]+)([<>]=)([-%d%.]+)$")
      local v = key and out[key]
      local met = type(v) == "number" and ((op == "<=" and v <= tonumber(x)) or (op == ">=" and v >= tonumber(x)))
      out.goals[goal] = met or false
      out.goals_met = out.goals_met and out.goals[goal]
    end
  end
  local line = json_encode(out)
  io.write(line, "\n")
  if args.out ~= "" then
    local f = assert(io.open(args.out, "w"))
    f:write(line, "\n")
    f:close()
  end
end
