//! Saving a check: one archive (the report as JSON and HTML, the capture, any logs), optionally
//! encrypted with a passphrase (AES-256 ZIP, which 7-Zip, WinZip and `unzip`-compatible tools
//! open), written to a USB key: found, mounted read-write, written, synced, unmounted.
//!
//! Mounting: as root (the command line), `mount(8)` on a private directory; as the service's
//! user, udisks2 (`udisksctl`), which mounts removable media for the user the system allows.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;
use zip::{AesMode, CompressionMethod, ZipWriter};

/// Shortest passphrase accepted for an encrypted archive.
pub const MIN_PASSPHRASE: usize = 8;

/// What goes into an archive.
#[derive(Debug, Default)]
pub struct Contents<'a> {
    /// The report, JSON.
    pub report_json: Option<&'a [u8]>,
    /// The report, HTML.
    pub report_html: Option<&'a [u8]>,
    /// The capture file.
    pub capture: Option<&'a Path>,
    /// A directory of logs (Zeek-style, EVE), added under `logs/`.
    pub logs: Option<&'a Path>,
}

/// Writes the archive of `contents` to `out`; with a passphrase, every entry is encrypted
/// with AES-256.
pub fn write_archive<W: Write + Seek>(
    out: W,
    contents: &Contents<'_>,
    passphrase: Option<&str>,
) -> Result<W, String> {
    if let Some(p) = passphrase {
        if p.chars().count() < MIN_PASSPHRASE {
            return Err(format!(
                "a passphrase has at least {MIN_PASSPHRASE} characters"
            ));
        }
    }
    let base = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o600);
    let options = |stored: bool| {
        let o = if stored {
            base.compression_method(CompressionMethod::Stored)
        } else {
            base
        };
        match passphrase {
            Some(p) => o.with_aes_encryption(AesMode::Aes256, p),
            None => o,
        }
    };
    let mut zip = ZipWriter::new(out);
    let err = |e: zip::result::ZipError| e.to_string();
    if let Some(j) = contents.report_json {
        zip.start_file("report.json", options(false)).map_err(err)?;
        zip.write_all(j).map_err(|e| e.to_string())?;
    }
    if let Some(h) = contents.report_html {
        zip.start_file("report.html", options(false)).map_err(err)?;
        zip.write_all(h).map_err(|e| e.to_string())?;
    }
    if let Some(c) = contents.capture {
        let name = c.extension().map_or("capture.pcapng".to_string(), |e| {
            format!("capture.{}", e.to_string_lossy())
        });
        zip.start_file(name, options(false)).map_err(err)?;
        copy_file(c, &mut zip)?;
    }
    if let Some(dir) = contents.logs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            zip.start_file(format!("logs/{name}"), options(false))
                .map_err(err)?;
            copy_file(&f, &mut zip)?;
        }
    }
    zip.finish().map_err(err)
}

fn copy_file(path: &Path, out: &mut impl Write) -> Result<(), String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            return Ok(());
        }
        out.write_all(buf.get(..n).unwrap_or_default())
            .map_err(|e| e.to_string())?;
    }
}

/// A USB key (a partition, or a disk without partitions) that can take the archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UsbKey {
    /// Its device (`/dev/sdb1`).
    pub device: String,
    /// Its label, if any.
    pub label: Option<String>,
    /// Its filesystem.
    pub fstype: String,
    /// Its size in bytes.
    pub size: u64,
    /// Where it is mounted already, if it is.
    pub mountpoint: Option<String>,
}

#[derive(Deserialize)]
struct Lsblk {
    blockdevices: Vec<BlockDevice>,
}

#[derive(Deserialize)]
struct BlockDevice {
    path: Option<String>,
    rm: Option<bool>,
    hotplug: Option<bool>,
    tran: Option<String>,
    fstype: Option<String>,
    mountpoint: Option<String>,
    label: Option<String>,
    size: Option<u64>,
    #[serde(default)]
    children: Vec<BlockDevice>,
}

/// Filesystems a USB key is written with.
const WRITABLE: &[&str] = &["vfat", "exfat", "ext4", "ext3", "ext2", "ntfs", "ntfs3"];

/// The removable keys in `lsblk --json` output (USB, removable or hot-plugged, with a
/// filesystem tcheck can write).
pub fn parse_lsblk(json: &str) -> Vec<UsbKey> {
    let Ok(l) = serde_json::from_str::<Lsblk>(json) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for disk in &l.blockdevices {
        let removable = disk.rm == Some(true)
            || disk.hotplug == Some(true)
            || disk.tran.as_deref() == Some("usb");
        if !removable {
            continue;
        }
        let parts: Vec<&BlockDevice> = if disk.children.is_empty() {
            vec![disk]
        } else {
            disk.children.iter().collect()
        };
        for p in parts {
            let (Some(path), Some(fs)) = (&p.path, &p.fstype) else {
                continue;
            };
            if WRITABLE.contains(&fs.as_str()) {
                out.push(UsbKey {
                    device: path.clone(),
                    label: p.label.clone(),
                    fstype: fs.clone(),
                    size: p.size.unwrap_or(0),
                    mountpoint: p.mountpoint.clone(),
                });
            }
        }
    }
    out
}

/// The removable keys plugged in now.
pub fn usb_keys() -> Result<Vec<UsbKey>, String> {
    let out = Command::new("lsblk")
        .args([
            "--json",
            "--bytes",
            "--output",
            "PATH,RM,HOTPLUG,TRAN,FSTYPE,MOUNTPOINT,LABEL,SIZE",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("lsblk: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "lsblk: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(parse_lsblk(&String::from_utf8_lossy(&out.stdout)))
}

fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn is_root() -> bool {
    rustix::process::getuid().is_root()
}

/// Writes `archive` (a file) to the key at `device` as `name`: mounts it read-write (unless it
/// is mounted already), copies, syncs, and unmounts what it mounted. Returns the path written
/// on the key.
pub fn save_to_key(device: &str, archive: &Path, name: &str) -> Result<String, String> {
    if name.contains('/') || name.starts_with('.') || name.is_empty() {
        return Err(format!("{name:?} is not a file name"));
    }
    let keys = usb_keys().unwrap_or_default();
    let already = keys
        .iter()
        .find(|k| k.device == device)
        .and_then(|k| k.mountpoint.clone());
    let (mountpoint, mounted_here, private_dir) = match already {
        Some(m) => (PathBuf::from(m), false, None),
        None if is_root() => {
            let dir = std::env::temp_dir().join(format!("tcheck-usb-{}", std::process::id()));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let dir_s = dir.to_string_lossy().into_owned();
            run("mount", &["-o", "rw,nosuid,nodev,noexec", device, &dir_s])?;
            (dir.clone(), true, Some(dir))
        }
        None => {
            // "Mounted /dev/sdb1 at /media/tcheck/KEY"
            let said = run(
                "udisksctl",
                &["mount", "--no-user-interaction", "-b", device],
            )?;
            let at = said
                .trim()
                .rsplit_once(" at ")
                .map(|(_, p)| p.trim_end_matches('.').to_string())
                .ok_or_else(|| format!("udisksctl: {said}"))?;
            (PathBuf::from(at), true, None)
        }
    };
    let dest = mountpoint.join(name);
    let copied = (|| -> Result<(), String> {
        let mut src =
            std::fs::File::open(archive).map_err(|e| format!("{}: {e}", archive.display()))?;
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&dest)
            .map_err(|e| format!("{}: {e}", dest.display()))?;
        std::io::copy(&mut src, &mut out).map_err(|e| format!("{}: {e}", dest.display()))?;
        out.sync_all()
            .map_err(|e| format!("{}: {e}", dest.display()))
    })();
    if mounted_here {
        let unmounted = if private_dir.is_some() {
            run("umount", &[device])
        } else {
            run(
                "udisksctl",
                &["unmount", "--no-user-interaction", "-b", device],
            )
        };
        if let Some(d) = &private_dir {
            let _ = std::fs::remove_dir(d);
        }
        copied?;
        unmounted?;
    } else {
        copied?;
    }
    Ok(dest.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsblk_keeps_removable_writable_partitions() {
        let json = r#"{"blockdevices":[
          {"path":"/dev/mmcblk0","rm":false,"hotplug":false,"tran":null,"fstype":null,"mountpoint":null,"label":null,"size":32000000000,
           "children":[{"path":"/dev/mmcblk0p2","rm":false,"hotplug":false,"tran":null,"fstype":"ext4","mountpoint":"/","label":"rootfs","size":31000000000}]},
          {"path":"/dev/sda","rm":true,"hotplug":true,"tran":"usb","fstype":null,"mountpoint":null,"label":null,"size":16000000000,
           "children":[{"path":"/dev/sda1","rm":true,"hotplug":true,"tran":null,"fstype":"vfat","mountpoint":null,"label":"KEY","size":15999000000},
                       {"path":"/dev/sda2","rm":true,"hotplug":true,"tran":null,"fstype":"swap","mountpoint":null,"label":null,"size":1000}]},
          {"path":"/dev/sdb","rm":false,"hotplug":false,"tran":"usb","fstype":"exfat","mountpoint":"/media/x","label":null,"size":64000000000}
        ]}"#;
        let keys = parse_lsblk(json);
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert_eq!(keys[0].device, "/dev/sda1");
        assert_eq!(keys[0].label.as_deref(), Some("KEY"));
        assert_eq!(keys[1].device, "/dev/sdb");
        assert_eq!(keys[1].mountpoint.as_deref(), Some("/media/x"));
        assert!(parse_lsblk("not json").is_empty());
    }

    #[test]
    fn archives_hold_the_report_and_capture_and_encrypt_with_a_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let cap = dir.path().join("c.pcapng");
        std::fs::write(&cap, b"\x0a\x0d\x0d\x0acapture bytes").unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        std::fs::write(logs.join("dns.log"), b"{}\n").unwrap();
        let contents = Contents {
            report_json: Some(b"{\"verdict\":1}"),
            report_html: Some(b"<html></html>"),
            capture: Some(&cap),
            logs: Some(&logs),
        };
        let plain = write_archive(std::io::Cursor::new(Vec::new()), &contents, None)
            .unwrap()
            .into_inner();
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(plain)).unwrap();
        let mut names: Vec<String> = z.file_names().map(str::to_string).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "capture.pcapng",
                "logs/dns.log",
                "report.html",
                "report.json"
            ]
        );
        let mut s = String::new();
        z.by_name("report.json")
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "{\"verdict\":1}");

        let secret = write_archive(
            std::io::Cursor::new(Vec::new()),
            &contents,
            Some("a long passphrase"),
        )
        .unwrap()
        .into_inner();
        assert!(
            !secret.windows(13).any(|w| w == b"capture bytes"),
            "plain text in the encrypted archive"
        );
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(secret)).unwrap();
        assert!(
            z.by_name("report.json").is_err(),
            "opened without the passphrase"
        );
        let mut s = Vec::new();
        z.by_name_decrypt("capture.pcapng", b"a long passphrase")
            .unwrap()
            .read_to_end(&mut s)
            .unwrap();
        assert_eq!(&s[4..], b"capture bytes");
        assert!(z
            .by_name_decrypt("report.json", b"wrong passphrase")
            .is_err());
        assert!(write_archive(std::io::Cursor::new(Vec::new()), &contents, Some("short")).is_err());
    }
}
