/* A stand-in for an Anaconda/Miniconda NSIS installer, for testing scripts/install-anaconda.ps1:
   it takes the installer's silent flags, requires /D= to be last and absolute (as NSIS does),
   and lays out the minimum of a conda prefix there (conda-meta\history and a python.exe).
   Exit codes as NSIS: 0 done, 2 aborted (a bad /D=). */
#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

int wmain(int argc, wchar_t **argv) {
    int silent = 0;
    for (int i = 1; i < argc; i++) {
        if (wcscmp(argv[i], L"/S") == 0) silent = 1;
    }
    /* As NSIS: /D= is read from the raw command line, to its end (spaces and all, no quotes). */
    const wchar_t *line = GetCommandLineW();
    const wchar_t *d = wcsstr(line, L" /D=");
    const wchar_t *dest = d ? d + 4 : NULL;
    if (dest && dest[0] == L'"') { fwprintf(stderr, L"/D= must not be quoted\n"); return 2; }
    if (!silent || !dest) { fwprintf(stderr, L"need /S and /D=\n"); return 2; }
    /* NSIS takes the rest of the command line after /D= as the path: it must be absolute. */
    if (!(((dest[0] | 0x20) >= L'a' && (dest[0] | 0x20) <= L'z' && dest[1] == L':' && dest[2] == L'\\')
          || (dest[0] == L'\\' && dest[1] == L'\\'))) {
        fwprintf(stderr, L"/D= is not absolute: %ls\n", dest);
        return 2;
    }
    wchar_t path[4096];
    swprintf(path, 4096, L"%ls\\conda-meta", dest);
    CreateDirectoryW(dest, NULL);
    CreateDirectoryW(path, NULL);
    swprintf(path, 4096, L"%ls\\conda-meta\\history", dest);
    FILE *f = _wfopen(path, L"wb");
    if (!f) return 2;
    fputs("==> 2026-01-01 00:00:00 <==\n# cmd: stub installer\n", f);
    fclose(f);
    wchar_t self[4096];
    GetModuleFileNameW(NULL, self, 4096);
    swprintf(path, 4096, L"%ls\\python.exe", dest);
    if (!CopyFileW(self, path, FALSE)) return 2;
    return 0;
}
