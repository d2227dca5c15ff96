<#
.SYNOPSIS
  Install Anaconda or Miniconda silently, then make its Python able to do HTTPS with condafix.

.DESCRIPTION
  Downloads nothing: give it the installer you distribute. Runs it silently with the documented
  flags (/S /InstallationType /RegisterPython /AddToPath, and /D= last, unquoted), waits, checks
  its exit code (NSIS: 0 ok, 1 cancelled, 2 aborted) and that the prefix is complete, then runs
  `condafix post-install --prefix <target>` and exits with a combined code:
    0  installed, and every prefix healthy or fixed
    1  installed, but condafix reports a prefix still broken
    2  condafix could not run
    3  condafix needs elevation for a change
    4  an All Users install was asked for from a session that is not elevated (nothing run)
    10+N  the installer failed with exit code N (condafix not run)
    20 the installer exited 0 but the prefix is incomplete
  Runs under Windows PowerShell 5.1 (what Intune and ConfigMgr start) and PowerShell 7.
  Both steps are logged to -LogFile.

.EXAMPLE
  .\install-anaconda.ps1 -Installer \\share\Miniconda3-latest-Windows-x86_64.exe -Target C:\Miniconda3 -InstallationType AllUsers -Condafix .\condafix.exe -CondafixArgs '--ca-file','\\share\corp-root.pem'
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Installer,
    [Parameter(Mandatory = $true)][string]$Target,
    [ValidateSet('JustMe', 'AllUsers')][string]$InstallationType = 'JustMe',
    [ValidateSet(0, 1)][int]$RegisterPython = 0,
    [ValidateSet(0, 1)][int]$AddToPath = 0,
    [string]$Condafix = (Join-Path $PSScriptRoot 'condafix.exe'),
    [string[]]$CondafixArgs = @(),
    [string]$LogFile = (Join-Path $env:TEMP 'install-anaconda-condafix.log')
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2

# The log is UTF-8 without a BOM whatever the PowerShell: Windows PowerShell 5.1's Add-Content
# writes the ANSI code page, which turns a non-ASCII path into question marks.
$utf8 = New-Object System.Text.UTF8Encoding $false
# .NET resolves a relative path against the process's folder, not PowerShell's location.
$LogFile = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($LogFile)
function Write-Log([string]$Message) {
    $line = '{0} {1}' -f (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ'), $Message
    [System.IO.File]::AppendAllText($LogFile, $line + [Environment]::NewLine, $utf8)
    Write-Host $line
}

if (-not (Test-Path -LiteralPath $Installer)) { Write-Log "installer not found: $Installer"; exit 2 }
if (-not (Test-Path -LiteralPath $Condafix)) { Write-Log "condafix.exe not found: $Condafix"; exit 2 }

# The installer wants an absolute /D= (a relative one lands somewhere else): resolve it against
# PowerShell's location, not .NET's current directory.
if (-not [System.IO.Path]::IsPathRooted($Target)) {
    $Target = Join-Path (Get-Location).ProviderPath $Target
}
$Target = [System.IO.Path]::GetFullPath($Target)

$identity = [Security.Principal.WindowsIdentity]::GetCurrent()
$isAdmin = ([Security.Principal.WindowsPrincipal]$identity).IsInRole(
    [Security.Principal.WindowsBuiltInRole]::Administrator)
if ($InstallationType -eq 'AllUsers' -and -not $isAdmin) {
    Write-Log "an All Users install needs an elevated session (Run as administrator, or SYSTEM); nothing was run"
    exit 4
}
if ($InstallationType -eq 'AllUsers' -and $AddToPath -eq 1) {
    Write-Log "warning: the installer ignores /AddToPath=1 for All Users installs; use condafix's --add-to-path for the user, or the machine PATH through your deployment tool"
}

# /D= must be the last argument and must not be quoted, even with spaces: the installer's
# arguments are one string (an array would be quoted element by element).
$arguments = "/S /InstallationType=$InstallationType /RegisterPython=$RegisterPython /AddToPath=$AddToPath /D=$Target"
Write-Log "running $Installer $arguments"
$p = Start-Process -FilePath $Installer -ArgumentList $arguments -Wait -PassThru
$installerCode = $p.ExitCode
Write-Log "installer exit code $installerCode"
if ($installerCode -ne 0) { exit (10 + $installerCode) }

$history = Join-Path $Target 'conda-meta\history'
$python = Join-Path $Target 'python.exe'
if (-not (Test-Path -LiteralPath $history) -or -not (Test-Path -LiteralPath $python)) {
    Write-Log "the installer exited 0 but $Target is incomplete (no conda-meta\history or python.exe)"
    exit 20
}

$condafixLog = [System.IO.Path]::ChangeExtension($LogFile, '.condafix.log')
[string[]]$cfArgs = @('post-install', '--prefix', $Target, '--log-file', $condafixLog) + $CondafixArgs
Write-Log "running $Condafix $($cfArgs -join ' ')"
# condafix writes its report to stderr. Windows PowerShell 5.1 turns each stderr line of a native
# program into an error record, which 'Stop' would throw on: capture with 'Continue' and log the
# lines as text.
$saved = $ErrorActionPreference
$ErrorActionPreference = 'Continue'
# condafix writes UTF-8 when its output is piped, and PowerShell decodes a native program's output
# with [Console]::OutputEncoding, the OEM code page (437, or 949 on Korean Windows): a profile
# folder with non-ASCII letters would arrive garbled. UTF-8 (no BOM) around the call, restored
# after it (setting it fails without a console; then it stays as it is).
$savedEncoding = [Console]::OutputEncoding
try { [Console]::OutputEncoding = $utf8 } catch { }
try {
    & $Condafix @cfArgs 2>&1 | ForEach-Object { Write-Log ("condafix: " + $_.ToString()) }
    $code = $LASTEXITCODE
} finally {
    try { [Console]::OutputEncoding = $savedEncoding } catch { }
    $ErrorActionPreference = $saved
}
Write-Log "condafix exit code $code (log: $condafixLog)"
exit $code
