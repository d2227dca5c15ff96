/* Fixture libcrypto-3-x64.dll: exports what libssl and _ssl.pyd import. */
#include <windows.h>
__declspec(dllexport) const char *CRYPTO_fixture_version(void) { return FIXTURE_VERSION; }
__declspec(dllexport) unsigned long ERR_get_error(void) { return 0; }
