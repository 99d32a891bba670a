-- wrk script: every request registers a new member (a durable write: the member row, its event and its audit
-- record, committed before the 201 is sent).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("GRIDLINE_TOKEN")
local jurisdiction = os.getenv("GRIDLINE_JURISDICTION")
local counter = 0

function setup(thread)
  thread:set("prefix", tostring(math.random(1, 1000000000)))
end

function request()
  counter = counter + 1
  local body = string.format('{"jurisdiction_id": %s, "name": "bench %s-%d", "roles": ["volunteer"]}', jurisdiction, prefix or "0", counter)
  return wrk.format(nil, "/api/v1/members", nil, body)
end
