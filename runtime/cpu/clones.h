/* CT__LOOP_CLONES: builds a function three times, for the baseline (SSE2), x86-64-v3 (AVX2, FMA) and x86-64-v4
 * (AVX-512), and lets the loader pick the best one the machine runs (GCC's target_clones, through an ifunc), so that
 * the loops GCC vectorises do 8 or 16 floats at a time where the CPU allows, with AVX-512's 32 vector registers for
 * the long ones. The build itself targets the baseline. Empty elsewhere, and under ThreadSanitizer, whose runtime is
 * not up yet when the ifunc resolvers run (the program would crash at start-up). */
#ifndef CTORCH_CPU_CLONES_H
#define CTORCH_CPU_CLONES_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && !defined(__SANITIZE_THREAD__)
#define CT__LOOP_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CT__LOOP_CLONES
#endif

#endif
