//! robots.txt as crawlers read it (RFC 9309): the group naming this crawler's product token, or
//! else the `*` group; within it the longest matching `Allow`/`Disallow` rule wins, `Allow` on a
//! tie; `*` matches any run of characters and a trailing `$` anchors the end. `Sitemap:` lines
//! are collected whatever group they are in.

/// Rules of the group that applies to this crawler.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Robots {
    rules: Vec<Rule>,
    pub sitemaps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    allow: bool,
    pattern: String,
}

impl Robots {
    /// Parses `text` for the crawler whose product token is `agent` (compared case-insensitively).
    pub fn parse(text: &str, agent: &str) -> Self {
        let agent = agent.to_ascii_lowercase();
        let mut sitemaps = Vec::new();
        // (agents of the group, rules of the group)
        let mut groups: Vec<(Vec<String>, Vec<Rule>)> = Vec::new();
        let mut in_agents = false;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            match key.as_str() {
                "user-agent" => {
                    if !in_agents {
                        groups.push((Vec::new(), Vec::new()));
                        in_agents = true;
                    }
                    if let Some(group) = groups.last_mut() {
                        group.0.push(value.to_ascii_lowercase());
                    }
                }
                "allow" | "disallow" => {
                    in_agents = false;
                    // An empty Disallow allows everything: it is no rule at all.
                    if let Some(group) = groups.last_mut()
                        && !value.is_empty()
                    {
                        group.1.push(Rule {
                            allow: key == "allow",
                            pattern: value.to_string(),
                        });
                    }
                }
                "sitemap" => sitemaps.push(value.to_string()),
                _ => in_agents = false,
            }
        }
        let mut mine = Vec::new();
        let mut any = Vec::new();
        let mut named = false;
        for (agents, rules) in groups {
            if agents
                .iter()
                .any(|a| a != "*" && !a.is_empty() && agent.contains(a.as_str()))
            {
                named = true;
                mine.extend(rules);
            } else if agents.iter().any(|a| a == "*") {
                any.extend(rules);
            }
        }
        Self {
            rules: if named { mine } else { any },
            sitemaps,
        }
    }

    /// Whether `path` (path and query of a URL) may be fetched.
    pub fn allows(&self, path: &str) -> bool {
        let mut best: Option<(usize, bool)> = None;
        for rule in &self.rules {
            if matches(&rule.pattern, path) {
                let length = rule.pattern.len();
                let better = match best {
                    None => true,
                    Some((l, allow)) => length > l || (length == l && rule.allow && !allow),
                };
                if better {
                    best = Some((length, rule.allow));
                }
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// Whether a robots pattern matches the start of `path`.
fn matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = match path.strip_prefix(parts[0]) {
        Some(rest) => rest,
        None => return false,
    };
    for (i, part) in parts.iter().enumerate().skip(1) {
        let last = i == parts.len() - 1;
        if last && anchored {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    !anchored || rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_group_wins_over_the_star_group() {
        let text = "User-agent: *\nDisallow: /private/\n\nUser-agent: OtherBot\nUser-agent: ragd\nDisallow: /drafts\nAllow: /drafts/public\n\nSitemap: https://x.test/sitemap.xml\n";
        let robots = Robots::parse(text, "ragd");
        assert!(robots.allows("/private/a"), "the ragd group replaces the * group");
        assert!(!robots.allows("/drafts/one"));
        assert!(robots.allows("/drafts/public/one"), "the longer Allow wins");
        assert_eq!(robots.sitemaps, ["https://x.test/sitemap.xml"]);
        let other = Robots::parse(text, "somebot");
        assert!(!other.allows("/private/a"));
        assert!(other.allows("/drafts/one"));
    }

    #[test]
    fn wildcards_anchors_and_empty_rules() {
        let robots = Robots::parse(
            "User-agent: *\nDisallow: /*.pdf$\nDisallow: /tmp*/x\nDisallow:\n# comment\n",
            "ragd",
        );
        assert!(!robots.allows("/docs/a.pdf"));
        assert!(robots.allows("/docs/a.pdf?x=1"));
        assert!(!robots.allows("/tmp123/x/y"));
        assert!(robots.allows("/tmp123/y"));
        assert!(robots.allows("/"));
        assert!(Robots::parse("", "ragd").allows("/anything"));
        assert!(!Robots::parse("User-agent: *\nDisallow: /\n", "ragd").allows("/a"));
    }
}
