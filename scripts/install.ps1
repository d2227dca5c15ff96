<#
.SYNOPSIS
  Install condafix.exe from a GitHub release (or a mirror of one), verified against the release's
  SHA256SUMS before anything runs.

.DESCRIPTION
  Downloads condafix-<version>-<target>.zip for this machine's architecture and SHA256SUMS,
  refuses if the zip's SHA-256 is not the listed one, then installs condafix.exe per user
  (%LOCALAPPDATA%\Programs\condafix) or, elevated, for the machine (%ProgramFiles%\condafix), and
  optionally puts that folder on PATH. Windows PowerShell 5.1 and PowerShell 7.

    irm https://github.com/condafix/condafix/releases/latest/download/install.ps1 | iex
    .\install.ps1 -Version 0.2.0 -Scope Machine -AddToPath
    .\install.ps1 -BaseUrl \\share\condafix\releases    # a mirror: <folder>\v<version>\<assets>

  Exit codes: 0 installed; 2 the release could not be fetched; 3 the SHA-256 did not match
  (nothing installed); 4 a machine install without elevation.
#>
[CmdletBinding()]
param(
    [string]$Version = 'latest',
    [string]$BaseUrl = 'https://github.com/condafix/condafix/releases',
    [ValidateSet('Auto', 'User', 'Machine')][string]$Scope = 'Auto',
    [switch]$AddToPath
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2
# Windows PowerShell 5.1 may default to TLS 1.0.
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

function Test-Elevated {
    $id = [Security.Principal.WindowsIdentity]::GetCurrent()
    ([Security.Principal.WindowsPrincipal]$id).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
}

$local = Test-Path -LiteralPath $BaseUrl -PathType Container

function Resolve-Version([string]$v) {
    if ($v -ne 'latest') { return $v.TrimStart('v') }
    if ($local) {
        $tags = Get-ChildItem -LiteralPath $BaseUrl -Directory | Where-Object Name -match '^v\d' |
            Sort-Object { [version](($_.Name.TrimStart('v')) -replace '[-+].*$', '') }
        if (-not $tags) { throw "no v<version> folder in $BaseUrl" }
        return ($tags | Select-Object -Last 1).Name.TrimStart('v')
    }
    # https://github.com/<owner>/<repo>/releases -> the API's latest release
    $repo = ($BaseUrl -replace '^https://github.com/', '' -replace '/releases/?$', '')
    $latest = Invoke-RestMethod -UseBasicParsing -Uri "https://api.github.com/repos/$repo/releases/latest"
    return $latest.tag_name.TrimStart('v')
}

function Get-Asset([string]$ver, [string]$name, [string]$out) {
    if ($local) {
        Copy-Item -LiteralPath (Join-Path (Join-Path $BaseUrl "v$ver") $name) -Destination $out
    } else {
        Invoke-WebRequest -UseBasicParsing -Uri "$BaseUrl/download/v$ver/$name" -OutFile $out
    }
}

# The SHA-256 SHA256SUMS lists for $name, or $null.
function Get-ListedHash([string]$sums, [string]$name) {
    foreach ($line in Get-Content -LiteralPath $sums) {
        if ($line -match '^([0-9a-fA-F]{64}) [ *](.+)$' -and $Matches[2].Trim() -eq $name) {
            return $Matches[1].ToLowerInvariant()
        }
    }
    return $null
}

try {
    $ver = Resolve-Version $Version
} catch {
    Write-Error "condafix: cannot find the release to install: $_" -ErrorAction Continue
    exit 2
}
$arch = $env:PROCESSOR_ARCHITECTURE
if ($env:PROCESSOR_ARCHITEW6432) { $arch = $env:PROCESSOR_ARCHITEW6432 }
$target = if ($arch -eq 'ARM64') { 'aarch64-pc-windows-msvc' } else { 'x86_64-pc-windows-msvc' }
$zipName = "condafix-$ver-$target.zip"

$elevated = Test-Elevated
if ($Scope -eq 'Auto') { $Scope = if ($elevated) { 'Machine' } else { 'User' } }
if ($Scope -eq 'Machine' -and -not $elevated) {
    Write-Error 'condafix: a machine-wide install needs an elevated session (Run as administrator)' -ErrorAction Continue
    exit 4
}
$dest = if ($Scope -eq 'Machine') { Join-Path $env:ProgramFiles 'condafix' } else { Join-Path $env:LOCALAPPDATA 'Programs\condafix' }

$work = Join-Path ([IO.Path]::GetTempPath()) ("condafix-install-" + [guid]::NewGuid())
New-Item -ItemType Directory -Path $work | Out-Null
try {
    try {
        Get-Asset $ver 'SHA256SUMS' (Join-Path $work 'SHA256SUMS')
        Get-Asset $ver $zipName (Join-Path $work $zipName)
    } catch {
        Write-Error "condafix: cannot download release $ver ($zipName): $_" -ErrorAction Continue
        exit 2
    }
    $expected = Get-ListedHash (Join-Path $work 'SHA256SUMS') $zipName
    $actual = (Get-FileHash -Algorithm SHA256 -LiteralPath (Join-Path $work $zipName)).Hash.ToLowerInvariant()
    if (-not $expected -or $expected -ne $actual) {
        Write-Error "condafix: REFUSED: $zipName has SHA-256 $actual, SHA256SUMS lists $expected; nothing was installed" -ErrorAction Continue
        exit 3
    }
    Expand-Archive -LiteralPath (Join-Path $work $zipName) -DestinationPath (Join-Path $work 'x') -Force
    New-Item -ItemType Directory -Force -Path $dest | Out-Null
    Copy-Item -LiteralPath (Join-Path $work 'x\condafix.exe') -Destination (Join-Path $dest 'condafix.exe') -Force
} finally {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

if ($AddToPath) {
    $where = if ($Scope -eq 'Machine') { 'Machine' } else { 'User' }
    $path = [Environment]::GetEnvironmentVariable('Path', $where)
    $parts = @($path -split ';' | Where-Object { $_ })
    if ($parts -notcontains $dest) {
        [Environment]::SetEnvironmentVariable('Path', (($parts + $dest) -join ';'), $where)
        Write-Output "added $dest to the $where PATH (new shells see it)"
    }
}
$exe = Join-Path $dest 'condafix.exe'
Write-Output ("installed " + (& $exe --version) + " at $exe")
exit 0
