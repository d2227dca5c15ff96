/* Fixture python.exe: loads <exe dir>\DLLs\_ssl.pyd the way CPython does and prints what the real
   interpreter prints on failure. Built twice:
     -DALTERED  LoadLibraryExW(path, NULL, LOAD_WITH_ALTERED_SEARCH_PATH)  (3.7, old conda builds)
     default    AddDllDirectory(<exe dir>\{Library\mingw-w64\bin, Library\usr\bin, Library\bin,
                Scripts, bin}) at start-up, then LoadLibraryExW(path, NULL,
                LOAD_LIBRARY_SEARCH_DEFAULT_DIRS | LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR)  (patched builds)
   Without arguments, stdout's last line is "RESULT ok <libssl path>|<libcrypto path>" or
   "RESULT error <code>". With arguments (condafix verify's `-I -B -c <probe>`), it answers the
   probe the way the real interpreter does: one JSON object with the `import ssl` outcome, the
   exact "DLL load failed" text, the OpenSSL version (asked of the libssl that loaded) and the
   file `_ssl` came from. */
#include <windows.h>
#include <stdio.h>
#include <wchar.h>

/* Print a wide string as a JSON string body (UTF-8 for ASCII; backslashes and quotes escaped). */
static void json_str(const wchar_t *s) {
    for (; *s; s++) {
        if (*s == L'\\' || *s == L'"') printf("\\%c", (char)*s);
        else if (*s < 0x20) printf("\\u%04x", (unsigned)*s);
        else if (*s < 0x80) putchar((char)*s);
        else printf("\\u%04x", (unsigned)*s);
    }
}

static void print_module(const wchar_t *name) {
    wchar_t path[MAX_PATH * 2];
    HMODULE h = GetModuleHandleW(name);
    if (!h || !GetModuleFileNameW(h, path, MAX_PATH * 2)) { wprintf(L"-"); return; }
    wprintf(L"%ls", path);
}

int wmain(int argc, wchar_t **argv) {
    (void)argv;
    wchar_t exe[MAX_PATH * 2], dir[MAX_PATH * 2], pyd[MAX_PATH * 2];
    GetModuleFileNameW(NULL, exe, MAX_PATH * 2);
    wcscpy(dir, exe);
    wchar_t *slash = wcsrchr(dir, L'\\');
    if (slash) *slash = 0;
#ifndef ALTERED
    static const wchar_t *conda_dirs[] = {L"\\Library\\mingw-w64\\bin", L"\\Library\\usr\\bin",
                                          L"\\Library\\bin", L"\\Scripts", L"\\bin"};
    for (int i = 0; i < 5; i++) {
        wchar_t d[MAX_PATH * 2];
        swprintf(d, MAX_PATH * 2, L"%ls%ls", dir, conda_dirs[i]);
        if (GetFileAttributesW(d) != INVALID_FILE_ATTRIBUTES) AddDllDirectory(d);
    }
    DWORD flags = LOAD_LIBRARY_SEARCH_DEFAULT_DIRS | LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR;
#else
    DWORD flags = LOAD_WITH_ALTERED_SEARCH_PATH;
#endif
    swprintf(pyd, MAX_PATH * 2, L"%ls\\DLLs\\_ssl.pyd", dir);
    HMODULE h = LoadLibraryExW(pyd, NULL, flags);
    if (argc > 1) {
        wchar_t exe_json[MAX_PATH * 2];
        wcscpy(exe_json, exe);
        printf("{\"python\": \"3.x (condafix loader fixture)\", \"executable\": \"");
        json_str(exe_json);
        printf("\", \"ssl\": ");
        if (!h) {
            DWORD err = GetLastError();
            wchar_t msg[512] = L"";
            FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err, 0, msg, 512, NULL);
            size_t n = wcslen(msg);
            while (n && (msg[n - 1] == L'\n' || msg[n - 1] == L'\r')) msg[--n] = 0;
            printf("{\"ok\": false, \"error_type\": \"ImportError\", \"error\": \"DLL load failed while importing _ssl: ");
            json_str(msg);
            printf("\"}}");
            return 0;
        }
        typedef const char *(*version_fn)(void);
        HMODULE ssl = GetModuleHandleW(L"libssl-3-x64.dll");
        version_fn v = ssl ? (version_fn)(void *)GetProcAddress(ssl, "SSL_fixture_version") : NULL;
        wchar_t ssl_file[MAX_PATH * 2] = L"";
        GetModuleFileNameW(h, ssl_file, MAX_PATH * 2);
        printf("{\"ok\": true, \"openssl_version\": \"OpenSSL %s\", \"file\": \"", v ? v() : "unknown");
        json_str(ssl_file);
        printf("\"}}");
        return 0;
    }
    if (!h) {
        DWORD err = GetLastError();
        wchar_t msg[512] = L"";
        FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err, 0, msg, 512, NULL);
        size_t n = wcslen(msg);
        while (n && (msg[n - 1] == L'\n' || msg[n - 1] == L'\r')) msg[--n] = 0;
        fwprintf(stderr, L"ImportError: DLL load failed while importing _ssl: %ls\n", msg);
        wprintf(L"RESULT error %lu\n", err);
        return 1;
    }
    wprintf(L"RESULT ok ");
    print_module(L"libssl-3-x64.dll");
    wprintf(L"|");
    print_module(L"libcrypto-3-x64.dll");
    wprintf(L"\n");
    return 0;
}
