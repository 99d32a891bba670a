-- wrk script: every request reports a new incident somewhere in the city (a durable write: the report, its new
-- incident, the de-duplication proposals against the open incidents near it, its event and its audit record, all
-- committed before the 201 is sent). Each request carries its own Idempotency-Key.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("GRIDLINE_TOKEN")
local kinds = {
  {"natural_disaster", "urban_waterlogging"}, {"accident_disaster", "building_fire"}, {"accident_disaster", "gas_leak"},
  {"accident_disaster", "road_traffic"}, {"accident_disaster", "water_main_burst"},
}
local counter = 0

function setup(thread)
  thread:set("prefix", tostring(math.random(1, 1000000000)))
end

function init(args)
  math.randomseed(tonumber(prefix or "1") % 2147483647)
end

function request()
  counter = counter + 1
  local kind = kinds[(counter % #kinds) + 1]
  local lon = 121.21 + math.random() * 0.48
  local lat = 31.01 + math.random() * 0.38
  local body = string.format(
    '{"category": "%s", "subtype": "%s", "description": "bench report %d", "lon": %.6f, "lat": %.6f}',
    kind[1], kind[2], counter, lon, lat)
  -- wrk.format uses the table given instead of wrk.headers, so it carries them all.
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  headers["Idempotency-Key"] = string.format("bench-%s-%d", prefix or "0", counter)
  return wrk.format(nil, "/api/v1/reports", headers, body)
end
