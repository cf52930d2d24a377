/* insn_sysinfo.c - rdtsc and cpuid, checked without printing raw values:
 * the time-stamp counter must increase, and cpuid (which under tern
 * describes tern's own CPU model, not the host's) must report a sane
 * maximum leaf and SSE/SSE2 in leaf 1. */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>

static uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t)hi << 32 | lo;
}

int main(void) {
  int increasing = 1;
  uint64_t prev = rdtsc();
  volatile uint64_t sink = 0;
  for (int i = 0; i < 1000; i++) {
    for (int k = 0; k < 100; k++)
      sink += (uint64_t)k * i;
    uint64_t now = rdtsc();
    if (now <= prev)
      increasing = 0;
    prev = now;
  }
  printf("rdtsc strictly increasing over 1000 reads: %d\n", increasing);

  unsigned max_leaf, ebx, ecx, edx, eax;
  __cpuid(0, max_leaf, ebx, ecx, edx);
  printf("cpuid max basic leaf >= 1: %d\n", max_leaf >= 1);
  __cpuid(1, eax, ebx, ecx, edx);
  printf("cpuid leaf 1: sse %d sse2 %d\n", (edx >> 25) & 1, (edx >> 26) & 1);
  return increasing && max_leaf >= 1 && ((edx >> 26) & 1) ? 0 : 1;
}
