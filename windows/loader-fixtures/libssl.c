/* Fixture libssl-3-x64.dll: imports libcrypto. Built twice: the full one, and with -DFEWER_EXPORTS
   (an older/foreign build that lacks SSL_CTX_new), for the "procedure not found" case. */
#include <windows.h>
__declspec(dllimport) const char *CRYPTO_fixture_version(void);
__declspec(dllexport) const char *SSL_fixture_version(void) { return CRYPTO_fixture_version(); }
__declspec(dllexport) void *SSL_new(void *ctx) { (void)ctx; return 0; }
#ifndef FEWER_EXPORTS
__declspec(dllexport) void *SSL_CTX_new(void *method) { (void)method; return 0; }
#endif
