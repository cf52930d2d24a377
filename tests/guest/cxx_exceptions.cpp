// cxx_exceptions.cpp - C++ exceptions and the standard library.
//
// Exceptions are thrown through several frames (exercising the DWARF
// unwinder, which reads .eh_frame and walks saved registers), rethrown,
// caught by base class and by catch(...), and destructors must run during
// unwinding. std::string, std::map, std::vector and std::sort supply the
// rest of the workload.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

static int live_guards = 0;
static std::string trail;

struct Guard {
  std::string name;
  explicit Guard(std::string n) : name(std::move(n)) { ++live_guards; }
  ~Guard() {
    --live_guards;
    trail += "~" + name + " ";
  }
};

struct AppError : std::runtime_error {
  int code;
  AppError(const std::string &what, int c) : std::runtime_error(what), code(c) {}
};

struct DeepError : AppError {
  int depth;
  DeepError(int d) : AppError("deep failure", 99), depth(d) {}
};

static int level3(int x) {
  Guard g("l3");
  if (x % 3 == 0) throw AppError("divisible by three: " + std::to_string(x), x);
  if (x % 5 == 0) throw std::out_of_range("five");
  if (x % 7 == 0) throw 7;
  return x * 2;
}

static int level2(int x) {
  Guard g("l2");
  std::vector<std::unique_ptr<Guard>> owned;
  owned.emplace_back(new Guard("heap"));
  return level3(x) + 1;
}

static int level1(int x) {
  Guard g("l1");
  try {
    return level2(x);
  } catch (const std::out_of_range &e) {
    trail += "[l1 caught out_of_range, rethrowing] ";
    throw;
  }
}

static void dive(int depth, int limit) {
  Guard g("d" + std::to_string(depth % 10));
  if (depth == limit) throw DeepError(depth);
  dive(depth + 1, limit);
}

static uint64_t seed = 12345;
static uint32_t next_rand() {
  seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  return static_cast<uint32_t>(seed >> 33);
}

int main() {
  for (int x = 1; x <= 16; ++x) {
    trail.clear();
    try {
      int r = level1(x);
      std::printf("x=%d ok %d", x, r);
    } catch (const AppError &e) {
      std::printf("x=%d AppError(%s, %d)", x, e.what(), e.code);
    } catch (const std::exception &e) {
      std::printf("x=%d std::exception(%s)", x, e.what());
    } catch (...) {
      std::printf("x=%d unknown exception", x);
    }
    std::printf(" live=%d trail=%s\n", live_guards, trail.c_str());
  }

  for (int limit : {1, 10, 100, 1000}) {
    trail.clear();
    try {
      dive(0, limit);
    } catch (const DeepError &e) {
      std::printf("dive %d: caught depth %d code %d live=%d trail length %zu\n", limit, e.depth,
                  e.code, live_guards, trail.size());
    }
  }

  // Exception thrown from a destructor-free nested try, rethrown as another type.
  try {
    try {
      throw std::logic_error("inner");
    } catch (const std::logic_error &e) {
      throw std::runtime_error(std::string("outer wrapping ") + e.what());
    }
  } catch (const std::runtime_error &e) {
    std::printf("nested: %s\n", e.what());
  }

  // std::exception_ptr round trip.
  std::exception_ptr saved;
  try {
    throw AppError("saved", 5);
  } catch (...) {
    saved = std::current_exception();
  }
  try {
    std::rethrow_exception(saved);
  } catch (const AppError &e) {
    std::printf("rethrown exception_ptr: %s %d\n", e.what(), e.code);
  }

  // Containers and algorithms.
  std::map<std::string, int> counts;
  std::vector<std::string> words;
  for (int i = 0; i < 20000; ++i) {
    std::string w;
    int len = 1 + next_rand() % 4;
    for (int j = 0; j < len; ++j) w += static_cast<char>('a' + next_rand() % 5);
    ++counts[w];
    words.push_back(w);
  }
  std::sort(words.begin(), words.end(), [](const std::string &a, const std::string &b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  words.erase(std::unique(words.begin(), words.end()), words.end());
  std::printf("distinct words %zu (map %zu), first %s last %s\n", words.size(), counts.size(),
              words.front().c_str(), words.back().c_str());
  int shown = 0;
  for (const auto &kv : counts) {
    if (shown++ % 40 == 0) std::printf("  %s: %d\n", kv.first.c_str(), kv.second);
  }
  std::vector<int> nums(50000);
  for (auto &n : nums) n = static_cast<int>(next_rand() % 100000) - 50000;
  std::sort(nums.begin(), nums.end());
  long long sum = 0;
  for (size_t i = 0; i < nums.size(); i += 997) sum += nums[i] * static_cast<long long>(i);
  std::printf("sorted ints: min %d max %d sampled sum %lld sorted=%d\n", nums.front(),
              nums.back(), sum, std::is_sorted(nums.begin(), nums.end()) ? 1 : 0);
  auto it = std::lower_bound(nums.begin(), nums.end(), 0);
  std::printf("first non-negative at %td\n", it - nums.begin());

  try {
    std::vector<int> v(3);
    (void)v.at(10);
  } catch (const std::out_of_range &) {
    std::printf("vector::at threw out_of_range\n");
  }
  try {
    std::string s("abc");
    (void)s.substr(10);
  } catch (const std::out_of_range &) {
    std::printf("string::substr threw out_of_range\n");
  }
  return live_guards;
}
