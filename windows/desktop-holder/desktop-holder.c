/* Keeps Wine's desktop process (explorer.exe /desktop) running for the whole Windows lane.
 *
 * Wine starts explorer.exe /desktop from the first process that needs the desktop window (in the
 * suite: condafix's WM_SETTINGCHANGE broadcast after it writes HKCU\Environment), and the new
 * explorer inherits that process's stdout and stderr. A test that reads condafix's output to the
 * end then waits for explorer, which only exits when no process uses the desktop any more: the
 * test hangs. Started once by scripts/windows-lane.sh with its output on /dev/null, this process
 * makes the desktop (so explorer inherits /dev/null) and stays on it until `wineserver -k`. */
#include <windows.h>

int main(void) {
    DWORD_PTR result;
    SendMessageTimeoutW(HWND_BROADCAST, WM_NULL, 0, 0, SMTO_ABORTIFHUNG, 1000, &result);
    Sleep(INFINITE);
    return 0;
}
