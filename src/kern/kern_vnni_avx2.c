/*
 * kern/kern_vnni_avx2 — the AVX2 table compiled again with AVX-VNNI
 * (vpdpbusd on 256-bit vectors: Intel Alder Lake and later client CPUs,
 * which have it without AVX-512; AMD Zen 5 reports it too but takes the
 * AVX-512 table): the byte products of the dot products and of the prompt
 * gemm go through vpdpbusd instead of vpmaddubsw + vpmaddwd, integer sums
 * unchanged. Chosen at run time when
 * cpuid reports AVX-VNNI (kern.c); the file name ends in _avx2.c so every
 * build script treats it as an AVX2 file, and the extension is enabled here.
 */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avxvnni"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avxvnni")
#endif

#define HRT_AVX2_VNNI 1
#include "kern_avx2.c"

#if defined(__clang__)
#pragma clang attribute pop
#endif
