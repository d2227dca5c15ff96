<#
  Intune remediation, remediation script (runs as SYSTEM): fix every user's conda installs,
  unattended: stage the OpenSSL DLLs (replacing foreign copies, backed up and undoable), take
  insecure TLS settings out, and with -CaFile trust a corporate root. Exits non-zero only when
  something is still broken; the last line of output is the compliance summary Intune shows.
  condafix logs to %ProgramData%\condafix\Logs (the last 10 runs are kept).

  Deployment: condafix.exe at %ProgramFiles%\condafix\condafix.exe (a Win32 app); this script
  is uploaded alone. Windows PowerShell 5.1 and PowerShell 7.
#>
# -ReportDir '\\fs01\condafix-reports$': drop the run's JSON document there for `condafix report`
# (Intune passes no parameters: set the default here).
param([string]$CaFile = '', [string]$ReportDir = '')
$Condafix = Join-Path $env:ProgramFiles 'condafix\condafix.exe'
if (-not (Test-Path -LiteralPath $Condafix)) {
    Write-Output "condafix.exe not found at ${Condafix}: deploy the condafix Win32 app first"
    exit 1
}
[string[]]$cfArgs = @('post-install', '--all-users', '--remove-insecure', '--replace-foreign', '-q')
if ($CaFile) { $cfArgs += @('--ca-file', $CaFile) }
if ($ReportDir) { $cfArgs += @('--report-dir', $ReportDir) }
$ErrorActionPreference = 'Continue'
# condafix writes UTF-8 when its output is piped, and PowerShell decodes a native program's output
# with [Console]::OutputEncoding, the OEM code page (437, or 949 on Korean Windows): a profile
# folder with non-ASCII letters would arrive garbled. UTF-8 (no BOM) around the call, restored
# after it (setting it fails without a console; then it stays as it is).
$savedEncoding = [Console]::OutputEncoding
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
try {
    & $Condafix @cfArgs 2>&1 | ForEach-Object { $_.ToString() } | Out-Null
    $code = $LASTEXITCODE
    $line = & $Condafix check --all-users 2>$null | Select-Object -Last 1
} finally {
    try { [Console]::OutputEncoding = $savedEncoding } catch { }
}
if ($line) { Write-Output $line }
exit $code
