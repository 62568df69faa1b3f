// Force-included (-include) into the NIfTI fuzz target. Debian's ITK 5.2 headers were
// generated for g++ only: itk_compiler_detection.h stops with "Unsupported compiler" under
// clang, and its GNU branch wants __GNUC__ >= 4.4 (clang says 4.2). The fuzz targets need
// clang (libFuzzer coverage), so the real header is included once here with __clang__ hidden
// and a g++ 12 version (the compiler libstdc++ and ITK were built with; clang implements the
// same C++17 features), then the predefined macros are restored. The header's include guard
// keeps later includes from checking again.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wbuiltin-macro-redefined"
#pragma push_macro("__GNUC__")
#pragma push_macro("__GNUC_MINOR__")
#undef __clang__
#undef __GNUC__
#undef __GNUC_MINOR__
#define __GNUC__ 12
#define __GNUC_MINOR__ 2
#include <itk_compiler_detection.h>
#pragma pop_macro("__GNUC_MINOR__")
#pragma pop_macro("__GNUC__")
#define __clang__ 1
#pragma clang diagnostic pop
