//! The `decnet-decky` image: built from a Dockerfile on a digest-pinned base when a
//! registry answers, else offline by importing a root filesystem assembled from the local
//! `decnet-decky` binary and the shared libraries it links. Either way the result is
//! recorded by content digest (image id) in `docker/image.json`, and containers are
//! created from that id, never from a moving tag (DEBT-023).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use bollard::Docker;
use bollard::query_parameters::{BuildImageOptions, CreateImageOptions};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::plan::{DECKY_BIN, DECKY_UID};

/// Repository of the decky image.
pub const REPOSITORY: &str = "localhost/decnet-decky";
/// Base image of the Dockerfile build.
pub const DEFAULT_BASE: &str = "debian:bookworm-slim";
/// How long the base image pull may take before the build goes offline.
const PULL_TIMEOUT: Duration = Duration::from_secs(30);

/// What `docker/image.json` records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltImage {
    /// The tag it was given.
    pub tag: String,
    /// Its content digest (`sha256:…` image id); containers use this.
    pub id: String,
    /// `dockerfile` or `rootfs-import`.
    pub method: String,
    /// The base image by digest (Dockerfile builds).
    pub base: Option<String>,
}

/// Path of the record under the state directory.
pub fn record_path(state_root: &Path) -> PathBuf {
    state_root.join("docker").join("image.json")
}

/// The recorded image, if one was built.
pub fn recorded(state_root: &Path) -> anyhow::Result<Option<BuiltImage>> {
    let path = record_path(state_root);
    match std::fs::read(&path) {
        Ok(b) => {
            Ok(Some(serde_json::from_slice(&b).with_context(|| {
                format!("{} is corrupt", path.display())
            })?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Options of a build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The `decnet-decky` binary to put in the image.
    pub decky_bin: PathBuf,
    /// Base image of the Dockerfile build.
    pub base: String,
    /// Skip the registry and import a root filesystem.
    pub offline: bool,
}

/// Builds the image, records it under `state_root`, and reports progress with `progress`.
pub async fn build(
    docker: &Docker,
    state_root: &Path,
    opts: &BuildOptions,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<BuiltImage> {
    let bin = std::fs::read(&opts.decky_bin).with_context(|| {
        format!(
            "cannot read the decky binary {} (build it with `cargo build --release -p decnet-templates`, or give --decky-bin)",
            opts.decky_bin.display()
        )
    })?;
    let tag = format!("{REPOSITORY}:{}", env!("CARGO_PKG_VERSION"));
    let pinned = if opts.offline {
        None
    } else {
        progress(&format!("pulling base image {} …", opts.base));
        match tokio::time::timeout(PULL_TIMEOUT, pull(docker, &opts.base)).await {
            Ok(Ok(digest)) => Some(digest),
            Ok(Err(e)) => {
                progress(&format!("no registry ({e:#}); building offline"));
                None
            }
            Err(_) => {
                progress("no registry answered in 30 s; building offline");
                None
            }
        }
    };
    let built = match pinned {
        Some(base) => {
            progress(&format!("building {tag} from {base} …"));
            let context = dockerfile_context(&base, &bin)?;
            let mut stream = docker
                .build_image(
                    BuildImageOptions {
                        dockerfile: "Dockerfile".to_owned(),
                        t: Some(tag.clone()),
                        rm: true,
                        ..Default::default()
                    },
                    None,
                    Some(bollard::body_full(context.into())),
                )
                .boxed();
            while let Some(step) = stream.next().await {
                let step = step.context("image build failed")?;
                if let Some(line) = step
                    .stream
                    .as_deref()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                {
                    progress(line);
                }
            }
            BuiltImage {
                tag: tag.clone(),
                id: String::new(),
                method: "dockerfile".to_owned(),
                base: Some(base),
            }
        }
        None => {
            let libs = shared_libraries(&opts.decky_bin)?;
            progress(&format!(
                "assembling a root filesystem: decnet-decky ({} MB) and {} libraries …",
                bin.len() / (1024 * 1024),
                libs.len()
            ));
            let rootfs = rootfs_tar(&bin, &libs)?;
            progress(&format!(
                "importing {} MB as {tag} …",
                rootfs.len() / (1024 * 1024)
            ));
            // `repo` carries the tag: Podman ignores the separate `tag` parameter on imports.
            let mut stream = docker
                .create_image(
                    Some(CreateImageOptions {
                        from_src: Some("-".to_owned()),
                        repo: Some(tag.clone()),
                        changes: vec![
                            format!("USER {DECKY_UID}:{DECKY_UID}"),
                            format!("ENTRYPOINT [\"{DECKY_BIN}\"]"),
                        ],
                        ..Default::default()
                    }),
                    Some(bollard::body_full(rootfs.into())),
                    None,
                )
                .boxed();
            while let Some(step) = stream.next().await {
                step.context("image import failed")?;
            }
            BuiltImage {
                tag: tag.clone(),
                id: String::new(),
                method: "rootfs-import".to_owned(),
                base: None,
            }
        }
    };
    let id = docker
        .inspect_image(&tag)
        .await
        .with_context(|| format!("the engine does not show {tag} after the build"))?
        .id
        .context("the engine gave the image no id")?;
    let built = BuiltImage { id, ..built };
    let path = record_path(state_root);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&built)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    progress(&format!("built {} = {}", built.tag, built.id));
    Ok(built)
}

/// Pulls `image` and returns it by digest (`repo@sha256:…`).
async fn pull(docker: &Docker, image: &str) -> anyhow::Result<String> {
    let mut stream = docker
        .create_image(
            Some(CreateImageOptions {
                from_image: Some(image.to_owned()),
                ..Default::default()
            }),
            None,
            None,
        )
        .boxed();
    while let Some(step) = stream.next().await {
        step?;
    }
    let inspect = docker.inspect_image(image).await?;
    inspect
        .repo_digests
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("{image} has no registry digest"))
}

/// The Dockerfile recipe (`templates/images/decky/Dockerfile`); `BASE` is the pinned base.
const DOCKERFILE: &str = include_str!("../../../templates/images/decky/Dockerfile");

fn dockerfile_context(base: &str, bin: &[u8]) -> anyhow::Result<Vec<u8>> {
    let dockerfile = DOCKERFILE.replace("FROM BASE", &format!("FROM {base}"));
    let mut tar = tar::Builder::new(Vec::new());
    append(&mut tar, "Dockerfile", dockerfile.as_bytes(), 0o644)?;
    append(&mut tar, "decnet-decky", bin, 0o755)?;
    Ok(tar.into_inner()?)
}

/// The shared libraries `bin` links, from `ldd` (the dynamic loader included).
pub fn shared_libraries(bin: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let out = std::process::Command::new("ldd")
        .arg(bin)
        .output()
        .context("cannot run ldd (libc-bin) to find the decky's libraries")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() && !text.contains("not a dynamic executable") {
        bail!(
            "ldd {}: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(parse_ldd(&text))
}

/// Library paths in `ldd` output (`name => /path (addr)` and `/path (addr)` lines).
pub fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let path = match line.split_once("=>") {
                Some((_, rest)) => rest.trim(),
                None => line,
            };
            let path = path.split(" (").next()?.trim();
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

fn append(
    tar: &mut tar::Builder<Vec<u8>>,
    path: &str,
    data: &[u8],
    mode: u32,
) -> anyhow::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, path, data)?;
    Ok(())
}

fn dir(tar: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32) -> anyhow::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(0);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Directory);
    tar.append_data(&mut header, path, &[][..])?;
    Ok(())
}

/// A minimal root filesystem: the decky, its libraries, a passwd with the decky user,
/// and the mount points. No shell, no package manager: nothing for an intruder to use.
pub fn rootfs_tar(bin: &[u8], libs: &[PathBuf]) -> anyhow::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut dirs_done = std::collections::BTreeSet::new();
    for d in [
        "etc",
        "etc/decnet",
        "usr",
        "usr/local",
        "usr/local/bin",
        "var",
        "var/lib",
        "var/lib/decnet",
        "var/lib/decnet/decky",
        "run",
        "run/decnet",
        "proc",
        "sys",
        "dev",
    ] {
        dir(&mut tar, d, 0o755)?;
        dirs_done.insert(d.to_owned());
    }
    dir(&mut tar, "tmp", 0o1777)?;
    dirs_done.insert("tmp".to_owned());
    append(&mut tar, DECKY_BIN.trim_start_matches('/'), bin, 0o755)?;
    let passwd = format!(
        "root:x:0:0:root:/root:/usr/sbin/nologin\ndecky:x:{DECKY_UID}:{DECKY_UID}:decky:/var/lib/decnet/decky:/usr/sbin/nologin\n"
    );
    append(&mut tar, "etc/passwd", passwd.as_bytes(), 0o644)?;
    let group = format!("root:x:0:\ndecky:x:{DECKY_UID}:\n");
    append(&mut tar, "etc/group", group.as_bytes(), 0o644)?;
    for lib in libs {
        let data = std::fs::read(lib).with_context(|| format!("cannot read {}", lib.display()))?;
        let rel = lib.to_string_lossy().trim_start_matches('/').to_owned();
        let mut prefix = String::new();
        for part in Path::new(&rel)
            .parent()
            .into_iter()
            .flat_map(Path::components)
        {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(&part.as_os_str().to_string_lossy());
            if dirs_done.insert(prefix.clone()) {
                dir(&mut tar, &prefix, 0o755)?;
            }
        }
        append(&mut tar, &rel, &data, 0o755)?;
    }
    Ok(tar.into_inner()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_is_pinned_to_the_given_base() {
        let ctx = dockerfile_context("debian@sha256:abc", b"bin").unwrap();
        let mut archive = tar::Archive::new(&ctx[..]);
        let mut dockerfile = String::new();
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            if e.path().unwrap().to_string_lossy() == "Dockerfile" {
                std::io::Read::read_to_string(&mut e, &mut dockerfile).unwrap();
            }
        }
        assert!(
            dockerfile.contains("\nFROM debian@sha256:abc\n"),
            "{dockerfile}"
        );
        assert!(dockerfile.contains(&format!("USER {DECKY_UID}:{DECKY_UID}")));
    }

    #[test]
    fn ldd_output_gives_library_paths() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f5b)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f5a)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f5b0d796000)\n";
        assert_eq!(
            parse_ldd(text),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
        assert!(parse_ldd("\tnot a dynamic executable\n").is_empty());
    }

    #[test]
    fn rootfs_has_the_decky_its_user_and_a_sticky_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("libfake.so.1");
        std::fs::write(&lib, b"\x7fELF").unwrap();
        let bytes = rootfs_tar(b"binary", std::slice::from_ref(&lib)).unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut seen = std::collections::BTreeMap::new();
        for e in archive.entries().unwrap() {
            let e = e.unwrap();
            seen.insert(
                e.path().unwrap().to_string_lossy().into_owned(),
                e.header().mode().unwrap(),
            );
        }
        assert_eq!(seen["usr/local/bin/decnet-decky"], 0o755);
        assert_eq!(seen["tmp"], 0o1777);
        assert!(seen.contains_key("etc/passwd"));
        let rel = lib.to_string_lossy().trim_start_matches('/').to_owned();
        assert!(seen.contains_key(&rel), "{seen:?}");
    }
}
