<#
  Intune remediation, remediation script: fix every conda install on this machine, unattended,
  and exit non-zero only when something is still broken (Intune then reports the failure).
  Add your corporate root with -CaFile when a TLS-intercepting proxy is in use.
#>
param([string]$CaFile = '')
$Condafix = Join-Path $PSScriptRoot 'condafix.exe'
if (-not (Test-Path -LiteralPath $Condafix)) { Write-Output 'condafix.exe not found'; exit 1 }
$log = Join-Path $env:ProgramData 'condafix\logs\intune-remediate.log'
$args = @('post-install', '--log-file', $log, '--remove-insecure')
if ($CaFile) { $args += @('--ca-file', $CaFile) }
& $Condafix @args
exit $LASTEXITCODE
