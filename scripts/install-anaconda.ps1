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
    10+N  the installer failed with exit code N (condafix not run)
    20 the installer exited 0 but the prefix is incomplete
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

function Write-Log([string]$Message) {
    $line = '{0} {1}' -f (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ'), $Message
    Add-Content -Path $LogFile -Value $line
    Write-Host $line
}

if (-not (Test-Path -LiteralPath $Installer)) { Write-Log "installer not found: $Installer"; exit 2 }
if (-not (Test-Path -LiteralPath $Condafix)) { Write-Log "condafix.exe not found: $Condafix"; exit 2 }

# /D= must be the last argument and must not be quoted, even with spaces.
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
$cfArgs = @('post-install', '--prefix', $Target, '--log-file', $condafixLog) + $CondafixArgs
Write-Log "running $Condafix $($cfArgs -join ' ')"
& $Condafix @cfArgs 2>&1 | ForEach-Object { Write-Log "condafix: $_" }
$code = $LASTEXITCODE
Write-Log "condafix exit code $code (log: $condafixLog)"
exit $code
