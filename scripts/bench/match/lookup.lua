-- wrk script for hashctl match serve: GET /v1/lookup, cycling through the
-- values of a file (one hex value a line; mkmirror writes half hits, half
-- misses). Each wrk thread starts at another place in the file.
--
--   wrk -t2 -c32 -d15s -s scripts/bench/match/lookup.lua http://127.0.0.1:8090 -- DIR/pdq.txt pdq
local values = {}
local i = 0
local algo = "pdq"

function init(args)
  for line in io.lines(args[1]) do
    values[#values + 1] = line
  end
  if args[2] then
    algo = args[2]
  end
  i = math.random(#values)
end

function request()
  i = i % #values + 1
  return wrk.format("GET", "/v1/lookup?algo=" .. algo .. "&value=" .. values[i])
end
