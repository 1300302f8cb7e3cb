//! The few sentences the Rust side says itself: desktop notifications, and the name a link gets in the history when
//! the person gives none. The window hands them over in its language at start (`set_words`, from
//! ui/src/locales); until then, and for any it leaves out, they are English.

use serde::Deserialize;

/// The sentences, each a template whose `{name}` placeholders [`fill`] replaces.
#[derive(Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(default)]
pub struct Words {
    /// A text sent without a name.
    pub secret_text: String,
    /// One file whose name cannot be shown.
    pub file: String,
    /// Several files and folders: `{count}`.
    pub items: String,
    /// A request made without a name.
    pub a_secret: String,
    /// One recipient's link of several: `{label}`, `{i}`, `{n}`.
    pub recipient: String,
    /// The notification that a link was opened: `{label}`.
    pub opened: String,
    /// The notification that a request has one answer: `{label}`.
    pub answered_one: String,
    /// … several answers: `{label}`, `{count}`.
    pub answered_other: String,
}

impl Default for Words {
    fn default() -> Self {
        Self {
            secret_text: "Secret text".into(),
            file: "File".into(),
            items: "{count} items".into(),
            a_secret: "A secret".into(),
            recipient: "{label} · recipient {i} of {n}".into(),
            opened: "Your link “{label}” was opened.".into(),
            answered_one: "Your request “{label}” has an answer to open.".into(),
            answered_other: "Your request “{label}” has {count} answers to open.".into(),
        }
    }
}

/// `template` with each `{name}` of `vars` replaced, in one pass: a value that itself holds `{…}` (a label the person
/// typed) stays as typed.
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}').and_then(|end| vars.iter().find(|(n, _)| *n == &after[..end]).map(|(_, v)| (end, v))) {
            Some((end, value)) => {
                out.push_str(value);
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_each_placeholder_once_and_leaves_the_rest_as_written() {
        let w = Words::default();
        assert_eq!(fill(&w.recipient, &[("label", "Wi-Fi"), ("i", "2"), ("n", "3")]), "Wi-Fi · recipient 2 of 3");
        // A label with braces of its own is not filled again.
        assert_eq!(fill(&w.opened, &[("label", "{label} {x")]), "Your link “{label} {x” was opened.");
        assert_eq!(fill("{unknown} {count}", &[("count", "4")]), "{unknown} 4");
    }

    #[test]
    fn words_the_window_leaves_out_stay_english() {
        let w: Words = serde_json::from_str(r#"{"opened":"Ihr Link „{label}“ wurde geöffnet."}"#).unwrap();
        assert_eq!(w.opened, "Ihr Link „{label}“ wurde geöffnet.");
        assert_eq!(w.secret_text, "Secret text");
    }
}
