; Inno Setup 6 script: Clinic-Ledger-Setup.exe from the one-folder build in dist\clinic-ledger.
; Built by packaging\build_windows.ps1, which passes the version:
;   iscc /DAppVersion=0.1.0 packaging\windows\clinic-ledger.iss
;
; Installs per machine (Program Files) or, if the person chooses, for the current user only.
; An update installs over the old version: its program files are replaced (the old _internal
; folder is removed first), and the clinic's database, which lives in the user's data folder
; (%LOCALAPPDATA%\Clinic Ledger\Clinic Ledger), is upgraded the first time the new version opens
; it. Uninstalling never removes that folder.

#define AppName "Clinic Ledger"
#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z clinic-ledger.iss
#endif
#ifndef NumericVersion
  #define NumericVersion AppVersion
#endif
#define Root "..\.."

[Setup]
AppId={{129160BD-B41F-4AE8-A8F8-F32AC86C6DAB}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppName}
VersionInfoVersion={#NumericVersion}
VersionInfoProductName={#AppName}
VersionInfoDescription={#AppName} installer
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#Root}\dist
OutputBaseFilename=Clinic-Ledger-Setup
SetupIconFile={#Root}\resources\clinic-ledger.ico
UninstallDisplayIcon={app}\{#AppName}.exe
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Tasks]
Name: "desktopicon"; Description: "Create a &desktop shortcut"; Flags: unchecked

[InstallDelete]
; The previous version's libraries: a file it had and this one does not must not linger.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#Root}\dist\clinic-ledger\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppName}.exe"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppName}.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppName}.exe"; Description: "Start {#AppName}"; Flags: nowait postinstall skipifsilent
