/* Fixture python.exe: loads <exe dir>\DLLs\_ssl.pyd the way CPython does and prints what the real
   interpreter prints on failure. Built twice:
     -DALTERED  LoadLibraryExW(path, NULL, LOAD_WITH_ALTERED_SEARCH_PATH)  (3.7, old conda builds)
     default    AddDllDirectory(<exe dir>\{Library\mingw-w64\bin, Library\usr\bin, Library\bin,
                Scripts, bin}) at start-up, then LoadLibraryExW(path, NULL,
                LOAD_LIBRARY_SEARCH_DEFAULT_DIRS | LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR)  (patched builds)
   stdout, last line: "RESULT ok <libssl path>|<libcrypto path>" or "RESULT error <code>". */
#include <windows.h>
#include <stdio.h>
#include <wchar.h>

static void print_module(const wchar_t *name) {
    wchar_t path[MAX_PATH * 2];
    HMODULE h = GetModuleHandleW(name);
    if (!h || !GetModuleFileNameW(h, path, MAX_PATH * 2)) { wprintf(L"-"); return; }
    wprintf(L"%ls", path);
}

int wmain(void) {
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
