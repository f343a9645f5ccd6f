-- wrk script: each thread walks a list of request paths (one per line, file given after `--`),
-- starting at its own offset, so that no path is asked twice at once; at the end it prints
-- "RESULT <req/s> <p50 ms> <p95 ms> <p99 ms> <errors>".

local threads = {}
local count = 0

function setup(thread)
    thread:set("id", count)
    count = count + 1
    table.insert(threads, thread)
end

function init(args)
    paths = {}
    for line in io.lines(args[1]) do
        if line ~= "" then
            paths[#paths + 1] = line
        end
    end
    local nthreads = tonumber(os.getenv("WALK_THREADS") or "2")
    index = math.floor(id * #paths / nthreads)
end

function request()
    local path = paths[index % #paths + 1]
    index = index + 1
    return wrk.format("GET", path)
end

function done(summary, latency, requests)
    local e = summary.errors
    local errors = e.connect + e.read + e.write + e.status + e.timeout
    io.write(string.format(
        "RESULT %.0f %.2f %.2f %.2f %d\n",
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000,
        latency:percentile(95) / 1000,
        latency:percentile(99) / 1000,
        errors
    ))
end
