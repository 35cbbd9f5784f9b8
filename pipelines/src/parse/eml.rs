//! E-mail (RFC 5322 / MIME, `.eml`) through mail-parser: a header block (From, To, Cc, Date,
//! Subject), then the body (text/plain preferred, else the HTML body converted like an HTML page),
//! then each text attachment (`text/*`, or a forwarded message, rendered the same way) under an
//! `## Attachment: name` heading. Binary attachments are left out. Charsets and transfer
//! encodings are decoded by mail-parser; the subject is the title.

use mail_parser::{Address, Message, MessageParser, MimeHeaders};

use super::{ParseError, html};
use crate::document::{ParsedDocument, Section};

/// Forwarded messages nested deeper than this are not rendered.
const MAX_NESTED_MESSAGES: usize = 3;

/// Parses an e-mail message into one section.
pub(super) fn parse(bytes: &[u8]) -> Result<ParsedDocument, ParseError> {
    let message = MessageParser::default()
        .parse(bytes)
        .ok_or_else(|| ParseError::Malformed {
            format: "e-mail",
            detail: "no message headers or body found".to_string(),
        })?;
    let title = message
        .subject()
        .map(|subject| subject.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|subject| !subject.is_empty());
    Ok(ParsedDocument {
        title,
        sections: vec![Section {
            text: render(&message, 0),
            page: None,
        }],
    })
}

fn render(message: &Message<'_>, depth: usize) -> String {
    let mut parts = Vec::new();
    let headers = header_block(message);
    if !headers.is_empty() {
        parts.push(headers);
    }
    let body = body_text(message);
    if !body.is_empty() {
        parts.push(body);
    }
    for (index, attachment) in message.attachments().enumerate() {
        let name = attachment
            .attachment_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("attachment {}", index + 1));
        let text = if let Some(nested) = attachment.message() {
            if depth >= MAX_NESTED_MESSAGES {
                continue;
            }
            render(nested, depth + 1)
        } else if attachment.is_text_html() {
            attachment.text_contents().map(html_text).unwrap_or_default()
        } else if attachment.is_text() {
            attachment.text_contents().map(normalize).unwrap_or_default()
        } else {
            continue;
        };
        if !text.trim().is_empty() {
            parts.push(format!("## Attachment: {}\n\n{}", one_line(&name), text.trim()));
        }
    }
    parts.join("\n\n")
}

fn header_block(message: &Message<'_>) -> String {
    let mut lines = Vec::new();
    for (label, address) in [
        ("From", message.from()),
        ("To", message.to()),
        ("Cc", message.cc()),
    ] {
        if let Some(address) = address.map(format_address).filter(|a| !a.is_empty()) {
            lines.push(format!("{label}: {address}"));
        }
    }
    if let Some(date) = message.date() {
        lines.push(format!("Date: {}", date.to_rfc3339()));
    }
    if let Some(subject) = message.subject().map(one_line).filter(|s| !s.is_empty()) {
        lines.push(format!("Subject: {subject}"));
    }
    lines.join("\n")
}

fn format_address(address: &Address<'_>) -> String {
    address
        .iter()
        .map(|addr| {
            let name = addr.name().map(one_line).filter(|n| !n.is_empty());
            match (name, addr.address()) {
                (Some(name), Some(email)) => format!("{name} <{email}>"),
                (Some(name), None) => name,
                (None, Some(email)) => email.to_string(),
                (None, None) => String::new(),
            }
        })
        .filter(|a| !a.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The text/plain body parts, else the HTML ones converted.
fn body_text(message: &Message<'_>) -> String {
    let plain: Vec<String> = message
        .text_bodies()
        .filter(|part| part.is_text() && !part.is_text_html())
        .filter_map(|part| part.text_contents())
        .map(normalize)
        .filter(|text| !text.trim().is_empty())
        .collect();
    if !plain.is_empty() {
        return plain.join("\n\n").trim().to_string();
    }
    message
        .html_bodies()
        .filter(|part| part.is_text_html())
        .filter_map(|part| part.text_contents())
        .map(html_text)
        .filter(|text| !text.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn html_text(source: &str) -> String {
    html::parse(source.as_bytes())
        .sections
        .into_iter()
        .map(|section| section.text)
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_plain_body_and_text_attachment() {
        let eml = "From: \"Ada Lovelace\" <ada@example.org>\r\nTo: bob@example.org, Carol <carol@example.org>\r\n\
                   Subject: =?UTF-8?B?UXVhcnRlcmx5IHJlcG9ydCDinJM=?=\r\nDate: Tue, 2 Jan 2024 10:30:00 +0100\r\n\
                   MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
                   --b1\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n\
                   --b2\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
                   Caf=E9 numbers are up.\r\n--b2\r\nContent-Type: text/html\r\n\r\n<p>HTML version</p>\r\n--b2--\r\n\
                   --b1\r\nContent-Type: text/csv; name=\"figures.csv\"\r\nContent-Disposition: attachment; filename=\"figures.csv\"\r\n\
                   Content-Transfer-Encoding: base64\r\n\r\ncSwyMDI0CjEsMTAK\r\n\
                   --b1\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"x.png\"\r\n\
                   Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b1--\r\n";
        let doc = parse(eml.as_bytes()).unwrap();
        assert_eq!(doc.title.as_deref(), Some("Quarterly report ✓"));
        assert_eq!(
            doc.sections[0].text,
            "From: Ada Lovelace <ada@example.org>\nTo: bob@example.org, Carol <carol@example.org>\n\
             Date: 2024-01-02T10:30:00+01:00\nSubject: Quarterly report ✓\n\nCafé numbers are up.\n\n\
             ## Attachment: figures.csv\n\nq,2024\n1,10"
        );
    }

    #[test]
    fn html_only_body_is_converted() {
        let eml = "From: a@example.org\nSubject: Hi\nContent-Type: text/html; charset=utf-8\n\n\
                   <html><body><h1>News</h1><p>Hello <b>there</b></p><script>x()</script></body></html>\n";
        let doc = parse(eml.as_bytes()).unwrap();
        assert_eq!(
            doc.sections[0].text,
            "From: a@example.org\nSubject: Hi\n\n# News\n\nHello there"
        );
    }

    #[test]
    fn forwarded_message_is_rendered_as_an_attachment() {
        let eml = "From: a@example.org\nSubject: Fwd\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\
                   Content-Type: text/plain\n\nSee below.\n--x\nContent-Type: message/rfc822\n\n\
                   From: b@example.org\nSubject: Original\n\nOriginal text.\n--x--\n";
        let text = parse(eml.as_bytes()).unwrap().sections[0].text.clone();
        assert!(text.contains("See below."), "{text}");
        assert!(
            text.contains(
                "## Attachment: attachment 1\n\nFrom: b@example.org\nSubject: Original\n\nOriginal text."
            ),
            "{text}"
        );
    }
}
