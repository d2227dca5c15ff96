//! The extension modules whose imports decide whether `import ssl` (and `hashlib`'s OpenSSL
//! backend) load: `_ssl` and `_hashlib` in the interpreter's `DLLs\`, under their plain or
//! tagged names (`_ssl.cp313t-win_amd64.pyd` in a free-threaded build).

use std::path::{Path, PathBuf};

use crate::facts::Disk;
use crate::model::display_path;
use crate::report::ModuleReport;

/// The modules, in the order the report lists them (`_ssl` first).
pub const SSL_MODULES: [&str; 2] = ["_ssl", "_hashlib"];

/// The file of module `stem` in `dlls`: `<stem>.pyd`, else a tagged `<stem>.cp3*.pyd`.
fn module_file(dlls: &Path, stem: &str, disk: &mut Disk) -> Option<PathBuf> {
    if let Some(p) = disk.find(dlls, &format!("{stem}.pyd")) {
        return Some(p);
    }
    let prefix = format!("{stem}.cp3");
    let mut tagged: Vec<_> = disk
        .listing(dlls)
        .iter()
        .filter(|(lower, _)| lower.starts_with(&prefix) && lower.ends_with(".pyd"))
        .map(|(lower, real)| (lower.clone(), real.clone()))
        .collect();
    tagged.sort();
    tagged.into_iter().next().map(|(_, real)| dlls.join(real))
}

pub(crate) fn module_reports(dlls: &Path, disk: &mut Disk) -> Vec<ModuleReport> {
    SSL_MODULES
        .iter()
        .map(|stem| {
            let module = format!("{stem}.pyd");
            let Some(path) = module_file(dlls, stem, disk) else {
                return ModuleReport {
                    path: display_path(&dlls.join(&module)),
                    file: module.clone(),
                    module,
                    present: false,
                    machine: None,
                    imports: Vec::new(),
                    problem: None,
                };
            };
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| module.clone());
            let (machine, imports, problem) = match &disk.facts(&path).pe {
                Ok(info) => (Some(info.machine), info.imports.clone(), None),
                Err(p) => (None, Vec::new(), Some(p.clone())),
            };
            ModuleReport {
                module,
                file,
                path: display_path(&path),
                present: true,
                machine,
                imports,
                problem,
            }
        })
        .collect()
}
