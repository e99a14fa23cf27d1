//! The SOAP 1.1 codec: `AuthorizePayment` requests, their responses and
//! Faults, to and from XML text. Used by both the server and the client.
//!
//! Reading goes through roxmltree and matches elements on (namespace URI,
//! local name), never on prefixes: every SOAP toolkit picks its own (zeep
//! sends `soap-env:` and `ns0:`). Requests must use the namespace the WSDL
//! declares for their fields (`elementFormDefault="qualified"`); replies are
//! read leniently, by local name. Writing is `format!` plus `escape`, since
//! there are only three fixed shapes of message.

use roxmltree::{Document, Node};

use super::{
    FaultCode, PaymentDecision, PaymentRequest, SoapError, DECLINE_REASON, ENVELOPE_NAMESPACE,
    PAYMENT_NAMESPACE,
};

/// The request element, in `PAYMENT_NAMESPACE`.
const OPERATION: &str = "AuthorizePayment";
/// The response element, in `PAYMENT_NAMESPACE`.
const OPERATION_RESPONSE: &str = "AuthorizePaymentResponse";

/// Writes a request envelope (what `PaymentClient` posts).
pub fn encode_request(request: &PaymentRequest) -> String {
    envelope(&format!(
        "<tns:{OPERATION}>\
         <tns:cardHolder>{}</tns:cardHolder>\
         <tns:cardNumber>{}</tns:cardNumber>\
         <tns:expiry>{}</tns:expiry>\
         <tns:amountCents>{}</tns:amountCents>\
         <tns:requestId>{}</tns:requestId>\
         </tns:{OPERATION}>",
        escape(&request.card_holder),
        escape(&request.card_number),
        escape(&request.expiry),
        request.amount_cents,
        escape(&request.request_id),
    ))
}

/// Reads a request envelope. Every error is the `soap:Client` fault to send
/// back, whose message says what was wrong.
pub fn decode_request(xml: &str) -> Result<PaymentRequest, SoapError> {
    read_request(xml).map_err(SoapError::client_fault)
}

fn read_request(xml: &str) -> Result<PaymentRequest, String> {
    if xml.trim().is_empty() {
        return Err("empty request: expected a SOAP envelope".to_string());
    }
    // roxmltree refuses DTDs by default, which shuts out entity expansion bombs.
    let document =
        Document::parse(xml).map_err(|e| format!("request is not well-formed XML: {e}"))?;
    let operation = body_payload(&document)?;
    if !operation.has_tag_name((PAYMENT_NAMESPACE, OPERATION)) {
        return Err(format!(
            "unknown operation {}: this service offers {{{PAYMENT_NAMESPACE}}}{OPERATION}",
            describe(operation)
        ));
    }
    let amount = request_field(operation, "amountCents")?;
    let amount_cents = amount
        .parse::<u64>()
        .map_err(|_| "amountCents must be a whole number of cents".to_string())?;
    Ok(PaymentRequest {
        request_id: request_field(operation, "requestId")?,
        card_holder: request_field(operation, "cardHolder")?,
        card_number: request_field(operation, "cardNumber")?,
        expiry: request_field(operation, "expiry")?,
        amount_cents,
    })
}

/// The trimmed text of the one child `name` of the operation element, which
/// must be in the payment namespace.
fn request_field(operation: Node, name: &str) -> Result<String, String> {
    let mut found = operation
        .children()
        .filter(|n| n.has_tag_name((PAYMENT_NAMESPACE, name)));
    let field = found
        .next()
        .ok_or_else(|| format!("missing field {name} (in namespace {PAYMENT_NAMESPACE})"))?;
    if found.next().is_some() {
        return Err(format!("field {name} appears more than once"));
    }
    Ok(text_of(field).trim().to_string())
}

/// Writes the response envelope for a decision (sent with HTTP 200).
pub fn encode_response(decision: &PaymentDecision) -> String {
    let (approved, reason) = match decision {
        PaymentDecision::Approved => (true, "approved"),
        PaymentDecision::Declined(reason) => (false, reason.as_str()),
    };
    envelope(&format!(
        "<tns:{OPERATION_RESPONSE}>\
         <tns:approved>{approved}</tns:approved>\
         <tns:reason>{}</tns:reason>\
         </tns:{OPERATION_RESPONSE}>",
        escape(reason)
    ))
}

/// Writes a Fault envelope (sent with HTTP 500). `faultcode` and
/// `faultstring` stay unprefixed, as SOAP 1.1 and zeep's reader expect.
pub fn encode_fault(code: FaultCode, message: &str) -> String {
    envelope(&format!(
        "<soap:Fault><faultcode>{}</faultcode><faultstring>{}</faultstring></soap:Fault>",
        code.qualified_name(),
        escape(message)
    ))
}

/// Reads a reply envelope: the decision, or the Fault as `SoapError::Fault`,
/// or `SoapError::Malformed` if it is neither.
pub fn decode_response(xml: &str) -> Result<PaymentDecision, SoapError> {
    let malformed = SoapError::Malformed;
    let document = Document::parse(xml).map_err(|e| malformed(format!("not XML: {e}")))?;
    let payload = body_payload(&document).map_err(malformed)?;
    if payload.has_tag_name((ENVELOPE_NAMESPACE, "Fault")) {
        let code = reply_field(payload, "faultcode").unwrap_or_default();
        let message = reply_field(payload, "faultstring").unwrap_or_default();
        return Err(SoapError::Fault {
            code: FaultCode::from_qualified_name(&code),
            message,
        });
    }
    if !payload.has_tag_name((PAYMENT_NAMESPACE, OPERATION_RESPONSE)) {
        return Err(malformed(format!(
            "unexpected reply element {}",
            describe(payload)
        )));
    }
    let approved = reply_field(payload, "approved")
        .ok_or_else(|| malformed("reply has no 'approved' field".to_string()))?;
    // xsd:boolean has two spellings for each value.
    match approved.as_str() {
        "true" | "1" => Ok(PaymentDecision::Approved),
        "false" | "0" => {
            let reason = reply_field(payload, "reason").filter(|r| !r.is_empty());
            Ok(PaymentDecision::Declined(
                reason.unwrap_or_else(|| DECLINE_REASON.to_string()),
            ))
        }
        _ => Err(malformed(format!(
            "'approved' is not a boolean: {approved:?}"
        ))),
    }
}

/// The trimmed text of the first child called `name`, whatever its namespace:
/// replies are read leniently (zeep does the same).
fn reply_field(parent: Node, name: &str) -> Option<String> {
    let field = parent
        .children()
        .find(|n| n.is_element() && n.tag_name().name() == name)?;
    Some(text_of(field).trim().to_string())
}

/// The first element inside `soap:Envelope/soap:Body`, or why there is none.
fn body_payload<'a, 'input>(document: &'a Document<'input>) -> Result<Node<'a, 'input>, String> {
    let envelope = document.root_element();
    if !envelope.has_tag_name((ENVELOPE_NAMESPACE, "Envelope")) {
        return Err(format!(
            "expected a SOAP 1.1 Envelope in namespace {ENVELOPE_NAMESPACE}, found {}",
            describe(envelope)
        ));
    }
    let body = envelope
        .children()
        .find(|n| n.has_tag_name((ENVELOPE_NAMESPACE, "Body")))
        .ok_or("the SOAP Envelope has no Body")?;
    body.children()
        .find(|n| n.is_element())
        .ok_or_else(|| "the SOAP Body is empty".to_string())
}

/// An element's name in Clark notation, `{namespace}local`, for messages.
fn describe(node: Node) -> String {
    match node.tag_name().namespace() {
        Some(namespace) => format!("{{{namespace}}}{}", node.tag_name().name()),
        None => node.tag_name().name().to_string(),
    }
}

/// All the text directly inside an element (a comment may split it in two).
fn text_of(node: Node) -> String {
    node.children()
        .filter_map(|n| if n.is_text() { n.text() } else { None })
        .collect()
}

/// Wraps a body payload in an envelope that declares both prefixes we use.
fn envelope(payload: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <soap:Envelope xmlns:soap=\"{ENVELOPE_NAMESPACE}\" xmlns:tns=\"{PAYMENT_NAMESPACE}\">\
         <soap:Body>{payload}</soap:Body></soap:Envelope>"
    )
}

/// Escapes text for element content and quoted attributes: the five XML
/// entities, `\r` as a character reference (parsers turn a raw one into
/// `\n`), and characters XML 1.0 cannot carry at all replaced by U+FFFD, so
/// the output is always well-formed whatever a buyer typed.
pub(super) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\r' => escaped.push_str("&#13;"),
            '\t' | '\n' => escaped.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => escaped.push('\u{fffd}'),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PaymentRequest {
        PaymentRequest {
            request_id: "buyer-7/purchase-3".to_string(),
            card_holder: "O'Brien <&> \"Ada\" Lovelace-Żółć".to_string(),
            card_number: "4111 1111 1111 1111".to_string(),
            expiry: "09/29".to_string(),
            amount_cents: 123_456,
        }
    }

    /// `body` inside a SOAP envelope, with the prefix `s`.
    fn env(body: &str) -> String {
        format!("<s:Envelope xmlns:s=\"{ENVELOPE_NAMESPACE}\"><s:Body>{body}</s:Body></s:Envelope>")
    }

    /// An element of the payment namespace, with the prefix `p`.
    fn payment_element(name: &str, content: &str) -> String {
        format!("<p:{name} xmlns:p=\"{PAYMENT_NAMESPACE}\">{content}</p:{name}>")
    }

    /// The client fault message for a request body, or a panic otherwise.
    fn request_fault(xml: &str) -> String {
        match decode_request(xml) {
            Err(SoapError::Fault {
                code: FaultCode::Client,
                message,
            }) => message,
            other => panic!("expected a client fault for {xml:?}, got {other:?}"),
        }
    }

    #[test]
    fn request_round_trips_through_both_codecs() {
        let xml = encode_request(&sample());
        assert!(
            xml.contains("O&apos;Brien &lt;&amp;&gt; &quot;Ada&quot;"),
            "{xml}"
        );
        assert_eq!(decode_request(&xml).unwrap(), sample());
    }

    #[test]
    fn responses_round_trip_through_both_codecs() {
        let approved = encode_response(&PaymentDecision::Approved);
        assert_eq!(
            decode_response(&approved).unwrap(),
            PaymentDecision::Approved
        );
        let declined = PaymentDecision::Declined("card <declined> & 'kept' \"safe\"".to_string());
        assert_eq!(
            decode_response(&encode_response(&declined)).unwrap(),
            declined
        );
    }

    #[test]
    fn fault_round_trips_with_escaping() {
        let message = "bad <cardHolder> & \"expiry\" isn't MM/YY";
        let xml = encode_fault(FaultCode::Client, message);
        assert!(xml.contains("<faultcode>soap:Client</faultcode>"));
        assert!(xml.contains("bad &lt;cardHolder&gt; &amp; &quot;expiry&quot; isn&apos;t"));
        let expected = SoapError::Fault {
            code: FaultCode::Client,
            message: message.to_string(),
        };
        assert_eq!(decode_response(&xml), Err(expected));
        let server = decode_response(&encode_fault(FaultCode::Server, "oops"));
        assert_eq!(server, Err(SoapError::server_fault("oops")));
    }

    #[test]
    fn escape_keeps_output_well_formed() {
        assert_eq!(escape("<>&\"'"), "&lt;&gt;&amp;&quot;&apos;");
        assert_eq!(escape("a\u{1}b\u{ffff}"), "a\u{fffd}b\u{fffd}");
        let mut odd = sample();
        odd.card_holder = "line\r\nbreak\ttab\u{7}bell".to_string();
        let decoded = decode_request(&encode_request(&odd)).unwrap();
        assert_eq!(decoded.card_holder, "line\r\nbreak\ttab\u{fffd}bell");
    }

    #[test]
    fn parses_zeep_style_prefixes() {
        // What zeep 4.3.3 sends (scripts/zeep_check.py prints it).
        let xml = concat!(
            "<?xml version='1.0' encoding='utf-8'?>\n",
            "<soap-env:Envelope xmlns:soap-env=\"http://schemas.xmlsoap.org/soap/envelope/\">",
            "<soap-env:Body><ns0:AuthorizePayment xmlns:ns0=\"urn:marketplace:payment\">",
            "<ns0:cardHolder>Ada</ns0:cardHolder><ns0:cardNumber>4111111111111111</ns0:cardNumber>",
            "<ns0:expiry>12/29</ns0:expiry><ns0:amountCents>500</ns0:amountCents>",
            "<ns0:requestId>r-1</ns0:requestId></ns0:AuthorizePayment>",
            "</soap-env:Body></soap-env:Envelope>",
        );
        let request = decode_request(xml).unwrap();
        assert_eq!(request.card_holder, "Ada");
        assert_eq!(request.amount_cents, 500);
        assert_eq!(request.request_id, "r-1");
    }

    #[test]
    fn parses_default_namespaces_headers_comments_and_cdata() {
        let xml = r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/">
  <Header><x:Trace xmlns:x="urn:other">1</x:Trace></Header>
  <Body>
    <AuthorizePayment xmlns="urn:marketplace:payment">
      <requestId> r-2 </requestId>
      <cardHolder><![CDATA[A & B]]></cardHolder>
      <cardNumber>4111<!-- split -->111111111111</cardNumber>
      <expiry>12/29</expiry>
      <amountCents>1</amountCents>
    </AuthorizePayment>
  </Body>
</Envelope>"#;
        let request = decode_request(xml).unwrap();
        assert_eq!(request.request_id, "r-2");
        assert_eq!(request.card_holder, "A & B");
        assert_eq!(request.card_number, "4111111111111111");
    }

    /// A request with every field but `skip`, and `extra` appended.
    fn request_without(skip: &str, extra: &str) -> String {
        let fields = [
            ("cardHolder", "Ada"),
            ("cardNumber", "4111111111111111"),
            ("expiry", "12/29"),
            ("amountCents", "5"),
            ("requestId", "r"),
        ];
        let kept = fields.iter().filter(|(name, _)| *name != skip);
        let mut content: String = kept.map(|(n, v)| format!("<p:{n}>{v}</p:{n}>")).collect();
        content.push_str(extra);
        env(&payment_element("AuthorizePayment", &content))
    }

    #[test]
    fn malformed_envelopes_are_client_faults() {
        let soap_12 = "<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\"/>";
        let no_body = format!("<s:Envelope xmlns:s=\"{ENVELOPE_NAMESPACE}\"/>");
        let bomb = "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>";
        let cases = [
            (String::new(), "empty request"),
            ("   \n".to_string(), "empty request"),
            ("hello".to_string(), "not well-formed XML"),
            ("<a><b></a>".to_string(), "not well-formed XML"),
            (format!("{}<extra/>", env("")), "not well-formed XML"),
            (bomb.to_string(), "not well-formed XML"),
            (
                "<Envelope><Body/></Envelope>".to_string(),
                "expected a SOAP 1.1 Envelope",
            ),
            (soap_12.to_string(), "expected a SOAP 1.1 Envelope"),
            (no_body, "has no Body"),
            (env(""), "Body is empty"),
            (env(&payment_element("Refund", "")), "unknown operation"),
            (
                env("<AuthorizePayment/>"),
                "unknown operation AuthorizePayment",
            ),
        ];
        for (xml, expected) in &cases {
            let message = request_fault(xml);
            assert!(
                message.contains(expected),
                "{xml:?}: {message:?} lacks {expected:?}"
            );
        }
    }

    #[test]
    fn missing_duplicate_and_bad_fields_are_client_faults() {
        for name in [
            "cardHolder",
            "cardNumber",
            "expiry",
            "amountCents",
            "requestId",
        ] {
            let message = request_fault(&request_without(name, ""));
            assert_eq!(
                message,
                format!("missing field {name} (in namespace {PAYMENT_NAMESPACE})")
            );
        }
        // Unqualified fields are not the WSDL's (elementFormDefault="qualified").
        let unqualified = request_without("cardHolder", "<cardHolder>Ada</cardHolder>");
        assert!(request_fault(&unqualified).starts_with("missing field cardHolder"));
        let twice = request_without("", "<p:expiry>01/30</p:expiry>");
        assert_eq!(request_fault(&twice), "field expiry appears more than once");
        for amount in ["", "abc", "-5", "1.50", "18446744073709551616"] {
            let xml = request_without(
                "amountCents",
                &format!("<p:amountCents>{amount}</p:amountCents>"),
            );
            assert!(
                request_fault(&xml).contains("whole number of cents"),
                "{amount:?}"
            );
        }
    }

    #[test]
    fn malformed_replies_are_malformed_errors() {
        let response = |fields: &str| env(&payment_element("AuthorizePaymentResponse", fields));
        let cases = [
            String::new(),
            "<html>Bad Gateway</html>".to_string(),
            env(""),
            env("<p:Other xmlns:p=\"urn:x\"/>"),
            response(""),
            response("<p:approved>yes</p:approved>"),
        ];
        for xml in &cases {
            assert!(
                matches!(decode_response(xml), Err(SoapError::Malformed(_))),
                "{xml:?}"
            );
        }
        // Lenient on replies: unqualified children and a missing reason are fine.
        let unqualified = response("<approved>0</approved>");
        let declined = PaymentDecision::Declined("card declined".to_string());
        assert_eq!(decode_response(&unqualified), Ok(declined));
    }
}
