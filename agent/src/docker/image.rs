//! The `decnet-decky` image: built from a Dockerfile on a digest-pinned base when a
//! registry answers, else offline by loading an image archive whose one layer is a root
//! filesystem assembled from the local `decnet-decky` binary and the shared libraries it
//! links. Either way the result is
//! recorded by content digest (image id) in `docker/image.json`, and containers are
//! created from that id, never from a moving tag (DEBT-023).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use bollard::Docker;
use bollard::query_parameters::{BuildImageOptions, CreateImageOptions, ImportImageOptions};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

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
    /// `dockerfile` or `rootfs-archive`.
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
            let (archive, id) = docker_archive(&rootfs, &tag)?;
            let present = docker.inspect_image(&tag).await.ok().and_then(|i| i.id);
            if present.as_deref() == Some(id.as_str()) {
                // The archive is deterministic: same binary and libraries, same image id.
                progress(&format!("{tag} is already {id}"));
            } else {
                progress(&format!(
                    "loading {} MB as {tag} …",
                    archive.len() / (1024 * 1024)
                ));
                let mut stream = docker
                    .import_image(
                        ImportImageOptions::default(),
                        bollard::body_full(archive.into()),
                        None,
                    )
                    .boxed();
                while let Some(step) = stream.next().await {
                    step.context("image load failed")?;
                }
            }
            BuiltImage {
                tag: tag.clone(),
                id: String::new(),
                method: "rootfs-archive".to_owned(),
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
    crate::state::write_private(&path, &serde_json::to_vec_pretty(&built)?)?;
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

/// A `docker save` archive (what `POST /images/load` takes on Docker and Podman) of one
/// layer, `rootfs`, with the image configuration written here: user, entrypoint, labels.
/// Unlike a root filesystem import, it carries the whole configuration and the tag on
/// every engine (Podman drops an import's `tag` and its newline-joined `changes`).
/// Returns the archive and the image id it will have (its configuration's digest); both
/// depend only on `rootfs` and `tag`.
pub fn docker_archive(rootfs: &[u8], tag: &str) -> anyhow::Result<(Vec<u8>, String)> {
    let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let layer_digest = hex(&Sha256::digest(rootfs));
    let config = serde_json::json!({
        "architecture": match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        },
        "os": "linux",
        "config": {
            "User": format!("{DECKY_UID}:{DECKY_UID}"),
            "Entrypoint": [DECKY_BIN],
            "WorkingDir": "/var/lib/decnet/decky",
            "Labels": {
                "org.opencontainers.image.title": "decnet-decky",
                "org.opencontainers.image.version": env!("CARGO_PKG_VERSION"),
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_digest}")]},
        "history": [{"created_by": "decnet-agent image build --offline"}],
    });
    let config = serde_json::to_vec(&config)?;
    let config_name = format!("{}.json", hex(&Sha256::digest(&config)));
    let layer_name = format!("{layer_digest}/layer.tar");
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": config_name,
        "RepoTags": [tag],
        "Layers": [layer_name],
    }]))?;
    let mut tar = tar::Builder::new(Vec::new());
    dir(&mut tar, &layer_digest, 0o755)?;
    append(&mut tar, &layer_name, rootfs, 0o644)?;
    append(&mut tar, &config_name, &config, 0o644)?;
    append(&mut tar, "manifest.json", &manifest, 0o644)?;
    let id = format!("sha256:{}", config_name.trim_end_matches(".json"));
    Ok((tar.into_inner()?, id))
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
    fn docker_archive_names_its_layer_by_digest_and_carries_user_and_entrypoint() {
        let rootfs = rootfs_tar(b"binary", &[]).unwrap();
        let (archive, id) = docker_archive(&rootfs, "localhost/decnet-decky:9").unwrap();
        assert_eq!(
            docker_archive(&rootfs, "localhost/decnet-decky:9")
                .unwrap()
                .1,
            id
        );
        let mut files = std::collections::BTreeMap::new();
        for e in tar::Archive::new(&archive[..]).entries().unwrap() {
            let mut e = e.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            files.insert(path, data);
        }
        let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
        assert_eq!(manifest[0]["RepoTags"][0], "localhost/decnet-decky:9");
        let layer = manifest[0]["Layers"][0].as_str().unwrap();
        assert_eq!(files[layer], rootfs);
        let config_name = manifest[0]["Config"].as_str().unwrap();
        assert_eq!(
            id,
            format!("sha256:{}", config_name.trim_end_matches(".json"))
        );
        let config: serde_json::Value = serde_json::from_slice(&files[config_name]).unwrap();
        assert_eq!(config["config"]["User"], "10001:10001");
        assert_eq!(config["config"]["Entrypoint"][0], DECKY_BIN);
        let diff_id = config["rootfs"]["diff_ids"][0].as_str().unwrap();
        assert_eq!(
            diff_id,
            format!("sha256:{}", layer.trim_end_matches("/layer.tar"))
        );
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
