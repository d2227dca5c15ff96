<#
  Intune remediation, detection script (runs as SYSTEM): exit 0 when every user's conda installs
  on this machine are compliant (Python loads ssl without activation, no insecure TLS setting),
  1 when remediation is needed. The last line of standard output is what the Intune console
  shows and exports: condafix check's own summary (`condafix check: NOT COMPLIANT (1 of 3
  prefixes) | condafix=... | broken era=A ... C:\Users\...`), which `condafix report` reads back.

  Deployment: a Win32 app puts condafix.exe at %ProgramFiles%\condafix\condafix.exe on every
  device (the detection and remediation scripts are uploaded alone and look for it there).
  Windows PowerShell 5.1 and PowerShell 7.
#>
# A share for `condafix report` (e.g. '\\fs01\condafix-reports$'): each run drops its document
# there. Intune runs the script without parameters: set it here. Empty: no document.
$ReportDir = ''
$Condafix = Join-Path $env:ProgramFiles 'condafix\condafix.exe'
if (-not (Test-Path -LiteralPath $Condafix)) {
    Write-Output "condafix.exe not found at ${Condafix}: deploy the condafix Win32 app first"
    exit 1
}
# As SYSTEM condafix works for every user's profile; --all-users says so when run otherwise.
$ErrorActionPreference = 'Continue'
# condafix writes UTF-8 when its output is piped, and PowerShell decodes a native program's output
# with [Console]::OutputEncoding, the OEM code page (437, or 949 on Korean Windows): a profile
# folder with non-ASCII letters would arrive garbled. UTF-8 (no BOM) around the call, restored
# after it (setting it fails without a console; then it stays as it is).
[string[]]$cfArgs = @('check', '--all-users')
if ($ReportDir) { $cfArgs += @('--report-dir', $ReportDir) }
$savedEncoding = [Console]::OutputEncoding
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
try {
    $line = & $Condafix @cfArgs 2>$null | Select-Object -Last 1
    $code = $LASTEXITCODE
} finally {
    try { [Console]::OutputEncoding = $savedEncoding } catch { }
}
if ($line) { Write-Output $line } else { Write-Output "condafix check exit $code" }
if ($code -eq 0) { exit 0 }
exit 1
