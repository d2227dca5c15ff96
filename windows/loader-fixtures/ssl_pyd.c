/* Fixture _ssl.pyd: imports libssl (SSL_new, SSL_CTX_new) and libcrypto (ERR_get_error), as the
   real one does. */
#include <windows.h>
__declspec(dllimport) void *SSL_new(void *);
__declspec(dllimport) void *SSL_CTX_new(void *);
__declspec(dllimport) unsigned long ERR_get_error(void);
__declspec(dllexport) void *PyInit__ssl(void) {
    SSL_new(SSL_CTX_new(0));
    return (void *)(ULONG_PTR)ERR_get_error();
}
