/* Wine 8.0 lacks bcryptprimitives.dll, whose ProcessPrng Rust's std imports (Rust >= 1.78).
   This stub forwards to RtlGenRandom so Rust test executables run under Wine. */
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len); /* RtlGenRandom */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n; len -= n;
    }
    return TRUE;
}
