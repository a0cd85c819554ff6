# Build the Windows installer of Clinic Ledger, on Windows 10/11 x64:
#
#   powershell -ExecutionPolicy Bypass -File packaging\build_windows.ps1 [-Python py] [-PythonVersion 3.11]
#
# 1. a build virtualenv (packaging\.build-venv) with the app and PyInstaller;
# 2. the one-folder build (packaging\clinic-ledger.spec) in dist\clinic-ledger\;
# 3. --self-test on both built executables (console and windowed), not on the source tree;
# 4. dist\Clinic-Ledger-Setup.exe with Inno Setup 6 (iscc on PATH or in its default folder;
#    install it with "choco install innosetup" or from jrsoftware.org).
param(
    [string]$Python = "py",
    [string]$PythonVersion = "3.11"
)
$ErrorActionPreference = "Stop"
$Root = Resolve-Path (Join-Path $PSScriptRoot "..")
Set-Location $Root

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

$Venv = Join-Path $Root "packaging\.build-venv"
$VenvPython = Join-Path $Venv "Scripts\python.exe"
if (-not (Test-Path $VenvPython)) {
    if ($Python -eq "py") { Invoke-Checked "py" @("-$PythonVersion", "-m", "venv", $Venv) }
    else { Invoke-Checked $Python @("-m", "venv", $Venv) }
}
Invoke-Checked $VenvPython @("-m", "pip", "install", "-q", "--upgrade", "pip")
Invoke-Checked $VenvPython @("-m", "pip", "install", "-q", "$Root[package]")
$Version = (& $VenvPython -c "import desktop_app; print(desktop_app.__version__)").Trim()

Invoke-Checked (Join-Path $Venv "Scripts\pyinstaller.exe") @(
    "--noconfirm", "--clean", "--log-level", "WARN",
    "--distpath", (Join-Path $Root "dist"), "--workpath", (Join-Path $Root "build\pyinstaller"),
    (Join-Path $Root "packaging\clinic-ledger.spec")
)

# The smoke test, on the built executables, from a folder that is not the source tree.
$AppDir = Join-Path $Root "dist\clinic-ledger"
Push-Location $env:TEMP
try {
    Invoke-Checked (Join-Path $AppDir "clinic-ledger.exe") @("--self-test")
    # The windowed executable has no console: its exit code is the answer.
    $windowed = Start-Process -FilePath (Join-Path $AppDir "Clinic Ledger.exe") `
        -ArgumentList "--self-test" -Wait -PassThru
    if ($windowed.ExitCode -ne 0) { throw "Clinic Ledger.exe --self-test failed ($($windowed.ExitCode))" }
} finally {
    Pop-Location
}

$Iscc = Get-Command iscc -ErrorAction SilentlyContinue
if ($Iscc) { $Iscc = $Iscc.Source } else { $Iscc = Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe" }
if (-not (Test-Path $Iscc)) { throw "Inno Setup 6 (ISCC.exe) was not found: choco install innosetup" }
# Inno Setup's version fields take numbers only: "0.2.0rc1" is installed as 0.2.0.
$Numeric = ($Version -replace '[^0-9.].*$', '')
Invoke-Checked $Iscc @("/Q", "/DAppVersion=$Version", "/DNumericVersion=$Numeric",
    (Join-Path $Root "packaging\windows\clinic-ledger.iss"))
Write-Host "Built dist\Clinic-Ledger-Setup.exe (Clinic Ledger $Version)"
