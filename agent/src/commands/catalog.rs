//! `decnet-agent catalog`: the service, archetype and distro catalogues as a
//! table or as JSON.

use std::io::Write as _;

use decnet_templates::catalog;

use crate::cli::CatalogCommand;

/// Prints one catalogue listing (a closed stdout, as with `| head`, is not an error).
pub fn run(command: &CatalogCommand) -> anyhow::Result<()> {
    let text = render(command)?;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// The listing as text (table or JSON, without a trailing newline).
pub fn render(command: &CatalogCommand) -> anyhow::Result<String> {
    Ok(match command {
        CatalogCommand::Services(a) if a.json => {
            serde_json::to_string_pretty(&catalog::services_view())?
        }
        CatalogCommand::Archetypes(a) if a.json => {
            serde_json::to_string_pretty(&catalog::archetypes_view())?
        }
        CatalogCommand::Distros(a) if a.json => {
            serde_json::to_string_pretty(&catalog::distros_view())?
        }
        CatalogCommand::Services(_) => table(
            &["SERVICE", "PORTS", "IMPLEMENTED", "DESCRIPTION"],
            catalog::services_view()
                .into_iter()
                .map(|s| {
                    let ports: Vec<String> = s
                        .ports
                        .iter()
                        .map(|p| match p.proto {
                            catalog::Proto::Tcp => p.port.to_string(),
                            catalog::Proto::Udp => format!("{}/udp", p.port),
                        })
                        .collect();
                    vec![
                        s.slug.to_owned(),
                        ports.join(","),
                        if s.implemented { "yes" } else { "no (planned)" }.to_owned(),
                        s.description.to_owned(),
                    ]
                })
                .collect(),
        ),
        CatalogCommand::Archetypes(_) => {
            table(
                &["ARCHETYPE", "OS", "SERVICES", "DISTROS", "DESCRIPTION"],
                catalog::archetypes_view()
                    .into_iter()
                    .map(|a| {
                        let services: Vec<String> = a
                            .services
                            .iter()
                            .map(|s| {
                                if a.not_implemented.contains(s) {
                                    format!("{s}*")
                                } else {
                                    (*s).to_owned()
                                }
                            })
                            .collect();
                        vec![
                            a.slug.to_owned(),
                            a.os.to_owned(),
                            services.join(","),
                            a.preferred_distros.join(","),
                            a.description.to_owned(),
                        ]
                    })
                    .collect(),
            ) + "\n* not implemented yet: a fleet using it is refused at deploy"
        }
        CatalogCommand::Distros(_) => table(
            &["DISTRO", "NAME", "IMAGE", "PERSONA", "HOSTNAMES"],
            catalog::distros_view()
                .into_iter()
                .map(|d| {
                    vec![
                        d.slug.to_owned(),
                        d.display_name.to_owned(),
                        d.image.to_owned(),
                        d.persona.to_owned(),
                        serde_json::to_value(d.hostname_style)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                    ]
                })
                .collect(),
        ),
    })
}

/// Left-aligned columns separated by two spaces.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    c
                } else {
                    format!("{c:<width$}", width = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = vec![line(header.iter().map(|h| (*h).to_owned()).collect())];
    out.extend(rows.into_iter().map(line));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::CatalogArgs;

    #[test]
    fn services_table_flags_planned_ones() {
        let text = render(&CatalogCommand::Services(CatalogArgs { json: false })).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("SERVICE"));
        assert_eq!(lines.len(), 1 + catalog::SERVICES.len());
        let redis = lines.iter().find(|l| l.starts_with("redis ")).unwrap();
        assert!(redis.contains("6379") && redis.contains("yes"), "{redis}");
        let smb = lines.iter().find(|l| l.starts_with("smb ")).unwrap();
        assert!(smb.contains("no (planned)"), "{smb}");
        let tftp = lines.iter().find(|l| l.starts_with("tftp ")).unwrap();
        assert!(tftp.contains("69/udp"), "{tftp}");
    }

    #[test]
    fn json_listings_parse() {
        let arch: serde_json::Value = serde_json::from_str(
            &render(&CatalogCommand::Archetypes(CatalogArgs { json: true })).unwrap(),
        )
        .unwrap();
        assert_eq!(arch.as_array().map(Vec::len), Some(15));
        let distros: serde_json::Value = serde_json::from_str(
            &render(&CatalogCommand::Distros(CatalogArgs { json: true })).unwrap(),
        )
        .unwrap();
        assert_eq!(distros[0]["slug"], "debian");
        assert_eq!(distros.as_array().map(Vec::len), Some(9));
    }
}
