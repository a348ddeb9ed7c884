//! The seeded file tree an FTP login sees: a `pub/` of bait archives with a
//! README, and an empty writable `upload/`. Names, sizes and dates differ
//! per decky; contents are generated on download from the seed.

use rand::Rng as _;
use rand::seq::SliceRandom as _;

use crate::persona::Seed;

/// What a file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Text shown as is.
    Text(String),
    /// `magic` then seeded random bytes up to the size (a compressed archive, as far as anyone can tell).
    Random {
        /// Leading bytes of the format.
        magic: Vec<u8>,
        /// 32-byte key of the generator.
        key: [u8; 32],
    },
}

/// One file or directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Absolute path, `/pub/x.tar.gz`.
    pub path: String,
    /// A directory.
    pub dir: bool,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, Unix seconds.
    pub mtime: i64,
    /// Owner shown in listings.
    pub owner: &'static str,
    /// Contents (files only).
    pub content: Content,
}

impl Entry {
    /// The last path component.
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or("")
    }

    /// `ls -l` mode string.
    pub fn mode(&self) -> &'static str {
        if self.dir {
            if self.path == "/upload" {
                "drwxrwxrwx"
            } else {
                "drwxr-xr-x"
            }
        } else {
            "-rw-r--r--"
        }
    }

    /// The parent directory.
    pub fn parent(&self) -> &str {
        match self.path.rfind('/') {
            Some(0) | None => "/",
            Some(i) => &self.path[..i],
        }
    }
}

/// The whole tree.
#[derive(Debug, Clone)]
pub struct FakeFs {
    entries: Vec<Entry>,
}

fn date_parts(unix: i64) -> (i32, u8, u8) {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    (t.year(), u8::from(t.month()), t.day())
}

impl FakeFs {
    /// The tree of the decky with `seed` called `host`, as of `now`.
    pub fn generate(seed: &Seed, host: &str, now: i64) -> Self {
        let mut rng = seed.rng("ftp.tree");
        let short = host.split('.').next().unwrap_or(host);
        // Installed a while ago; the archives are the last few nightlies or weeklies.
        let day = 86_400;
        let installed = now - rng.gen_range(200..900) * day - rng.gen_range(0..day);
        let mut entries = vec![
            Entry {
                path: "/pub".into(),
                dir: true,
                size: 4096,
                mtime: now - rng.gen_range(1..6) * day,
                owner: "root",
                content: Content::Text(String::new()),
            },
            Entry {
                path: "/upload".into(),
                dir: true,
                size: 4096,
                mtime: installed,
                owner: "ftp",
                content: Content::Text(String::new()),
            },
        ];
        let readme = format!(
            "{short} file drop\n\nArchives in pub/ are rotated automatically; anything older than {} days is removed.\nPut incoming files in upload/ and tell the operator.\n",
            [30, 60, 90].choose(&mut rng).copied().unwrap_or(60)
        );
        entries.push(Entry {
            path: "/pub/README.txt".into(),
            dir: false,
            size: readme.len() as u64,
            mtime: installed + rng.gen_range(0..30) * day,
            owner: "root",
            content: Content::Text(readme),
        });
        let step = *[1i64, 7].choose(&mut rng).unwrap_or(&7) * day;
        let count = rng.gen_range(3..7);
        let kinds: [(&str, &[u8]); 5] = [
            ("backup_{host}_{date}.tar.gz", &[0x1f, 0x8b, 0x08, 0x00]),
            ("db_{date8}.sql.gz", &[0x1f, 0x8b, 0x08, 0x00]),
            ("www_{date}.zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00"),
            ("{host}-etc_{date8}.tar.gz", &[0x1f, 0x8b, 0x08, 0x00]),
            ("mysql_{date}.tar.bz2", b"BZh91AY&SY"),
        ];
        let (pattern, magic) = kinds[rng.gen_range(0..kinds.len())];
        let base_size: u64 = rng.gen_range(40_000..2_000_000);
        let last = now - rng.gen_range(0..2) * day;
        let hour = rng.gen_range(1..5) * 3600 + rng.gen_range(0..3600);
        for i in 0..count {
            let mtime = (last - i * step) / day * day + hour;
            let (y, m, d) = date_parts(mtime);
            let name = pattern
                .replace("{host}", short)
                .replace("{date}", &format!("{y:04}-{m:02}-{d:02}"))
                .replace("{date8}", &format!("{y:04}{m:02}{d:02}"));
            let mut key = [0u8; 32];
            rng.fill(&mut key);
            // Sizes drift a little from night to night.
            let size = base_size + rng.gen_range(0..base_size / 20 + 1);
            entries.push(Entry {
                path: format!("/pub/{name}"),
                dir: false,
                size,
                mtime,
                owner: "root",
                content: Content::Random {
                    magic: magic.to_vec(),
                    key,
                },
            });
        }
        FakeFs { entries }
    }

    /// The entry at `path`.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.path == path)
    }

    /// Whether `path` is a directory (`/` included).
    pub fn is_dir(&self, path: &str) -> bool {
        path == "/" || self.get(path).is_some_and(|e| e.dir)
    }

    /// The entries directly in `dir`, in name order.
    pub fn children(&self, dir: &str) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self.entries.iter().filter(|e| e.parent() == dir).collect();
        v.sort_by(|a, b| a.name().cmp(b.name()));
        v
    }
}

/// Resolves `arg` against `cwd` into a normalised absolute path.
pub fn resolve(cwd: &str, arg: &str) -> String {
    let joined = if arg.starts_with('/') {
        arg.to_owned()
    } else {
        format!("{cwd}/{arg}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `ls -l` date: `Mar 11 14:02` within six months of `now`, else `Mar 11  2024`.
pub fn ls_date(mtime: i64, now: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = time::OffsetDateTime::from_unix_timestamp(mtime)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let month = MONTHS[usize::from(u8::from(t.month())) - 1];
    if (now - mtime).abs() < 182 * 86_400 {
        format!("{month} {:2} {:02}:{:02}", t.day(), t.hour(), t.minute())
    } else {
        format!("{month} {:2}  {}", t.day(), t.year())
    }
}

/// `MDTM` timestamp.
pub fn mdtm(mtime: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(mtime)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_are_seeded_and_plausible() {
        let now = 1_790_000_000;
        let a = FakeFs::generate(&Seed::from_spec(Some("x"), "d"), "files-01", now);
        let b = FakeFs::generate(&Seed::from_spec(Some("x"), "d"), "files-01", now);
        let c = FakeFs::generate(&Seed::from_spec(Some("y"), "d"), "files-01", now);
        assert_eq!(a.entries, b.entries);
        assert_ne!(a.entries, c.entries);
        let names: Vec<&str> = a.children("/").iter().map(|e| e.name()).collect();
        assert_eq!(names, ["pub", "upload"]);
        let files = a.children("/pub");
        assert!(files.len() >= 4 && files.iter().any(|e| e.name() == "README.txt"));
        assert!(files.iter().all(|e| e.mtime <= now));
    }

    #[test]
    fn paths_and_dates() {
        assert_eq!(resolve("/pub", "../upload/./x"), "/upload/x");
        assert_eq!(resolve("/", "../../.."), "/");
        assert_eq!(resolve("/a", "/b/"), "/b");
        assert_eq!(ls_date(1_700_000_000, 1_700_100_000), "Nov 14 22:13");
        assert_eq!(ls_date(1_600_000_000, 1_700_100_000), "Sep 13  2020");
        assert_eq!(mdtm(1_700_000_000), "20231114221320");
    }
}
