//! Saving to a USB key, with a loop-mounted filesystem image as the key: `tcheck save`
//! analyses a capture, writes an encrypted archive to the key (mounted read-write for the
//! write, unmounted after), and the archive opens with the passphrase only.
//!
//! Needs root (loop devices, mount). Without it the test says so and passes, unless
//! `TCHECK_REQUIRE_SYSTEM=1` (CI).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::Read;
use std::path::Path;
use std::process::Command;

fn root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn sh(args: &[&str]) -> String {
    let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// A loop device detached when dropped.
struct Loop(String);

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
        let _ = Command::new("losetup").args(["-d", &self.0]).output();
    }
}

#[test]
fn usb_save_writes_an_encrypted_archive_to_a_loop_mounted_key() {
    let losetup = Path::new("/sbin/losetup").exists() || Path::new("/usr/sbin/losetup").exists();
    if !(root() && losetup) {
        assert!(
            std::env::var("TCHECK_REQUIRE_SYSTEM").as_deref() != Ok("1"),
            "needs root and losetup, but TCHECK_REQUIRE_SYSTEM=1"
        );
        eprintln!("skipped: needs root and losetup");
        return;
    }
    let dir = common::tempdir("usb-save");
    let image = dir.join("key.img");
    sh(&["truncate", "-s", "32M", image.to_str().unwrap()]);
    sh(&["mkfs.ext4", "-q", "-L", "KEY", image.to_str().unwrap()]);
    let dev = Loop(sh(&["losetup", "-f", "--show", image.to_str().unwrap()]));
    let pass = dir.join("pass");
    std::fs::write(&pass, "a long passphrase\n").unwrap();
    let capture = dir.join("phone.pcap");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/sample.pcap"),
        &capture,
    )
    .unwrap();
    let o = common::tcheck()
        .arg("save")
        .arg(&capture)
        .args([
            "--usb",
            "--device",
            &dev.0,
            "--delete-capture",
            "--no-default-iocs",
            "--iocs",
        ])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/indicators.txt"))
        .arg("--passphrase-file")
        .arg(&pass)
        .env("XDG_DATA_HOME", dir.join("xdg"))
        .env_remove("TCHECK_DB")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("(encrypted)") && out.contains("deleted"),
        "{out}"
    );
    assert!(!capture.exists(), "the capture was kept");
    // Unmounted after the write.
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    assert!(!mounts.contains(&dev.0), "{} still mounted", dev.0);

    // On the key: one archive, which opens with the passphrase only.
    let m = dir.join("mnt");
    std::fs::create_dir_all(&m).unwrap();
    sh(&["mount", "-o", "ro", &dev.0, m.to_str().unwrap()]);
    let archives: Vec<_> = std::fs::read_dir(&m)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "zip"))
        .collect();
    assert_eq!(archives.len(), 1, "{archives:?}");
    let bytes = std::fs::read(&archives[0]).unwrap();
    sh(&["umount", m.to_str().unwrap()]);
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    assert!(
        z.by_name("report.json").is_err(),
        "opened without the passphrase"
    );
    let mut report = String::new();
    z.by_name_decrypt("report.json", b"a long passphrase")
        .unwrap()
        .read_to_string(&mut report)
        .unwrap();
    assert!(report.contains("drivres-update.info"), "{report}");
    // The logs are in the archive: Zeek-style and EVE.
    for name in ["logs/conn.log", "logs/dns.log", "logs/eve.json"] {
        let mut log = String::new();
        z.by_name_decrypt(name, b"a long passphrase")
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .read_to_string(&mut log)
            .unwrap();
        assert!(!log.is_empty(), "{name} is empty");
    }
    let mut cap = Vec::new();
    z.by_name_decrypt("capture.pcap", b"a long passphrase")
        .unwrap()
        .read_to_end(&mut cap)
        .unwrap();
    assert_eq!(
        cap,
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample/sample.pcap"))
            .unwrap()
    );
}
