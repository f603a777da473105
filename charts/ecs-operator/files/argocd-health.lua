-- Argo CD health of the ecs-operator kinds (EcsCapacityProvider, EcsCluster, EcsTaskDefinition,
-- EcsService, EcsScalingPolicy, EcsTask), read from the conditions and observedGeneration that
-- ecs-operator writes.
local hs = {}
if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Being deleted: the operator is cleaning up in AWS"
  return hs
end
local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end
if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator"
  return hs
end
if generation ~= nil and (obj.status.observedGeneration == nil or obj.status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to see generation " .. tostring(generation)
  return hs
end
local found = {}
if obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    found[condition.type] = condition
  end
end
local function current(condition)
  return condition ~= nil and (generation == nil or condition.observedGeneration == nil or condition.observedGeneration >= generation)
end
local stalled = found["Stalled"]
if current(stalled) and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = (stalled.reason or "Stalled") .. ": " .. (stalled.message or "")
  return hs
end
local paused = found["Paused"]
if current(paused) and paused.status == "True" then
  hs.status = "Suspended"
  hs.message = (paused.reason or "Paused") .. ": " .. (paused.message or "")
  return hs
end
local ready = found["Ready"]
if current(ready) and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
local reconciling = found["Reconciling"]
hs.status = "Progressing"
if current(reconciling) and reconciling.status == "True" then
  hs.message = (reconciling.reason or "Reconciling") .. ": " .. (reconciling.message or "")
elseif ready ~= nil then
  hs.message = (ready.reason or "NotReady") .. ": " .. (ready.message or "")
else
  hs.message = "Waiting for the operator"
end
return hs
