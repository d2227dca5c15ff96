<#
  Intune remediation, detection script: exit 0 when every conda install on this machine is
  compliant (Python loads ssl without activation, no insecure TLS settings), 1 when remediation is
  needed. `condafix check` prints nothing; its exit code is the answer.
  Deploy condafix.exe next to this script (or set $Condafix).
#>
$Condafix = Join-Path $PSScriptRoot 'condafix.exe'
if (-not (Test-Path -LiteralPath $Condafix)) { Write-Output 'condafix.exe not found'; exit 1 }
& $Condafix check
$code = $LASTEXITCODE
if ($code -eq 0) { Write-Output 'compliant'; exit 0 }
Write-Output "remediation needed (condafix check exit $code)"
exit 1
