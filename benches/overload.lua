-- wrk script for the overload test: each thread walks a list of request paths (file given
-- after `--`) and counts answers by status; at the end it prints
-- "RESULT <req/s> <p50 ms> <p99 ms> <200s> <503s> <other statuses> <socket errors>".

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    paths = {}
    for line in io.lines(args[1]) do
        if line ~= "" then
            paths[#paths + 1] = line
        end
    end
    index = math.random(#paths)
    ok, busy, other = 0, 0, 0
end

function request()
    local path = paths[index % #paths + 1]
    index = index + 1
    return wrk.format("GET", path)
end

function response(status, headers, body)
    if status == 200 then
        ok = ok + 1
    elseif status == 503 then
        busy = busy + 1
    else
        other = other + 1
    end
end

function done(summary, latency, requests)
    local total_ok, total_busy, total_other = 0, 0, 0
    for _, t in ipairs(threads) do
        total_ok = total_ok + t:get("ok")
        total_busy = total_busy + t:get("busy")
        total_other = total_other + t:get("other")
    end
    local e = summary.errors
    io.write(string.format(
        "RESULT %.0f %.2f %.2f %d %d %d %d\n",
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000,
        latency:percentile(99) / 1000,
        total_ok, total_busy, total_other,
        e.connect + e.read + e.write + e.timeout
    ))
end
