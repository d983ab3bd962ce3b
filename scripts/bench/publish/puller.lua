-- wrk script: what a puller fetches to follow a list from version 1 to 2,
-- in turn on each connection: the latest pointer, version 2's manifest,
-- its signature and the delta from version 1.
--
--   static tree (nginx): wrk ... -s puller.lua http://NGINX -- static bench 2
--   the node itself:     wrk ... -s puller.lua http://NODE  -- node bench 2 TOKEN
--
-- The summary's requests/sec counts each of the four; a puller's whole
-- round is one in four of them. No response() callback (wrk would copy
-- each delta into Lua): wrk's own summary counts non-2xx answers.
local paths = {}
local headers = {}
local i = 0

function init(args)
  local kind, list, v = args[1], args[2], tonumber(args[3])
  if kind == "static" then
    local dir = "/lists/" .. list .. "/" .. v
    paths = { "/lists/" .. list .. "/latest.json", dir .. "/manifest.json", dir .. "/manifest.sig", dir .. "/delta.ndjson" }
  else
    local rel = "/v1/lists/" .. list .. "/releases"
    paths = { rel .. "/latest", rel .. "/" .. v .. "/manifest.json", rel .. "/" .. v .. "/manifest.sig",
      "/v1/lists/" .. list .. "/delta?from=" .. (v - 1) .. "&to=" .. v }
    headers["Authorization"] = "Bearer " .. args[4]
  end
  i = math.random(#paths) - 1
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], headers)
end
