-- CPU-bound Lua workload for tern's benchmark suite.
--
-- Usage: lua5.4 bench.lua ROUNDS
--
-- Each round runs a bitmask N-queens search, word counting with tables and
-- strings, sorting of generated records, and a particle simulation with
-- metatable-based objects; every result is folded into a checksum printed at
-- the end, so runs under an emulator can be compared with the native run.

local function mix(h, v)
  h = (h ~ v) * 0x100000001B3
  return h ~ (h >> 29)
end

local Rng = {}
Rng.__index = Rng

function Rng.new(seed)
  return setmetatable({ state = seed }, Rng)
end

function Rng:next()
  self.state = self.state * 6364136223846793005 + 1442695040888963407
  return self.state >> 33
end

function Rng:below(n)
  return self:next() % n
end

local function queens(n)
  local full = (1 << n) - 1
  local function solve(cols, d1, d2)
    if cols == full then
      return 1
    end
    local count = 0
    local avail = ~(cols | d1 | d2) & full
    while avail ~= 0 do
      local bit = avail & -avail
      avail = avail ~ bit
      count = count + solve(cols | bit, ((d1 | bit) << 1) & full, (d2 | bit) >> 1)
    end
    return count
  end
  return solve(0, 0, 0)
end

local SYLLABLES = { "ka", "to", "ri", "en", "sa", "mo", "lu", "pe", "an", "is", "or", "ve", "ne", "di", "ga", "ul" }

local function words(rng, count)
  local vocab = {}
  for i = 1, 300 do
    local parts = {}
    for j = 1, 1 + rng:below(3) do
      parts[j] = SYLLABLES[rng:below(16) + 1]
    end
    vocab[i] = table.concat(parts)
  end
  local picked = {}
  for i = 1, count do
    local u = rng:below(1000) / 1000.0
    picked[i] = vocab[math.floor(#vocab * u * u) + 1]
  end
  local text = table.concat(picked, " ")
  local freq, distinct = {}, 0
  for w in text:gmatch("%a+") do
    if not freq[w] then
      distinct = distinct + 1
    end
    freq[w] = (freq[w] or 0) + 1
  end
  local list = {}
  for w, c in pairs(freq) do
    list[#list + 1] = { w, c }
  end
  table.sort(list, function(a, b)
    if a[2] ~= b[2] then
      return a[2] > b[2]
    end
    return a[1] < b[1]
  end)
  local h = distinct
  for i = 1, 10 do
    h = mix(h, list[i][2] * 131 + #list[i][1])
  end
  return mix(h, #(text:upper():gsub("KA", "ka")))
end

local function records(rng, count)
  local rows = {}
  for i = 1, count do
    rows[i] = { rng:below(1000), string.format("id%06d", rng:below(1000000)), rng:below(10000) / 100.0 }
  end
  table.sort(rows, function(a, b)
    if a[1] ~= b[1] then
      return a[1] < b[1]
    end
    return a[2] < b[2]
  end)
  local sums, counts = {}, {}
  for _, r in ipairs(rows) do
    local g = r[1] % 37
    sums[g] = (sums[g] or 0) + r[3]
    counts[g] = (counts[g] or 0) + 1
  end
  local h = 0
  for g = 0, 36 do
    if counts[g] then
      h = mix(h, math.floor(sums[g] * 100 + 0.5) + counts[g])
    end
  end
  return mix(h, rows[count // 2 + 1][1])
end

local Particle = {}
Particle.__index = Particle

function Particle.new(x, y, vx, vy)
  return setmetatable({ x = x, y = y, vx = vx, vy = vy }, Particle)
end

function Particle:step(dt)
  self.x = self.x + self.vx * dt
  self.y = self.y + self.vy * dt
  if self.x < 0 or self.x > 100 then
    self.vx = -self.vx
  end
  if self.y < 0 or self.y > 100 then
    self.vy = -self.vy
  end
end

local function particles(rng, count, steps)
  local ps = {}
  for i = 1, count do
    ps[i] = Particle.new(rng:below(100), rng:below(100), rng:below(21) - 10, rng:below(21) - 10)
  end
  for _ = 1, steps do
    for _, p in ipairs(ps) do
      p:step(0.05)
    end
  end
  local s = 0
  for _, p in ipairs(ps) do
    s = s + p.x * 3 + p.y
  end
  return mix(#ps, math.floor(s))
end

local rounds = tonumber(arg[1] or "1")
local rng = Rng.new(12345)
local h = 0xCBF29CE484222325 -- hex literals wrap to 64-bit integers
for _ = 1, rounds do
  h = mix(h, queens(8))
  h = mix(h, words(rng, 6000))
  h = mix(h, records(rng, 4000))
  h = mix(h, particles(rng, 200, 60))
end
print(string.format("lua rounds=%d checksum=%016x", rounds, h))
