//! Windows: folders as handles, every step opened with `NtCreateFile` relative to the folder's
//! handle (`OBJECT_ATTRIBUTES.RootDirectory`) with `FILE_OPEN_REPARSE_POINT`, and refused when it
//! is a reparse point (a junction, a symlink, a mount point); renames and removals by handle
//! (`SetFileInformationByHandle` with `FileRenameInfoEx` relative to the folder's handle, and
//! `FileDispositionInfoEx`), rights read and set on handles (`GetSecurityInfo`,
//! `SetSecurityInfo`). Only the root of a location is opened by path (with `\\?\`, as std does).
#![allow(unsafe_code)]

use std::ffi::{OsStr, OsString};
use std::os::windows::ffi::{OsStrExt as _, OsStringExt as _};
use std::os::windows::fs::OpenOptionsExt as _;
use std::os::windows::io::{AsRawHandle as _, FromRawHandle as _, OwnedHandle, RawHandle};
use std::path::Path;

use windows_sys::Wdk::Foundation::OBJECT_ATTRIBUTES;
use windows_sys::Wdk::Storage::FileSystem::{
    FileDispositionInformation, FileDispositionInformationEx, FileRenameInformation,
    FileRenameInformationEx, NtCreateFile, NtSetInformationFile, FILE_CREATE, FILE_DIRECTORY_FILE,
    FILE_NON_DIRECTORY_FILE, FILE_OPEN, FILE_OPEN_IF, FILE_OPEN_REPARSE_POINT,
    FILE_SYNCHRONOUS_IO_NONALERT,
};
use windows_sys::Win32::Foundation::{
    LocalFree, RtlNtStatusToDosError, HANDLE, OBJ_CASE_INSENSITIVE, UNICODE_STRING,
};
use windows_sys::Win32::Security::Authorization::{
    GetSecurityInfo, SetSecurityInfo, SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::{
    GetSecurityDescriptorControl, ACL, DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION,
    PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID,
    UNPROTECTED_DACL_SECURITY_INFORMATION,
};
use windows_sys::Win32::Storage::FileSystem::{
    FileFullDirectoryInfo, FileFullDirectoryRestartInfo, GetFileInformationByHandle,
    GetFileInformationByHandleEx, GetFileType, BY_HANDLE_FILE_INFORMATION, DELETE,
    FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_NORMAL, FILE_ATTRIBUTE_REPARSE_POINT,
    FILE_DISPOSITION_INFO, FILE_DISPOSITION_INFO_EX, FILE_FLAG_BACKUP_SEMANTICS,
    FILE_FULL_DIR_INFO, FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_LIST_DIRECTORY,
    FILE_READ_ATTRIBUTES, FILE_RENAME_INFO, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE,
    FILE_TRAVERSE, FILE_TYPE_DISK, READ_CONTROL, SYNCHRONIZE, WRITE_DAC,
};
use windows_sys::Win32::System::IO::IO_STATUS_BLOCK;

use crate::identity::AccountId;
use crate::location::{Kind, Meta};

/// The error a step that is a reparse point gets: "the name of the file cannot be resolved by
/// the system" (condafix does not resolve it).
const LINK_REFUSED: i32 = 1921;
const ERROR_NO_MORE_FILES: i32 = 18;
const ERROR_INVALID_PARAMETER: i32 = 87;
const ERROR_NOT_SUPPORTED: i32 = 50;
const ERROR_INVALID_FUNCTION: i32 = 1;

/// An open folder.
#[derive(Debug)]
pub struct DirHandle(OwnedHandle);

impl DirHandle {
    pub fn try_clone(&self) -> std::io::Result<Self> {
        Ok(Self(self.0.try_clone()?))
    }

    fn raw(&self) -> HANDLE {
        self.0.as_raw_handle() as HANDLE
    }
}

pub fn is_link_error(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(LINK_REFUSED)
}

/// Windows' "the file is in use" errors: sharing violation, lock violation, and the access
/// denied that a pending delete or a mapped image gives.
pub fn in_use(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(32) | Some(33) | Some(5))
}

fn wide(s: &OsStr) -> Vec<u16> {
    s.encode_wide().collect()
}

/// `NtCreateFile` of `name` relative to `dir`.
fn nt_open(
    dir: &DirHandle,
    name: &OsStr,
    access: u32,
    disposition: u32,
    options: u32,
) -> std::io::Result<OwnedHandle> {
    nt_create(
        dir,
        name,
        access,
        disposition,
        options,
        std::ptr::null_mut(),
    )
}

/// [`nt_open`], with the security descriptor a new object gets when it is made (`sd`: null for
/// what the folder passes down). A descriptor given here is the object's from its first moment:
/// no window in which an inherited ACE lets a user plant something inside.
fn nt_create(
    dir: &DirHandle,
    name: &OsStr,
    access: u32,
    disposition: u32,
    options: u32,
    sd: PSECURITY_DESCRIPTOR,
) -> std::io::Result<OwnedHandle> {
    let mut w = wide(name);
    if w.is_empty() || w.len() > 32_000 || w.contains(&(b'\\' as u16)) || w.contains(&(b'/' as u16))
    {
        return Err(std::io::Error::from_raw_os_error(123)); // ERROR_INVALID_NAME
    }
    let bytes = (w.len() * 2) as u16;
    let us = UNICODE_STRING {
        Length: bytes,
        MaximumLength: bytes,
        Buffer: w.as_mut_ptr(),
    };
    let oa = OBJECT_ATTRIBUTES {
        Length: std::mem::size_of::<OBJECT_ATTRIBUTES>() as u32,
        RootDirectory: dir.raw(),
        ObjectName: &us,
        Attributes: OBJ_CASE_INSENSITIVE,
        SecurityDescriptor: sd as *const _,
        SecurityQualityOfService: std::ptr::null(),
    };
    let mut handle: HANDLE = std::ptr::null_mut();
    let mut iosb: IO_STATUS_BLOCK = unsafe { std::mem::zeroed() };
    // SAFETY: every pointer refers to a local that outlives the call; the name's buffer is `w`.
    let status = unsafe {
        NtCreateFile(
            &mut handle,
            access,
            &oa,
            &mut iosb,
            std::ptr::null(),
            FILE_ATTRIBUTE_NORMAL,
            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            disposition,
            options | FILE_OPEN_REPARSE_POINT | FILE_SYNCHRONOUS_IO_NONALERT,
            std::ptr::null(),
            0,
        )
    };
    if status < 0 {
        // SAFETY: a pure conversion of a status code.
        let code = unsafe { RtlNtStatusToDosError(status) };
        return Err(std::io::Error::from_raw_os_error(code as i32));
    }
    // SAFETY: NtCreateFile succeeded: `handle` is open and owned by nothing else.
    let owned = unsafe { OwnedHandle::from_raw_handle(handle as RawHandle) };
    if info(owned.as_raw_handle() as HANDLE)?.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        return Err(std::io::Error::from_raw_os_error(LINK_REFUSED));
    }
    Ok(owned)
}

fn info(h: HANDLE) -> std::io::Result<BY_HANDLE_FILE_INFORMATION> {
    let mut i: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: `h` is an open handle and `i` a writable structure of the right size.
    if unsafe { GetFileInformationByHandle(h, &mut i) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(i)
}

const DIR_ACCESS: u32 =
    FILE_LIST_DIRECTORY | FILE_TRAVERSE | FILE_READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE;

/// Open the folder at `path` (followed as the system resolves it).
pub fn open_root(path: &Path) -> std::io::Result<DirHandle> {
    // std::fs::OpenOptions: it makes the path a `\\?\` one, so long paths work.
    #[allow(clippy::disallowed_types)]
    let f = std::fs::OpenOptions::new()
        .access_mode(DIR_ACCESS)
        .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)?;
    let h: OwnedHandle = f.into();
    if info(h.as_raw_handle() as HANDLE)?.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY == 0 {
        return Err(std::io::Error::from_raw_os_error(267)); // ERROR_DIRECTORY
    }
    Ok(DirHandle(h))
}

pub fn open_dir(dir: &DirHandle, name: &OsStr) -> std::io::Result<DirHandle> {
    nt_open(dir, name, DIR_ACCESS, FILE_OPEN, FILE_DIRECTORY_FILE).map(DirHandle)
}

pub fn make_dir(dir: &DirHandle, name: &OsStr, mode: u32) -> std::io::Result<()> {
    let sd = crate::control::folder_sddl(mode)
        .map(Descriptor::from_sddl)
        .transpose()?;
    nt_create(
        dir,
        name,
        DIR_ACCESS,
        FILE_CREATE,
        FILE_DIRECTORY_FILE,
        sd.as_ref().map_or(std::ptr::null_mut(), |d| d.0),
    )?;
    Ok(())
}

/// A self-relative security descriptor made from SDDL, freed with `LocalFree`.
struct Descriptor(PSECURITY_DESCRIPTOR);

impl Descriptor {
    #[allow(unsafe_code)]
    fn from_sddl(sddl: &str) -> std::io::Result<Self> {
        use windows_sys::Win32::Security::Authorization::ConvertStringSecurityDescriptorToSecurityDescriptorW;
        let w: Vec<u16> = sddl.encode_utf16().chain(Some(0)).collect();
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `w` is NUL-terminated; on success `sd` is a LocalAlloc'd descriptor, owned by
        // the returned value.
        if unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                w.as_ptr(),
                1,
                &mut sd,
                std::ptr::null_mut(),
            )
        } == 0
        {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Descriptor(sd))
    }
}

impl Drop for Descriptor {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW, freed once.
        unsafe {
            windows_sys::Win32::Foundation::LocalFree(self.0 as _);
        }
    }
}

/// How a file is opened (the modes are Unix permission bits: a new file here inherits its
/// folder's ACL).
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)]
pub enum FileHow {
    Read,
    CreateNew { mode: u32 },
    ReadWriteCreate { mode: u32 },
    AppendCreate { mode: u32 },
}

#[allow(clippy::disallowed_types)]
pub fn open_file(dir: &DirHandle, name: &OsStr, how: FileHow) -> std::io::Result<std::fs::File> {
    let (access, disposition) = match how {
        FileHow::Read => (FILE_GENERIC_READ | READ_CONTROL, FILE_OPEN),
        FileHow::CreateNew { .. } => (
            FILE_GENERIC_READ | FILE_GENERIC_WRITE | DELETE | WRITE_DAC | READ_CONTROL,
            FILE_CREATE,
        ),
        FileHow::ReadWriteCreate { .. } => (
            FILE_GENERIC_READ | FILE_GENERIC_WRITE | READ_CONTROL,
            FILE_OPEN_IF,
        ),
        // FILE_APPEND_DATA without FILE_WRITE_DATA: every write goes to the end.
        FileHow::AppendCreate { .. } => (
            windows_sys::Win32::Storage::FileSystem::FILE_APPEND_DATA
                | SYNCHRONIZE
                | READ_CONTROL
                | FILE_READ_ATTRIBUTES,
            FILE_OPEN_IF,
        ),
    };
    let h = nt_open(dir, name, access, disposition, FILE_NON_DIRECTORY_FILE)?;
    // SAFETY: an open handle.
    if unsafe { GetFileType(h.as_raw_handle() as HANDLE) } != FILE_TYPE_DISK {
        return Err(std::io::Error::from_raw_os_error(1)); // not a disk file
    }
    Ok(std::fs::File::from(h))
}

fn sid_string(sid: PSID) -> Option<String> {
    crate::windows::token::sid_to_string(sid)
}

fn owner_of(h: HANDLE) -> Option<String> {
    let mut owner: PSID = std::ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: out-pointers into `sd`, freed with LocalFree.
    unsafe {
        if GetSecurityInfo(
            h,
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION,
            &mut owner,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut sd,
        ) != 0
        {
            return None;
        }
        let s = sid_string(owner);
        LocalFree(sd as _);
        s
    }
}

fn meta_of(h: HANDLE) -> std::io::Result<Meta> {
    let i = info(h)?;
    let kind = if i.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        Kind::Link
    } else if i.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY != 0 {
        Kind::Dir
    } else {
        Kind::File
    };
    let write = (u64::from(i.ftLastWriteTime.dwHighDateTime) << 32)
        | u64::from(i.ftLastWriteTime.dwLowDateTime);
    Ok(Meta {
        kind,
        len: (u64::from(i.nFileSizeHigh) << 32) | u64::from(i.nFileSizeLow),
        links: u64::from(i.nNumberOfLinks),
        owner: AccountId::Sid(owner_of(h).unwrap_or_default()),
        unix_gid: 0,
        unix_mode: 0,
        volume: u64::from(i.dwVolumeSerialNumber),
        index: (u64::from(i.nFileIndexHigh) << 32) | u64::from(i.nFileIndexLow),
        modified_ns: u128::from(write) * 100,
        // FILE_ATTRIBUTE_READONLY
        readonly: i.dwFileAttributes & 0x1 != 0,
    })
}

#[allow(clippy::disallowed_types)]
pub fn stat_file(file: &std::fs::File) -> std::io::Result<Meta> {
    meta_of(file.as_raw_handle() as HANDLE)
}

pub fn stat_dir(dir: &DirHandle) -> std::io::Result<Meta> {
    meta_of(dir.raw())
}

/// The entry `name` in `dir`, not followed (a reparse point is reported as a link).
pub fn stat_at(dir: &DirHandle, name: &OsStr) -> std::io::Result<Meta> {
    match nt_open(
        dir,
        name,
        FILE_READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE,
        FILE_OPEN,
        0,
    ) {
        Ok(h) => meta_of(h.as_raw_handle() as HANDLE),
        Err(e) if is_link_error(&e) => Ok(Meta {
            kind: Kind::Link,
            len: 0,
            links: 1,
            owner: AccountId::Sid(String::new()),
            unix_gid: 0,
            unix_mode: 0,
            volume: 0,
            index: 0,
            modified_ns: 0,
            readonly: false,
        }),
        Err(e) => Err(e),
    }
}

/// `NtSetInformationFile`: the NT call itself (kernelbase's `SetFileInformationByHandle` does
/// not pass every rename through on every system: Wine answers "invalid parameter").
fn set_info(h: HANDLE, class: i32, buf: &[u8]) -> std::io::Result<()> {
    let mut iosb: IO_STATUS_BLOCK = unsafe { std::mem::zeroed() };
    // SAFETY: `buf` holds a structure of the class's type, of the length passed.
    let status = unsafe {
        NtSetInformationFile(
            h,
            &mut iosb,
            buf.as_ptr() as *const _,
            buf.len() as u32,
            class,
        )
    };
    if status < 0 {
        // SAFETY: a pure conversion.
        let code = unsafe { RtlNtStatusToDosError(status) };
        return Err(std::io::Error::from_raw_os_error(code as i32));
    }
    Ok(())
}

fn unsupported(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(ERROR_INVALID_PARAMETER | ERROR_NOT_SUPPORTED | ERROR_INVALID_FUNCTION)
    )
}

/// Rename `from` to `to`, both in `dir`, by handle: the source is opened relative to the folder
/// (not followed), and renamed relative to the folder's handle, replacing what is there.
pub fn rename_at(dir: &DirHandle, from: &OsStr, to: &OsStr) -> std::io::Result<()> {
    rename_in(dir, from, to, true)
}

/// Rename `from` to `to` in `dir` unless `to` exists (`ERROR_ALREADY_EXISTS` then).
pub fn rename_new_at(dir: &DirHandle, from: &OsStr, to: &OsStr) -> std::io::Result<()> {
    rename_in(dir, from, to, false)
}

fn rename_in(dir: &DirHandle, from: &OsStr, to: &OsStr, replace: bool) -> std::io::Result<()> {
    let h = nt_open(
        dir,
        from,
        DELETE | SYNCHRONIZE | FILE_READ_ATTRIBUTES,
        FILE_OPEN,
        0,
    )?;
    let name = wide(to);
    let head = std::mem::offset_of!(FILE_RENAME_INFO, FileName);
    let mut buf = vec![0u8; head + name.len() * 2 + 2];
    let mut fill = |flags_or_replace: u32| {
        buf.iter_mut().for_each(|b| *b = 0);
        // SAFETY: `buf` is large enough for the header and the name; the header is written
        // through an unaligned-safe pointer write.
        unsafe {
            let p = buf.as_mut_ptr() as *mut FILE_RENAME_INFO;
            let mut info: FILE_RENAME_INFO = std::mem::zeroed();
            info.Anonymous.Flags = flags_or_replace;
            info.RootDirectory = dir.raw();
            info.FileNameLength = (name.len() * 2) as u32;
            std::ptr::write_unaligned(p, info);
            std::ptr::copy_nonoverlapping(
                name.as_ptr() as *const u8,
                buf.as_mut_ptr().add(head),
                name.len() * 2,
            );
        }
        buf.clone()
    };
    // FILE_RENAME_FLAG_REPLACE_IF_EXISTS (when replacing) | FILE_RENAME_FLAG_POSIX_SEMANTICS.
    let ex = fill(u32::from(replace) | 0x2);
    match set_info(h.as_raw_handle() as HANDLE, FileRenameInformationEx, &ex) {
        Err(e) if unsupported(&e) => {
            // Older systems (and Wine): the plain class, ReplaceIfExists as asked.
            let plain = fill(u32::from(replace));
            set_info(h.as_raw_handle() as HANDLE, FileRenameInformation, &plain)
        }
        other => other,
    }
}

fn delete_by_handle(h: HANDLE) -> std::io::Result<()> {
    // FILE_DISPOSITION_FLAG_DELETE | FILE_DISPOSITION_FLAG_POSIX_SEMANTICS.
    let ex = FILE_DISPOSITION_INFO_EX { Flags: 0x1 | 0x2 };
    // SAFETY: a plain structure viewed as bytes.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            &ex as *const _ as *const u8,
            std::mem::size_of::<FILE_DISPOSITION_INFO_EX>(),
        )
    };
    match set_info(h, FileDispositionInformationEx, bytes) {
        Err(e) if unsupported(&e) => {
            let plain = FILE_DISPOSITION_INFO { DeleteFile: true };
            // SAFETY: as above.
            let bytes = unsafe {
                std::slice::from_raw_parts(
                    &plain as *const _ as *const u8,
                    std::mem::size_of::<FILE_DISPOSITION_INFO>(),
                )
            };
            set_info(h, FileDispositionInformation, bytes)
        }
        other => other,
    }
}

/// Remove the file `name` in `dir`; a reparse point there is removed as itself (it is opened
/// with `FILE_OPEN_REPARSE_POINT`, so its target is never reached).
pub fn remove_file_at(dir: &DirHandle, name: &OsStr) -> std::io::Result<()> {
    let h = match nt_open(
        dir,
        name,
        DELETE | SYNCHRONIZE | FILE_READ_ATTRIBUTES,
        FILE_OPEN,
        FILE_NON_DIRECTORY_FILE,
    ) {
        Ok(h) => h,
        Err(e) if is_link_error(&e) => open_reparse_itself(dir, name)?,
        Err(e) => return Err(e),
    };
    delete_by_handle(h.as_raw_handle() as HANDLE)
}

/// Open a reparse point itself (for its removal).
fn open_reparse_itself(dir: &DirHandle, name: &OsStr) -> std::io::Result<OwnedHandle> {
    let mut w = wide(name);
    let bytes = (w.len() * 2) as u16;
    let us = UNICODE_STRING {
        Length: bytes,
        MaximumLength: bytes,
        Buffer: w.as_mut_ptr(),
    };
    let oa = OBJECT_ATTRIBUTES {
        Length: std::mem::size_of::<OBJECT_ATTRIBUTES>() as u32,
        RootDirectory: dir.raw(),
        ObjectName: &us,
        Attributes: OBJ_CASE_INSENSITIVE,
        SecurityDescriptor: std::ptr::null(),
        SecurityQualityOfService: std::ptr::null(),
    };
    let mut handle: HANDLE = std::ptr::null_mut();
    let mut iosb: IO_STATUS_BLOCK = unsafe { std::mem::zeroed() };
    // SAFETY: as in nt_open.
    let status = unsafe {
        NtCreateFile(
            &mut handle,
            DELETE | SYNCHRONIZE,
            &oa,
            &mut iosb,
            std::ptr::null(),
            FILE_ATTRIBUTE_NORMAL,
            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            FILE_OPEN,
            FILE_OPEN_REPARSE_POINT | FILE_SYNCHRONOUS_IO_NONALERT,
            std::ptr::null(),
            0,
        )
    };
    if status < 0 {
        // SAFETY: a pure conversion.
        let code = unsafe { RtlNtStatusToDosError(status) };
        return Err(std::io::Error::from_raw_os_error(code as i32));
    }
    // SAFETY: a new handle owned by nothing else.
    Ok(unsafe { OwnedHandle::from_raw_handle(handle as RawHandle) })
}

pub fn remove_dir_at(dir: &DirHandle, name: &OsStr) -> std::io::Result<()> {
    let h = nt_open(
        dir,
        name,
        DELETE | SYNCHRONIZE | FILE_READ_ATTRIBUTES,
        FILE_OPEN,
        FILE_DIRECTORY_FILE,
    )?;
    delete_by_handle(h.as_raw_handle() as HANDLE)
}

/// The names in `dir`, with what each is (reparse points as links).
pub fn list(dir: &DirHandle) -> std::io::Result<Vec<(OsString, Kind)>> {
    let mut out = Vec::new();
    let mut buf = vec![0u64; 8192]; // 64 KiB, 8-byte aligned
    let mut class = FileFullDirectoryRestartInfo;
    loop {
        // SAFETY: `buf` is writable and its size in bytes is passed.
        let ok = unsafe {
            GetFileInformationByHandleEx(
                dir.raw(),
                class,
                buf.as_mut_ptr() as *mut _,
                (buf.len() * 8) as u32,
            )
        };
        if ok == 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(ERROR_NO_MORE_FILES) {
                break;
            }
            return Err(e);
        }
        class = FileFullDirectoryInfo;
        let base = buf.as_ptr() as *const u8;
        let mut offset = 0usize;
        loop {
            // SAFETY: the system filled `buf` with a chain of FILE_FULL_DIR_INFO entries, each
            // within the buffer; fields are read unaligned-safely.
            let (next, attrs, name) = unsafe {
                let e = base.add(offset) as *const FILE_FULL_DIR_INFO;
                let next = std::ptr::addr_of!((*e).NextEntryOffset).read_unaligned();
                let attrs = std::ptr::addr_of!((*e).FileAttributes).read_unaligned();
                let len = std::ptr::addr_of!((*e).FileNameLength).read_unaligned() as usize / 2;
                let name_ptr = std::ptr::addr_of!((*e).FileName) as *const u16;
                let mut name = vec![0u16; len];
                std::ptr::copy_nonoverlapping(
                    name_ptr as *const u8,
                    name.as_mut_ptr() as *mut u8,
                    len * 2,
                );
                (next, attrs, name)
            };
            let name = OsString::from_wide(&name);
            if name != "." && name != ".." {
                let kind = if attrs & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
                    Kind::Link
                } else if attrs & FILE_ATTRIBUTE_DIRECTORY != 0 {
                    Kind::Dir
                } else {
                    Kind::File
                };
                out.push((name, kind));
            }
            if next == 0 {
                break;
            }
            offset += next as usize;
        }
    }
    Ok(out)
}

/// No permission bits on Windows.
#[allow(clippy::disallowed_types)]
pub fn set_mode(_: &std::fs::File, _: u32) -> std::io::Result<()> {
    Ok(())
}

pub fn sync_dir(_: &DirHandle) {}

/// The DACL of a replaced file, with whether it was protected from inheritance.
pub struct Carried {
    sd: PSECURITY_DESCRIPTOR,
    dacl: *mut ACL,
    protected: bool,
}

impl Drop for Carried {
    fn drop(&mut self) {
        // SAFETY: `sd` came from GetSecurityInfo and is freed once.
        unsafe {
            LocalFree(self.sd as _);
        }
    }
}

/// Read the DACL (and its protection) of the file a write replaces, from its handle.
#[allow(clippy::disallowed_types)]
pub fn carry_from(file: &std::fs::File) -> Option<Carried> {
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: out-pointers into `sd`, owned by the returned value.
    unsafe {
        if GetSecurityInfo(
            file.as_raw_handle() as HANDLE,
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut sd,
        ) != 0
        {
            return None;
        }
        let mut control = 0u16;
        let mut rev = 0u32;
        GetSecurityDescriptorControl(sd, &mut control, &mut rev);
        Some(Carried {
            sd,
            dacl,
            // SE_DACL_PROTECTED
            protected: control & 0x1000 != 0,
        })
    }
}

/// Give the new file the replaced file's DACL, protected or not as it was (the owner is not
/// carried: the file was created by the account condafix acts as there).
#[allow(clippy::disallowed_types)]
pub fn carry_to(c: &Carried, file: &std::fs::File) -> std::io::Result<()> {
    let flag = if c.protected {
        PROTECTED_DACL_SECURITY_INFORMATION
    } else {
        UNPROTECTED_DACL_SECURITY_INFORMATION
    };
    // SAFETY: the DACL lives in `c.sd`; the handle was opened with WRITE_DAC.
    let rc = unsafe {
        SetSecurityInfo(
            file.as_raw_handle() as HANDLE,
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION | flag,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            c.dacl,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc as i32));
    }
    Ok(())
}

/// Who may change the folder open as `dir`: its owner and DACL, read from the handle, judged by
/// the pure evaluator.
pub fn control_of_dir(dir: &DirHandle) -> std::io::Result<crate::Control> {
    let sd = crate::windows::acl::descriptor_of(dir.raw())?;
    let writers = crate::control::windows_writers(&sd, crate::control::windows_trusted);
    Ok(crate::Control::from_writers(&writers, |sid| {
        crate::windows::account::is_user(sid)
    }))
}

/// A state folder condafix made got its protected owner-only DACL when it was made.
pub fn protect_new_state_folder(_: &crate::Location) {}

/// Who, besides the administrators and the system, may change the file or folder at `path`
/// (its owner and DACL, from a handle): for a reparse point, who may change it and what it
/// points at.
pub fn writers_of_path(path: &Path) -> std::io::Result<Vec<crate::Writer>> {
    let open = |follow: bool| open_for_rights(path, follow);
    let h = open(false)?;
    let judge = |h: &OwnedHandle| -> std::io::Result<Vec<crate::Writer>> {
        let sd = crate::windows::acl::descriptor_of(h.as_raw_handle() as HANDLE)?;
        Ok(crate::control::windows_writers(
            &sd,
            crate::control::windows_trusted,
        ))
    };
    let mut out = judge(&h)?;
    if info(h.as_raw_handle() as HANDLE)?.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        out.extend(judge(&open(true)?)?);
    }
    Ok(out)
}

/// `path` opened to read its owner, DACL and attributes (a folder too), everything shared;
/// `follow`: through a reparse point, else the point itself.
fn open_for_rights(path: &Path, follow: bool) -> std::io::Result<OwnedHandle> {
    #[allow(clippy::disallowed_types)]
    let f = std::fs::OpenOptions::new()
        .access_mode(READ_CONTROL | FILE_READ_ATTRIBUTES)
        .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
        .custom_flags(
            FILE_FLAG_BACKUP_SEMANTICS
                | if follow {
                    0
                } else {
                    windows_sys::Win32::Storage::FileSystem::FILE_FLAG_OPEN_REPARSE_POINT
                },
        )
        .open(path)?;
    Ok(f.into())
}

/// Who, besides the administrators and the system, may replace what is inside the folder at
/// `path` (its owner and DACL, from a handle that does not follow a reparse point: a junction
/// is judged as itself, its target on the resolved path).
pub fn replacers_of_folder(path: &Path) -> std::io::Result<Vec<crate::Writer>> {
    let f = open_for_rights(path, false)?;
    let h = f.as_raw_handle() as HANDLE;
    let sd = crate::windows::acl::descriptor_of(h)?;
    // A junction on the way is re-aimed in place by whoever may write to it (its reparse data),
    // not only replaced: judge it as a thing that may be changed.
    if info(h)?.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        return Ok(crate::control::windows_writers(
            &sd,
            crate::control::windows_trusted,
        ));
    }
    Ok(crate::control::windows_replacers(
        &sd,
        crate::control::windows_trusted,
    ))
}

/// Whether a SID is a user account (see `windows::account`).
pub fn is_user_account(id: &str) -> bool {
    crate::windows::account::is_user(id)
}

/// Open a file the way a backup program does (`FILE_FLAG_BACKUP_SEMANTICS`, SeBackupPrivilege
/// enabled for this open only, everything shared so a profile in use is not disturbed), not
/// following a reparse point.
#[allow(clippy::disallowed_types)]
pub fn open_for_backup(path: &Path) -> std::io::Result<std::fs::File> {
    let open = || {
        std::fs::OpenOptions::new()
            .access_mode(FILE_GENERIC_READ)
            .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
            .custom_flags(
                FILE_FLAG_BACKUP_SEMANTICS
                    | windows_sys::Win32::Storage::FileSystem::FILE_FLAG_OPEN_REPARSE_POINT,
            )
            .open(path)
    };
    let f = match crate::windows::privilege::with_privileges(&["SeBackupPrivilege"], open) {
        Ok(r) => r?,
        // Without the privilege: what this account may read anyway.
        Err(_) => open()?,
    };
    if info(f.as_raw_handle() as HANDLE)?.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        return Err(std::io::Error::from_raw_os_error(LINK_REFUSED));
    }
    Ok(f)
}

/// Whether a process with this id is running.
#[allow(unsafe_code)]
pub fn process_alive(pid: u32) -> bool {
    use windows_sys::Win32::Foundation::{CloseHandle, GetLastError, ERROR_ACCESS_DENIED};
    use windows_sys::Win32::System::Threading::{
        GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
    };
    const STILL_ACTIVE: u32 = 259;
    // SAFETY: the handle is checked, used once and closed.
    unsafe {
        let h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
        if h.is_null() {
            // A process we may not open is still a process.
            return GetLastError() == ERROR_ACCESS_DENIED;
        }
        let mut code = 0u32;
        let ok = GetExitCodeProcess(h, &mut code);
        CloseHandle(h);
        ok == 0 || code == STILL_ACTIVE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Under a folder with `%ProgramData%`'s stock ACL (users may add entries), the machine
    /// folder condafix makes is the machine's from its first moment: its protected DACL is
    /// given by the create call itself, not set after.
    #[test]
    fn a_machine_folder_under_a_shared_parent_is_the_machines_when_made() {
        let dir = tempfile::tempdir().unwrap();
        let root = open_root(dir.path()).unwrap();
        let programdata = Descriptor::from_sddl(
            "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)(A;OICI;0x1200a9;;;BU)(A;CI;DCLCRPCR;;;BU)",
        )
        .unwrap();
        nt_create(
            &root,
            OsStr::new("ProgramData"),
            DIR_ACCESS,
            FILE_CREATE,
            FILE_DIRECTORY_FILE,
            programdata.0,
        )
        .unwrap();
        let pd = open_dir(&root, OsStr::new("ProgramData")).unwrap();
        make_dir(&pd, OsStr::new("condafix"), crate::MACHINE_FOLDER).unwrap();
        let made = open_dir(&pd, OsStr::new("condafix")).unwrap();
        let sd = crate::windows::acl::descriptor_of(made.raw()).unwrap();
        let aces = sd.dacl.clone().unwrap();
        assert!(
            aces.iter()
                .all(|a| a.sid != "S-1-5-32-545" || a.mask == 0x1200a9),
            "users may only read: {sd:?}"
        );
        // Nothing inherited; no group of users may change it. (Wine keeps no descriptors on
        // this file system and shows one made from the mode bits: SYSTEM and its owner; real
        // Windows shows the protected DACL given at creation.)
        assert!(aces.iter().all(|a| a.flags & 0x10 == 0), "{sd:?}");
        let dacl_only = crate::control::Descriptor {
            owner: None,
            dacl: Some(aces),
        };
        let groups: Vec<_> =
            crate::control::windows_writers(&dacl_only, crate::control::windows_trusted)
                .into_iter()
                .filter(|w| ["S-1-5-32-545", "S-1-1-0", "S-1-5-11"].contains(&w.id.as_str()))
                .collect();
        assert_eq!(groups, Vec::new(), "{sd:?}");
    }
}
