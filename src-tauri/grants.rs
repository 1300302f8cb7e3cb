//! Which paths the window may name. The window's JavaScript is the least trusted part of the app (it renders text
//! from links and relays), so `send` reads only files and folders the person picked in a dialog or dropped on the
//! window, and `open` writes only into the default download folder or a folder the person picked. A script that
//! names `~/.ssh/id_ed25519` gets an error, not a link to it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{CmdError, CmdResult, Text};

/// Paths the person chose, for this run of the app.
#[derive(Default)]
pub struct Grants {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Files and folders picked or dropped to send.
    to_send: HashSet<PathBuf>,
    /// Folders picked to save into.
    to_save: HashSet<PathBuf>,
}

impl Grants {
    /// The person picked or dropped these to send.
    pub fn allow_send(&self, paths: impl IntoIterator<Item = PathBuf>) {
        self.inner.lock().expect("grants lock").to_send.extend(paths);
    }

    /// The person picked this folder to save into.
    pub fn allow_save(&self, dir: PathBuf) {
        self.inner.lock().expect("grants lock").to_save.insert(dir);
    }

    /// Every path in `paths` was picked or dropped (exactly as it was granted: no parent of a granted file, no
    /// `..` walk out of a granted folder).
    pub fn check_send(&self, paths: &[PathBuf]) -> CmdResult<()> {
        let g = self.inner.lock().expect("grants lock");
        match paths.iter().find(|p| !g.to_send.contains(*p)) {
            None => Ok(()),
            Some(p) => Err(CmdError::new(
                "not_allowed",
                Text::NotPicked,
                format!(
                    "{} was not picked or dropped in this window; add it with Choose files or by dropping it",
                    p.display()
                ),
            )
            .with("path", p.display().to_string())),
        }
    }

    /// `dir` is `default` or a folder the person picked.
    pub fn check_save(&self, dir: &Path, default: &Path) -> CmdResult<()> {
        if dir == default || self.inner.lock().expect("grants lock").to_save.contains(dir) {
            Ok(())
        } else {
            Err(CmdError::new(
                "not_allowed",
                Text::FolderNotPicked,
                format!("{} was not picked in this window; choose the folder with Change…", dir.display()),
            )
            .with("path", dir.display().to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_granted_paths_pass() {
        let g = Grants::default();
        let home = PathBuf::from("/home/sam");
        g.allow_send([home.join("report.pdf"), home.join("photos")]);
        g.check_send(&[home.join("report.pdf"), home.join("photos")]).unwrap();
        for bad in
            [home.join(".ssh/id_ed25519"), home.clone(), home.join("photos/../.ssh"), PathBuf::from("/etc/shadow")]
        {
            assert_eq!(g.check_send(&[home.join("report.pdf"), bad]).unwrap_err().code, "not_allowed");
        }
        let downloads = home.join("Downloads");
        g.check_save(&downloads, &downloads).unwrap();
        assert_eq!(g.check_save(&home.join(".config/autostart"), &downloads).unwrap_err().code, "not_allowed");
        g.allow_save(home.join("Desktop"));
        g.check_save(&home.join("Desktop"), &downloads).unwrap();
    }
}
