<#
  ConfigMgr (SCCM) application detection method, script type PowerShell (runs as SYSTEM).
  The contract: the application is "installed" (compliant) when the script exits 0 AND writes
  something to standard output; exit 0 with nothing on standard output means "not installed"
  (the deployment then runs its install program, e.g. `condafix.exe post-install --all-users
  --remove-insecure --replace-foreign`); a non-zero exit is an error.

  condafix.exe is expected at %ProgramFiles%\condafix\condafix.exe (the application's content).
  Windows PowerShell 5.1 and PowerShell 7.
#>
$Condafix = Join-Path $env:ProgramFiles 'condafix\condafix.exe'
if (-not (Test-Path -LiteralPath $Condafix)) { exit 0 }   # not installed
$ErrorActionPreference = 'Continue'
# condafix writes UTF-8 when its output is piped, and PowerShell decodes a native program's output
# with [Console]::OutputEncoding, the OEM code page (437, or 949 on Korean Windows): a profile
# folder with non-ASCII letters would arrive garbled. UTF-8 (no BOM) around the call, restored
# after it (setting it fails without a console; then it stays as it is).
$savedEncoding = [Console]::OutputEncoding
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
try {
    $line = & $Condafix check --all-users 2>$null | Select-Object -Last 1
    $code = $LASTEXITCODE
} finally {
    try { [Console]::OutputEncoding = $savedEncoding } catch { }
}
if ($code -eq 0) { Write-Output $line }                    # compliant: "installed"
exit 0
