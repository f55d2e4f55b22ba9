//! The query protocol's XML: `<{Action}Response>` envelopes, `<member>` lists and
//! `<ErrorResponse>`. quick-xml does the escaping.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

pub(crate) const NAMESPACE: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

/// Writes elements into memory.
pub(crate) struct Xml {
    writer: Writer<Vec<u8>>,
}

impl Xml {
    fn new() -> Self {
        let mut xml = Self {
            writer: Writer::new(Vec::new()),
        };
        xml.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        xml
    }

    fn event(&mut self, event: Event<'_>) {
        // Writing into a Vec cannot fail.
        self.writer
            .write_event(event)
            .expect("writing XML into memory");
    }

    fn finish(self) -> String {
        // Every text went in as &str and every name is ASCII, so the bytes are UTF-8.
        String::from_utf8_lossy(&self.writer.into_inner()).into_owned()
    }

    /// `<name>...</name>` around what `body` writes.
    pub(crate) fn element(&mut self, name: &str, body: impl FnOnce(&mut Self)) {
        self.event(Event::Start(BytesStart::new(name)));
        body(self);
        self.event(Event::End(BytesEnd::new(name)));
    }

    /// `<name>text</name>`.
    pub(crate) fn text(&mut self, name: &str, text: &str) {
        self.element(name, |xml| xml.event(Event::Text(BytesText::new(text))));
    }

    /// `<name>text</name>` when there is a text; nothing otherwise (botocore leaves the member out).
    pub(crate) fn optional(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.text(name, text);
        }
    }

    /// `<name><member>..</member>...</name>`, each member written by `member`.
    pub(crate) fn list<T>(
        &mut self,
        name: &str,
        items: &[T],
        mut member: impl FnMut(&mut Self, &T),
    ) {
        self.element(name, |xml| {
            for item in items {
                xml.element("member", |xml| member(xml, item));
            }
        });
    }

    /// A list of plain strings.
    pub(crate) fn string_list(&mut self, name: &str, items: &[&str]) {
        self.element(name, |xml| {
            for item in items {
                xml.text("member", item);
            }
        });
    }
}

/// A success response: `<{action}Response xmlns=..><{action}Result>..</..><ResponseMetadata>`.
pub(crate) fn response(action: &str, request_id: &str, result: impl FnOnce(&mut Xml)) -> String {
    let mut xml = Xml::new();
    let root = format!("{action}Response");
    let mut start = BytesStart::new(root.as_str());
    start.push_attribute(("xmlns", NAMESPACE));
    xml.event(Event::Start(start));
    xml.element(&format!("{action}Result"), result);
    xml.element("ResponseMetadata", |xml| xml.text("RequestId", request_id));
    xml.event(Event::End(BytesEnd::new(root.as_str())));
    xml.finish()
}

/// An error response, as CloudFormation sends it with a 4xx status.
pub(crate) fn error_response(code: &str, message: &str, request_id: &str) -> String {
    let mut xml = Xml::new();
    let mut start = BytesStart::new("ErrorResponse");
    start.push_attribute(("xmlns", NAMESPACE));
    xml.event(Event::Start(start));
    xml.element("Error", |xml| {
        xml.text("Type", "Sender");
        xml.text("Code", code);
        xml.text("Message", message);
    });
    xml.text("RequestId", request_id);
    xml.event(Event::End(BytesEnd::new("ErrorResponse")));
    xml.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_have_the_envelope_and_escape_text() {
        let body = response("GetTemplate", "req-1", |xml| {
            xml.text("TemplateBody", "a < b & \"c\"");
            xml.string_list("StagesAvailable", &["Original"]);
        });
        assert!(body.contains(&format!("<GetTemplateResponse xmlns=\"{NAMESPACE}\">")));
        assert!(body.contains("<GetTemplateResult><TemplateBody>a &lt; b &amp;"));
        assert!(body.contains("<StagesAvailable><member>Original</member></StagesAvailable>"));
        assert!(body.ends_with(
            "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetTemplateResponse>"
        ));
    }

    #[test]
    fn errors_have_type_code_message_and_request_id() {
        let body = error_response("Throttling", "Rate exceeded", "req-2");
        assert!(body.contains(
            "<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>\
             </Error><RequestId>req-2</RequestId></ErrorResponse>"
        ));
    }
}
