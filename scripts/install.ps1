<#
.SYNOPSIS
  Install condafix.exe from a GitHub release (or a mirror of one), verified against the release's
  SHA256SUMS before anything runs.

.DESCRIPTION
  Downloads condafix-<version>-<target>.zip for this machine's architecture and SHA256SUMS,
  refuses if the zip's SHA-256 is not the listed one, then installs condafix.exe per user
  (%LOCALAPPDATA%\Programs\condafix) or, elevated, for the machine (%ProgramFiles%\condafix), and
  with -AddToPath appends that folder to the user or machine Path. Windows PowerShell 5.1 and
  PowerShell 7.

    powershell -ExecutionPolicy Bypass -File .\install.ps1 -Version 0.2.0 -Scope Machine -AddToPath
    powershell -ExecutionPolicy Bypass -File .\install.ps1 -BaseUrl \\share\condafix  # a mirror: <folder>\v<version>\<assets>
    irm https://github.com/condafix/condafix/releases/latest/download/install.ps1 | iex
    & ([scriptblock]::Create((irm https://github.com/condafix/condafix/releases/latest/download/install.ps1))) -AddToPath

  "latest" is read from the newest release's own SHA256SUMS (releases/latest/download/...), not
  from GitHub's API, whose unauthenticated limit (60 requests an hour per address) a fleet
  behind one address would exhaust. Under `irm | iex`, where no parameter can be given,
  CONDAFIX_INSTALL_VERSION and CONDAFIX_INSTALL_BASE_URL stand in for -Version and -BaseUrl.

  PATH: the Path value is read raw from the registry (REG_EXPAND_SZ, %VAR% entries unexpanded),
  compared entry by entry (case-insensitive, trailing \ ignored), appended to and written back as
  REG_EXPAND_SZ; a value of another type is left alone. New programs see it (WM_SETTINGCHANGE is
  broadcast); this session's $env:Path gets it too.

  Exit codes (run as a file; under `irm | iex` the console stays open and $LASTEXITCODE holds the
  code): 0 installed; 1 could not install (the files could not be written); 2 the release could
  not be found or fetched; 3 the SHA-256 did not match (nothing installed); 4 a machine install
  without elevation; 5 bad arguments.
#>
[CmdletBinding()]
param(
    # A release version (0.2.0 or v0.2.0), or 'latest'.
    [string]$Version = $(if ($env:CONDAFIX_INSTALL_VERSION) { $env:CONDAFIX_INSTALL_VERSION } else { 'latest' }),
    # https://github.com/<owner>/<repo>/releases, a web server laid out the same way, or a folder
    # holding v<version>\<assets>.
    [string]$BaseUrl = $(if ($env:CONDAFIX_INSTALL_BASE_URL) { $env:CONDAFIX_INSTALL_BASE_URL } else { 'https://github.com/condafix/condafix/releases' }),
    [ValidateSet('Auto', 'User', 'Machine')][string]$Scope = 'Auto',
    [switch]$AddToPath,
    # A proxy for the downloads (as Scoop's installer takes it). Without -Proxy, the system proxy
    # applies; -ProxyCredential or -ProxyUseDefaultCredentials alone authenticate to that one.
    [Uri]$Proxy,
    [System.Management.Automation.PSCredential]$ProxyCredential,
    [switch]$ProxyUseDefaultCredentials
)

# Everything runs in a child scope: under `irm | iex` the script runs in the caller's session,
# and its strict mode, error preference and helper functions must not stay behind there.
$condafixInstallExit = & {
    Set-StrictMode -Version 2
    $ErrorActionPreference = 'Stop'
    # Windows PowerShell 5.1 draws a progress bar per downloaded block, which makes downloads slow.
    $ProgressPreference = 'SilentlyContinue'
    # Windows PowerShell 5.1 may default to TLS 1.0: add TLS 1.2 (nothing is taken away).
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

    function Test-Elevated {
        $id = [Security.Principal.WindowsIdentity]::GetCurrent()
        ([Security.Principal.WindowsPrincipal]$id).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
    }

    function Write-Refusal([string]$Message) {
        Write-Error "condafix install: $Message" -ErrorAction Continue
    }

    # Invoke-WebRequest's proxy parameters for $Url.
    function Get-ProxyArgs([string]$Url) {
        $a = @{}
        $p = $Proxy
        if (-not $p -and ($ProxyCredential -or $ProxyUseDefaultCredentials)) {
            # Credentials for the system proxy: Invoke-WebRequest wants its address.
            $sys = [Net.WebRequest]::GetSystemWebProxy().GetProxy([Uri]$Url)
            if ($sys -and $sys.AbsoluteUri -ne ([Uri]$Url).AbsoluteUri) { $p = $sys }
        }
        if ($p) { $a['Proxy'] = $p }
        if ($p -and $ProxyCredential) { $a['ProxyCredential'] = $ProxyCredential }
        if ($p -and $ProxyUseDefaultCredentials) { $a['ProxyUseDefaultCredentials'] = $true }
        $a
    }

    function Get-Url([string]$Url, [string]$OutFile) {
        $proxyArgs = Get-ProxyArgs $Url
        Invoke-WebRequest -UseBasicParsing -Uri $Url -OutFile $OutFile @proxyArgs
    }

    # The SHA-256 that SHA256SUMS lists for $Name, or $null.
    function Get-ListedHash([string]$Sums, [string]$Name) {
        foreach ($line in [IO.File]::ReadAllLines($Sums)) {
            if ($line -match '^([0-9a-fA-F]{64}) [ *](.+)$' -and $Matches[2].Trim() -eq $Name) {
                return $Matches[1].ToLowerInvariant()
            }
        }
        return $null
    }

    # The version of the newest release, from its SHA256SUMS (which names every zip).
    function Get-VersionFromSums([string]$Sums, [string]$Target) {
        $suffix = [regex]::Escape("-$Target.zip")
        foreach ($line in [IO.File]::ReadAllLines($Sums)) {
            if ($line -match "^[0-9a-fA-F]{64} [ *]condafix-(.+)$suffix\s*$") { return $Matches[1] }
        }
        return $null
    }

    # Compare PATH entries as Windows resolves them: whole entries, case-insensitive, trailing \
    # ignored, %VAR% expanded.
    function Get-PathKey([string]$Entry) {
        [Environment]::ExpandEnvironmentVariables($Entry.Trim()).TrimEnd('\').ToLowerInvariant()
    }

    # Append $Dir to the user or machine Path in the registry, keeping every other entry as it is
    # stored. $true when it was added, $false when it was there already or left alone.
    function Add-PathEntry([string]$Dir, [string]$Where) {
        if ($Where -eq 'Machine') {
            $key = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey('SYSTEM\CurrentControlSet\Control\Session Manager\Environment', $true)
        } else {
            $key = [Microsoft.Win32.Registry]::CurrentUser.CreateSubKey('Environment')
        }
        try {
            $raw = ''
            if ($key.GetValueNames() -contains 'Path') {
                $kind = $key.GetValueKind('Path')
                if ($kind -ne [Microsoft.Win32.RegistryValueKind]::String -and $kind -ne [Microsoft.Win32.RegistryValueKind]::ExpandString) {
                    Write-Warning "the $Where Path is a $kind value, not a string: left alone; add $Dir to PATH yourself"
                    return $false
                }
                $raw = [string]$key.GetValue('Path', '', [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
            }
            $want = Get-PathKey $Dir
            $entries = @($raw -split ';' | Where-Object { $_.Trim() -ne '' })
            foreach ($e in $entries) {
                if ((Get-PathKey $e) -eq $want) { return $false }
            }
            $key.SetValue('Path', (($entries + $Dir) -join ';'), [Microsoft.Win32.RegistryValueKind]::ExpandString)
        } finally {
            $key.Close()
        }
        # Setting and removing a variable through .NET broadcasts WM_SETTINGCHANGE ("Environment"),
        # so Explorer, and the programs it starts from now on, read the new Path.
        $dummy = 'condafix-install-' + [guid]::NewGuid()
        [Environment]::SetEnvironmentVariable($dummy, '1', $Where)
        [Environment]::SetEnvironmentVariable($dummy, [NullString]::Value, $Where)
        return $true
    }

    function Install-Main {
        if ($Version -ne 'latest' -and $Version.TrimStart('v') -notmatch '^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$') {
            Write-Refusal "-Version must be 'latest' or a version such as 0.2.0, not '$Version'"
            return 5
        }
        if ($ProxyCredential -and $ProxyUseDefaultCredentials) {
            Write-Refusal '-ProxyCredential and -ProxyUseDefaultCredentials exclude each other'
            return 5
        }
        $local = Test-Path -LiteralPath $BaseUrl -PathType Container
        if (-not $local -and $BaseUrl -notmatch '^https://') {
            Write-Refusal "-BaseUrl must be an https:// address or an existing folder, not '$BaseUrl'"
            return 5
        }
        $base = $BaseUrl.TrimEnd('/', '\')
        $arch = $env:PROCESSOR_ARCHITECTURE
        if ($env:PROCESSOR_ARCHITEW6432) { $arch = $env:PROCESSOR_ARCHITEW6432 }
        $target = if ($arch -eq 'ARM64') { 'aarch64-pc-windows-msvc' } else { 'x86_64-pc-windows-msvc' }

        $elevated = Test-Elevated
        $where = $Scope
        if ($where -eq 'Auto') { $where = if ($elevated) { 'Machine' } else { 'User' } }
        if ($where -eq 'Machine' -and -not $elevated) {
            Write-Refusal 'a machine-wide install needs an elevated session (Run as administrator), or use -Scope User'
            return 4
        }
        $dest = if ($where -eq 'Machine') { Join-Path $env:ProgramFiles 'condafix' } else { Join-Path $env:LOCALAPPDATA 'Programs\condafix' }

        $work = Join-Path ([IO.Path]::GetTempPath()) ('condafix-install-' + [guid]::NewGuid())
        New-Item -ItemType Directory -Path $work | Out-Null
        try {
            $sums = Join-Path $work 'SHA256SUMS'
            try {
                if ($Version -ne 'latest') {
                    $ver = $Version.TrimStart('v')
                } elseif ($local) {
                    $tags = @(Get-ChildItem -LiteralPath $base -Directory | Where-Object { $_.Name -match '^v\d+\.\d+\.\d+' } |
                        Sort-Object { [version](($_.Name.TrimStart('v')) -replace '[-+].*$', '') })
                    if (-not $tags) { throw "no v<version> folder in $base" }
                    $ver = $tags[-1].Name.TrimStart('v')
                } else {
                    # The newest release's own checksum list names its zips, and so its version.
                    Get-Url "$base/latest/download/SHA256SUMS" $sums
                    $ver = Get-VersionFromSums $sums $target
                    if (-not $ver) { throw "the newest release's SHA256SUMS lists no condafix-<version>-$target.zip" }
                }
                $zipName = "condafix-$ver-$target.zip"
                $zip = Join-Path $work $zipName
                if ($local) {
                    Copy-Item -LiteralPath (Join-Path (Join-Path $base "v$ver") 'SHA256SUMS') -Destination $sums -Force
                    Copy-Item -LiteralPath (Join-Path (Join-Path $base "v$ver") $zipName) -Destination $zip
                } else {
                    Get-Url "$base/download/v$ver/SHA256SUMS" $sums
                    Get-Url "$base/download/v$ver/$zipName" $zip
                }
            } catch {
                Write-Refusal "cannot fetch the release ($Version) from ${base}: $($_.Exception.Message)"
                return 2
            }
            $expected = Get-ListedHash $sums $zipName
            $actual = (Get-FileHash -Algorithm SHA256 -LiteralPath $zip).Hash.ToLowerInvariant()
            if (-not $expected -or $expected -ne $actual) {
                if (-not $expected) { $expected = '(none)' }
                Write-Refusal "REFUSED: $zipName does not match SHA256SUMS; nothing was installed`n  SHA256SUMS lists: $expected`n  the zip has:      $actual"
                return 3
            }
            try {
                Expand-Archive -LiteralPath $zip -DestinationPath (Join-Path $work 'x') -Force
                New-Item -ItemType Directory -Force -Path $dest | Out-Null
                Copy-Item -LiteralPath (Join-Path $work 'x\condafix.exe') -Destination (Join-Path $dest 'condafix.exe') -Force
            } catch {
                Write-Refusal "cannot install into ${dest}: $($_.Exception.Message)"
                return 1
            }
        } finally {
            Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
        }

        if ($AddToPath) {
            if (Add-PathEntry $dest $where) {
                Write-Host "condafix install: added $dest to the $where Path (new programs see it)"
            } else {
                Write-Host "condafix install: the $where Path already holds $dest"
            }
            if (@($env:Path -split ';' | ForEach-Object { Get-PathKey $_ }) -notcontains (Get-PathKey $dest)) {
                $env:Path = ($env:Path.TrimEnd(';') + ';' + $dest)
            }
        }
        $exe = Join-Path $dest 'condafix.exe'
        $said = & $exe --version
        Write-Host "condafix install: installed $said at $exe"
        return 0
    }

    try {
        Install-Main
    } catch {
        Write-Refusal $_.Exception.Message
        1
    }
}

# Run as a file (powershell -File, .\install.ps1), the exit code is the script's. Under `irm | iex`
# or a script block, `exit` would close the user's console (even after a refusal): set
# $LASTEXITCODE instead and return.
if ($MyInvocation.MyCommand.CommandType -eq 'ExternalScript') { exit $condafixInstallExit }
$global:LASTEXITCODE = $condafixInstallExit
Remove-Variable -Name condafixInstallExit -ErrorAction SilentlyContinue
